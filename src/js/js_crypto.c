/*
 * crypto: the Web Crypto subset a call sees (getRandomValues, randomUUID, subtle.digest and HMAC
 * through subtle.importKey/sign/verify/exportKey) plus the seed service's crypto.randomBytes and
 * crypto.sha256, all backed by OpenSSL 3.
 *
 * Randomness comes from OpenSSL's DRBGs (RAND_priv_bytes for bytes that may become keys,
 * RAND_bytes for UUIDs), seeded from getrandom(); inside the enclave the TEE runtime serves
 * getrandom from the CPU's RDRAND, so no host-provided entropy reaches a call.
 *
 * Cost per call: the global is an autoinit property (JS_OBJECT_DEF): the object, its `subtle`
 * object and every method are created on first access only, so a call that never touches
 * `crypto` pays one property definition. Digests and the HMAC MAC are fetched from OpenSSL once
 * per process (g_algs below). The CryptoKey class is registered once per JSRuntime and its
 * prototype made once per context, when the first key is imported.
 *
 * Keys: an imported HMAC key's bytes live in the CryptoKey object's opaque (JS-heap memory, so
 * the call's memory limit counts them), wiped when the object is freed. JS sees only what the
 * Web Crypto API shows (type, extractable, algorithm, usages), and the bytes through exportKey
 * when the key was imported as extractable.
 *
 * Errors follow the Web Crypto API: the subtle methods return promises and reject (TypeError for
 * wrong types, a DOMException NotSupportedError / InvalidAccessError / SyntaxError / DataError
 * otherwise); the synchronous methods throw. A broken limit (deadline, memory, gas) always
 * propagates as the uncatchable error that ends the call.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "js_lazy.h"

/* getRandomValues and randomBytes: at most this many bytes per call (as browsers) */
#define RANDOM_MAX_BYTES 65536u
/* subtle.importKey: the largest raw HMAC key */
#define HMAC_MAX_KEY_BYTES 65536u
/* keyUsages: at most this many entries */
#define MAX_USAGES 16u
#define MAX_DIGEST_SIZE 64u

enum { USAGE_SIGN = 1, USAGE_VERIFY = 2 };

/* ------------------------------------------------------------------------- algorithms */
typedef struct hash_alg {
    const char *name; /* Web Crypto name */
    const char *ossl; /* OpenSSL name */
    size_t size;
} hash_alg;

static const hash_alg g_hashes[] = {
    {"SHA-1", "SHA1", 20},
    {"SHA-256", "SHA256", 32},
    {"SHA-384", "SHA384", 48},
    {"SHA-512", "SHA512", 64},
};
#define HASH_COUNT (sizeof(g_hashes) / sizeof(g_hashes[0]))
#define HASH_SHA256 1

/* Fetched once per process (OpenSSL one-time initialization, see STYLE.md "Global state"); never
 * freed. An entry stays NULL when the provider lacks the algorithm (then it fails per use). */
static struct {
    pthread_once_t once;
    EVP_MD *md[HASH_COUNT];
    EVP_MAC *hmac;
} g_algs = {.once = PTHREAD_ONCE_INIT};

static void algs_fetch(void) {
    for (size_t i = 0; i < HASH_COUNT; i++) {
        g_algs.md[i] = EVP_MD_fetch(NULL, g_hashes[i].ossl, NULL);
    }
    g_algs.hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    ERR_clear_error();
}

static void algs_init(void) {
    pthread_once(&g_algs.once, algs_fetch);
}

static bool ascii_ieq(const char *a, size_t a_len, const char *b) {
    size_t b_len = strlen(b);
    if (a_len != b_len) {
        return false;
    }
    for (size_t i = 0; i < a_len; i++) {
        char x = a[i], y = b[i];
        x = (char)(x >= 'a' && x <= 'z' ? x - 32 : x);
        y = (char)(y >= 'a' && y <= 'z' ? y - 32 : y);
        if (x != y) {
            return false;
        }
    }
    return true;
}

/* ------------------------------------------------------------------------- bytes of values */

/* QuickJS keeps a lone surrogate as its 3-byte encoding (ED A0..BF xx), which is not UTF-8;
 * encoders (TextEncoder, Node's Buffer) write U+FFFD (EF BF BD) instead, as this does. */
static bool has_lone_surrogate(const char *s, size_t len) {
    for (size_t i = 0; i + 1 < len; i++) {
        if ((unsigned char)s[i] == 0xED && (unsigned char)s[i + 1] >= 0xA0) {
            return true;
        }
    }
    return false;
}

/* A DataView's bytes: its buffer, byteOffset and byteLength (through their getters, which may
 * run JS: the pointer is taken after them and checked against the buffer's real size). */
