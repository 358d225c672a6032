/*
 * storage: the per-function key-value store of a deployed function, as a frozen global whose
 * methods (get, set, remove, list, clear) return promises. The work is synchronous: reads call
 * the embedder's hooks (ncsl_storage_hooks) on the worker thread, writes only go to an overlay
 * in the call state, and the promise is already settled when the method returns.
 *
 * Overlay: one entry per key written in this call (a later write of a key replaces the earlier
 * one), kept sorted so get/list consult it before the hooks, plus a `cleared` flag that hides
 * every stored key. ncsl_js_run hands the overlay over as a write batch only when main()
 * succeeded; the embedder commits it (exec), so a failed call writes nothing.
 *
 * Limits: keys are 1..max_key_bytes of well-formed UTF-8 without NUL, values JSON text of at
 * most max_value_bytes; at most NCSL_JS_STORAGE_MAX_PENDING_KEYS keys per call; the overlay's
 * bytes are charged to the call's memory limit together with the JS heap (host_bytes), so a
 * loop of writes ends as MEMORY_LIMIT instead of growing the process. Quota: the store's usage
 * (fetched once, lazily) minus the stored size of the keys the call touched plus the size of its
 * pending sets; a set that takes that total over quota_bytes (and grows it) is refused with a
 * QuotaExceededError. Concurrent calls can still race past it: the commit checks again.
 *
 * Errors never contain keys or values. A deadline or memory limit broken during a method
 * propagates as an exception (the call ends); everything else rejects the returned promise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "js_int.h"

enum { OP_GET, OP_SET, OP_REMOVE, OP_LIST, OP_CLEAR };
static const char *const g_op_names[] = {"storage.get", "storage.set", "storage.remove",
                                         "storage.list", "storage.clear"};

static const char g_unavailable[] =
    "storage is available only to deployed functions (POST /api/v1/functions/{id}/invoke)";

/* the message part of a JSON.stringify error quoted into our TypeError */
#define MAX_CAUSE_BYTES 200

/* ------------------------------------------------------------------------- helpers */
static ncsl__js_storage *storage_of(JSContext *ctx) {
    ncsl__js_call_state *st = JS_GetContextOpaque(ctx);
    return st ? &st->storage : NULL;
}

static size_t max_key_bytes(const ncsl_storage_hooks *h) {
    return h->max_key_bytes ? h->max_key_bytes : NCSL_JS_STORAGE_DEFAULT_MAX_KEY_BYTES;
}

static size_t max_value_bytes(const ncsl_storage_hooks *h) {
    return h->max_value_bytes ? h->max_value_bytes : NCSL_JS_STORAGE_DEFAULT_MAX_VALUE_BYTES;
}

static bool hooks_complete(const ncsl_storage_hooks *h) {
    return h->get && h->list && h->usage && h->commit && h->free_value && h->free_keys;
}

/* Charges the host call's gas; throws an uncatchable error when the call must end (deadline,
 * memory limit or gas broken), so no hook runs for a call that is over. Returns -1 then, else 0. */
static int check_call_alive(JSContext *ctx) {
    return ncsl__js_gas_charge(ctx, NCSL__JS_GAS_HOST_CALL);
}

/* Charges `add` bytes of C memory to the call's memory limit (with the JS heap). On refusal the
 * call is over (as when the allocator refuses): returns -1 with an exception pending. */
static int host_charge(JSContext *ctx, size_t add) {
    ncsl_js_runtime *js = JS_GetRuntimeOpaque(JS_GetRuntime(ctx));
    if (js->limit_bytes && (add > js->limit_bytes || js->used_bytes + js->host_bytes + add >
                                                         js->call_start_bytes + js->limit_bytes)) {
        js->oom_hit = true;
        JS_ThrowOutOfMemory(ctx);
        return -1;
    }
    js->host_bytes += add;
    if (js->used_bytes + js->host_bytes > js->peak_bytes) {
        js->peak_bytes = js->used_bytes + js->host_bytes;
    }
    return 0;
}

