/*
 * Guards for the built-ins that QuickJS-ng 0.16 runs as C loops over an object's `length`
 * without polling the interrupt handler. Over holes they allocate nothing either, so neither the
 * deadline nor the memory limit can stop them: `Array.prototype.join.call({length: 2 ** 53 - 1})`
 * runs for ever, holding its worker (and the daemon's shutdown). Affected: Array.prototype's
 * concat, copyWithin, flat, flatMap, join, reverse, shift, slice, sort, splice, toLocaleString
 * and unshift (toString calls join), and String.raw.
 *
 * Each is replaced in every call context, before user code runs, by a wrapper around the
 * original. When the loop is bounded the wrapper calls the original directly: the object is no
 * proxy and its length is a number held in an own data property (reading it runs no user code,
 * so the original reads the same value) and at most max(GUARD_DIRECT_LEN, heap in use / 16), no
 * more iterations than a dense array of the call's heap would need anyway. Otherwise the
 * original runs on a guard Proxy of the object: every property access of its loop calls a trap,
 * QuickJS polls the interrupt handler on every call, and the deadline ends the loop like any
 * other. The traps forward to the target through Reflect functions captured before user code
 * ran, with the guard proxy as receiver replaced by its target, so accessors see their own
 * object and a method that returns `this` returns the object, not the proxy.
 *
 * flat and flatMap also walk the arrays they flatten, and concat the arrays it spreads; see
 * wrapper_call and concat_item for how those are guarded. In the guarded path (only objects with
 * huge or unknowable lengths take it) a few things differ from the spec in observable but harmless
 * ways: concat reads Symbol.isConcatSpreadable itself before the original does (a getter runs
 * twice), flat converts its depth before the original reads the length, and a frozen object whose
 * huge array-like element or `raw` the guard would wrap makes flat or String.raw throw the proxy
 * invariant's TypeError.
 */
#include <math.h>
#include <string.h>

#include "js_int.h"

/* a loop of this many iterations may run unpolled whatever the heap (a few ms at most) */
#define GUARD_DIRECT_LEN ((double)(1 << 20))

/* indexes into ncsl__js_guard.values */
enum {
    V_REFLECT_GET, /* the six Reflect functions, in trap order (see g_trap_names) */
    V_REFLECT_SET,
    V_REFLECT_HAS,
    V_REFLECT_DELETE,
    V_REFLECT_DEFINE,
    V_REFLECT_GOPD,
    V_IS_ARRAY,   /* Array.isArray (looks through proxies, throws on revoked ones) */
    V_SPREADABLE, /* Symbol.isConcatSpreadable */
    V_TRAPS,      /* the five traps other than get, shared by every handler (made on first use) */
    V_HANDLER_PLAIN = V_TRAPS + 5, /* handlers whose get trap needs no per-proxy data */
    V_HANDLER_DEEP,
    V_COUNT
};
_Static_assert(V_COUNT <= NCSL__JS_GUARD_VALUES, "ncsl__js_guard too small");

static const char *const g_trap_names[] = {
    "get", "set", "has", "deleteProperty", "defineProperty", "getOwnPropertyDescriptor"};

/* kinds of get trap (the trap's magic) */
enum {
    GET_PLAIN, /* forward */
    GET_DEEP,  /* forward; a result the caller loops over (String.raw's `raw`) gets a plain guard */
    GET_CONCAT, /* Symbol.isConcatSpreadable answers data[0], the value concat's wrapper read */
    GET_FLAT,   /* data[0] = remaining depth: wrap elements that flat will walk */
};

/* kinds of wrapper (the wrapper's magic) */
enum { W_THIS, W_FLAT, W_FLATMAP, W_CONCAT, W_RAW };

static const struct {
    bool on_string; /* String (else Array.prototype) */
    const char *name;
    int kind;
} g_wrapped[] = {
    {false, "concat", W_CONCAT},   {false, "copyWithin", W_THIS},     {false, "flat", W_FLAT},
    {false, "flatMap", W_FLATMAP}, {false, "join", W_THIS},           {false, "reverse", W_THIS},
    {false, "shift", W_THIS},      {false, "slice", W_THIS},          {false, "sort", W_THIS},
    {false, "splice", W_THIS},     {false, "toLocaleString", W_THIS}, {false, "unshift", W_THIS},
    {true, "raw", W_RAW},
};