static int dataview_bytes(JSContext *ctx, JSValueConst v, const char *what, const uint8_t **data,
                          size_t *len) {
    int ret = -1;
    int64_t off = 0, n = 0;
    JSValue off_v = JS_UNDEFINED, len_v = JS_UNDEFINED;
    /* one at a time: no getter may run with an exception pending */
    JSValue buf = JS_GetPropertyStr(ctx, v, "buffer");
    if (JS_IsException(buf)) {
        goto out;
    }
    off_v = JS_GetPropertyStr(ctx, v, "byteOffset");
    if (JS_IsException(off_v) || JS_ToInt64(ctx, &off, off_v) < 0) {
        goto out;
    }
    len_v = JS_GetPropertyStr(ctx, v, "byteLength");
    if (JS_IsException(len_v) || JS_ToInt64(ctx, &n, len_v) < 0) {
        goto out;
    }
    size_t size = 0;
    uint8_t *p = JS_GetArrayBuffer(ctx, &size, buf);
    if (!p && JS_HasException(ctx)) {
        goto out;
    }
    if (off < 0 || n < 0 || (uint64_t)off > size || (uint64_t)n > size - (uint64_t)off) {
        JS_ThrowTypeError(ctx, "%s: the DataView is out of its buffer's bounds", what);
        goto out;
    }
    *data = p ? p + off : (const uint8_t *)"";
    *len = (size_t)n;
    ret = 0;
out:
    JS_FreeValue(ctx, buf);
    JS_FreeValue(ctx, off_v);
    JS_FreeValue(ctx, len_v);
    return ret;
}

int ncsl__js_bytes_get(JSContext *ctx, JSValueConst v, bool strings, const char *what,
                       ncsl__js_bytes *b) {
    memset(b, 0, sizeof(*b));
    b->data = (const uint8_t *)"";
    if (strings && JS_IsString(v)) {
        size_t len = 0;
        const char *s = JS_ToCStringLen(ctx, &len, v);
        if (!s) {
            return -1;
        }
        if (has_lone_surrogate(s, len)) {
            uint8_t *fixed = js_malloc(ctx, len ? len : 1);
            if (!fixed) {
                JS_FreeCString(ctx, s);
                return -1;
            }
            memcpy(fixed, s, len);
            for (size_t i = 0; i + 2 < len; i++) {
                if (fixed[i] == 0xED && fixed[i + 1] >= 0xA0) {
                    fixed[i] = 0xEF;
                    fixed[i + 1] = 0xBF;
                    fixed[i + 2] = 0xBD;
                    i += 2;
                }
            }
            JS_FreeCString(ctx, s);
            b->fixed = fixed;
            b->data = fixed;
        } else {
            b->str = s;
            b->data = (const uint8_t *)s;
        }
        b->len = len;
        return 0;
    }
    if (JS_IsArrayBuffer(v)) {
        size_t size = 0;
        uint8_t *p = JS_GetArrayBuffer(ctx, &size, v);
        if (!p && JS_HasException(ctx)) {
            return -1;
        }
        b->data = p ? p : (const uint8_t *)"";
        b->len = size;
        return 0;
    }
    if (JS_GetTypedArrayType(v) >= 0) {
        size_t off = 0, len = 0, size = 0;
        JSValue buf = JS_GetTypedArrayBuffer(ctx, v, &off, &len, NULL);
        if (JS_IsException(buf)) {
            return -1;
        }
        uint8_t *p = JS_GetArrayBuffer(ctx, &size, buf);
        JS_FreeValue(ctx, buf);
        if (!p && JS_HasException(ctx)) {
            return -1;
        }
        if (off > size || len > size - off) {
            JS_ThrowTypeError(ctx, "%s: the typed array is out of its buffer's bounds", what);
            return -1;
        }
        b->data = p ? p + off : (const uint8_t *)"";
        b->len = len;
        return 0;
    }
    if (JS_IsDataView(v)) {
        return dataview_bytes(ctx, v, what, &b->data, &b->len);
    }
    JS_ThrowTypeError(ctx, "%s must be %san ArrayBuffer or a view (typed array, DataView)", what,
                      strings ? "a string, " : "");
    return -1;
}

void ncsl__js_bytes_release(JSContext *ctx, ncsl__js_bytes *b) {
    if (b->str) {
        JS_FreeCString(ctx, b->str);
    }
    if (b->fixed) {
        js_free(ctx, b->fixed);
    }
    memset(b, 0, sizeof(*b));
}

/* ------------------------------------------------------------------------- helpers */

/* An OpenSSL failure: a plain Error (never with input data in it). */
static JSValue throw_crypto_failure(JSContext *ctx, const char *what) {
    ERR_clear_error();
    return JS_ThrowPlainError(ctx, "%s failed in the crypto library", what);
}

/*
 * The subtle methods reject instead of throwing: turns the pending exception into a rejected
 * promise, except when the call must end (deadline, memory or gas broken): that exception
 * propagates. `v` is the method's result (JS_EXCEPTION or a value to resolve with; taken).
 */
static JSValue settle(JSContext *ctx, JSValue v) {
    bool rejected = JS_IsException(v);
    if (rejected) {
        if (ncsl__js_call_is_doomed(ctx)) {
            return JS_EXCEPTION;
        }
        v = JS_GetException(ctx);
        if (JS_IsUncatchableError(v)) {
            return JS_Throw(ctx, v);
        }
    }
    JSValue p = JS_NewSettledPromise(ctx, rejected, v);
    JS_FreeValue(ctx, v);
    return p;
}

/* An algorithm argument (a string, or an object with a string `name`) to its name, a JS C string
 * (free with JS_FreeCString). */
