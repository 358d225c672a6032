/*
 * The built-ins of a call context, the costly ones built on first use.
 *
 * Every call gets a fresh context, and building QuickJS-ng's intrinsics is most of what a call
 * costs: the typed arrays alone (fifteen constructors and their prototypes) take longer than
 * running a small function. So a context starts with the built-ins that the engine itself may
 * need at any time (the base objects, JSON, RegExp for regexp literals and String methods,
 * Promise for async functions, Proxy for js_guard.c, BigInt for bigint literals), and the
 * groups below, which are reachable only through their global names, start as lazy globals
 * (js_lazy.c's accessors): the first read of any name of a group builds the whole group with
 * QuickJS's own JS_AddIntrinsic* function, as an eager context would have, and from then on
 * the names are plain data properties. Host functions that create values of a group (typed
 * arrays, ArrayBuffers, DOMException errors) build it first through the helpers below, so
 * nothing in a call can see a half-made context.
 *
 * What user code can observe: before first use, Object.getOwnPropertyDescriptor(globalThis,
 * "Map") is an accessor, not a data property. Names assigned or deleted before their group is
 * built keep what the user did (the build restores them). If the global object was frozen
 * before a group's first use the group cannot be installed: reading one of its names then
 * throws a TypeError saying so.
 *
 * The global names of each group are not written down here: they are read once per process
 * from QuickJS itself (a scratch context before and after JS_AddIntrinsic*), so a QuickJS
 * version that adds a global to a group cannot leave it out.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "js_lazy.h"

static int add_dom_exception(JSContext *ctx) {
    /* JS_AddIntrinsicAToB adds DOMException only if the runtime lacks the class; the context
     * needs its own constructor and prototype either way */
    return JS_AddIntrinsicDOMException(ctx) < 0 || JS_AddIntrinsicAToB(ctx) < 0 ? -1 : 0;
}

#define GROUP_MAX_NAMES 32

typedef struct intrinsic_group {
    const char *label;
    int (*add)(JSContext *ctx);
    const char *names[GROUP_MAX_NAMES]; /* filled by discover_names, NULL-terminated */
    int count;
} intrinsic_group;

static intrinsic_group g_groups[NCSL__JS_LAZY_GROUP_COUNT] = {
    [NCSL__JS_LAZY_TYPED_ARRAYS] = {"typed arrays", JS_AddIntrinsicTypedArrays, {0}, 0},
    [NCSL__JS_LAZY_MAP_SET] = {"Map and Set", JS_AddIntrinsicMapSet, {0}, 0},
    [NCSL__JS_LAZY_DATE] = {"Date", JS_AddIntrinsicDate, {0}, 0},
    [NCSL__JS_LAZY_WEAK_REF] = {"WeakRef", JS_AddIntrinsicWeakRef, {0}, 0},
    [NCSL__JS_LAZY_DOM_EXCEPTION] = {"DOMException", add_dom_exception, {0}, 0},
};

static pthread_once_t g_names_once = PTHREAD_ONCE_INIT;
static bool g_names_ok;

/* The global object's own string-keyed names, as a NULL-terminated array of strdup'd strings. */
static char **global_names(JSContext *ctx, int *count) {
    JSPropertyEnum *tab = NULL;
    uint32_t len = 0;
    JSValue global = JS_GetGlobalObject(ctx);
    int r = JS_GetOwnPropertyNames(ctx, &tab, &len, global, JS_GPN_STRING_MASK);
    JS_FreeValue(ctx, global);
    if (r < 0) {
        return NULL;
    }
    char **names = calloc(len + 1, sizeof(*names));
    for (uint32_t i = 0; names && i < len; i++) {
        const char *s = JS_AtomToCString(ctx, tab[i].atom);
        names[i] = s ? strdup(s) : NULL;
        JS_FreeCString(ctx, s);
    }
    JS_FreePropertyEnum(ctx, tab, len);
    *count = (int)len;
    return names;
}

static void free_names(char **names, int count) {
    for (int i = 0; names && i < count; i++) {
        free(names[i]);
    }
    free(names);
}