static void host_release(JSContext *ctx, size_t n) {
    ncsl_js_runtime *js = JS_GetRuntimeOpaque(JS_GetRuntime(ctx));
    js->host_bytes = js->host_bytes > n ? js->host_bytes - n : 0;
}

/* What an entry's strings cost the host (the key and the value with their NULs); the entry
 * array is charged as it grows (entry_insert). */
static size_t entry_host_bytes(size_t key_len, const char *value, size_t value_len) {
    return key_len + 1 + (value ? value_len + 1 : 0);
}

/* What an entry counts towards the quota: key + value for a pending set, 0 for a remove. */
static uint64_t entry_quota_bytes(const ncsl__js_storage_entry *e) {
    return e->value ? (uint64_t)e->key_len + e->value_len : 0;
}

static void free_value(char *value, size_t len) {
    if (value) {
        ncsl_wipe(value, len);
        free(value);
    }
}

/* Binary search: the index of `key`, or where it would be inserted (*found false). */
static size_t find(const ncsl__js_storage *s, const char *key, bool *found) {
    size_t lo = 0, hi = s->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(s->entries[mid].key, key); /* compares as unsigned char: bytewise */
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    *found = false;
    return lo;
}

/* Removes entry `i` (frees it, releases its host bytes and quota contributions). */
static void entry_delete(JSContext *ctx, ncsl__js_storage *s, size_t i) {
    ncsl__js_storage_entry *e = &s->entries[i];
    host_release(ctx, entry_host_bytes(e->key_len, e->value, e->value_len));
    s->pending_total -= entry_quota_bytes(e);
    s->stored_total -= e->stored_bytes;
    free_value(e->value, e->value_len);
    free(e->key);
    memmove(&s->entries[i], &s->entries[i + 1], (s->count - i - 1) * sizeof(*e));
    s->count--;
}

/* Rejection helpers: each throws and returns JS_EXCEPTION. */
static JSValue throw_named(JSContext *ctx, const char *name, const char *code, const char *msg) {
    JSValue e = JS_NewError(ctx);
    if (JS_IsException(e)) {
        return JS_EXCEPTION;
    }
    JSValue m = JS_NewString(ctx, msg);
    if (JS_IsException(m) ||
        JS_DefinePropertyValueStr(ctx, e, "message", m, JS_PROP_WRITABLE | JS_PROP_CONFIGURABLE) <
            0 ||
        (name && JS_DefinePropertyValueStr(ctx, e, "name", JS_NewString(ctx, name),
                                           JS_PROP_WRITABLE | JS_PROP_CONFIGURABLE) < 0) ||
        (code && JS_DefinePropertyValueStr(ctx, e, "code", JS_NewString(ctx, code),
                                           JS_PROP_WRITABLE | JS_PROP_CONFIGURABLE) < 0)) {
        JS_FreeValue(ctx, e);
        return JS_EXCEPTION;
    }
    return JS_Throw(ctx, e);
}

/* A hook failed: an Error with the hook's own message (which never holds keys or values). */
static JSValue throw_hook_error(JSContext *ctx, ncsl_status st, ncsl_err *e) {
    e->message[sizeof(e->message) - 1] = '\0';
    return throw_named(ctx, NULL, ncsl_status_code(st),
                       e->message[0] ? e->message : ncsl_status_str(st));
}

/* Reads argument `v` as a storage key: a string of 1..max_key_bytes UTF-8 bytes without NUL or
 * lone surrogates. On success *key is a JS C string (free with JS_FreeCString). */