static const char *algorithm_name(JSContext *ctx, JSValueConst alg, const char *what, size_t *len) {
    if (JS_IsString(alg)) {
        return JS_ToCStringLen(ctx, len, alg);
    }
    if (!JS_IsObject(alg)) {
        JS_ThrowTypeError(ctx, "%s must be a string or an object with a name", what);
        return NULL;
    }
    JSValue name = JS_GetPropertyStr(ctx, alg, "name");
    if (JS_IsException(name)) {
        return NULL;
    }
    if (!JS_IsString(name)) {
        JS_FreeValue(ctx, name);
        JS_ThrowTypeError(ctx, "%s.name must be a string", what);
        return NULL;
    }
    const char *s = JS_ToCStringLen(ctx, len, name);
    JS_FreeValue(ctx, name);
    return s;
}

/* The index in g_hashes of a hash algorithm argument, or -1 with an exception pending
 * (TypeError for a wrong type, NotSupportedError for an unknown name). */
static int hash_index(JSContext *ctx, JSValueConst alg, const char *what) {
    size_t len = 0;
    const char *name = algorithm_name(ctx, alg, what, &len);
    if (!name) {
        return -1;
    }
    int found = -1;
    for (size_t i = 0; i < HASH_COUNT; i++) {
        if (ascii_ieq(name, len, g_hashes[i].name)) {
            found = (int)i;
            break;
        }
    }
    if (found < 0) {
        ncsl__js_throw_dom_exception(
            ctx, "NotSupportedError",
            "%s: %.40s%s is not supported (SHA-1, SHA-256, SHA-384, SHA-512)", what, name,
            len > 40 ? "..." : "");
    }
    JS_FreeCString(ctx, name);
    return found;
}

/* Digest of `len` bytes with g_hashes[h] into out (MAX_DIGEST_SIZE). */
static int digest_into(JSContext *ctx, int h, const uint8_t *data, size_t len, uint8_t *out) {
    unsigned int n = 0;
    algs_init();
    if (!g_algs.md[h] || EVP_Digest(data, len, out, &n, g_algs.md[h], NULL) != 1 ||
        n != g_hashes[h].size) {
        throw_crypto_failure(ctx, g_hashes[h].name);
        return -1;
    }
    return 0;
}

/* HMAC with g_hashes[h] and `key` over data into out (g_hashes[h].size bytes). */
static int hmac_into(JSContext *ctx, int h, const uint8_t *key, size_t key_len, const uint8_t *data,
                     size_t len, uint8_t *out) {
    OSSL_PARAM params[2];
    size_t n = 0;
    int ret = -1;
    algs_init();
    EVP_MAC_CTX *mc = g_algs.hmac ? EVP_MAC_CTX_new(g_algs.hmac) : NULL;
    params[0] =
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)g_hashes[h].ossl, 0);
    params[1] = OSSL_PARAM_construct_end();
    if (mc && EVP_MAC_init(mc, key, key_len, params) == 1 && EVP_MAC_update(mc, data, len) == 1 &&
        EVP_MAC_final(mc, out, &n, MAX_DIGEST_SIZE) == 1 && n == g_hashes[h].size) {
        ret = 0;
    } else {
        throw_crypto_failure(ctx, "HMAC");
    }
    EVP_MAC_CTX_free(mc);
    return ret;
}

