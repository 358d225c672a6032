/*
 * fetch(url, init), Headers and Response: the JS face of src/fetch.
 *
 * fetch() checks its arguments and the call's budget on the call's thread, copies the request
 * into C memory and hands it to the fetch service (one I/O thread for the process) as an async op
 * (js_int.h): the call's event loop then waits without holding a CPU slot, and settle() builds
 * the Response on the call's thread once the I/O thread completed the request. When the call ends
 * first (deadline, error), the op's cancel stops the request.
 *
 * Cost when unused: `fetch` is an autoinit function (created on first access) and `Headers` a
 * lazy global (js_lazy.c); the classes are registered once per runtime and their prototypes are
 * built on first use in a context. No curl work happens before the first request.
 *
 * Budget of a call (ncsl__js_call_state.fetch_requests / fetch_bytes): at most
 * Fetch.MaxRequestsPerCall fetch() calls that reach the network layer, and Fetch.MaxResponseBytes
 * response body bytes over all of them (a request may read at most what is left). Gas: a fixed
 * NCSL__JS_GAS_FETCH per request, plus the bytes of the request (URL, headers, body) charged
 * before sending and the bytes of the response (headers, body) charged when it is settled.
 *
 * Errors: every refusal rejects the promise with a TypeError whose message comes from the policy
 * ("fetch: host 'x' is not in Fetch.AllowedHosts") or names the argument ("fetch: init.redirect
 * must be ..."); an uncatchable condition (deadline, memory, gas) propagates instead.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fetch/fetch.h"
#include "js_int.h"
#include "js_lazy.h"

/* ------------------------------------------------------------------------- errors */
/* Turns the pending exception into a rejected promise, unless the call must end (uncatchable or
 * a limit broke): then JS_EXCEPTION propagates it. */
static JSValue reject_pending(JSContext *ctx) {
    if (ncsl__js_call_is_doomed(ctx)) {
        return JS_EXCEPTION;
    }
    JSValue exc = JS_GetException(ctx);
    if (JS_IsUncatchableError(exc)) {
        return JS_Throw(ctx, exc);
    }
    JSValue p = JS_NewSettledPromise(ctx, true, exc);
    JS_FreeValue(ctx, exc);
    return p;
}

static bool is_tchar(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* ------------------------------------------------------------------------- header lists */
/* A header list in JS memory (js_malloc): names lower case, values normalized, insertion order. */
typedef struct hdr {
    char *name;
    size_t name_len;
    char *value;
    size_t value_len;
} hdr;

typedef struct hdr_list {
    hdr *e;
    size_t count;
    size_t cap;
    bool immutable; /* a response's headers */
} hdr_list;

static void hdr_free_one(JSRuntime *rt, hdr *h) {
    js_free_rt(rt, h->name);
    if (h->value) {
        ncsl_wipe(h->value, h->value_len); /* request headers carry API keys */
    }
    js_free_rt(rt, h->value);
}

static void hdr_list_clear(JSRuntime *rt, hdr_list *l) {
    for (size_t i = 0; i < l->count; i++) {
        hdr_free_one(rt, &l->e[i]);
    }
    js_free_rt(rt, l->e);
    l->e = NULL;
    l->count = l->cap = 0;
}

/* Appends a copy of name (lower-cased) and value. 0 or -1 (out of memory, pending). */
static int hdr_list_append(JSContext *ctx, hdr_list *l, const char *name, size_t nl,
                           const char *value, size_t vl) {
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        hdr *n = js_realloc(ctx, l->e, cap * sizeof(*n));
        if (!n) {
            return -1;
        }
        l->e = n;
        l->cap = cap;
    }
    char *nm = js_malloc(ctx, nl + 1);
    char *vv = js_malloc(ctx, vl + 1);
    if (!nm || !vv) {
        js_free(ctx, nm);
        js_free(ctx, vv);
        return -1;
    }
    for (size_t i = 0; i < nl; i++) {
        char c = name[i];
        nm[i] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
    }
    nm[nl] = '\0';
    memcpy(vv, value, vl);
    vv[vl] = '\0';
    l->e[l->count++] = (hdr){nm, nl, vv, vl};
    return 0;
}

static bool name_eq(const hdr *h, const char *lname, size_t nl) {
    return h->name_len == nl && memcmp(h->name, lname, nl) == 0;
}

static void hdr_list_remove(JSContext *ctx, hdr_list *l, const char *lname, size_t nl) {
    size_t j = 0;
    for (size_t i = 0; i < l->count; i++) {
        if (name_eq(&l->e[i], lname, nl)) {
            hdr_free_one(JS_GetRuntime(ctx), &l->e[i]);
        } else {
            l->e[j++] = l->e[i];
        }
    }
    l->count = j;
}

/* A header name checked (an HTTP token) and lower-cased into `out` (at most `cap` bytes), from
 * a JS value. Returns its length, or -1 with a TypeError naming `what`. */
static int64_t header_name(JSContext *ctx, JSValueConst v, const char *what, char *out,
                           size_t cap) {
    ncsl__js_usv u;
    if (ncsl__js_usv_get(ctx, v, &u) < 0) {
        return -1;
    }
    int64_t ret = -1;
    if (u.len == 0 || u.len >= cap) {
        JS_ThrowTypeError(ctx, "%s: a header name must be 1 to %zu characters", what, cap - 1);
        goto out;
    }
    for (size_t i = 0; i < u.len; i++) {
        if (!is_tchar((unsigned char)u.s[i])) {
            JS_ThrowTypeError(ctx, "%s: '%.64s' is not a valid header name", what, u.s);
            goto out;
        }
        char c = u.s[i];
        out[i] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
    }
    out[u.len] = '\0';
    ret = (int64_t)u.len;
out:
    ncsl__js_usv_free(ctx, &u);
    return ret;
}

#define MAX_HEADER_NAME 256

