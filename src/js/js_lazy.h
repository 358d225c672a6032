/*
 * Helpers for platform modules with lazily built globals and classes (js_lazy.c): process-wide
 * class IDs, per-context value slots, lazy global accessors, and the WebIDL USVString
 * conversion. Internal to src/js.
 */
#ifndef NCSL_JS_LAZY_H
#define NCSL_JS_LAZY_H

#include "js_int.h"

/* Gives *id a process-wide unique class ID if it is still 0 (thread-safe). Every module that
 * defines classes must use this instead of JS_NewClassID (see js_lazy.c). */
void ncsl__js_class_id_alloc(JSRuntime *rt, JSClassID *id);
/* Allocates *id if needed and registers `def` in the context's runtime unless registered. 0, or
 * -1 with a pending exception. */
int ncsl__js_class_ensure(JSContext *ctx, JSClassID *id, const JSClassDef *def);
/* The prototype of class *id in this context: registers the class (ncsl__js_class_ensure) and,
 * the first time in the context, makes a plain object with `funcs` (nfuncs may be 0) and sets it
 * as the class prototype. *out (NULL: not wanted) gets a new reference. 0, or -1 with a pending
 * exception. */
int ncsl__js_class_proto(JSContext *ctx, JSClassID *id, const JSClassDef *def,
                         const JSCFunctionListEntry *funcs, int nfuncs, JSValue *out);
/* A per-context value slot keyed by a class ID registered for that purpose (see js_lazy.c):
 * get returns a new reference (JS_NULL until set); set takes `value`. */
int ncsl__js_slot_ensure(JSContext *ctx, JSClassID *id, const char *name);
JSValue ncsl__js_slot_get(JSContext *ctx, JSClassID id);
void ncsl__js_slot_set(JSContext *ctx, JSClassID id, JSValue value);
/* A lazy global: `name` on `obj` becomes a configurable accessor whose getter calls `getter`,
 * which builds the value and returns ncsl__js_lazy_resolved(...), and whose setter calls
 * `setter`, which returns ncsl__js_lazy_assigned(...); both then leave a plain data property.
 * `name` must be a string constant (it is kept in a process-wide table, at most 64 entries). */
typedef JSValue ncsl__js_lazy_getter(JSContext *ctx, JSValueConst this_val, int magic);
typedef JSValue ncsl__js_lazy_setter(JSContext *ctx, JSValueConst this_val, JSValueConst v,
                                     int magic);
int ncsl__js_lazy_define(JSContext *ctx, JSValueConst obj, const char *name,
                         ncsl__js_lazy_getter *getter, ncsl__js_lazy_setter *setter, int magic);
/* Replaces the accessor `name` of this_val (if it is the global and still has it) by `value`,
 * which it takes and returns (JS_EXCEPTION passes through). */
JSValue ncsl__js_lazy_resolved(JSContext *ctx, JSValueConst this_val, const char *name,
                               JSValue value);
/* Replaces the accessor `name` by `value` (borrowed). Returns JS_UNDEFINED or JS_EXCEPTION. */
JSValue ncsl__js_lazy_assigned(JSContext *ctx, JSValueConst this_val, const char *name,
                               JSValueConst value);
/* Defines a WebIDL read-only attribute on a prototype: an enumerable, configurable accessor whose
 * getter is an unnamed JS_CFUNC_generic_magic function `fn` (cheaper to make than a named
 * JS_CGETSET entry, which formats and interns "get <name>" in every context). 0 or -1. */
int ncsl__js_define_getter(JSContext *ctx, JSValueConst proto, const char *name,
                           JSCFunctionMagic *fn, int magic);
/* %IteratorPrototype% of the context (Object.prototype if user code replaced `Iterator`), new
 * reference, or JS_EXCEPTION. Runs no user code. */
JSValue ncsl__js_iterator_proto(JSContext *ctx);
/* A JS value as UTF-8 with the USVString conversion of WebIDL (ToString, then every lone
 * surrogate replaced by U+FFFD). *len gets the size; the caller frees with ncsl__js_usv_free. NULL
 * with a pending exception. */
typedef struct ncsl__js_usv {
    const char *s;    /* the text (not NUL-terminated if owned) */
    size_t len;       /* bytes */
    const char *cstr; /* JS_ToCStringLen result, or NULL */
    char *owned;      /* js_malloc'd fixed copy, or NULL */
} ncsl__js_usv;
int ncsl__js_usv_get(JSContext *ctx, JSValueConst v, ncsl__js_usv *out);
void ncsl__js_usv_free(JSContext *ctx, ncsl__js_usv *u);

#endif