static int random_fill(JSContext *ctx, uint8_t *p, size_t len, bool priv) {
    if (len == 0) {
        return 0;
    }
    if ((priv ? RAND_priv_bytes(p, (int)len) : RAND_bytes(p, (int)len)) != 1) {
        throw_crypto_failure(ctx, "the random generator");
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------- random */

static JSValue js_get_random_values(JSContext *ctx, JSValueConst this_val, int argc,
                                    JSValueConst *argv) {
    (void)this_val;
    if (ncsl__js_gas_charge(ctx, NCSL__JS_GAS_HOST_CALL + NCSL__JS_GAS_RANDOM) < 0) {
        return JS_EXCEPTION;
    }
    JSValueConst v = argc > 0 ? argv[0] : JS_UNDEFINED;
    int type = JS_GetTypedArrayType(v);
    if (type < 0 && !JS_IsDataView(v)) {
        return JS_ThrowTypeError(ctx, "crypto.getRandomValues: argument 1 must be an integer "
                                      "typed array");
    }
    if (type < 0 || type > JS_TYPED_ARRAY_BIG_UINT64) {
        return ncsl__js_throw_dom_exception(
            ctx, "TypeMismatchError",
            "crypto.getRandomValues: argument 1 must be an integer typed "
            "array (not a float array or a DataView)");
    }
    size_t off = 0, len = 0, size = 0;
    JSValue buf = JS_GetTypedArrayBuffer(ctx, v, &off, &len, NULL);
    if (JS_IsException(buf)) {
        return JS_EXCEPTION;
    }
    if (len > RANDOM_MAX_BYTES) {
        JS_FreeValue(ctx, buf);
        return ncsl__js_throw_dom_exception(
            ctx, "QuotaExceededError",
            "crypto.getRandomValues: the array is %zu bytes, the limit is "
            "%u",
            len, RANDOM_MAX_BYTES);
    }
    if (JS_IsImmutableArrayBuffer(buf) == 1) {
        JS_FreeValue(ctx, buf);
        return JS_ThrowTypeError(ctx, "crypto.getRandomValues: argument 1 is backed by an "
                                      "immutable ArrayBuffer");
    }
    uint8_t *p = JS_GetArrayBuffer(ctx, &size, buf);
    JS_FreeValue(ctx, buf);
    if (!p && JS_HasException(ctx)) {
        return JS_EXCEPTION;
    }
    if (off > size || len > size - off) {
        return JS_ThrowTypeError(ctx, "crypto.getRandomValues: argument 1 is out of its "
                                      "buffer's bounds");
    }
    if (ncsl__js_gas_charge(ctx, ncsl__js_gas_bytes(len)) < 0 ||
        random_fill(ctx, p + off, len, true) < 0) {
        return JS_EXCEPTION;
    }
    return JS_DupValue(ctx, v);
}

static JSValue js_random_uuid(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    (void)this_val;
    (void)argc;
    (void)argv;
    static const char hex[] = "0123456789abcdef";
    uint8_t b[16];
    char s[37];
    if (ncsl__js_gas_charge(ctx, NCSL__JS_GAS_HOST_CALL + NCSL__JS_GAS_RANDOM) < 0 ||
        random_fill(ctx, b, sizeof(b), false) < 0) {
        return JS_EXCEPTION;
    }
    b[6] = (uint8_t)((b[6] & 0x0F) | 0x40); /* version 4 */
    b[8] = (uint8_t)((b[8] & 0x3F) | 0x80); /* variant 10xx (RFC 9562) */
    size_t o = 0;
    for (size_t i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            s[o++] = '-';
        }
        s[o++] = hex[b[i] >> 4];
        s[o++] = hex[b[i] & 0x0F];
    }
    return JS_NewStringLen(ctx, s, o);
}

static JSValue js_random_bytes(JSContext *ctx, JSValueConst this_val, int argc,
                               JSValueConst *argv) {
    (void)this_val;
    double n = 0;
    if (ncsl__js_gas_charge(ctx, NCSL__JS_GAS_HOST_CALL + NCSL__JS_GAS_RANDOM) < 0) {
        return JS_EXCEPTION;
    }
    if (argc < 1 || !JS_IsNumber(argv[0])) {
        return JS_ThrowTypeError(ctx, "crypto.randomBytes: size must be a number");
    }
    if (JS_ToFloat64(ctx, &n, argv[0]) < 0) {
        return JS_EXCEPTION;
    }
    if (!(n >= 0 && n <= RANDOM_MAX_BYTES) || n != (double)(size_t)n) {
        return JS_ThrowRangeError(ctx, "crypto.randomBytes: size must be an integer from 0 to %u",
                                  RANDOM_MAX_BYTES);
    }
    size_t len = (size_t)n;
    if (ncsl__js_gas_charge(ctx, ncsl__js_gas_bytes(len)) < 0) {
        return JS_EXCEPTION;
    }
    JSValue len_v = JS_NewInt32(ctx, (int32_t)len);
    JSValue arr = ncsl__js_new_typed_array(ctx, 1, &len_v, JS_TYPED_ARRAY_UINT8);
    if (JS_IsException(arr)) {
        return JS_EXCEPTION;
    }
    size_t got = 0;
    uint8_t *p = JS_GetUint8Array(ctx, &got, arr);
    if ((!p && len) || got != len) {
        JS_FreeValue(ctx, arr);
        return JS_HasException(ctx) ? JS_EXCEPTION
                                    : JS_ThrowInternalError(ctx, "crypto.randomBytes: no array");
    }
    if (random_fill(ctx, p, len, true) < 0) {
        JS_FreeValue(ctx, arr);
        return JS_EXCEPTION;
    }
    return arr;
}

/* ------------------------------------------------------------------------- digests */

static JSValue js_sha256(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    (void)this_val;
    ncsl__js_bytes b;
    uint8_t md[MAX_DIGEST_SIZE];
    char hex[2 * 32 + 1];
    if (ncsl__js_gas_charge(ctx, NCSL__JS_GAS_HOST_CALL) < 0) {
        return JS_EXCEPTION;
    }
    if (ncsl__js_bytes_get(ctx, argc > 0 ? argv[0] : JS_UNDEFINED, true, "crypto.sha256: data",
                           &b) < 0) {
        return JS_EXCEPTION;
    }
    int r = ncsl__js_gas_charge(ctx, ncsl__js_gas_bytes(b.len)) < 0
                ? -1
                : digest_into(ctx, HASH_SHA256, b.data, b.len, md);
    ncsl__js_bytes_release(ctx, &b);
    if (r < 0) {
        return JS_EXCEPTION;
    }
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < 32; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 0x0F];
    }
    return JS_NewStringLen(ctx, hex, 64);
}

static JSValue subtle_digest(JSContext *ctx, int argc, JSValueConst *argv) {
    ncsl__js_bytes b;
    uint8_t md[MAX_DIGEST_SIZE];
    int h = hash_index(ctx, argc > 0 ? argv[0] : JS_UNDEFINED, "crypto.subtle.digest: algorithm");
    if (h < 0 || ncsl__js_bytes_get(ctx, argc > 1 ? argv[1] : JS_UNDEFINED, false,
                                    "crypto.subtle.digest: data", &b) < 0) {
        return JS_EXCEPTION;
    }
    int r = ncsl__js_gas_charge(ctx, ncsl__js_gas_bytes(b.len)) < 0
                ? -1
                : digest_into(ctx, h, b.data, b.len, md);
    ncsl__js_bytes_release(ctx, &b);
    return r < 0 ? JS_EXCEPTION : ncsl__js_new_array_buffer_copy(ctx, md, g_hashes[h].size);
}