static int key_from_value(JSContext *ctx, const ncsl_storage_hooks *h, const char *op,
                          JSValueConst v, const char **key, size_t *len) {
    size_t max = max_key_bytes(h);
    *key = NULL;
    if (!JS_IsString(v)) {
        JS_ThrowTypeError(ctx, "%s: key must be a string", op);
        return -1;
    }
    const char *k = JS_ToCStringLen(ctx, len, v);
    if (!k) {
        return -1;
    }
    if (*len == 0 || *len > max) {
        if (*len == 0) {
            JS_ThrowRangeError(ctx, "%s: key is empty; keys are 1 to %zu bytes", op, max);
        } else {
            JS_ThrowRangeError(ctx, "%s: key is %zu bytes, the limit is %zu", op, *len, max);
        }
        JS_FreeCString(ctx, k);
        return -1;
    }
    if (memchr(k, '\0', *len)) {
        JS_ThrowTypeError(ctx, "%s: key must not contain NUL characters", op);
        JS_FreeCString(ctx, k);
        return -1;
    }
    /* QuickJS keeps a lone surrogate as its 3-byte encoding (ED A0..BF xx): not UTF-8 */
    for (size_t i = 0; i + 1 < *len; i++) {
        if ((unsigned char)k[i] == 0xED && (unsigned char)k[i + 1] >= 0xA0) {
            JS_ThrowTypeError(ctx, "%s: key must be well-formed Unicode (no lone surrogates)", op);
            JS_FreeCString(ctx, k);
            return -1;
        }
    }
    *key = k;
    return 0;
}

/* A stored value's JSON text (bytes, any length) to a JS value. */
static JSValue parse_json(JSContext *ctx, const char *text, size_t len) {
    char *copy = js_malloc(ctx, len + 1); /* ParseJSON wants a NUL; counted in the JS heap */
    if (!copy) {
        return JS_EXCEPTION;
    }
    memcpy(copy, text, len);
    copy[len] = '\0';
    JSValue v = JS_ParseJSON(ctx, copy, len, "storage");
    ncsl_wipe(copy, len);
    js_free(ctx, copy);
    if (JS_IsException(v) && !ncsl__js_call_is_doomed(ctx)) {
        JSValue exc = JS_GetException(ctx);
        if (JS_IsUncatchableError(exc)) {
            return JS_Throw(ctx, exc);
        }
        JS_FreeValue(ctx, exc);
        return throw_named(ctx, NULL, NULL, "storage.get: the stored value is not valid JSON");
    }
    return v;
}

/* The stored key + value bytes of `key` (0 when absent), through hooks->get. */
static int stored_size(JSContext *ctx, const ncsl_storage_hooks *h, const char *key, size_t key_len,
                       uint64_t *out) {
    char *value = NULL;
    size_t value_len = 0;
    bool found = false;
    ncsl_err e;
    ncsl_err_clear(&e);
    *out = 0;
    ncsl_status st = h->get(h->user, key, &value, &value_len, &found, &e);
    if (st != NCSL_OK) {
        throw_hook_error(ctx, st, &e);
        return -1;
    }
    if (found) {
        *out = (uint64_t)key_len + value_len;
        h->free_value(value, value_len);
    }
    return 0;
}

/* The function's storage size if the pending writes were applied now. Fetches the store's
 * usage on first need. */
static int current_usage(JSContext *ctx, ncsl__js_storage *s, uint64_t *out) {
    if (s->cleared) {
        *out = s->pending_total;
        return 0;
    }
    if (!s->usage_known) {
        ncsl_err e;
        ncsl_err_clear(&e);
        uint64_t u = 0;
        ncsl_status st = s->hooks->usage(s->hooks->user, &u, &e);
        if (st != NCSL_OK) {
            throw_hook_error(ctx, st, &e);
            return -1;
        }
        s->base_usage = u;
        s->usage_known = true;
    }
    /* keys the call touched count with their pending size instead of their stored one; a store
     * that changed under us (a concurrent call) must not make this wrap */
    uint64_t base = s->base_usage > s->stored_total ? s->base_usage - s->stored_total : 0;
    *out = base + s->pending_total;
    return 0;
}

/* Makes room for one more entry at index `i` (the caller checked the key cap), charging the
 * array's growth; the caller fills the zeroed entry. */
