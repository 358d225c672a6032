/*
 * Helpers for platform modules whose globals are built on first use (js_encoding.c, js_url.c).
 *
 * Cost model: every call gets a fresh context, so a class with a prototype full of accessors
 * (URL has thirteen) must not be built per call. Such a global starts as an accessor property
 * whose getter builds the class and then replaces the accessor by a plain data property
 * {writable, configurable, not enumerable} holding the value; the setter replaces it by the
 * assigned value. So `typeof URL`, `URL = x` and `delete globalThis.URL` behave as for a data
 * property, and a context that never touches the global pays for one small function object
 * (the same one is the getter and the setter: called without an argument it gets, with one it
 * sets) and an atom.
 *
 * Class IDs: QuickJS-ng hands class IDs out from a per-runtime counter that every JSRuntime
 * starts at the same number, and we run one JSRuntime per worker (re-created on recycle). Taking
 * an ID from whichever runtime is at hand would give two modules the same ID when their first use
 * happens in different runtimes; ncsl__js_class_id_alloc keeps one process-wide counter instead.
 * Every module that defines classes must allocate through it.
 *
 * Per-context slots: a module that builds classes lazily must find what it built (a constructor)
 * again later in the same context. A class ID registered only for that purpose owns one entry of
 * the context's class-prototype table (ncsl__js_slot_get/set): the context marks it for the GC
 * and frees it with itself, and no object is ever created with that class.
 */
#include "js_lazy.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

static pthread_mutex_t g_class_id_lock = PTHREAD_MUTEX_INITIALIZER;
static JSClassID g_class_id_next; /* 0 until the first allocation */

void ncsl__js_class_id_alloc(JSRuntime *rt, JSClassID *id) {
    pthread_mutex_lock(&g_class_id_lock);
    if (*id == 0) {
        JSClassID fresh = 0;
        JS_NewClassID(rt, &fresh); /* the runtime's next free ID: past the built-in classes */
        if (fresh < g_class_id_next) {
            fresh = g_class_id_next;
        }
        g_class_id_next = fresh + 1;
        *id = fresh;
    }
    pthread_mutex_unlock(&g_class_id_lock);
}

int ncsl__js_class_ensure(JSContext *ctx, JSClassID *id, const JSClassDef *def) {
    JSRuntime *rt = JS_GetRuntime(ctx);
    ncsl__js_class_id_alloc(rt, id);
    if (JS_IsRegisteredClass(rt, *id)) {
        return 0;
    }
    if (JS_NewClass(rt, *id, def) < 0) {
        JS_ThrowOutOfMemory(ctx);
        return -1;
    }
    return 0;
}

static void slot_finalizer(JSRuntime *rt, JSValue val) {
    (void)rt;
    (void)val; /* no object of a slot class is ever made */
}

int ncsl__js_slot_ensure(JSContext *ctx, JSClassID *id, const char *name) {
    JSClassDef def = {.class_name = name, .finalizer = slot_finalizer};
    return ncsl__js_class_ensure(ctx, id, &def);
}

int ncsl__js_class_proto(JSContext *ctx, JSClassID *id, const JSClassDef *def,
                         const JSCFunctionListEntry *funcs, int nfuncs, JSValue *out) {
    if (ncsl__js_class_ensure(ctx, id, def) < 0) {
        return -1;
    }
    JSValue proto = JS_GetClassProto(ctx, *id);
    if (!JS_IsObject(proto)) {
        JS_FreeValue(ctx, proto);
        proto = JS_NewObject(ctx);
        if (JS_IsException(proto)) {
            return -1;
        }
        if (nfuncs > 0 && JS_SetPropertyFunctionList(ctx, proto, funcs, nfuncs) < 0) {
            JS_FreeValue(ctx, proto);
            return -1;
        }
        JS_SetClassProto(ctx, *id, JS_DupValue(ctx, proto));
    }
    if (out) {
        *out = proto;
    } else {
        JS_FreeValue(ctx, proto);
    }
    return 0;
}

JSValue ncsl__js_slot_get(JSContext *ctx, JSClassID id) {
    return JS_GetClassProto(ctx, id);
}

void ncsl__js_slot_set(JSContext *ctx, JSClassID id, JSValue value) {
    JS_SetClassProto(ctx, id, value);
}

/* Lazy globals registered in this process (written once each, under the lock, then published by
 * the release store of the count): a lazy global costs one function object per context, which
 * serves as both its getter and its setter and finds its module's functions here by index. */
#define LAZY_MAX 64
typedef struct lazy_entry {
    const char *name;
    ncsl__js_lazy_getter *get;
    ncsl__js_lazy_setter *set;
    int magic;
} lazy_entry;
static lazy_entry g_lazy[LAZY_MAX];
static _Atomic int g_lazy_count;
static pthread_mutex_t g_lazy_lock = PTHREAD_MUTEX_INITIALIZER;