/* ------------------------------------------------------------------------- CryptoKey */

/* The opaque of a CryptoKey: JS-heap memory of the runtime, key bytes wiped on free. */
typedef struct crypto_key {
    uint8_t *key; /* js_malloc_rt'd; NULL for an empty key (never: importKey refuses those) */
    size_t len;
    int hash; /* index in g_hashes */
    unsigned usages;
    bool extractable;
} crypto_key;

static JSClassID g_crypto_key_class;

static void crypto_key_finalizer(JSRuntime *rt, JSValueConst val) {
    crypto_key *k = JS_GetOpaque(val, g_crypto_key_class);
    if (!k) {
        return;
    }
    if (k->key) {
        OPENSSL_cleanse(k->key, k->len);
        js_free_rt(rt, k->key);
    }
    OPENSSL_cleanse(k, sizeof(*k));
    js_free_rt(rt, k);
}

static const JSClassDef g_crypto_key_def = {
    .class_name = "CryptoKey",
    .finalizer = crypto_key_finalizer,
};

/* `key` as a CryptoKey of ours, or NULL with a TypeError naming `what`. */
static crypto_key *crypto_key_get(JSContext *ctx, JSValueConst key, const char *what) {
    /* the ID may be allocated concurrently by another thread (js_lazy.c): read it atomically */
    JSClassID id = __atomic_load_n(&g_crypto_key_class, __ATOMIC_ACQUIRE);
    crypto_key *k = id ? JS_GetOpaque(key, id) : NULL;
    if (!k) {
        JS_ThrowTypeError(ctx, "%s must be a CryptoKey (from crypto.subtle.importKey)", what);
    }
    return k;
}

/* Defines a read-only, enumerable data property (takes v). */
static int define_ro(JSContext *ctx, JSValueConst obj, const char *name, JSValue v) {
    if (JS_IsException(v)) {
        return -1;
    }
    return JS_DefinePropertyValueStr(ctx, obj, name, v, JS_PROP_ENUMERABLE) < 0 ? -1 : 0;
}

/* The `algorithm` object of a key: {name: "HMAC", hash: {name}, length}, frozen. */
static JSValue key_algorithm(JSContext *ctx, const crypto_key *k) {
    JSValue alg = JS_NewObject(ctx);
    JSValue hash = JS_NewObject(ctx);
    if (JS_IsException(alg) || JS_IsException(hash) ||
        define_ro(ctx, hash, "name", JS_NewString(ctx, g_hashes[k->hash].name)) < 0 ||
        JS_FreezeObject(ctx, hash) < 0 ||
        define_ro(ctx, alg, "name", JS_NewString(ctx, "HMAC")) < 0 ||
        define_ro(ctx, alg, "hash", JS_DupValue(ctx, hash)) < 0 ||
        define_ro(ctx, alg, "length", JS_NewInt64(ctx, (int64_t)k->len * 8)) < 0 ||
        JS_FreezeObject(ctx, alg) < 0) {
        JS_FreeValue(ctx, alg);
        JS_FreeValue(ctx, hash);
        return JS_EXCEPTION;
    }
    JS_FreeValue(ctx, hash);
    return alg;
}

static JSValue key_usages(JSContext *ctx, unsigned usages) {
    JSValue arr = JS_NewArray(ctx);
    uint32_t n = 0;
    if (JS_IsException(arr)) {
        return arr;
    }
    if (((usages & USAGE_SIGN) &&
         JS_SetPropertyUint32(ctx, arr, n++, JS_NewString(ctx, "sign")) < 0) ||
        ((usages & USAGE_VERIFY) &&
         JS_SetPropertyUint32(ctx, arr, n++, JS_NewString(ctx, "verify")) < 0) ||
        JS_FreezeObject(ctx, arr) < 0) {
        JS_FreeValue(ctx, arr);
        return JS_EXCEPTION;
    }
    return arr;
}

/* keyUsages: an array of "sign"/"verify" (others of the Web Crypto API: SyntaxError). */
static int parse_usages(JSContext *ctx, JSValueConst v, unsigned *usages) {
    static const char *const others[] = {"encrypt",   "decrypt",   "wrapKey",
                                         "unwrapKey", "deriveKey", "deriveBits"};
    int64_t n = 0;
    *usages = 0;
    if (!JS_IsArray(v)) {
        JS_ThrowTypeError(ctx, "crypto.subtle.importKey: keyUsages must be an array of strings");
        return -1;
    }
    if (JS_GetLength(ctx, v, &n) < 0) {
        return -1;
    }
    if (n < 0 || n > (int64_t)MAX_USAGES) {
        JS_ThrowTypeError(ctx, "crypto.subtle.importKey: keyUsages has %lld entries, at most %u",
                          (long long)n, MAX_USAGES);
        return -1;
    }
    for (uint32_t i = 0; i < (uint32_t)n; i++) {
        JSValue e = JS_GetPropertyUint32(ctx, v, i);
        if (JS_IsException(e)) {
            return -1;
        }
        if (!JS_IsString(e)) {
            JS_FreeValue(ctx, e);
            JS_ThrowTypeError(ctx, "crypto.subtle.importKey: keyUsages[%u] must be a string", i);
            return -1;
        }
        size_t len = 0;
        const char *s = JS_ToCStringLen(ctx, &len, e);
        JS_FreeValue(ctx, e);
        if (!s) {
            return -1;
        }
        bool other = false;
        for (size_t j = 0; j < sizeof(others) / sizeof(others[0]); j++) {
            other = other || (strlen(others[j]) == len && memcmp(s, others[j], len) == 0);
        }
        if (len == 4 && memcmp(s, "sign", 4) == 0) {
            *usages |= USAGE_SIGN;
        } else if (len == 6 && memcmp(s, "verify", 6) == 0) {
            *usages |= USAGE_VERIFY;
        } else if (other) {
            ncsl__js_throw_dom_exception(
                ctx, "SyntaxError",
                "crypto.subtle.importKey: keyUsages: an HMAC key can only be "
                "used to sign and verify");
            JS_FreeCString(ctx, s);
            return -1;
        } else {
            JS_ThrowTypeError(ctx, "crypto.subtle.importKey: keyUsages[%u] is not a key usage", i);
            JS_FreeCString(ctx, s);
            return -1;
        }
        JS_FreeCString(ctx, s);
    }
    if (*usages == 0) {
        ncsl__js_throw_dom_exception(ctx, "SyntaxError",
                                     "crypto.subtle.importKey: keyUsages must not be empty");
        return -1;
    }
    return 0;
}