static int entry_insert(JSContext *ctx, ncsl__js_storage *s, size_t i) {
    if (s->count == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        if (cap > NCSL_JS_STORAGE_MAX_PENDING_KEYS) {
            cap = NCSL_JS_STORAGE_MAX_PENDING_KEYS;
        }
        size_t grow = (cap - s->cap) * sizeof(*s->entries);
        if (host_charge(ctx, grow) < 0) {
            return -1;
        }
        ncsl__js_storage_entry *n = realloc(s->entries, cap * sizeof(*n));
        if (!n) {
            host_release(ctx, grow);
            JS_ThrowOutOfMemory(ctx);
            return -1;
        }
        s->entries = n;
        s->cap = cap;
    }
    memmove(&s->entries[i + 1], &s->entries[i], (s->count - i) * sizeof(*s->entries));
    memset(&s->entries[i], 0, sizeof(*s->entries));
    s->count++;
    return 0;
}

/* ------------------------------------------------------------------------- methods */
static JSValue op_get(JSContext *ctx, ncsl__js_storage *s, const char *key) {
    bool found = false;
    size_t i = find(s, key, &found);
    if (found) {
        const ncsl__js_storage_entry *e = &s->entries[i];
        return e->value ? parse_json(ctx, e->value, e->value_len) : JS_NULL;
    }
    if (s->cleared) {
        return JS_NULL;
    }
    char *value = NULL;
    size_t value_len = 0;
    ncsl_err err;
    ncsl_err_clear(&err);
    ncsl_status st = s->hooks->get(s->hooks->user, key, &value, &value_len, &found, &err);
    if (st != NCSL_OK) {
        return throw_hook_error(ctx, st, &err);
    }
    if (!found) {
        return JS_NULL;
    }
    JSValue v = parse_json(ctx, value, value_len);
    s->hooks->free_value(value, value_len);
    return v;
}

/* JSON text of `v` as a JS C string (free with JS_FreeCString), or NULL with an exception. */
static const char *value_to_json(JSContext *ctx, JSValueConst v, size_t *len) {
    static const char op[] = "storage.set";
    if (JS_IsUndefined(v) || JS_IsFunction(ctx, v) || JS_IsSymbol(v)) {
        JS_ThrowTypeError(ctx,
                          "%s: value must be JSON-serializable (not undefined, a function or a "
                          "symbol); use null, or remove(key)",
                          op);
        return NULL;
    }
    if (JS_IsBigInt(v)) {
        JS_ThrowTypeError(ctx, "%s: a BigInt is not JSON-serializable; store it as a string", op);
        return NULL;
    }
    JSValue str = JS_JSONStringify(ctx, v, JS_UNDEFINED, JS_UNDEFINED);
    if (JS_IsException(str)) {
        if (ncsl__js_call_is_doomed(ctx)) {
            return NULL;
        }
        JSValue exc = JS_GetException(ctx);
        if (JS_IsUncatchableError(exc)) {
            JS_Throw(ctx, exc);
            return NULL;
        }
        /* cyclic, a BigInt inside, a throwing toJSON: say why, in the error's own words */
        ncsl_buf why;
        ncsl_buf_init(&why, 0);
        JSValue m =
            JS_IsError(exc) ? JS_GetPropertyStr(ctx, exc, "message") : JS_DupValue(ctx, exc);
        int r =
            JS_IsException(m) ? -1 : ncsl__js_value_to_text(ctx, m, &why, MAX_CAUSE_BYTES, NULL);
        JS_FreeValue(ctx, m);
        JS_FreeValue(ctx, exc);
        if (r < 0 && ncsl__js_call_is_doomed(ctx)) {
            ncsl_buf_cleanup(&why);
            return NULL;
        }
        if (r < 0) {
            JS_FreeValue(ctx, JS_GetException(ctx));
        }
        JS_ThrowTypeError(ctx, "%s: value is not JSON-serializable (%s)", op,
                          r == 0 && why.data && !why.oom ? why.data : "JSON.stringify failed");
        ncsl_buf_cleanup(&why);
        return NULL;
    }
    if (!JS_IsString(str)) {
        /* an object whose toJSON returned undefined, a function or a symbol */
        JS_FreeValue(ctx, str);
        JS_ThrowTypeError(ctx, "%s: value must be JSON-serializable; JSON.stringify gave undefined",
                          op);
        return NULL;
    }
    const char *text = JS_ToCStringLen(ctx, len, str);
    JS_FreeValue(ctx, str);
    return text;
}