static ncsl__js_guard *guard_of(JSContext *ctx) {
    ncsl__js_call_state *st = JS_GetContextOpaque(ctx);
    return &st->guard;
}

/* ------------------------------------------------------------------------- the bound */
static double direct_bound(JSContext *ctx) {
    const ncsl_js_runtime *js = JS_GetRuntimeOpaque(JS_GetRuntime(ctx));
    size_t heap = js->used_bytes > js->call_start_bytes ? js->used_bytes - js->call_start_bytes : 0;
    double by_heap = (double)(heap / 16);
    return by_heap > GUARD_DIRECT_LEN ? by_heap : GUARD_DIRECT_LEN;
}

/*
 * Whether a loop of the original over ToObject(v) must run on a guard proxy: 1 yes, 0 no (its
 * length is known and small), -1 on exception. Runs no user code.
 */
static int needs_guard(JSContext *ctx, JSValueConst v) {
    if (JS_IsUndefined(v) || JS_IsNull(v)) {
        return 0; /* the original throws the TypeError */
    }
    if (JS_IsString(v)) {
        int64_t len = 0;
        JSValue lv = JS_GetPropertyStr(ctx, v, "length"); /* intrinsic for a string primitive */
        int r = JS_ToInt64(ctx, &len, lv);
        JS_FreeValue(ctx, lv);
        if (r < 0) {
            return -1;
        }
        return (double)len > direct_bound(ctx) ? 1 : 0;
    }
    if (!JS_IsObject(v) || JS_IsProxy(v)) {
        return 1; /* a number's wrapper finds `length` on its prototype, where user code may be */
    }
    JSPropertyDescriptor d;
    JSAtom length_atom = JS_NewAtom(ctx, "length");
    if (length_atom == JS_ATOM_NULL) {
        return -1;
    }
    int r = JS_GetOwnProperty(ctx, &d, v, length_atom);
    JS_FreeAtom(ctx, length_atom);
    if (r <= 0) {
        return r < 0 ? -1 : 1;
    }
    double len = INFINITY;
    if (!(d.flags & JS_PROP_GETSET) && JS_IsNumber(d.value) &&
        JS_ToFloat64(ctx, &len, d.value) == 0 && isnan(len)) {
        len = 0; /* ToLength(NaN) */
    }
    JS_FreeValue(ctx, d.value);
    JS_FreeValue(ctx, d.getter);
    JS_FreeValue(ctx, d.setter);
    return len > direct_bound(ctx) ? 1 : 0;
}

/* Array.isArray(v): -1 on exception (a revoked proxy), else 0 or 1. */
static int is_array(JSContext *ctx, JSValueConst v) {
    if (!JS_IsObject(v)) {
        return 0;
    }
    if (!JS_IsProxy(v)) {
        return JS_IsArray(v) ? 1 : 0;
    }
    JSValue r = JS_Call(ctx, guard_of(ctx)->values[V_IS_ARRAY], JS_UNDEFINED, 1, &v);
    if (JS_IsException(r)) {
        return -1;
    }
    int b = JS_ToBool(ctx, r);
    JS_FreeValue(ctx, r);
    return b;
}

/* ------------------------------------------------------------------------- traps */
/* Whether `receiver` is a guard proxy of `target` made with `handler` (handlers never leave
 * this file, so no other proxy has one). */
static bool is_own_proxy(JSContext *ctx, JSValueConst receiver, JSValueConst target,
                         JSValueConst handler) {
    if (!JS_IsProxy(receiver)) {
        return false;
    }
    JSValue t = JS_GetProxyTarget(ctx, receiver);
    if (JS_IsException(t)) {
        JS_FreeValue(ctx, JS_GetException(ctx)); /* revoked: not ours */
        return false;
    }
    JSValue h = JS_GetProxyHandler(ctx, receiver);
    bool same = JS_IsStrictEqual(ctx, t, target) && JS_IsStrictEqual(ctx, h, handler);
    JS_FreeValue(ctx, t);
    JS_FreeValue(ctx, h);
    return same;
}

static JSValue new_guard_proxy(JSContext *ctx, JSValueConst obj, JSValueConst handler) {
    return JS_NewProxy(ctx, obj, handler);
}

static JSValue plain_handler(JSContext *ctx);
static JSValue flat_handler(JSContext *ctx, double depth);