/* format: "raw" only (the other Web Crypto formats: NotSupportedError). */
static int check_format(JSContext *ctx, JSValueConst v, const char *what) {
    static const char *const others[] = {"jwk", "pkcs8", "spki"};
    size_t len = 0;
    if (!JS_IsString(v)) {
        JS_ThrowTypeError(ctx, "%s: format must be a string", what);
        return -1;
    }
    const char *s = JS_ToCStringLen(ctx, &len, v);
    if (!s) {
        return -1;
    }
    int ret = 0;
    if (!(len == 3 && memcmp(s, "raw", 3) == 0)) {
        bool other = false;
        for (size_t j = 0; j < sizeof(others) / sizeof(others[0]); j++) {
            other = other || (strlen(others[j]) == len && memcmp(s, others[j], len) == 0);
        }
        if (other) {
            ncsl__js_throw_dom_exception(ctx, "NotSupportedError",
                                         "%s: format %s is not supported (raw only)", what, s);
        } else {
            JS_ThrowTypeError(ctx, "%s: format must be \"raw\"", what);
        }
        ret = -1;
    }
    JS_FreeCString(ctx, s);
    return ret;
}

/* The algorithm of sign/verify: "HMAC" or {name: "HMAC"} (any case). */
static int check_hmac_name(JSContext *ctx, JSValueConst alg, const char *what) {
    size_t len = 0;
    const char *name = algorithm_name(ctx, alg, what, &len);
    if (!name) {
        return -1;
    }
    int ret = 0;
    if (!ascii_ieq(name, len, "HMAC")) {
        ncsl__js_throw_dom_exception(ctx, "NotSupportedError",
                                     "%s: %.40s%s is not supported (HMAC only)", what, name,
                                     len > 40 ? "..." : "");
        ret = -1;
    }
    JS_FreeCString(ctx, name);
    return ret;
}