static int lazy_find(int n, const char *name, ncsl__js_lazy_getter *get, ncsl__js_lazy_setter *set,
                     int magic) {
    for (int i = 0; i < n; i++) {
        if (g_lazy[i].get == get && g_lazy[i].set == set && g_lazy[i].magic == magic &&
            strcmp(g_lazy[i].name, name) == 0) {
            return i;
        }
    }
    return -1;
}

static int lazy_index(const char *name, ncsl__js_lazy_getter *get, ncsl__js_lazy_setter *set,
                      int magic) {
    int i =
        lazy_find(atomic_load_explicit(&g_lazy_count, memory_order_acquire), name, get, set, magic);
    if (i >= 0) {
        return i;
    }
    pthread_mutex_lock(&g_lazy_lock);
    int n = atomic_load_explicit(&g_lazy_count, memory_order_relaxed);
    i = lazy_find(n, name, get, set, magic);
    if (i < 0 && n < LAZY_MAX) {
        g_lazy[n] = (lazy_entry){name, get, set, magic};
        atomic_store_explicit(&g_lazy_count, n + 1, memory_order_release);
        i = n;
    }
    pthread_mutex_unlock(&g_lazy_lock);
    return i;
}

/* The getter (no argument) and setter (one) of every lazy global. */
static JSValue lazy_trampoline(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv,
                               int magic) {
    const lazy_entry *e = &g_lazy[magic];
    if (argc == 0) {
        return e->get(ctx, this_val, e->magic);
    }
    return e->set(ctx, this_val, argv[0], e->magic);
}

int ncsl__js_lazy_define(JSContext *ctx, JSValueConst obj, const char *name,
                         ncsl__js_lazy_getter *getter, ncsl__js_lazy_setter *setter, int magic) {
    int idx = lazy_index(name, getter, setter, magic);
    if (idx < 0) {
        JS_ThrowInternalError(ctx, "too many lazy globals");
        return -1;
    }
    /* unnamed: naming it "get URL" would make a new atom per call */
    JSValue fn = JS_NewCFunction2(ctx, (JSCFunction *)(void *)lazy_trampoline, NULL, 0,
                                  JS_CFUNC_generic_magic, idx);
    if (JS_IsException(fn)) {
        return -1;
    }
    JSAtom atom = JS_NewAtom(ctx, name);
    if (atom == JS_ATOM_NULL) {
        JS_FreeValue(ctx, fn);
        return -1;
    }
    /* takes both references */
    int ret =
        JS_DefinePropertyGetSet(ctx, obj, atom, JS_DupValue(ctx, fn), fn, JS_PROP_CONFIGURABLE) < 0
            ? -1
            : 0;
    JS_FreeAtom(ctx, atom);
    return ret;
}

int ncsl__js_define_getter(JSContext *ctx, JSValueConst proto, const char *name,
                           JSCFunctionMagic *fn, int magic) {
    JSValue f =
        JS_NewCFunction2(ctx, (JSCFunction *)(void *)fn, NULL, 0, JS_CFUNC_generic_magic, magic);
    if (JS_IsException(f)) {
        return -1;
    }
    JSAtom atom = JS_NewAtom(ctx, name);
    if (atom == JS_ATOM_NULL) {
        JS_FreeValue(ctx, f);
        return -1;
    }
    int r = JS_DefinePropertyGetSet(ctx, proto, atom, f, JS_UNDEFINED,
                                    JS_PROP_CONFIGURABLE | JS_PROP_ENUMERABLE);
    JS_FreeAtom(ctx, atom);
    return r < 0 ? -1 : 0;
}

/* Whether `this_val` is the context's global object and its own property `name` is still an
 * accessor: only then does a lazy getter or setter replace it (a getter taken out with
 * Object.getOwnPropertyDescriptor and called on something else just returns its value). */
static bool lazy_still_installed(JSContext *ctx, JSValueConst this_val, JSAtom atom) {
    JSValue global = JS_GetGlobalObject(ctx);
    bool same = JS_IsStrictEqual(ctx, this_val, global);
    JS_FreeValue(ctx, global);
    if (!same) {
        return false;
    }
    JSPropertyDescriptor desc;
    int r = JS_GetOwnProperty(ctx, &desc, this_val, atom);
    if (r <= 0) {
        if (r < 0) {
            JS_FreeValue(ctx, JS_GetException(ctx));
        }
        return false;
    }
    bool accessor = (desc.flags & JS_PROP_GETSET) != 0;
    JS_FreeValue(ctx, desc.getter);
    JS_FreeValue(ctx, desc.setter);
    JS_FreeValue(ctx, desc.value);
    return accessor;
}

static int lazy_replace(JSContext *ctx, JSValueConst this_val, const char *name, JSValueConst v) {
    JSAtom atom = JS_NewAtom(ctx, name);
    if (atom == JS_ATOM_NULL) {
        return -1;
    }
    int ret = 0;
    if (lazy_still_installed(ctx, this_val, atom)) {
        /* a frozen global refuses (returns false): then the accessor simply stays */
        ret = JS_DefinePropertyValue(ctx, this_val, atom, JS_DupValue(ctx, v),
                                     JS_PROP_WRITABLE | JS_PROP_CONFIGURABLE) < 0
                  ? -1
                  : 0;
    }
    JS_FreeAtom(ctx, atom);
    return ret;
}