/* set, has, deleteProperty, defineProperty, getOwnPropertyDescriptor; magic = Reflect index */
static JSValue trap_forward(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv,
                            int magic, JSValueConst *data) {
    (void)data;
    JSValueConst args[4];
    int n = argc < 4 ? argc : 4;
    for (int i = 0; i < n; i++) {
        args[i] = argv[i];
    }
    if (magic == V_REFLECT_SET && n == 4 && is_own_proxy(ctx, args[3], args[0], this_val)) {
        args[3] = args[0];
    }
    return JS_Call(ctx, guard_of(ctx)->values[magic], JS_UNDEFINED, n, args);
}

static JSValue trap_get(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv,
                        int magic, JSValueConst *data) {
    ncsl__js_guard *g = guard_of(ctx);
    if (argc < 3) {
        return JS_ThrowTypeError(ctx, "guard trap: missing arguments");
    }
    JSValueConst args[3] = {argv[0], argv[1], argv[2]};
    if (is_own_proxy(ctx, args[2], args[0], this_val)) {
        args[2] = args[0];
    }
    if (magic == GET_CONCAT && JS_IsStrictEqual(ctx, args[1], g->values[V_SPREADABLE])) {
        return JS_DupValue(ctx, data[0]); /* the value concat's wrapper already read */
    }
    JSValue v = JS_Call(ctx, g->values[V_REFLECT_GET], JS_UNDEFINED, 3, args);
    if (JS_IsException(v)) {
        return v;
    }
    if (magic == GET_DEEP && !JS_IsUndefined(v) && !JS_IsNull(v)) {
        /* String.raw reads `raw` and loops over ToObject(raw) */
        int guard = needs_guard(ctx, v);
        if (guard <= 0) {
            return guard < 0 ? (JS_FreeValue(ctx, v), JS_EXCEPTION) : v;
        }
        JSValue obj = JS_ToObject(ctx, v);
        JS_FreeValue(ctx, v);
        if (JS_IsException(obj)) {
            return obj;
        }
        JSValue h = plain_handler(ctx);
        JSValue p = JS_IsException(h) ? JS_EXCEPTION : new_guard_proxy(ctx, obj, h);
        JS_FreeValue(ctx, h);
        JS_FreeValue(ctx, obj);
        return p;
    }
    if (magic == GET_FLAT && JS_IsObject(v)) {
        double depth = 0;
        JS_ToFloat64(ctx, &depth, data[0]);
        if (depth <= 0) {
            return v; /* not walked: appended as is */
        }
        int arr = is_array(ctx, v);
        int guard = arr > 0 ? needs_guard(ctx, v) : 0;
        if (arr < 0 || guard < 0) {
            JS_FreeValue(ctx, v);
            return JS_EXCEPTION;
        }
        if (guard) {
            JSValue h = flat_handler(ctx, depth - 1);
            JSValue p = JS_IsException(h) ? JS_EXCEPTION : new_guard_proxy(ctx, v, h);
            JS_FreeValue(ctx, h);
            JS_FreeValue(ctx, v);
            return p;
        }
    }
    return v;
}

/* A handler: a null-prototype object with the shared traps and `get_trap` (taken). */
static JSValue make_handler(JSContext *ctx, JSValue get_trap) {
    ncsl__js_guard *g = guard_of(ctx);
    if (JS_IsException(get_trap)) {
        return JS_EXCEPTION;
    }
    if (JS_IsUndefined(g->values[V_TRAPS])) {
        for (int i = 0; i < 5; i++) {
            /* the arity makes QuickJS pad missing arguments with undefined */
            static const int arity[5] = {4, 2, 2, 3, 2};
            JSValue t = JS_NewCFunctionData2(ctx, trap_forward, g_trap_names[i + 1], arity[i],
                                             V_REFLECT_SET + i, 0, NULL);
            if (JS_IsException(t)) {
                JS_FreeValue(ctx, get_trap);
                return JS_EXCEPTION;
            }
            JS_FreeValue(ctx, g->values[V_TRAPS + i]);
            g->values[V_TRAPS + i] = t;
        }
    }
    JSValue h = JS_NewObjectProto(ctx, JS_NULL);
    if (JS_IsException(h)) {
        JS_FreeValue(ctx, get_trap);
        return h;
    }
    if (JS_DefinePropertyValueStr(ctx, h, "get", get_trap, 0) < 0) {
        JS_FreeValue(ctx, h);
        return JS_EXCEPTION;
    }
    for (int i = 0; i < 5; i++) {
        if (JS_DefinePropertyValueStr(ctx, h, g_trap_names[i + 1],
                                      JS_DupValue(ctx, g->values[V_TRAPS + i]), 0) < 0) {
            JS_FreeValue(ctx, h);
            return JS_EXCEPTION;
        }
    }
    return h;
}