static JSValue subtle_import_key(JSContext *ctx, int argc, JSValueConst *argv) {
    static const char what[] = "crypto.subtle.importKey";
    JSValueConst format = argc > 0 ? argv[0] : JS_UNDEFINED;
    JSValueConst key_data = argc > 1 ? argv[1] : JS_UNDEFINED;
    JSValueConst alg = argc > 2 ? argv[2] : JS_UNDEFINED;
    JSValueConst extractable = argc > 3 ? argv[3] : JS_UNDEFINED;
    JSValueConst usages_v = argc > 4 ? argv[4] : JS_UNDEFINED;
    JSValue hash_v = JS_UNDEFINED, length_v = JS_UNDEFINED, proto = JS_UNDEFINED;
    JSValue obj = JS_UNDEFINED;
    ncsl__js_bytes b = {0};
    JSRuntime *rt = JS_GetRuntime(ctx);
    crypto_key *k = NULL, *kk = NULL;
    unsigned usages = 0;
    int h = -1;
    int ext;
    double length = 0;
    bool have_length = false;

    if (check_format(ctx, format, what) < 0) {
        goto fail;
    }
    if (!JS_IsObject(alg)) {
        if (JS_IsString(alg) &&
            check_hmac_name(ctx, alg, "crypto.subtle.importKey: algorithm") < 0) {
            goto fail;
        }
        JS_ThrowTypeError(ctx, "%s: algorithm must be an object {name: \"HMAC\", hash}", what);
        goto fail;
    }
    if (check_hmac_name(ctx, alg, "crypto.subtle.importKey: algorithm") < 0) {
        goto fail;
    }
    hash_v = JS_GetPropertyStr(ctx, alg, "hash");
    if (JS_IsException(hash_v)) {
        goto fail;
    }
    if (JS_IsUndefined(hash_v)) {
        JS_ThrowTypeError(ctx, "%s: algorithm.hash is required", what);
        goto fail;
    }
    h = hash_index(ctx, hash_v, "crypto.subtle.importKey: algorithm.hash");
    if (h < 0) {
        goto fail;
    }
    length_v = JS_GetPropertyStr(ctx, alg, "length");
    if (JS_IsException(length_v)) {
        goto fail;
    }
    if (!JS_IsUndefined(length_v)) {
        if (!JS_IsNumber(length_v)) {
            JS_ThrowTypeError(ctx, "%s: algorithm.length must be a number", what);
            goto fail;
        }
        if (JS_ToFloat64(ctx, &length, length_v) < 0) {
            goto fail;
        }
        have_length = true;
    }
    ext = JS_ToBool(ctx, extractable);
    if (ext < 0 || parse_usages(ctx, usages_v, &usages) < 0) {
        goto fail;
    }
    /* the key's bytes last: nothing that may run JS comes after taking the pointer */
    if (ncsl__js_bytes_get(ctx, key_data, false, "crypto.subtle.importKey: keyData", &b) < 0) {
        goto fail;
    }
    if (b.len == 0) {
        ncsl__js_throw_dom_exception(ctx, "DataError", "%s: keyData is empty", what);
        goto fail;
    }
    if (b.len > HMAC_MAX_KEY_BYTES) {
        JS_ThrowRangeError(ctx, "%s: keyData is %zu bytes, the limit is %u", what, b.len,
                           HMAC_MAX_KEY_BYTES);
        goto fail;
    }
    double bits = (double)b.len * 8;
    if (have_length && length != bits) {
        /* the Web Crypto rule: more bits than keyData has, or a whole byte fewer, is DataError */
        if (!(length > bits - 8 && length <= bits)) {
            ncsl__js_throw_dom_exception(ctx, "DataError",
                                         "%s: algorithm.length does not match keyData (%zu bits)",
                                         what, b.len * 8);
        } else {
            ncsl__js_throw_dom_exception(ctx, "NotSupportedError",
                                         "%s: algorithm.length must be a multiple of 8", what);
        }
        goto fail;
    }
    if (ncsl__js_gas_charge(ctx, NCSL__JS_GAS_KEY_DERIVE + ncsl__js_gas_bytes(b.len)) < 0) {
        goto fail;
    }
    k = js_mallocz_rt(rt, sizeof(*k));
    if (k) {
        k->key = js_malloc_rt(rt, b.len);
    }
    if (!k || !k->key) {
        JS_ThrowOutOfMemory(ctx);
        goto fail;
    }
    memcpy(k->key, b.data, b.len);
    k->len = b.len;
    k->hash = h;
    k->usages = usages;
    k->extractable = ext != 0;
    ncsl__js_bytes_release(ctx, &b);

    /* the class prototype: a plain object */
    if (ncsl__js_class_proto(ctx, &g_crypto_key_class, &g_crypto_key_def, NULL, 0, &proto) < 0) {
        goto fail;
    }
    obj = JS_NewObjectProtoClass(ctx, proto, g_crypto_key_class);
    if (JS_IsException(obj)) {
        goto fail;
    }
    JS_SetOpaque(obj, k);
    kk = k;
    k = NULL; /* owned by obj now */
    if (define_ro(ctx, obj, "type", JS_NewString(ctx, "secret")) < 0 ||
        define_ro(ctx, obj, "extractable", JS_NewBool(ctx, kk->extractable)) < 0 ||
        define_ro(ctx, obj, "algorithm", key_algorithm(ctx, kk)) < 0 ||
        define_ro(ctx, obj, "usages", key_usages(ctx, kk->usages)) < 0) {
        goto fail;
    }
    JS_FreeValue(ctx, proto);
    JS_FreeValue(ctx, hash_v);
    JS_FreeValue(ctx, length_v);
    return obj;
fail:
    if (k) {
        if (k->key) {
            OPENSSL_cleanse(k->key, k->len);
            js_free_rt(rt, k->key);
        }
        js_free_rt(rt, k);
    }
    ncsl__js_bytes_release(ctx, &b);
    JS_FreeValue(ctx, obj);
    JS_FreeValue(ctx, proto);
    JS_FreeValue(ctx, hash_v);
    JS_FreeValue(ctx, length_v);
    return JS_EXCEPTION;
}

static JSValue subtle_export_key(JSContext *ctx, int argc, JSValueConst *argv) {
    static const char what[] = "crypto.subtle.exportKey";
    if (check_format(ctx, argc > 0 ? argv[0] : JS_UNDEFINED, what) < 0) {
        return JS_EXCEPTION;
    }
    crypto_key *k =
        crypto_key_get(ctx, argc > 1 ? argv[1] : JS_UNDEFINED, "crypto.subtle.exportKey: key");
    if (!k) {
        return JS_EXCEPTION;
    }
    if (!k->extractable) {
        return ncsl__js_throw_dom_exception(ctx, "InvalidAccessError",
                                            "%s: the key is not extractable", what);
    }
    if (ncsl__js_gas_charge(ctx, ncsl__js_gas_bytes(k->len)) < 0) {
        return JS_EXCEPTION;
    }
    return ncsl__js_new_array_buffer_copy(ctx, k->key, k->len);
}