static JSValue op_set(JSContext *ctx, ncsl__js_storage *s, const char *key, size_t key_len,
                      JSValueConst v) {
    const ncsl_storage_hooks *h = s->hooks;
    JSValue ret = JS_EXCEPTION;
    char *copy = NULL;
    size_t len = 0;
    const char *text = value_to_json(ctx, v, &len);
    if (!text) {
        return JS_EXCEPTION;
    }
    if (len > max_value_bytes(h)) {
        JS_ThrowRangeError(ctx, "storage.set: value is %zu bytes, the limit is %zu", len,
                           max_value_bytes(h));
        goto out;
    }
    bool found = false;
    size_t i = find(s, key, &found);
    uint64_t stored = 0; /* the key's stored size, for a key the call had not touched */
    if (h->quota_bytes) {
        if (!found && !s->cleared && stored_size(ctx, h, key, key_len, &stored) < 0) {
            goto out;
        }
        uint64_t before = 0;
        if (current_usage(ctx, s, &before) < 0) {
            goto out;
        }
        uint64_t old = found ? entry_quota_bytes(&s->entries[i]) : stored;
        uint64_t after = before - (old < before ? old : before) + key_len + len;
        if (after > h->quota_bytes && after > before) {
            char msg[256];
            snprintf(msg, sizeof(msg),
                     "storage.set: the function's storage would hold %llu bytes, over its quota "
                     "of %llu bytes (%llu bytes used now, this write adds %zu)",
                     (unsigned long long)after, (unsigned long long)h->quota_bytes,
                     (unsigned long long)before, key_len + len);
            throw_named(ctx, "QuotaExceededError", "QUOTA_EXCEEDED", msg);
            goto out;
        }
    }
    /* the value's copy (and a new entry's key) live outside the JS heap: charge them first */
    size_t charge = len + 1 + (found ? 0 : entry_host_bytes(key_len, NULL, 0));
    if (!found && s->count >= NCSL_JS_STORAGE_MAX_PENDING_KEYS) {
        JS_ThrowRangeError(ctx, "storage.set: a call may write at most %u distinct keys",
                           NCSL_JS_STORAGE_MAX_PENDING_KEYS);
        goto out;
    }
    if (host_charge(ctx, charge) < 0) {
        goto out;
    }
    copy = ncsl_strndup(text, len);
    char *key_copy = found ? NULL : ncsl_strndup(key, key_len);
    if (!copy || (!found && !key_copy)) {
        free(key_copy);
        host_release(ctx, charge);
        JS_ThrowOutOfMemory(ctx);
        goto out;
    }
    if (!found && entry_insert(ctx, s, i) < 0) {
        free(key_copy);
        host_release(ctx, charge);
        goto out;
    }
    ncsl__js_storage_entry *e = &s->entries[i];
    if (found) {
        host_release(ctx, e->value ? e->value_len + 1 : 0);
        s->pending_total -= entry_quota_bytes(e);
        free_value(e->value, e->value_len);
    } else {
        e->key = key_copy;
        e->key_len = key_len;
        e->stored_bytes = s->cleared ? 0 : stored;
        s->stored_total += e->stored_bytes;
    }
    e->value = copy;
    e->value_len = len;
    copy = NULL;
    s->pending_total += entry_quota_bytes(e);
    ret = JS_UNDEFINED;
out:
    free_value(copy, len);
    JS_FreeCString(ctx, text);
    return ret;
}