/* The cached handler at `slot` with a get trap of `kind` (new reference). */
static JSValue cached_handler(JSContext *ctx, int slot, int kind) {
    ncsl__js_guard *g = guard_of(ctx);
    if (JS_IsUndefined(g->values[slot])) {
        JSValue h = make_handler(ctx, JS_NewCFunctionData2(ctx, trap_get, "get", 3, kind, 0, NULL));
        if (JS_IsException(h)) {
            return h;
        }
        g->values[slot] = h;
    }
    return JS_DupValue(ctx, g->values[slot]);
}

static JSValue plain_handler(JSContext *ctx) {
    return cached_handler(ctx, V_HANDLER_PLAIN, GET_PLAIN);
}

static JSValue flat_handler(JSContext *ctx, double depth) {
    JSValue d = JS_NewFloat64(ctx, depth);
    return make_handler(ctx, JS_NewCFunctionData2(ctx, trap_get, "get", 3, GET_FLAT, 1, &d));
}

/* A handler whose get answers Symbol.isConcatSpreadable with `spreadable` (borrowed). */
static JSValue concat_handler(JSContext *ctx, JSValueConst spreadable) {
    return make_handler(ctx,
                        JS_NewCFunctionData2(ctx, trap_get, "get", 3, GET_CONCAT, 1, &spreadable));
}

/* ------------------------------------------------------------------------- wrappers */
/* flatMap's callback, wrapped: an array it returns is walked by flatMap, so a huge one is
 * returned behind a plain guard. data[0] = the callback. */
static JSValue mapper_call(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv,
                           int magic, JSValueConst *data) {
    (void)magic;
    ncsl__js_guard *g = guard_of(ctx);
    JSValueConst args[3];
    JSValue source = JS_UNDEFINED;
    int n = argc < 3 ? argc : 3;
    for (int i = 0; i < n; i++) {
        args[i] = argv[i];
    }
    if (n == 3 && JS_IsProxy(args[2]) && !JS_IsUndefined(g->values[V_HANDLER_PLAIN])) {
        /* the source flatMap passes is its receiver: the object, not the guard around it */
        JSValue h = JS_GetProxyHandler(ctx, args[2]);
        if (JS_IsException(h)) {
            JS_FreeValue(ctx, JS_GetException(ctx)); /* revoked: not ours */
        } else if (JS_IsStrictEqual(ctx, h, g->values[V_HANDLER_PLAIN])) {
            source = JS_GetProxyTarget(ctx, args[2]);
            args[2] = source;
        }
        JS_FreeValue(ctx, h);
    }
    JSValue r = JS_Call(ctx, data[0], this_val, n, args);
    JS_FreeValue(ctx, source);
    if (!JS_IsObject(r)) {
        return r;
    }
    int arr = is_array(ctx, r);
    int guard = arr > 0 ? needs_guard(ctx, r) : 0;
    if (arr < 0 || guard < 0) {
        JS_FreeValue(ctx, r);
        return JS_EXCEPTION;
    }
    if (!guard) {
        return r;
    }
    JSValue h = plain_handler(ctx);
    JSValue p = JS_IsException(h) ? JS_EXCEPTION : new_guard_proxy(ctx, r, h);
    JS_FreeValue(ctx, h);
    JS_FreeValue(ctx, r);
    return p;
}

/*
 * concat: IsConcatSpreadable(E) is decided once, here, for every item whose spreading could be
 * a long loop (a proxy, or an object whose length is not known to be small, or one whose
 * prototype chain holds a proxy), and the original is made to see the same decision: a spread
 * item is passed behind a guard whose get answers Symbol.isConcatSpreadable with the value read
 * here; an argument that is not spread is passed as a fresh one-element array marked spreadable
 * (same result, no second decision). The receiver, when not spread, is passed behind such a
 * guard (it is then the result's first element, put back after the call).
 * Returns 1 when `item` needs no change, 0 when *out was set (a new reference), -1 on exception.
 */