static bool has_name(char **names, int count, const char *name) {
    for (int i = 0; i < count; i++) {
        if (names[i] && strcmp(names[i], name) == 0) {
            return true;
        }
    }
    return false;
}

/* Reads each group's global names from QuickJS: a scratch context with what every call context
 * has eagerly, then each group added in turn, the new global names going to that group. */
static void discover_names(void) {
    JSRuntime *rt = JS_NewRuntime();
    JSContext *ctx = rt ? JS_NewContextRaw(rt) : NULL;
    bool ok = ctx && ncsl__js_add_eager_intrinsics(ctx) == 0;
    int before_n = 0;
    char **before = ok ? global_names(ctx, &before_n) : NULL;
    ok = ok && before;
    for (int g = 0; ok && g < NCSL__JS_LAZY_GROUP_COUNT; g++) {
        int after_n = 0;
        char **after = g_groups[g].add(ctx) == 0 ? global_names(ctx, &after_n) : NULL;
        ok = after != NULL;
        for (int i = 0; ok && i < after_n; i++) {
            if (!after[i]) {
                ok = false;
            } else if (!has_name(before, before_n, after[i])) {
                if (g_groups[g].count >= GROUP_MAX_NAMES - 1) {
                    ok = false;
                    break;
                }
                g_groups[g].names[g_groups[g].count++] = strdup(after[i]);
                ok = g_groups[g].names[g_groups[g].count - 1] != NULL;
            }
        }
        free_names(before, before_n);
        before = after;
        before_n = after_n;
    }
    free_names(before, before_n);
    if (ctx) {
        JS_FreeContext(ctx);
    }
    if (rt) {
        JS_FreeRuntime(rt);
    }
    g_names_ok = ok;
}

int ncsl__js_add_eager_intrinsics(JSContext *ctx) {
    /* no Eval (see js_runtime.c), no Performance (a high-resolution timer helps timing
     * attacks) */
    if (JS_AddIntrinsicBaseObjects(ctx) || JS_AddIntrinsicRegExp(ctx) || JS_AddIntrinsicJSON(ctx) ||
        JS_AddIntrinsicProxy(ctx) || JS_AddIntrinsicPromise(ctx) || JS_AddIntrinsicBigInt(ctx)) {
        return -1;
    }
    JS_AddIntrinsicRegExpCompiler(ctx);
    return 0;
}

/* magic of a lazy global: group * GROUP_MAX_NAMES + index of the name */
static JSValue lazy_get(JSContext *ctx, JSValueConst this_val, int magic);
static JSValue lazy_set(JSContext *ctx, JSValueConst this_val, JSValueConst v, int magic);

int ncsl__js_intrinsics_init(JSContext *ctx, JSValue global) {
    pthread_once(&g_names_once, discover_names);
    ncsl__js_call_state *st = JS_GetContextOpaque(ctx);
    if (!g_names_ok) {
        /* could not read the names (out of memory at start): build everything now */
        for (int g = 0; g < NCSL__JS_LAZY_GROUP_COUNT; g++) {
            if (g_groups[g].add(ctx) < 0) {
                return -1;
            }
        }
        st->intrinsics_built = (1u << NCSL__JS_LAZY_GROUP_COUNT) - 1;
        return 0;
    }
    for (int g = 0; g < NCSL__JS_LAZY_GROUP_COUNT; g++) {
        for (int i = 0; i < g_groups[g].count; i++) {
            if (ncsl__js_lazy_define(ctx, global, g_groups[g].names[i], lazy_get, lazy_set,
                                     g * GROUP_MAX_NAMES + i) < 0) {
                return -1;
            }
        }
    }
    return 0;
}

/* What the user did with a name of a group before the group was built. */
typedef struct name_state {
    bool untouched; /* still our accessor */
    bool present;   /* else deleted */
    JSPropertyDescriptor desc;
} name_state;

static void name_state_free(JSContext *ctx, name_state *s) {
    if (s->present && !s->untouched) {
        JS_FreeValue(ctx, s->desc.value);
        JS_FreeValue(ctx, s->desc.getter);
        JS_FreeValue(ctx, s->desc.setter);
    }
}