static JSValue op_remove(JSContext *ctx, ncsl__js_storage *s, const char *key, size_t key_len) {
    bool found = false;
    size_t i = find(s, key, &found);
    if (s->cleared) {
        /* after clear() no stored key is left: forgetting the pending set is the whole job */
        if (found) {
            entry_delete(ctx, s, i);
        }
        return JS_UNDEFINED;
    }
    if (found) {
        ncsl__js_storage_entry *e = &s->entries[i];
        if (e->value) {
            host_release(ctx, e->value_len + 1);
            s->pending_total -= entry_quota_bytes(e);
            free_value(e->value, e->value_len);
            e->value = NULL;
            e->value_len = 0;
        }
        return JS_UNDEFINED;
    }
    uint64_t stored = 0;
    if (s->hooks->quota_bytes && stored_size(ctx, s->hooks, key, key_len, &stored) < 0) {
        return JS_EXCEPTION;
    }
    size_t charge = entry_host_bytes(key_len, NULL, 0);
    if (s->count >= NCSL_JS_STORAGE_MAX_PENDING_KEYS) {
        return JS_ThrowRangeError(ctx, "storage.remove: a call may write at most %u distinct keys",
                                  NCSL_JS_STORAGE_MAX_PENDING_KEYS);
    }
    if (host_charge(ctx, charge) < 0) {
        return JS_EXCEPTION;
    }
    char *key_copy = ncsl_strndup(key, key_len);
    if (!key_copy) {
        host_release(ctx, charge);
        return JS_ThrowOutOfMemory(ctx);
    }
    if (entry_insert(ctx, s, i) < 0) {
        free(key_copy);
        host_release(ctx, charge);
        return JS_EXCEPTION;
    }
    ncsl__js_storage_entry *e = &s->entries[i];
    e->key = key_copy;
    e->key_len = key_len;
    e->stored_bytes = stored;
    s->stored_total += stored;
    return JS_UNDEFINED;
}

static int cmp_keys(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static JSValue op_list(JSContext *ctx, ncsl__js_storage *s, int argc, JSValueConst *argv) {
    const ncsl_storage_hooks *h = s->hooks;
    static const char op[] = "storage.list";
    JSValue ret = JS_EXCEPTION, arr = JS_UNDEFINED;
    const char *prefix = NULL;
    size_t prefix_len = 0;
    char **stored = NULL;
    size_t stored_count = 0;
    const char **keys = NULL;
    size_t n = 0;

    if (argc > 0 && !JS_IsUndefined(argv[0])) {
        if (!JS_IsString(argv[0])) {
            return JS_ThrowTypeError(ctx, "%s: prefix must be a string", op);
        }
        prefix = JS_ToCStringLen(ctx, &prefix_len, argv[0]);
        if (!prefix) {
            return JS_EXCEPTION;
        }
        if (memchr(prefix, '\0', prefix_len)) {
            JS_ThrowTypeError(ctx, "%s: prefix must not contain NUL characters", op);
            goto out;
        }
    }
    if (prefix_len > max_key_bytes(h)) {
        ret = JS_NewArray(ctx); /* no key is that long */
        goto out;
    }
    if (!s->cleared) {
        ncsl_err e;
        ncsl_err_clear(&e);
        ncsl_status st = h->list(h->user, prefix ? prefix : "", &stored, &stored_count, &e);
        if (st != NCSL_OK) {
            stored = NULL;
            stored_count = 0;
            throw_hook_error(ctx, st, &e);
            goto out;
        }
        if (!stored) {
            stored_count = 0;
        }
    }
    /* stored keys the call did not touch, then the call's pending sets under the prefix */
    if (stored_count > SIZE_MAX / sizeof(*keys) - s->count) {
        JS_ThrowOutOfMemory(ctx);
        goto out;
    }
    keys = js_malloc(ctx, (stored_count + s->count + 1) * sizeof(*keys)); /* counted */
    if (!keys) {
        goto out;
    }
    for (size_t i = 0; i < stored_count; i++) {
        bool found = false;
        if (stored[i] && strncmp(stored[i], prefix ? prefix : "", prefix_len) == 0) {
            (void)find(s, stored[i], &found);
            if (!found) {
                keys[n++] = stored[i];
            }
        }
    }
    for (size_t i = 0; i < s->count; i++) {
        const ncsl__js_storage_entry *e = &s->entries[i];
        if (e->value && e->key_len >= prefix_len &&
            memcmp(e->key, prefix ? prefix : "", prefix_len) == 0) {
            keys[n++] = e->key;
        }
    }
    /* the hooks promise bytewise order, but a duplicate or disorder must not reach the caller */
    qsort(keys, n, sizeof(*keys), cmp_keys);
    arr = JS_NewArray(ctx);
    if (JS_IsException(arr)) {
        goto out;
    }
    uint32_t out_i = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && strcmp(keys[i], keys[i - 1]) == 0) {
            continue;
        }
        JSValue k = JS_NewString(ctx, keys[i]);
        if (JS_IsException(k) ||
            JS_DefinePropertyValueUint32(ctx, arr, out_i++, k, JS_PROP_C_W_E) < 0) {
            goto out;
        }
    }
    ret = arr;
    arr = JS_UNDEFINED;