static int concat_item(JSContext *ctx, JSValueConst item, bool is_receiver, JSValue *out) {
    ncsl__js_guard *g = guard_of(ctx);
    if (!JS_IsObject(item)) {
        return 1;
    }
    int guard = needs_guard(ctx, item);
    if (guard < 0) {
        return -1;
    }
    if (!guard) {
        return 1; /* whatever the original decides, the loop is short */
    }
    if (!JS_IsProxy(item) && !JS_IsArray(item)) {
        /* a plain object is spread only if Symbol.isConcatSpreadable is somewhere on its chain */
        JSAtom key = JS_ValueToAtom(ctx, g->values[V_SPREADABLE]);
        JSValue o = JS_DupValue(ctx, item);
        int found = 0;
        while (JS_IsObject(o) && !found) {
            if (JS_IsProxy(o)) {
                found = 1; /* unknowable without running its traps */
                break;
            }
            JSPropertyDescriptor d;
            int r = JS_GetOwnProperty(ctx, &d, o, key);
            if (r < 0) {
                found = -1;
                break;
            }
            if (r > 0) {
                JS_FreeValue(ctx, d.value);
                JS_FreeValue(ctx, d.getter);
                JS_FreeValue(ctx, d.setter);
                found = 1;
                break;
            }
            JSValue next = JS_GetPrototype(ctx, o); /* no user code: o is no proxy */
            JS_FreeValue(ctx, o);
            o = next;
        }
        JS_FreeValue(ctx, o);
        JS_FreeAtom(ctx, key);
        if (found <= 0) {
            return found < 0 ? -1 : 1; /* never spread: appended as is */
        }
    }
    /* IsConcatSpreadable, once */
    JSAtom key = JS_ValueToAtom(ctx, g->values[V_SPREADABLE]);
    JSValue v = JS_GetProperty(ctx, item, key);
    JS_FreeAtom(ctx, key);
    if (JS_IsException(v)) {
        return -1;
    }
    int spread = JS_IsUndefined(v) ? is_array(ctx, item) : JS_ToBool(ctx, v);
    if (spread < 0) {
        JS_FreeValue(ctx, v);
        return -1;
    }
    if (spread || is_receiver) {
        JSValue h = concat_handler(ctx, v);
        JS_FreeValue(ctx, v);
        if (JS_IsException(h)) {
            return -1;
        }
        *out = new_guard_proxy(ctx, item, h);
        JS_FreeValue(ctx, h);
        return JS_IsException(*out) ? -1 : 0;
    }
    JS_FreeValue(ctx, v);
    JSValue a = JS_NewArray(ctx);
    JSAtom skey = JS_ValueToAtom(ctx, g->values[V_SPREADABLE]);
    if (JS_IsException(a) ||
        JS_DefinePropertyValueUint32(ctx, a, 0, JS_DupValue(ctx, item), JS_PROP_C_W_E) < 0 ||
        JS_DefinePropertyValue(ctx, a, skey, JS_TRUE, JS_PROP_C_W_E) < 0) {
        JS_FreeAtom(ctx, skey);
        JS_FreeValue(ctx, a);
        return -1;
    }
    JS_FreeAtom(ctx, skey);
    *out = a;
    return 0;
}

static JSValue concat_call(JSContext *ctx, JSValueConst original, JSValueConst this_val, int argc,
                           JSValueConst *argv) {
    JSValue ret = JS_EXCEPTION;
    JSValue obj = JS_ToObject(ctx, this_val);
    JSValue *items = NULL; /* [receiver, ...args], owned */
    bool changed = false, receiver_boxed = false;
    if (JS_IsException(obj)) {
        return obj;
    }
    items = js_mallocz(ctx, sizeof(JSValue) * ((size_t)argc + 1));
    if (!items) {
        goto out;
    }
    for (int i = 0; i <= argc; i++) {
        JSValueConst item = i == 0 ? obj : argv[i - 1];
        JSValue repl = JS_UNDEFINED;
        int r = concat_item(ctx, item, i == 0, &repl);
        if (r < 0) {
            for (int j = 0; j < i; j++) {
                JS_FreeValue(ctx, items[j]);
            }
            goto out;
        }
        items[i] = r == 0 ? repl : JS_DupValue(ctx, item);
        if (r == 0) {
            changed = true;
            receiver_boxed = receiver_boxed || i == 0;
        }
    }
    if (!changed) {
        ret = JS_Call(ctx, original, this_val, argc, argv);
    } else {
        ret = JS_Call(ctx, original, items[0], argc, (JSValueConst *)items + 1);
    }
    if (receiver_boxed && JS_IsArray(ret)) {
        /* a receiver that is not spread is the first element: the object, not its guard */
        JSValue first = JS_GetPropertyUint32(ctx, ret, 0);
        bool is_guard = JS_IsStrictEqual(ctx, first, items[0]);
        JS_FreeValue(ctx, first);
        if (is_guard &&
            JS_DefinePropertyValueUint32(ctx, ret, 0, JS_DupValue(ctx, obj), JS_PROP_C_W_E) < 0) {
            JS_FreeValue(ctx, ret);
            ret = JS_EXCEPTION;
        }
    }
    for (int i = 0; i <= argc; i++) {
        JS_FreeValue(ctx, items[i]);
    }
out:
    js_free(ctx, items);
    JS_FreeValue(ctx, obj);
    return ret;
}