static bool is_http_ws(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Appends (or, with `replace`, sets) header name: value from JS values, normalizing the value
 * (leading and trailing whitespace removed) and refusing NUL, CR and LF inside it. */
static int hdr_list_add_js(JSContext *ctx, hdr_list *l, JSValueConst name, JSValueConst value,
                           bool replace, const char *what) {
    char nm[MAX_HEADER_NAME];
    int64_t nl = header_name(ctx, name, what, nm, sizeof(nm));
    if (nl < 0) {
        return -1;
    }
    if (ncsl__js_gas_charge(ctx, NCSL__JS_GAS_HOST_CALL) < 0) {
        return -1;
    }
    ncsl__js_usv u;
    if (ncsl__js_usv_get(ctx, value, &u) < 0) {
        return -1;
    }
    int ret = -1;
    const char *s = u.s;
    size_t len = u.len;
    while (len && is_http_ws(s[0])) {
        s++;
        len--;
    }
    while (len && is_http_ws(s[len - 1])) {
        len--;
    }
    if (memchr(s, '\0', len) || memchr(s, '\r', len) || memchr(s, '\n', len)) {
        JS_ThrowTypeError(ctx, "%s: the value of header '%s' contains a NUL, CR or LF character",
                          what, nm);
        goto out;
    }
    if (ncsl__js_gas_charge(ctx, ncsl__js_gas_bytes((uint64_t)nl + len)) < 0) {
        goto out;
    }
    if (replace) {
        hdr_list_remove(ctx, l, nm, (size_t)nl);
    }
    ret = hdr_list_append(ctx, l, nm, (size_t)nl, s, len);
out:
    ncsl__js_usv_free(ctx, &u);
    return ret;
}

/* ------------------------------------------------------------------------- Headers class */
static JSClassID g_headers_class;
static JSClassID g_response_class;

static void headers_finalizer(JSRuntime *rt, JSValue val) {
    hdr_list *l = JS_GetOpaque(val, g_headers_class);
    if (l) {
        hdr_list_clear(rt, l);
        js_free_rt(rt, l);
    }
}

static const JSClassDef g_headers_def = {.class_name = "Headers", .finalizer = headers_finalizer};

static hdr_list *headers_get(JSContext *ctx, JSValueConst this_val, const char *what) {
    hdr_list *l = JS_GetOpaque(this_val, g_headers_class);
    if (!l) {
        JS_ThrowTypeError(ctx, "%s: 'this' is not a Headers object", what);
    }
    return l;
}

/* Fills `l` from a HeadersInit: a Headers object, an array of [name, value] pairs, or an
 * object whose own enumerable string keys are names. `what` names the argument in errors. */
static int headers_fill(JSContext *ctx, hdr_list *l, JSValueConst init, const char *what) {
    if (JS_IsUndefined(init) || JS_IsNull(init)) {
        return 0;
    }
    if (!JS_IsObject(init)) {
        JS_ThrowTypeError(ctx,
                          "%s must be a Headers object, an array of [name, value] pairs or an "
                          "object",
                          what);
        return -1;
    }
    hdr_list *src = JS_GetOpaque(init, g_headers_class);
    if (src) {
        for (size_t i = 0; i < src->count; i++) {
            if (hdr_list_append(ctx, l, src->e[i].name, src->e[i].name_len, src->e[i].value,
                                src->e[i].value_len) < 0) {
                return -1;
            }
        }
        return 0;
    }
    if (JS_IsArray(init)) {
        int64_t n = 0;
        if (JS_GetLength(ctx, init, &n) < 0) {
            return -1;
        }
        for (int64_t i = 0; i < n; i++) {
            JSValue pair = JS_GetPropertyInt64(ctx, init, i);
            if (JS_IsException(pair)) {
                return -1;
            }
            int64_t pn = -1;
            if (!JS_IsArray(pair) || JS_GetLength(ctx, pair, &pn) < 0 || pn != 2) {
                JS_FreeValue(ctx, pair);
                if (!JS_HasException(ctx)) {
                    JS_ThrowTypeError(ctx, "%s: entry %lld must be a [name, value] pair", what,
                                      (long long)i);
                }
                return -1;
            }
            JSValue k = JS_GetPropertyInt64(ctx, pair, 0);
            JSValue v = JS_IsException(k) ? JS_UNDEFINED : JS_GetPropertyInt64(ctx, pair, 1);
            JS_FreeValue(ctx, pair);
            int r = JS_IsException(k) || JS_IsException(v)
                        ? -1
                        : hdr_list_add_js(ctx, l, k, v, false, what);
            JS_FreeValue(ctx, k);
            JS_FreeValue(ctx, v);
            if (r < 0) {
                return -1;
            }
        }
        return 0;
    }
    JSPropertyEnum *props = NULL;
    uint32_t count = 0;
    if (JS_GetOwnPropertyNames(ctx, &props, &count, init, JS_GPN_STRING_MASK | JS_GPN_ENUM_ONLY) <
        0) {
        return -1;
    }
    int ret = 0;
    for (uint32_t i = 0; i < count && ret == 0; i++) {
        JSValue k = JS_AtomToString(ctx, props[i].atom);
        JSValue v = JS_IsException(k) ? JS_UNDEFINED : JS_GetProperty(ctx, init, props[i].atom);
        ret = JS_IsException(k) || JS_IsException(v) ? -1
                                                     : hdr_list_add_js(ctx, l, k, v, false, what);
        JS_FreeValue(ctx, k);
        JS_FreeValue(ctx, v);
    }
    JS_FreePropertyEnum(ctx, props, count);
    return ret;
}

/* A Headers object around a new list; *out gets the list (owned by the object). */
static int headers_proto_ensure(JSContext *ctx);

static JSValue headers_new(JSContext *ctx, JSValueConst proto, hdr_list **out) {
    if (headers_proto_ensure(ctx) < 0) {
        return JS_EXCEPTION;
    }
    JSValue obj = JS_IsUndefined(proto) ? JS_NewObjectClass(ctx, (int)g_headers_class)
                                        : JS_NewObjectProtoClass(ctx, proto, g_headers_class);
    if (JS_IsException(obj)) {
        return obj;
    }
    hdr_list *l = js_mallocz(ctx, sizeof(*l));
    if (!l) {
        JS_FreeValue(ctx, obj);
        return JS_EXCEPTION;
    }
    JS_SetOpaque(obj, l);
    *out = l;
    return obj;
}

static JSValue js_headers_ctor(JSContext *ctx, JSValueConst new_target, int argc,
                               JSValueConst *argv) {
    if (ncsl__js_gas_charge(ctx, NCSL__JS_GAS_HOST_CALL) < 0) {
        return JS_EXCEPTION;
    }
    if (JS_IsUndefined(new_target)) {
        return JS_ThrowTypeError(ctx, "Headers: use 'new Headers(init)'");
    }
    JSValue proto = JS_GetPropertyStr(ctx, new_target, "prototype");
    if (JS_IsException(proto)) {
        return proto;
    }
    hdr_list *l = NULL;
    JSValue obj = headers_new(ctx, JS_IsObject(proto) ? proto : JS_UNDEFINED, &l);
    JS_FreeValue(ctx, proto);
    if (JS_IsException(obj)) {
        return obj;
    }
    if (headers_fill(ctx, l, argc > 0 ? argv[0] : JS_UNDEFINED, "Headers: argument 1 (init)") < 0) {
        JS_FreeValue(ctx, obj);
        return JS_EXCEPTION;
    }
    return obj;
}

enum { H_APPEND, H_SET, H_DELETE, H_GET, H_HAS };
static const char *const g_h_names[] = {"Headers.append", "Headers.set", "Headers.delete",
                                        "Headers.get", "Headers.has"};

static JSValue js_headers_method(JSContext *ctx, JSValueConst this_val, int argc,
                                 JSValueConst *argv, int magic) {
    const char *what = g_h_names[magic];
    if (ncsl__js_gas_charge(ctx, NCSL__JS_GAS_HOST_CALL) < 0) {
        return JS_EXCEPTION;
    }
    hdr_list *l = headers_get(ctx, this_val, what);
    if (!l) {
        return JS_EXCEPTION;
    }
    int need = magic == H_APPEND || magic == H_SET ? 2 : 1;
    if (argc < need) {
        return JS_ThrowTypeError(ctx, "%s: %d argument%s required, %d given", what, need,
                                 need > 1 ? "s" : "", argc);
    }
    if ((magic == H_APPEND || magic == H_SET || magic == H_DELETE) && l->immutable) {
        return JS_ThrowTypeError(ctx, "%s: the headers of a fetch response are immutable", what);
    }
    if (magic == H_APPEND || magic == H_SET) {
        return hdr_list_add_js(ctx, l, argv[0], argv[1], magic == H_SET, what) < 0 ? JS_EXCEPTION
                                                                                   : JS_UNDEFINED;
    }
    char nm[MAX_HEADER_NAME];
    int64_t nl = header_name(ctx, argv[0], what, nm, sizeof(nm));
    if (nl < 0) {
        return JS_EXCEPTION;
    }
    if (magic == H_DELETE) {
        hdr_list_remove(ctx, l, nm, (size_t)nl);
        return JS_UNDEFINED;
    }
    /* get: the values of every entry with that name, joined with ", " (in insertion order) */
    ncsl_buf b;
    ncsl_buf_init(&b, 0);
    bool found = false;
    for (size_t i = 0; i < l->count; i++) {
        if (name_eq(&l->e[i], nm, (size_t)nl)) {
            if (magic == H_HAS) {
                return JS_TRUE;
            }
            if (found) {
                ncsl_buf_append(&b, ", ", 2);
            }
            ncsl_buf_append(&b, l->e[i].value, l->e[i].value_len);
            found = true;
        }
    }
    if (magic == H_HAS) {
        return JS_FALSE;
    }
    JSValue ret = JS_NULL;
    if (b.oom) {
        ret = JS_ThrowOutOfMemory(ctx);
    } else if (found) {
        ret = JS_NewStringLen(ctx, b.data ? b.data : "", b.len);
    }
    ncsl_buf_cleanup_secure(&b);
    return ret;
}

/* The sorted, combined view the iterators and forEach use: one [name, value] per name, values
 * joined with ", " (set-cookie entries stay separate), sorted by name. A JS array of pairs. */
static int cmp_index(const void *a, const void *b, void *arg) {
    const hdr_list *l = arg;
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    int c = strcmp(l->e[i].name, l->e[j].name);
    return c ? c : (i < j ? -1 : i > j);
}

static JSValue headers_pairs(JSContext *ctx, const hdr_list *l) {
    JSValue arr = JS_NewArray(ctx);
    if (JS_IsException(arr) || l->count == 0) {
        return arr;
    }
    size_t *idx = js_malloc(ctx, l->count * sizeof(*idx));
    if (!idx) {
        JS_FreeValue(ctx, arr);
        return JS_EXCEPTION;
    }
    for (size_t i = 0; i < l->count; i++) {
        idx[i] = i;
    }
    qsort_r(idx, l->count, sizeof(*idx), cmp_index, (void *)l);
    uint32_t out = 0;
    ncsl_buf b;
    ncsl_buf_init(&b, 0);
    for (size_t k = 0; k < l->count;) {
        const hdr *h = &l->e[idx[k]];
        b.len = 0;
        ncsl_buf_append(&b, h->value, h->value_len);
        size_t next = k + 1;
        if (strcmp(h->name, "set-cookie") != 0) {
            while (next < l->count && strcmp(l->e[idx[next]].name, h->name) == 0) {
                ncsl_buf_append(&b, ", ", 2);
                ncsl_buf_append(&b, l->e[idx[next]].value, l->e[idx[next]].value_len);
                next++;
            }
        }
        JSValue pair = JS_NewArray(ctx);
        if (b.oom || JS_IsException(pair) ||
            JS_SetPropertyUint32(ctx, pair, 0, JS_NewStringLen(ctx, h->name, h->name_len)) < 0 ||
            JS_SetPropertyUint32(ctx, pair, 1, JS_NewStringLen(ctx, b.data ? b.data : "", b.len)) <
                0 ||
            JS_SetPropertyUint32(ctx, arr, out++, pair) < 0) {
            if (b.oom) {
                JS_ThrowOutOfMemory(ctx);
                JS_FreeValue(ctx, pair);
            }
            ncsl_buf_cleanup_secure(&b);
            js_free(ctx, idx);
            JS_FreeValue(ctx, arr);
            return JS_EXCEPTION;
        }
        k = next;
    }
    ncsl_buf_cleanup_secure(&b);
    js_free(ctx, idx);
    return arr;
}

enum { IT_ENTRIES, IT_KEYS, IT_VALUES };

/* entries()/keys()/values()/[Symbol.iterator](): an array iterator over a snapshot. */
static JSValue js_headers_iter(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv,
                               int magic) {
    if (ncsl__js_gas_charge(ctx, NCSL__JS_GAS_HOST_CALL) < 0) {
        return JS_EXCEPTION;
    }
    hdr_list *l = headers_get(ctx, this_val, "Headers iterator");
    if (!l) {
        return JS_EXCEPTION;
    }
    JSValue pairs = headers_pairs(ctx, l);
    if (JS_IsException(pairs)) {
        return pairs;
    }
    JSValue arr = pairs;
    if (magic != IT_ENTRIES) {
        arr = JS_NewArray(ctx);
        int64_t n = 0;
        if (JS_IsException(arr) || JS_GetLength(ctx, pairs, &n) < 0) {
            JS_FreeValue(ctx, pairs);
            JS_FreeValue(ctx, arr);
            return JS_EXCEPTION;
        }
        for (int64_t i = 0; i < n; i++) {
            JSValue p = JS_GetPropertyInt64(ctx, pairs, i);
            JSValue x = JS_IsException(p) ? JS_EXCEPTION
                                          : JS_GetPropertyInt64(ctx, p, magic == IT_KEYS ? 0 : 1);
            JS_FreeValue(ctx, p);
            if (JS_IsException(x) || JS_SetPropertyInt64(ctx, arr, i, x) < 0) {
                JS_FreeValue(ctx, pairs);
                JS_FreeValue(ctx, arr);
                return JS_EXCEPTION;
            }
        }
        JS_FreeValue(ctx, pairs);
    }
    JSValue fn = JS_GetPropertyStr(ctx, arr, "values");
    JSValue it = JS_IsException(fn) ? JS_EXCEPTION : JS_Call(ctx, fn, arr, 0, NULL);
    JS_FreeValue(ctx, fn);
    JS_FreeValue(ctx, arr);
    return it;
}

static JSValue js_headers_for_each(JSContext *ctx, JSValueConst this_val, int argc,
                                   JSValueConst *argv) {
    if (ncsl__js_gas_charge(ctx, NCSL__JS_GAS_HOST_CALL) < 0) {
        return JS_EXCEPTION;
    }
    hdr_list *l = headers_get(ctx, this_val, "Headers.forEach");
    if (!l) {
        return JS_EXCEPTION;
    }
    if (argc < 1 || !JS_IsFunction(ctx, argv[0])) {
        return JS_ThrowTypeError(ctx, "Headers.forEach: argument 1 (callback) must be a function");
    }
    JSValue pairs = headers_pairs(ctx, l);
    int64_t n = 0;
    if (JS_IsException(pairs) || JS_GetLength(ctx, pairs, &n) < 0) {
        JS_FreeValue(ctx, pairs);
        return JS_EXCEPTION;
    }
    JSValueConst this_arg = argc > 1 ? argv[1] : JS_UNDEFINED;
    for (int64_t i = 0; i < n; i++) {
        JSValue p = JS_GetPropertyInt64(ctx, pairs, i);
        JSValue k = JS_IsException(p) ? JS_EXCEPTION : JS_GetPropertyInt64(ctx, p, 0);
        JSValue v = JS_IsException(k) ? JS_EXCEPTION : JS_GetPropertyInt64(ctx, p, 1);
        JS_FreeValue(ctx, p);
        JSValue r = JS_EXCEPTION;
        if (!JS_IsException(v)) {
            JSValueConst args[3] = {v, k, this_val};
            r = JS_Call(ctx, argv[0], this_arg, 3, args);
        }
        JS_FreeValue(ctx, k);
        JS_FreeValue(ctx, v);
        if (JS_IsException(r)) {
            JS_FreeValue(ctx, pairs);
            return JS_EXCEPTION;
        }
        JS_FreeValue(ctx, r);
    }
    JS_FreeValue(ctx, pairs);
    return JS_UNDEFINED;
}

static JSValue js_headers_get_set_cookie(JSContext *ctx, JSValueConst this_val, int argc,
                                         JSValueConst *argv) {
    if (ncsl__js_gas_charge(ctx, NCSL__JS_GAS_HOST_CALL) < 0) {
        return JS_EXCEPTION;
    }
    hdr_list *l = headers_get(ctx, this_val, "Headers.getSetCookie");
    if (!l) {
        return JS_EXCEPTION;
    }
    JSValue arr = JS_NewArray(ctx);
    uint32_t n = 0;
    for (size_t i = 0; i < l->count && !JS_IsException(arr); i++) {
        if (name_eq(&l->e[i], "set-cookie", 10) &&
            JS_SetPropertyUint32(ctx, arr, n++,
                                 JS_NewStringLen(ctx, l->e[i].value, l->e[i].value_len)) < 0) {
            JS_FreeValue(ctx, arr);
            return JS_EXCEPTION;
        }
    }
    return arr;
}

static const JSCFunctionListEntry g_headers_proto_funcs[] = {
    JS_CFUNC_MAGIC_DEF("append", 2, js_headers_method, H_APPEND),
    JS_CFUNC_MAGIC_DEF("set", 2, js_headers_method, H_SET),
    JS_CFUNC_MAGIC_DEF("delete", 1, js_headers_method, H_DELETE),
    JS_CFUNC_MAGIC_DEF("get", 1, js_headers_method, H_GET),
    JS_CFUNC_MAGIC_DEF("has", 1, js_headers_method, H_HAS),
    JS_CFUNC_DEF("forEach", 1, js_headers_for_each),
    JS_CFUNC_DEF("getSetCookie", 0, js_headers_get_set_cookie),
    JS_CFUNC_MAGIC_DEF("entries", 0, js_headers_iter, IT_ENTRIES),
    JS_CFUNC_MAGIC_DEF("keys", 0, js_headers_iter, IT_KEYS),
    JS_CFUNC_MAGIC_DEF("values", 0, js_headers_iter, IT_VALUES),
    JS_ALIAS_DEF("[Symbol.iterator]", "entries"),
    JS_PROP_STRING_DEF("[Symbol.toStringTag]", "Headers", JS_PROP_CONFIGURABLE),
};

static int headers_proto_ensure(JSContext *ctx) {
    return ncsl__js_class_proto(ctx, &g_headers_class, &g_headers_def, g_headers_proto_funcs,
                                (int)NCSL_ARRAY_LEN(g_headers_proto_funcs), NULL);
}

/* The `Headers` global, built on first access. */
static JSValue headers_ctor_build(JSContext *ctx) {
    if (headers_proto_ensure(ctx) < 0) {
        return JS_EXCEPTION;
    }
    JSValue ctor = JS_NewCFunction2(ctx, js_headers_ctor, "Headers", 0, JS_CFUNC_constructor, 0);
    if (JS_IsException(ctor)) {
        return ctor;
    }
    JSValue proto = JS_GetClassProto(ctx, g_headers_class);
    int r = JS_SetConstructor(ctx, ctor, proto);
    JS_FreeValue(ctx, proto);
    if (r < 0) {
        JS_FreeValue(ctx, ctor);
        return JS_EXCEPTION;
    }
    return ctor;
}

static JSValue headers_lazy_get(JSContext *ctx, JSValueConst this_val, int magic) {
    (void)magic;
    return ncsl__js_lazy_resolved(ctx, this_val, "Headers", headers_ctor_build(ctx));
}

static JSValue headers_lazy_set(JSContext *ctx, JSValueConst this_val, JSValueConst v, int magic) {
    (void)magic;
    return ncsl__js_lazy_assigned(ctx, this_val, "Headers", v);
}

/* ------------------------------------------------------------------------- Response class */
typedef struct js_response {
    int status;
    char *status_text; /* js_malloc'd */
    char *url;         /* js_malloc'd */
    bool redirected;
    bool body_used;
    JSValue headers; /* Headers object */
    JSValue body;    /* ArrayBuffer, JS_UNDEFINED once consumed */
} js_response;

static void response_finalizer(JSRuntime *rt, JSValue val) {
    js_response *r = JS_GetOpaque(val, g_response_class);
    if (r) {
        js_free_rt(rt, r->status_text);
        js_free_rt(rt, r->url);
        JS_FreeValueRT(rt, r->headers);
        JS_FreeValueRT(rt, r->body);
        js_free_rt(rt, r);
    }
}

static void response_mark(JSRuntime *rt, JSValueConst val, JS_MarkFunc *mark) {
    js_response *r = JS_GetOpaque(val, g_response_class);
    if (r) {
        JS_MarkValue(rt, r->headers, mark);
        JS_MarkValue(rt, r->body, mark);
    }
}

static const JSClassDef g_response_def = {
    .class_name = "Response", .finalizer = response_finalizer, .gc_mark = response_mark};

enum { R_STATUS, R_STATUS_TEXT, R_OK, R_URL, R_REDIRECTED, R_HEADERS, R_BODY_USED, R_TYPE };

static JSValue js_response_get(JSContext *ctx, JSValueConst this_val, int magic) {
    js_response *r = JS_GetOpaque(this_val, g_response_class);
    if (!r) {
        return JS_ThrowTypeError(ctx, "Response: 'this' is not a Response object");
    }
    switch (magic) {
    case R_STATUS:
        return JS_NewInt32(ctx, r->status);
    case R_STATUS_TEXT:
        return JS_NewString(ctx, r->status_text ? r->status_text : "");
    case R_OK:
        return JS_NewBool(ctx, r->status >= 200 && r->status <= 299);
    case R_URL:
        return JS_NewString(ctx, r->url ? r->url : "");
    case R_REDIRECTED:
        return JS_NewBool(ctx, r->redirected);
    case R_HEADERS:
        return JS_DupValue(ctx, r->headers);
    case R_BODY_USED:
        return JS_NewBool(ctx, r->body_used);
    default:
        return JS_NewString(ctx, "basic");
    }
}

enum { B_TEXT, B_JSON, B_ARRAY_BUFFER, B_BYTES };
static const char *const g_b_names[] = {"Response.text", "Response.json", "Response.arrayBuffer",
                                        "Response.bytes"};

/* text(), json(), arrayBuffer(), bytes(): each consumes the body once and returns a promise. */
static JSValue js_response_body(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv,
                                int magic) {
    const char *what = g_b_names[magic];
    if (ncsl__js_gas_charge(ctx, NCSL__JS_GAS_HOST_CALL) < 0) {
        return JS_EXCEPTION;
    }
    js_response *r = JS_GetOpaque(this_val, g_response_class);
    if (!r) {
        JS_ThrowTypeError(ctx, "%s: 'this' is not a Response object", what);
        return reject_pending(ctx);
    }
    if (r->body_used) {
        JS_ThrowTypeError(ctx, "%s: body already used", what);
        return reject_pending(ctx);
    }
    r->body_used = true;
    JSValue body = r->body;
    r->body = JS_UNDEFINED;
    size_t len = 0;
    uint8_t *data = JS_GetArrayBuffer(ctx, &len, body);
    if (!data) {
        len = 0;
        JS_FreeValue(ctx, JS_GetException(ctx)); /* not an exception worth keeping */
    }
    JSValue v = JS_UNDEFINED;
    if (magic == B_ARRAY_BUFFER) {
        v = body; /* the response's own buffer: nobody else holds it */
        body = JS_UNDEFINED;
    } else if (magic == B_BYTES) {
        JSValue args[1] = {body};
        v = ncsl__js_new_typed_array(ctx, 1, args, JS_TYPED_ARRAY_UINT8);
    } else {
        if (ncsl__js_gas_charge(ctx, ncsl__js_gas_bytes(len)) < 0) {
            JS_FreeValue(ctx, body);
            return JS_EXCEPTION;
        }
        /* UTF-8 decode: a leading BOM is dropped, malformed sequences become U+FFFD */
        const char *s = data ? (const char *)data : "";
        if (len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
            s += 3;
            len -= 3;
        }
        if (magic == B_TEXT) {
            v = JS_NewStringLen(ctx, s, len);
        } else {
            char *copy = js_malloc(ctx, len + 1); /* JS_ParseJSON wants a NUL */
            if (copy) {
                memcpy(copy, s, len);
                copy[len] = '\0';
                v = JS_ParseJSON(ctx, copy, len, "response");
                js_free(ctx, copy);
            } else {
                v = JS_EXCEPTION;
            }
        }
    }
    JS_FreeValue(ctx, body);
    if (JS_IsException(v)) {
        return reject_pending(ctx);
    }
    JSValue p = JS_NewSettledPromise(ctx, false, v);
    JS_FreeValue(ctx, v);
    return p;
}

static const JSCFunctionListEntry g_response_proto_funcs[] = {
    JS_CGETSET_MAGIC_DEF("status", js_response_get, NULL, R_STATUS),
    JS_CGETSET_MAGIC_DEF("statusText", js_response_get, NULL, R_STATUS_TEXT),
    JS_CGETSET_MAGIC_DEF("ok", js_response_get, NULL, R_OK),
    JS_CGETSET_MAGIC_DEF("url", js_response_get, NULL, R_URL),
    JS_CGETSET_MAGIC_DEF("redirected", js_response_get, NULL, R_REDIRECTED),
    JS_CGETSET_MAGIC_DEF("headers", js_response_get, NULL, R_HEADERS),
    JS_CGETSET_MAGIC_DEF("bodyUsed", js_response_get, NULL, R_BODY_USED),
    JS_CGETSET_MAGIC_DEF("type", js_response_get, NULL, R_TYPE),
    JS_CFUNC_MAGIC_DEF("text", 0, js_response_body, B_TEXT),
    JS_CFUNC_MAGIC_DEF("json", 0, js_response_body, B_JSON),
    JS_CFUNC_MAGIC_DEF("arrayBuffer", 0, js_response_body, B_ARRAY_BUFFER),
    JS_CFUNC_MAGIC_DEF("bytes", 0, js_response_body, B_BYTES),
    JS_PROP_STRING_DEF("[Symbol.toStringTag]", "Response", JS_PROP_CONFIGURABLE),
};

static char *js_strdup_len(JSContext *ctx, const char *s, size_t n) {
    char *p = js_malloc(ctx, n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* A Response from a completed request. */
static JSValue response_new(JSContext *ctx, const ncsl_fetch_response *fr) {
    if (ncsl__js_class_proto(ctx, &g_response_class, &g_response_def, g_response_proto_funcs,
                             (int)NCSL_ARRAY_LEN(g_response_proto_funcs), NULL) < 0) {
        return JS_EXCEPTION;
    }
    JSValue obj = JS_NewObjectClass(ctx, (int)g_response_class);
    if (JS_IsException(obj)) {
        return obj;
    }
    js_response *r = js_mallocz(ctx, sizeof(*r));
    if (!r) {
        JS_FreeValue(ctx, obj);
        return JS_EXCEPTION;
    }
    r->headers = JS_UNDEFINED;
    r->body = JS_UNDEFINED;
    JS_SetOpaque(obj, r); /* from here the finalizer frees r */
    r->status = fr->status;
    r->redirected = fr->redirected;
    r->status_text = js_strdup_len(ctx, fr->status_text, strlen(fr->status_text));
    r->url = js_strdup_len(ctx, fr->url ? fr->url : "", fr->url ? strlen(fr->url) : 0);
    if (!r->status_text || !r->url) {
        JS_FreeValue(ctx, obj);
        return JS_EXCEPTION;
    }
    hdr_list *l = NULL;
    r->headers = headers_new(ctx, JS_UNDEFINED, &l);
    if (JS_IsException(r->headers)) {
        r->headers = JS_UNDEFINED;
        JS_FreeValue(ctx, obj);
        return JS_EXCEPTION;
    }
    for (size_t i = 0; i < fr->header_count; i++) {
        const ncsl_fetch_header *h = &fr->headers[i];
        if (hdr_list_append(ctx, l, h->name, strlen(h->name), h->value, strlen(h->value)) < 0) {
            JS_FreeValue(ctx, obj);
            return JS_EXCEPTION;
        }
    }
    l->immutable = true;
    r->body = ncsl__js_new_array_buffer_copy(ctx, fr->body_len ? fr->body : (const uint8_t *)"",
                                             fr->body_len);
    if (JS_IsException(r->body)) {
        r->body = JS_UNDEFINED;
        JS_FreeValue(ctx, obj);
        return JS_EXCEPTION;
    }
    return obj;
}

/* ------------------------------------------------------------------------- fetch() */
/* One request: lives in C memory from fetch() until both the call and the I/O thread let go. */
typedef struct fetch_op {
    ncsl__js_op *op;
    ncsl_fetch *f;                                /* NULL when submit refused */
    char error[sizeof(((ncsl_err *)0)->message)]; /* submit's refusal */
    size_t max_response_bytes;                    /* the policy's, for the call's total */
} fetch_op;

static void fetch_on_done(ncsl_fetch *f, void *user) {
    (void)f;
    fetch_op *d = user;
    ncsl__js_op_complete(d->op); /* d is not touched after this */
}

static void fetch_op_cancel(void *data) {
    fetch_op *d = data;
    ncsl_fetch_cancel(d->f);
}

static void fetch_op_free(void *data) {
    fetch_op *d = data;
    ncsl_fetch_release(d->f);
    free(d);
}

static int fetch_op_settle(JSContext *ctx, void *data, JSValueConst resolve, JSValueConst reject) {
    (void)reject;
    fetch_op *d = data;
    ncsl__js_call_state *st = JS_GetContextOpaque(ctx);
    const ncsl_fetch_response *fr = d->f ? ncsl_fetch_result(d->f) : NULL;
    if (!fr) {
        JS_ThrowTypeError(ctx, "%s", d->error[0] ? d->error : "fetch: the request failed");
        return -1;
    }
    if (fr->error != NCSL_FETCH_OK) {
        JS_ThrowTypeError(ctx, "%s", fr->message);
        return -1;
    }
    if (ncsl__js_gas_charge(ctx, ncsl__js_gas_bytes((uint64_t)fr->body_len + fr->header_bytes)) <
        0) {
        return -1;
    }
    if (st) {
        st->fetch_bytes += fr->body_len;
        if (st->fetch_bytes > d->max_response_bytes) {
            /* concurrent requests of one call each read up to what was left when they started */
            JS_ThrowTypeError(ctx,
                              "fetch: the responses of this call total more than "
                              "Fetch.MaxResponseBytes (%zu)",
                              d->max_response_bytes);
            return -1;
        }
    }
    JSValue resp = response_new(ctx, fr);
    if (JS_IsException(resp)) {
        return -1;
    }
    /* the C copy of the response is not needed any more */
    ncsl_fetch_release(d->f);
    d->f = NULL;
    JSValue r = JS_Call(ctx, resolve, JS_UNDEFINED, 1, (JSValueConst *)&resp);
    JS_FreeValue(ctx, resp);
    if (JS_IsException(r)) {
        return -1;
    }
    JS_FreeValue(ctx, r);
    return 0;
}

static const ncsl__js_op_type g_fetch_op = {
    .name = "fetch",
    .settle = fetch_op_settle,
    .cancel = fetch_op_cancel,
    .free_data = fetch_op_free,
};

/* init.<name>, or undefined when init is undefined/null. */
static JSValue init_get(JSContext *ctx, JSValueConst init, const char *name) {
    return JS_IsObject(init) ? JS_GetPropertyStr(ctx, init, name) : JS_UNDEFINED;
}

/* The request being built by fetch(): C-side pieces borrowed from JS until submit copies them. */
typedef struct fetch_args {
    ncsl__js_usv url;
    ncsl__js_usv method;
    char method_norm[16]; /* the upper-cased standard method, when it is one */
    hdr_list headers;
    ncsl__js_bytes body;
    bool has_body;
    bool body_is_string;
    ncsl_fetch_redirect redirect;
} fetch_args;

static void fetch_args_cleanup(JSContext *ctx, fetch_args *a) {
    ncsl__js_usv_free(ctx, &a->url);
    ncsl__js_usv_free(ctx, &a->method);
    hdr_list_clear(JS_GetRuntime(ctx), &a->headers);
    if (a->has_body) {
        ncsl__js_bytes_release(ctx, &a->body);
    }
}

/* Reads and checks fetch's arguments into `a`. 0, or -1 with a pending exception. */
static int fetch_args_read(JSContext *ctx, int argc, JSValueConst *argv,
                           const ncsl_fetch_policy *pol, fetch_args *a) {
    JSValueConst input = argc > 0 ? argv[0] : JS_UNDEFINED;
    JSValueConst init = argc > 1 ? argv[1] : JS_UNDEFINED;
    if (!JS_IsString(input) && !JS_IsObject(input)) {
        JS_ThrowTypeError(ctx, "fetch: argument 1 (url) must be a string or a URL object");
        return -1;
    }
    if (!JS_IsUndefined(init) && !JS_IsNull(init) && !JS_IsObject(init)) {
        JS_ThrowTypeError(ctx, "fetch: argument 2 (init) must be an object");
        return -1;
    }
    if (ncsl__js_usv_get(ctx, input, &a->url) < 0) {
        return -1;
    }
    if (a->url.len > 65536 || memchr(a->url.s, '\0', a->url.len)) {
        JS_ThrowTypeError(ctx, "fetch: argument 1 (url) is longer than 65536 bytes or holds a NUL");
        return -1;
    }

    JSValue v = init_get(ctx, init, "method");
    if (JS_IsException(v)) {
        return -1;
    }
    if (!JS_IsUndefined(v)) {
        int r = ncsl__js_usv_get(ctx, v, &a->method);
        JS_FreeValue(ctx, v);
        if (r < 0) {
            return -1;
        }
        if (a->method.len == 0 || a->method.len > 64 || memchr(a->method.s, '\0', a->method.len)) {
            JS_ThrowTypeError(ctx, "fetch: init.method is not a valid HTTP method");
            return -1;
        }
        static const char *const standard[] = {"DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"};
        for (size_t i = 0; i < NCSL_ARRAY_LEN(standard); i++) {
            if (strlen(standard[i]) == a->method.len &&
                strncasecmp(a->method.s, standard[i], a->method.len) == 0) {
                snprintf(a->method_norm, sizeof(a->method_norm), "%s", standard[i]);
            }
        }
    }

    v = init_get(ctx, init, "headers");
    if (JS_IsException(v)) {
        return -1;
    }
    int r = headers_fill(ctx, &a->headers, v, "fetch: init.headers");
    JS_FreeValue(ctx, v);
    if (r < 0) {
        return -1;
    }

    v = init_get(ctx, init, "body");
    if (JS_IsException(v)) {
        return -1;
    }
    if (!JS_IsUndefined(v) && !JS_IsNull(v)) {
        a->body_is_string = JS_IsString(v);
        r = ncsl__js_bytes_get(ctx, v, true, "fetch: init.body", &a->body);
        JS_FreeValue(ctx, v);
        if (r < 0) {
            return -1;
        }
        a->has_body = true;
        if (a->body.len > pol->max_request_bytes) {
            JS_ThrowTypeError(ctx,
                              "fetch: the request body (%zu bytes) is larger than "
                              "Fetch.MaxRequestBytes (%zu)",
                              a->body.len, pol->max_request_bytes);
            return -1;
        }
    }

    v = init_get(ctx, init, "redirect");
    if (JS_IsException(v)) {
        return -1;
    }
    a->redirect = NCSL_FETCH_REDIRECT_FOLLOW;
    if (!JS_IsUndefined(v)) {
        const char *s = JS_IsString(v) ? JS_ToCString(ctx, v) : NULL;
        JS_FreeValue(ctx, v);
        if (s && !strcmp(s, "follow")) {
            a->redirect = NCSL_FETCH_REDIRECT_FOLLOW;
        } else if (s && !strcmp(s, "error")) {
            a->redirect = NCSL_FETCH_REDIRECT_ERROR;
        } else if (s && !strcmp(s, "manual")) {
            a->redirect = NCSL_FETCH_REDIRECT_MANUAL;
        } else {
            if (s) {
                JS_FreeCString(ctx, s);
            }
            if (!JS_HasException(ctx)) {
                JS_ThrowTypeError(
                    ctx, "fetch: init.redirect must be \"follow\", \"error\" or \"manual\"");
            }
            return -1;
        }
        JS_FreeCString(ctx, s);
    }
    return 0;
}

static JSValue js_fetch(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    (void)this_val;
    ncsl__js_call_state *st = JS_GetContextOpaque(ctx);
    fetch_args a;
    fetch_op *d = NULL;
    ncsl_fetch_header *hv = NULL;
    JSValue promise = JS_UNDEFINED;
    ncsl_fetch_policy pol;

    if (ncsl__js_gas_charge(ctx, NCSL__JS_GAS_HOST_CALL + NCSL__JS_GAS_FETCH) < 0) {
        return JS_EXCEPTION;
    }
    memset(&a, 0, sizeof(a));
    if (!st || !st->js) {
        JS_ThrowTypeError(ctx, "fetch: no call is running");
        return reject_pending(ctx);
    }
    ncsl_fetch_get_policy(&pol);
    if (fetch_args_read(ctx, argc, argv, &pol, &a) < 0) {
        goto fail;
    }
    if (st->fetch_requests >= pol.max_requests_per_call) {
        JS_ThrowTypeError(ctx,
                          "fetch: this call already made %u requests (Fetch.MaxRequestsPerCall)",
                          (unsigned)st->fetch_requests);
        goto fail;
    }
    if (st->fetch_bytes >= pol.max_response_bytes) {
        JS_ThrowTypeError(ctx,
                          "fetch: this call already received Fetch.MaxResponseBytes (%zu) of "
                          "responses",
                          pol.max_response_bytes);
        goto fail;
    }
    /* the request's bytes: what is copied and sent */
    uint64_t bytes = a.url.len + a.body.len;
    for (size_t i = 0; i < a.headers.count; i++) {
        bytes += a.headers.e[i].name_len + a.headers.e[i].value_len + 4;
    }
    if (ncsl__js_gas_charge(ctx, ncsl__js_gas_bytes(bytes)) < 0) {
        goto fail;
    }
    /* a string body says what it is, unless the function did */
    bool add_type = a.has_body && a.body_is_string;
    for (size_t i = 0; add_type && i < a.headers.count; i++) {
        add_type = !name_eq(&a.headers.e[i], "content-type", 12);
    }
    size_t hn = a.headers.count + (add_type ? 1 : 0);
    if (hn) {
        hv = calloc(hn, sizeof(*hv));
        if (!hv) {
            JS_ThrowOutOfMemory(ctx);
            goto fail;
        }
        for (size_t i = 0; i < a.headers.count; i++) {
            hv[i].name = a.headers.e[i].name;
            hv[i].value = a.headers.e[i].value;
        }
        if (add_type) {
            hv[a.headers.count].name = "content-type";
            hv[a.headers.count].value = "text/plain;charset=UTF-8";
        }
    }
    d = calloc(1, sizeof(*d));
    char *url = js_strdup_len(ctx, a.url.s, a.url.len);
    char *method =
        a.method.s && !a.method_norm[0] ? js_strdup_len(ctx, a.method.s, a.method.len) : NULL;
    if (!d || !url || (a.method.s && !a.method_norm[0] && !method)) {
        free(d);
        d = NULL;
        js_free(ctx, url);
        js_free(ctx, method);
        if (!JS_HasException(ctx)) {
            JS_ThrowOutOfMemory(ctx);
        }
        goto fail;
    }
    d->max_response_bytes = pol.max_response_bytes;
    d->op = ncsl__js_op_begin(ctx, &g_fetch_op, d, &promise);
    if (!d->op) {
        free(d);
        d = NULL;
        js_free(ctx, url);
        js_free(ctx, method);
        goto fail;
    }
    ncsl_fetch_request req = {
        .method = a.method_norm[0] ? a.method_norm : (method ? method : "GET"),
        .url = url,
        .headers = hv,
        .header_count = hn,
        .body = a.has_body ? a.body.data : NULL,
        .body_len = a.has_body ? a.body.len : 0,
        .redirect = a.redirect,
        .max_response_bytes = pol.max_response_bytes - (size_t)st->fetch_bytes,
        .deadline_ns = st->js->deadline_ns,
    };
    st->fetch_requests++;
    ncsl_err err;
    ncsl_err_clear(&err);
    if (ncsl_fetch_submit(&req, fetch_on_done, d, &d->f, &err) != NCSL_OK) {
        /* refused before any I/O: the promise rejects with the reason (settle) */
        snprintf(d->error, sizeof(d->error), "%s", err.message);
        d->f = NULL;
        ncsl__js_op_complete(d->op);
    }
    js_free(ctx, url);
    js_free(ctx, method);
    free(hv);
    fetch_args_cleanup(ctx, &a);
    return promise;
fail:
    free(hv);
    fetch_args_cleanup(ctx, &a);
    return reject_pending(ctx);
}

static const JSCFunctionListEntry g_fetch_global_funcs[] = {
    JS_CFUNC_DEF("fetch", 2, js_fetch), /* autoinit: the function is made on first access */
};

int ncsl__js_fetch_init(JSContext *ctx, JSValue global) {
    if (JS_SetPropertyFunctionList(ctx, global, g_fetch_global_funcs,
                                   (int)NCSL_ARRAY_LEN(g_fetch_global_funcs)) < 0) {
        return -1;
    }
    return ncsl__js_lazy_define(ctx, global, "Headers", headers_lazy_get, headers_lazy_set, 0);
}