out:
    JS_FreeValue(ctx, arr);
    if (keys) {
        js_free(ctx, keys);
    }
    if (stored) {
        h->free_keys(stored, stored_count);
    }
    if (prefix) {
        JS_FreeCString(ctx, prefix);
    }
    return ret;
}

static JSValue op_clear(JSContext *ctx, ncsl__js_storage *s) {
    while (s->count) {
        entry_delete(ctx, s, s->count - 1);
    }
    s->cleared = true;
    s->stored_total = 0;
    s->pending_total = 0;
    return JS_UNDEFINED;
}

/* ------------------------------------------------------------------------- binding */
/* Turns the outcome of a method into a settled promise; a broken limit propagates instead. */
static JSValue settle(JSContext *ctx, JSValue v) {
    JSValue p;
    if (!JS_IsException(v)) {
        p = JS_NewSettledPromise(ctx, false, v);
        JS_FreeValue(ctx, v);
        return p;
    }
    if (ncsl__js_call_is_doomed(ctx)) {
        return JS_EXCEPTION;
    }
    JSValue exc = JS_GetException(ctx);
    if (JS_IsUncatchableError(exc)) {
        return JS_Throw(ctx, exc);
    }
    p = JS_NewSettledPromise(ctx, true, exc);
    JS_FreeValue(ctx, exc);
    return p;
}

static JSValue js_storage_method(JSContext *ctx, JSValueConst this_val, int argc,
                                 JSValueConst *argv, int magic) {
    ncsl__js_storage *s = storage_of(ctx);
    const char *op = g_op_names[magic];
    const char *key = NULL;
    size_t key_len = 0;
    JSValue v = JS_EXCEPTION;

    if (check_call_alive(ctx) < 0) {
        return JS_EXCEPTION;
    }
    if (!s || !s->hooks) {
        throw_named(ctx, NULL, NULL, g_unavailable);
        return settle(ctx, JS_EXCEPTION);
    }
    if (!hooks_complete(s->hooks)) {
        throw_named(ctx, NULL, NULL, "storage: the host supplied incomplete storage hooks");
        return settle(ctx, JS_EXCEPTION);
    }
    if (magic == OP_GET || magic == OP_SET || magic == OP_REMOVE) {
        if (key_from_value(ctx, s->hooks, op, argc > 0 ? argv[0] : JS_UNDEFINED, &key, &key_len) <
            0) {
            return settle(ctx, JS_EXCEPTION);
        }
    }
    switch (magic) {
    case OP_GET:
        v = op_get(ctx, s, key);
        break;
    case OP_SET:
        v = op_set(ctx, s, key, key_len, argc > 1 ? argv[1] : JS_UNDEFINED);
        break;
    case OP_REMOVE:
        v = op_remove(ctx, s, key, key_len);
        break;
    case OP_LIST:
        v = op_list(ctx, s, argc, argv);
        break;
    default:
        v = op_clear(ctx, s);
        break;
    }
    if (key) {
        JS_FreeCString(ctx, key);
    }
    return settle(ctx, v);
}