/* data[0] = the original built-in; magic = W_* */
static JSValue wrapper_call(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv,
                            int magic, JSValueConst *data) {
    JSValueConst original = data[0];
    JSValue ret = JS_EXCEPTION, obj = JS_UNDEFINED, handler = JS_UNDEFINED, proxy = JS_UNDEFINED;
    JSValue arg0 = JS_UNDEFINED;
    JSValueConst args_buf[4];
    JSValueConst *args = argv;

    switch (magic) {
    case W_CONCAT:
        return concat_call(ctx, original, this_val, argc, argv);
    case W_RAW: {
        /* String.raw loops over ToObject(ToObject(template).raw): guard both */
        if (argc < 1 || JS_IsUndefined(argv[0]) || JS_IsNull(argv[0])) {
            return JS_Call(ctx, original, this_val, argc, argv);
        }
        obj = JS_ToObject(ctx, argv[0]);
        handler =
            JS_IsException(obj) ? JS_EXCEPTION : cached_handler(ctx, V_HANDLER_DEEP, GET_DEEP);
        proxy = JS_IsException(handler) ? JS_EXCEPTION : new_guard_proxy(ctx, obj, handler);
        if (JS_IsException(proxy)) {
            goto out;
        }
        JSValueConst *raw_args = js_malloc(ctx, sizeof(JSValueConst) * (size_t)argc);
        if (!raw_args) {
            goto out;
        }
        memcpy(raw_args, argv, sizeof(JSValueConst) * (size_t)argc);
        raw_args[0] = proxy;
        ret = JS_Call(ctx, original, this_val, argc, raw_args);
        js_free(ctx, (void *)raw_args);
        goto out;
    }
    case W_FLAT: {
        /* the elements flat walks are guarded too, so it always runs on a guard; the depth is
         * converted here once (it may run user code) and passed as a number */
        double depth = 1;
        obj = JS_ToObject(ctx, this_val);
        if (JS_IsException(obj)) {
            goto out;
        }
        if (argc > 0 && !JS_IsUndefined(argv[0])) {
            if (JS_ToFloat64(ctx, &depth, argv[0]) < 0) {
                goto out;
            }
            depth = isnan(depth) ? 0 : trunc(depth);
            depth = depth < 0 ? 0 : depth;
        }
        handler = flat_handler(ctx, depth);
        proxy = JS_IsException(handler) ? JS_EXCEPTION : new_guard_proxy(ctx, obj, handler);
        if (JS_IsException(proxy)) {
            goto out;
        }
        JSValueConst flat_args[1] = {JS_NewFloat64(ctx, depth)};
        ret = JS_Call(ctx, original, proxy, 1, flat_args);
        goto out;
    }
    case W_FLATMAP:
        if (argc > 0 && JS_IsFunction(ctx, argv[0])) {
            arg0 = JS_NewCFunctionData2(ctx, mapper_call, "", 3, 0, 1, argv);
            if (JS_IsException(arg0)) {
                goto out;
            }
            int n = argc < 4 ? argc : 4; /* flatMap reads two arguments */
            memcpy(args_buf, argv, sizeof(JSValueConst) * (size_t)n);
            args_buf[0] = arg0;
            args = args_buf;
            argc = n;
        }
        break;
    default:
        break;
    }

    int guard = needs_guard(ctx, this_val);
    if (guard < 0) {
        goto out;
    }
    if (!guard) {
        ret = JS_Call(ctx, original, this_val, argc, args);
        goto out;
    }
    obj = JS_ToObject(ctx, this_val);
    handler = JS_IsException(obj) ? JS_EXCEPTION : plain_handler(ctx);
    proxy = JS_IsException(handler) ? JS_EXCEPTION : new_guard_proxy(ctx, obj, handler);
    if (JS_IsException(proxy)) {
        goto out;
    }
    ret = JS_Call(ctx, original, proxy, argc, args);
    if (JS_IsObject(ret) && JS_IsStrictEqual(ctx, ret, proxy)) {
        JS_FreeValue(ctx, ret); /* reverse, sort, copyWithin return `this` */
        ret = JS_DupValue(ctx, obj);
    }
out:
    JS_FreeValue(ctx, arg0);
    JS_FreeValue(ctx, proxy);
    JS_FreeValue(ctx, handler);
    JS_FreeValue(ctx, obj);
    return ret;
}