/* Our accessors use one function as both getter and setter (js_lazy.c); a user's rarely does. */
static int read_name_state(JSContext *ctx, JSValueConst global, JSAtom atom, name_state *s) {
    memset(s, 0, sizeof(*s));
    int r = JS_GetOwnProperty(ctx, &s->desc, global, atom);
    if (r <= 0) {
        return r; /* deleted, or an exception */
    }
    s->present = true;
    if ((s->desc.flags & JS_PROP_GETSET) && JS_IsFunction(ctx, s->desc.getter) &&
        JS_IsStrictEqual(ctx, s->desc.getter, s->desc.setter)) {
        s->untouched = true;
        JS_FreeValue(ctx, s->desc.value);
        JS_FreeValue(ctx, s->desc.getter);
        JS_FreeValue(ctx, s->desc.setter);
    }
    return 0;
}

/* Builds group g: its names must all be deletable (QuickJS's builders abort() on a name that
 * already exists), so every one is removed first and what user code had made of it is put back
 * afterwards. A frozen, sealed or non-extensible global, or a name made non-configurable, cannot
 * take the group: a TypeError, and nothing is changed. */
static int build_group(JSContext *ctx, ncsl__js_call_state *st, int g) {
    const intrinsic_group *grp = &g_groups[g];
    name_state states[GROUP_MAX_NAMES];
    JSAtom atoms[GROUP_MAX_NAMES];
    JSValue global = JS_GetGlobalObject(ctx);
    int ret = 0, n = 0;
    const char *blocked = NULL;
    for (; n < grp->count; n++) {
        atoms[n] = JS_NewAtom(ctx, grp->names[n]);
        if (atoms[n] == JS_ATOM_NULL) {
            ret = -1;
            break;
        }
        if (read_name_state(ctx, global, atoms[n], &states[n]) < 0) {
            JS_FreeAtom(ctx, atoms[n]);
            ret = -1;
            break;
        }
        if (states[n].present && !(states[n].desc.flags & JS_PROP_CONFIGURABLE) && !blocked) {
            blocked = grp->names[n];
        }
    }
    int ext = ret == 0 ? JS_IsExtensible(ctx, global) : 0;
    if (ret == 0 && (ext <= 0 || blocked)) {
        if (ext >= 0) {
            bool global_locked = ext == 0;
            JS_ThrowTypeError(ctx,
                              "the %s built-ins are not available: %s%s before their first use",
                              grp->label, global_locked ? "the global object" : blocked,
                              global_locked ? " was frozen, sealed or made non-extensible"
                                            : " was made non-configurable");
        }
        ret = -1;
    }
    if (ret == 0) {
        st->intrinsics_built |= 1u << g;
        for (int i = 0; i < n && ret == 0; i++) {
            if (states[i].present && JS_DeleteProperty(ctx, global, atoms[i], 0) < 0) {
                ret = -1;
            }
        }
    }
    if (ret == 0) {
        ret = grp->add(ctx);
    }
    /* put back what user code had done to the group's names */
    for (int i = 0; i < n; i++) {
        if (ret == 0 && !states[i].untouched) {
            if (!states[i].present) {
                ret = JS_DeleteProperty(ctx, global, atoms[i], 0) < 0 ? -1 : 0;
            } else {
                JSPropertyDescriptor *d = &states[i].desc;
                int flags = (d->flags & (JS_PROP_CONFIGURABLE | JS_PROP_ENUMERABLE)) |
                            JS_PROP_HAS_CONFIGURABLE | JS_PROP_HAS_ENUMERABLE;
                if (d->flags & JS_PROP_GETSET) {
                    flags |= JS_PROP_HAS_GET | JS_PROP_HAS_SET;
                } else {
                    flags |=
                        (d->flags & JS_PROP_WRITABLE) | JS_PROP_HAS_VALUE | JS_PROP_HAS_WRITABLE;
                }
                ret = JS_DefineProperty(ctx, global, atoms[i], d->value, d->getter, d->setter,
                                        flags) < 0
                          ? -1
                          : 0;
            }
        }
        name_state_free(ctx, &states[i]);
        JS_FreeAtom(ctx, atoms[i]);
    }
    JS_FreeValue(ctx, global);
    return ret;
}