/* JS_CFUNC_MAGIC_DEF with read-only, non-configurable properties: with the object made
 * non-extensible that is a frozen object, and the methods stay QuickJS's lazily made function
 * properties (JS_FreezeObject would build all five in every call) */
#define STORAGE_METHOD(name, length, op)                                                           \
    {                                                                                              \
        name, 0, JS_DEF_CFUNC, op, .u = {                                                          \
            .func = {length, JS_CFUNC_generic_magic, {.generic_magic = js_storage_method}}         \
        }                                                                                          \
    }
static const JSCFunctionListEntry g_storage_funcs[] = {
    STORAGE_METHOD("get", 1, OP_GET),       STORAGE_METHOD("set", 2, OP_SET),
    STORAGE_METHOD("remove", 1, OP_REMOVE), STORAGE_METHOD("list", 0, OP_LIST),
    STORAGE_METHOD("clear", 0, OP_CLEAR),
};

int ncsl_js_storage_init(JSContext *ctx, JSValue global) {
    JSValue obj = JS_NewObject(ctx);
    if (JS_IsException(obj)) {
        return -1;
    }
    if (JS_SetPropertyFunctionList(ctx, obj, g_storage_funcs,
                                   (int)NCSL_ARRAY_LEN(g_storage_funcs)) < 0 ||
        JS_PreventExtensions(ctx, obj) < 0) {
        JS_FreeValue(ctx, obj);
        return -1;
    }
    /* not writable, not configurable, like SECRETS: user code cannot swap in its own */
    return JS_DefinePropertyValueStr(ctx, global, "storage", obj, JS_PROP_ENUMERABLE) < 0 ? -1 : 0;
}

/* ------------------------------------------------------------------------- hand-over */
ncsl_status ncsl__js_storage_take(ncsl__js_storage *s, ncsl_storage_write **writes, size_t *count,
                                  ncsl_err *err) {
    *writes = NULL;
    *count = 0;
    size_t n = s->count + (s->cleared ? 1 : 0);
    if (n == 0) {
        return NCSL_OK;
    }
    ncsl_storage_write *w = calloc(n, sizeof(*w));
    if (!w) {
        return ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory for the storage writes");
    }
    size_t j = 0;
    if (s->cleared) {
        w[j++].type = NCSL_STORAGE_CLEAR;
    }
    for (size_t i = 0; i < s->count; i++) {
        ncsl__js_storage_entry *e = &s->entries[i];
        w[j].type = e->value ? NCSL_STORAGE_SET : NCSL_STORAGE_REMOVE;
        w[j].key = e->key;
        w[j].value = e->value;
        w[j].value_len = e->value_len;
        j++;
    }
    free(s->entries); /* the keys and values now belong to `w` */
    memset(s, 0, sizeof(*s));
    *writes = w;
    *count = n;
    return NCSL_OK;
}

void ncsl__js_storage_cleanup(ncsl__js_storage *s) {
    for (size_t i = 0; i < s->count; i++) {
        free_value(s->entries[i].value, s->entries[i].value_len);
        free(s->entries[i].key);
    }
    free(s->entries);
    memset(s, 0, sizeof(*s));
}

void ncsl_js_storage_writes_free(ncsl_storage_write *writes, size_t count) {
    if (!writes) {
        return;
    }
    for (size_t i = 0; i < count; i++) {
        free_value((char *)writes[i].value, writes[i].value_len);
        free((char *)writes[i].key);
    }
    free(writes);
}