/* ------------------------------------------------------------------------- setup */
/* Copies obj[name] into *slot (a new reference). Returns 0 or -1. */
static int capture(JSContext *ctx, JSValueConst obj, const char *name, JSValue *slot) {
    JSValue v = JS_GetPropertyStr(ctx, obj, name);
    if (JS_IsException(v)) {
        return -1;
    }
    JS_FreeValue(ctx, *slot);
    *slot = v;
    return 0;
}

int ncsl__js_guard_init(JSContext *ctx, JSValue global) {
    ncsl__js_guard *g = guard_of(ctx);
    int rc = -1;
    JSValue reflect = JS_UNDEFINED, array = JS_UNDEFINED, proto = JS_UNDEFINED;
    JSValue string = JS_UNDEFINED, symbol = JS_UNDEFINED;

    for (int i = 0; i < NCSL__JS_GUARD_VALUES; i++) {
        g->values[i] = JS_UNDEFINED;
    }
    g->ready = true;
    if (capture(ctx, global, "Reflect", &reflect) < 0 ||
        capture(ctx, global, "Array", &array) < 0 || capture(ctx, array, "prototype", &proto) < 0 ||
        capture(ctx, global, "String", &string) < 0 ||
        capture(ctx, global, "Symbol", &symbol) < 0 ||
        capture(ctx, array, "isArray", &g->values[V_IS_ARRAY]) < 0 ||
        capture(ctx, symbol, "isConcatSpreadable", &g->values[V_SPREADABLE]) < 0) {
        goto out;
    }
    for (int i = 0; i < 6; i++) {
        if (capture(ctx, reflect, g_trap_names[i] /* Reflect's names match the traps' */,
                    &g->values[V_REFLECT_GET + i]) < 0) {
            goto out;
        }
    }
    for (size_t i = 0; i < NCSL_ARRAY_LEN(g_wrapped); i++) {
        JSValueConst holder = g_wrapped[i].on_string ? string : proto;
        JSValue original = JS_GetPropertyStr(ctx, holder, g_wrapped[i].name);
        int32_t length = 0;
        JSValue lv =
            JS_IsException(original) ? JS_EXCEPTION : JS_GetPropertyStr(ctx, original, "length");
        if (JS_IsException(lv) || JS_ToInt32(ctx, &length, lv) < 0) {
            JS_FreeValue(ctx, original);
            goto out;
        }
        JS_FreeValue(ctx, lv);
        JSValue w = JS_NewCFunctionData2(ctx, wrapper_call, g_wrapped[i].name, length,
                                         g_wrapped[i].kind, 1, (JSValueConst *)&original);
        JS_FreeValue(ctx, original);
        if (JS_IsException(w) ||
            JS_DefinePropertyValueStr(ctx, holder, g_wrapped[i].name, w,
                                      JS_PROP_WRITABLE | JS_PROP_CONFIGURABLE) < 0) {
            goto out;
        }
    }
    rc = 0;
out:
    JS_FreeValue(ctx, reflect);
    JS_FreeValue(ctx, array);
    JS_FreeValue(ctx, proto);
    JS_FreeValue(ctx, string);
    JS_FreeValue(ctx, symbol);
    return rc;
}

void ncsl__js_guard_cleanup(JSContext *ctx) {
    ncsl__js_guard *g = guard_of(ctx);
    if (!g->ready) {
        return;
    }
    for (int i = 0; i < NCSL__JS_GUARD_VALUES; i++) {
        JS_FreeValue(ctx, g->values[i]);
        g->values[i] = JS_UNDEFINED;
    }
    g->ready = false;
}