int ncsl__js_intrinsics_ensure(JSContext *ctx, unsigned groups) {
    ncsl__js_call_state *st = JS_GetContextOpaque(ctx);
    if (!st) {
        return 0; /* not a call context (the compile context builds no values) */
    }
    for (int g = 0; g < NCSL__JS_LAZY_GROUP_COUNT; g++) {
        if ((groups & (1u << g)) && !(st->intrinsics_built & (1u << g)) &&
            build_group(ctx, st, g) < 0) {
            return -1;
        }
    }
    return 0;
}

static JSValue lazy_get(JSContext *ctx, JSValueConst this_val, int magic) {
    (void)this_val; /* the value is the global's, whatever the getter is called on */
    int g = magic / GROUP_MAX_NAMES;
    const char *name = g_groups[g].names[magic % GROUP_MAX_NAMES];
    ncsl__js_call_state *st = JS_GetContextOpaque(ctx);
    if (st && (st->intrinsics_built & (1u << g))) {
        /* built, yet our accessor is still there: a getter of ours called again while the
         * group was being built (user code run by the build) */
        return JS_ThrowTypeError(ctx, "%s is not available while the %s built-ins are being built",
                                 name, g_groups[g].label);
    }
    if (ncsl__js_intrinsics_ensure(ctx, 1u << g) < 0) {
        return JS_EXCEPTION;
    }
    JSValue global = JS_GetGlobalObject(ctx);
    JSValue v = JS_GetPropertyStr(ctx, global, name); /* re-enters lazy_get if still ours */
    JS_FreeValue(ctx, global);
    return v;
}

static JSValue lazy_set(JSContext *ctx, JSValueConst this_val, JSValueConst v, int magic) {
    /* becomes a plain data property; building the group later keeps it (see ensure) */
    return ncsl__js_lazy_assigned(
        ctx, this_val, g_groups[magic / GROUP_MAX_NAMES].names[magic % GROUP_MAX_NAMES], v);
}

/* ------------------------------------------------------------------------- host helpers */
JSValue ncsl__js_new_array_buffer_copy(JSContext *ctx, const uint8_t *buf, size_t len) {
    if (ncsl__js_intrinsics_ensure(ctx, NCSL__JS_LAZY_BIT(NCSL__JS_LAZY_TYPED_ARRAYS)) < 0) {
        return JS_EXCEPTION;
    }
    return JS_NewArrayBufferCopy(ctx, buf, len);
}

JSValue ncsl__js_new_uint8_array_copy(JSContext *ctx, const uint8_t *buf, size_t len) {
    if (ncsl__js_intrinsics_ensure(ctx, NCSL__JS_LAZY_BIT(NCSL__JS_LAZY_TYPED_ARRAYS)) < 0) {
        return JS_EXCEPTION;
    }
    return JS_NewUint8ArrayCopy(ctx, buf, len);
}

JSValue ncsl__js_new_typed_array(JSContext *ctx, int argc, JSValueConst *argv,
                                 JSTypedArrayEnum type) {
    if (ncsl__js_intrinsics_ensure(ctx, NCSL__JS_LAZY_BIT(NCSL__JS_LAZY_TYPED_ARRAYS)) < 0) {
        return JS_EXCEPTION;
    }
    return JS_NewTypedArray(ctx, argc, argv, type);
}

JSValue ncsl__js_throw_dom_exception(JSContext *ctx, const char *name, const char *fmt, ...) {
    if (ncsl__js_intrinsics_ensure(ctx, NCSL__JS_LAZY_BIT(NCSL__JS_LAZY_DOM_EXCEPTION)) < 0) {
        return JS_EXCEPTION;
    }
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return JS_ThrowDOMException(ctx, name, "%s", msg);
}