/* sign (magic 0) and verify (magic 1) with an HMAC key. */
static JSValue subtle_hmac(JSContext *ctx, int argc, JSValueConst *argv, bool verify) {
    const char *what = verify ? "crypto.subtle.verify" : "crypto.subtle.sign";
    uint8_t mac[MAX_DIGEST_SIZE], given[MAX_DIGEST_SIZE];
    size_t given_len = 0;
    ncsl__js_bytes b;
    char field[48];

    snprintf(field, sizeof(field), "%s: algorithm", what);
    if (check_hmac_name(ctx, argc > 0 ? argv[0] : JS_UNDEFINED, field) < 0) {
        return JS_EXCEPTION;
    }
    snprintf(field, sizeof(field), "%s: key", what);
    crypto_key *k = crypto_key_get(ctx, argc > 1 ? argv[1] : JS_UNDEFINED, field);
    if (!k) {
        return JS_EXCEPTION;
    }
    if (!(k->usages & (verify ? USAGE_VERIFY : USAGE_SIGN))) {
        return ncsl__js_throw_dom_exception(ctx, "InvalidAccessError",
                                            "%s: the key's usages do not include \"%s\"", what,
                                            verify ? "verify" : "sign");
    }
    size_t mac_len = g_hashes[k->hash].size;
    if (verify) {
        /* copied out first: reading the data below may run JS (a DataView's getters) */
        if (ncsl__js_bytes_get(ctx, argc > 2 ? argv[2] : JS_UNDEFINED, false,
                               "crypto.subtle.verify: signature", &b) < 0) {
            return JS_EXCEPTION;
        }
        given_len = b.len;
        if (b.len == mac_len) {
            memcpy(given, b.data, b.len);
        }
        ncsl__js_bytes_release(ctx, &b);
    }
    snprintf(field, sizeof(field), "%s: data", what);
    if (ncsl__js_bytes_get(ctx, argc > (verify ? 3 : 2) ? argv[verify ? 3 : 2] : JS_UNDEFINED,
                           false, field, &b) < 0) {
        return JS_EXCEPTION;
    }
    int r = ncsl__js_gas_charge(ctx, ncsl__js_gas_bytes(b.len)) < 0
                ? -1
                : hmac_into(ctx, k->hash, k->key, k->len, b.data, b.len, mac);
    ncsl__js_bytes_release(ctx, &b);
    if (r < 0) {
        return JS_EXCEPTION;
    }
    if (!verify) {
        JSValue out = ncsl__js_new_array_buffer_copy(ctx, mac, mac_len);
        OPENSSL_cleanse(mac, sizeof(mac));
        return out;
    }
    bool ok = given_len == mac_len && CRYPTO_memcmp(given, mac, mac_len) == 0;
    OPENSSL_cleanse(mac, sizeof(mac));
    return JS_NewBool(ctx, ok);
}

enum { SUBTLE_DIGEST, SUBTLE_IMPORT, SUBTLE_EXPORT, SUBTLE_SIGN, SUBTLE_VERIFY };

static JSValue js_subtle(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv,
                         int magic) {
    (void)this_val;
    if (ncsl__js_gas_charge(ctx, NCSL__JS_GAS_HOST_CALL) < 0) {
        return JS_EXCEPTION;
    }
    JSValue v;
    switch (magic) {
    case SUBTLE_DIGEST:
        v = subtle_digest(ctx, argc, argv);
        break;
    case SUBTLE_IMPORT:
        v = subtle_import_key(ctx, argc, argv);
        break;
    case SUBTLE_EXPORT:
        v = subtle_export_key(ctx, argc, argv);
        break;
    default:
        v = subtle_hmac(ctx, argc, argv, magic == SUBTLE_VERIFY);
        break;
    }
    return settle(ctx, v);
}

/* ------------------------------------------------------------------------- the global */

static const JSCFunctionListEntry g_subtle_funcs[] = {
    JS_CFUNC_MAGIC_DEF("digest", 2, js_subtle, SUBTLE_DIGEST),
    JS_CFUNC_MAGIC_DEF("importKey", 5, js_subtle, SUBTLE_IMPORT),
    JS_CFUNC_MAGIC_DEF("exportKey", 2, js_subtle, SUBTLE_EXPORT),
    JS_CFUNC_MAGIC_DEF("sign", 3, js_subtle, SUBTLE_SIGN),
    JS_CFUNC_MAGIC_DEF("verify", 4, js_subtle, SUBTLE_VERIFY),
};

static const JSCFunctionListEntry g_crypto_funcs[] = {
    JS_CFUNC_DEF("getRandomValues", 1, js_get_random_values),
    JS_CFUNC_DEF("randomUUID", 0, js_random_uuid),
    JS_CFUNC_DEF("randomBytes", 1, js_random_bytes),
    JS_CFUNC_DEF("sha256", 1, js_sha256),
    JS_OBJECT_DEF("subtle", g_subtle_funcs,
                  (int)(sizeof(g_subtle_funcs) / sizeof(g_subtle_funcs[0])), JS_PROP_CONFIGURABLE),
};

/* `crypto` is an autoinit property: built when first read (see the top of the file) */
static const JSCFunctionListEntry g_global[] = {
    JS_OBJECT_DEF("crypto", g_crypto_funcs,
                  (int)(sizeof(g_crypto_funcs) / sizeof(g_crypto_funcs[0])),
                  JS_PROP_WRITABLE | JS_PROP_CONFIGURABLE),
};

int ncsl_js_crypto_init(JSContext *ctx, JSValue global) {
    return JS_SetPropertyFunctionList(ctx, global, g_global, 1) < 0 ? -1 : 0;
}