JSValue ncsl__js_lazy_resolved(JSContext *ctx, JSValueConst this_val, const char *name,
                               JSValue value) {
    if (JS_IsException(value)) {
        return value;
    }
    if (lazy_replace(ctx, this_val, name, value) < 0) {
        JS_FreeValue(ctx, value);
        return JS_EXCEPTION;
    }
    return value;
}

JSValue ncsl__js_lazy_assigned(JSContext *ctx, JSValueConst this_val, const char *name,
                               JSValueConst value) {
    return lazy_replace(ctx, this_val, name, value) < 0 ? JS_EXCEPTION : JS_UNDEFINED;
}

JSValue ncsl__js_iterator_proto(JSContext *ctx) {
    /* %IteratorPrototype% is Iterator.prototype (non-writable, non-configurable); the global
     * binding `Iterator` itself can be replaced by user code, so read it without running any
     * getter and fall back to Object.prototype when it is not the expected shape */
    JSValue global = JS_GetGlobalObject(ctx);
    JSValue res = JS_UNDEFINED;
    JSPropertyDescriptor d;
    JSAtom a = JS_NewAtom(ctx, "Iterator");
    int r = a == JS_ATOM_NULL ? -1 : JS_GetOwnProperty(ctx, &d, global, a);
    JS_FreeAtom(ctx, a);
    if (r > 0) {
        /* no proxy: its traps would run user code in the middle of building a class */
        if (!(d.flags & JS_PROP_GETSET) && JS_IsObject(d.value) && !JS_IsProxy(d.value)) {
            JSPropertyDescriptor p;
            a = JS_NewAtom(ctx, "prototype");
            int r2 = a == JS_ATOM_NULL ? -1 : JS_GetOwnProperty(ctx, &p, d.value, a);
            JS_FreeAtom(ctx, a);
            if (r2 > 0) {
                if (!(p.flags & JS_PROP_GETSET) && JS_IsObject(p.value)) {
                    res = JS_DupValue(ctx, p.value);
                }
                JS_FreeValue(ctx, p.getter);
                JS_FreeValue(ctx, p.setter);
                JS_FreeValue(ctx, p.value);
            } else if (r2 < 0) {
                r = -1;
            }
        }
        JS_FreeValue(ctx, d.getter);
        JS_FreeValue(ctx, d.setter);
        JS_FreeValue(ctx, d.value);
    }
    JS_FreeValue(ctx, global);
    if (r < 0) {
        /* only out of memory or a limit: propagate */
        JS_FreeValue(ctx, res);
        return JS_EXCEPTION;
    }
    if (JS_IsUndefined(res)) {
        JSValue obj = JS_NewObject(ctx);
        if (JS_IsException(obj)) {
            return obj;
        }
        res = JS_GetPrototype(ctx, obj);
        JS_FreeValue(ctx, obj);
    }
    return res;
}

int ncsl__js_usv_get(JSContext *ctx, JSValueConst v, ncsl__js_usv *out) {
    memset(out, 0, sizeof(*out));
    size_t len = 0;
    const char *s = JS_ToCStringLen(ctx, &len, v);
    if (!s) {
        return -1;
    }
    out->cstr = s;
    out->s = s;
    out->len = len;
    /* QuickJS writes a lone surrogate as its 3-byte generalized UTF-8 form ED A0..BF xx (a
     * paired one becomes a 4-byte sequence); U+FFFD (EF BF BD) has the same length */
    size_t first = len;
    for (const char *p = memchr(s, 0xED, len); p;
         p = memchr(p + 1, 0xED, len - (size_t)(p + 1 - s))) {
        size_t i = (size_t)(p - s);
        if (i + 2 < len && ((unsigned char)p[1] & 0xE0) == 0xA0) {
            first = i;
            break;
        }
        if (i + 1 >= len) {
            break;
        }
    }
    if (first == len) {
        return 0;
    }
    char *fixed = js_malloc(ctx, len + 1);
    if (!fixed) {
        ncsl__js_usv_free(ctx, out);
        return -1;
    }
    memcpy(fixed, s, len + 1);
    for (size_t i = first; i + 2 < len; i++) {
        if ((unsigned char)fixed[i] == 0xED && ((unsigned char)fixed[i + 1] & 0xE0) == 0xA0) {
            fixed[i] = (char)0xEF;
            fixed[i + 1] = (char)0xBF;
            fixed[i + 2] = (char)0xBD;
            i += 2;
        }
    }
    out->owned = fixed;
    out->s = fixed;
    return 0;
}

void ncsl__js_usv_free(JSContext *ctx, ncsl__js_usv *u) {
    if (u->cstr) {
        JS_FreeCString(ctx, u->cstr);
    }
    js_free(ctx, u->owned);
    memset(u, 0, sizeof(*u));
}
