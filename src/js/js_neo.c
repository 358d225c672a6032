/*
 * Neo: what a function needs to take part in Neo N3 from inside the enclave.
 *   Neo.secureRandom(max)   a uniform integer in [0, max) (Number or BigInt)
 *   Neo.address(publicKey)  the N3 address of a P-256 public key (REFERENCE.md section 4)
 *   Neo.keys.get(name)      a P-256 key derived inside the process from the enclave's sealed
 *                           identity, the call's user and function, and `name`
 *
 * Keys: the identity comes from a process-wide provider (ncsl_js_set_identity_keys, installed
 * once at start by ncsld and `ncsl run`). A derived key (keys.h, ncsl_keys_derive_p256) lives in
 * C memory only: the JS key object is a class instance whose opaque is a reference-counted entry
 * {derived key, public key hex, address}; JS reads publicKey and address, and calls sign and
 * verify, never the private key. Each call derives a name once: the entries are cached per
 * context in an object of its own class that only C can reach, kept in a per-context slot
 * (js_lazy.h; freed with the context, which drops the entries); at most
 * NEO_KEYS_PER_CALL names per call bound the C memory a call can hold.
 *
 * sign(bytes) is ECDSA P-256 over SHA-256(bytes), r || s (64 bytes, low s): exactly what Neo's
 * CryptoLib.verifyWithECDsa(bytes, publicKey, signature, 23) checks (it hashes the message
 * itself: pass the raw bytes, not their hash).
 *
 * Randomness: secureRandom draws from OpenSSL's private DRBG (RAND_priv_bytes; inside the enclave
 * seeded by the TEE's RDRAND) and rejects draws at or above max, never reduces modulo max, so
 * every value in [0, max) is equally likely.
 *
 * The global is an autoinit property: `Neo`, `Neo.keys` and the methods are created on first
 * access; the key classes are registered on the first Neo.keys.get of a runtime.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include "crypto/crypto.h"
#include "js_lazy.h"
#include "keys/keys.h"
#include "receipt/receipt.h"

/* distinct key names one call may derive */
#define NEO_KEYS_PER_CALL 64u
/* the largest BigInt max of secureRandom */
#define NEO_RANDOM_MAX_BITS 4096u
/* rejection sampling: each draw is accepted with probability > 1/2 */
#define NEO_RANDOM_MAX_DRAWS 1024
#define MAX_SAFE_INTEGER 9007199254740991.0
/* Neo.address: validating the point (a square root modulo p) and hashing, about a quarter of a
 * signature's work */
#define GAS_ADDRESS (NCSL__JS_GAS_SIGN / 4)

/* ------------------------------------------------------------------------- identity keys */
/* The provider: one-time process configuration (set at start, read by every call), accessed
 * atomically; the keys are borrowed from the installer. */
static const ncsl_keys *g_identity_keys;
static uint64_t g_derivations;

void ncsl_js_set_identity_keys(const ncsl_keys *keys) {
    __atomic_store_n(&g_identity_keys, keys, __ATOMIC_RELEASE);
}

const ncsl_keys *ncsl_js_get_identity_keys(void) {
    return __atomic_load_n(&g_identity_keys, __ATOMIC_ACQUIRE);
}

uint64_t ncsl_js_identity_key_derivations(void) {
    return __atomic_load_n(&g_derivations, __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------------------- key entries */
typedef struct neo_key {
    uint32_t refs; /* the cache's and each key object's; runtime thread only */
    ncsl_keys_derived *key;
    char name[NCSL_KEYS_DERIVE_NAME_MAX + 1];
    char pub_hex[2 * NCSL_KEYS_P256_PUB_SIZE + 1];
    char address[NCSL_NEO_ADDRESS_SIZE];
} neo_key;

typedef struct neo_cache {
    size_t count;
    neo_key *keys[NEO_KEYS_PER_CALL];
} neo_cache;

static JSClassID g_neo_key_class;
static JSClassID g_neo_cache_class;
static JSClassID g_neo_cache_slot; /* the context's slot holding its cache object */

static void neo_key_unref(JSRuntime *rt, neo_key *k) {
    if (k && --k->refs == 0) {
        ncsl_keys_derived_destroy(k->key);
        js_free_rt(rt, k);
    }
}

static void neo_key_finalizer(JSRuntime *rt, JSValueConst val) {
    neo_key_unref(rt, JS_GetOpaque(val, g_neo_key_class));
}

static void neo_cache_finalizer(JSRuntime *rt, JSValueConst val) {
    neo_cache *c = JS_GetOpaque(val, g_neo_cache_class);
    if (!c) {
        return;
    }
    for (size_t i = 0; i < c->count; i++) {
        neo_key_unref(rt, c->keys[i]);
    }
    js_free_rt(rt, c);
}

static const JSClassDef g_neo_key_def = {.class_name = "NeoKey", .finalizer = neo_key_finalizer};
static const JSClassDef g_neo_cache_def = {.class_name = "NeoKeyCache",
                                           .finalizer = neo_cache_finalizer};

/* The context's cache, made on first use (see the top of the file), or NULL with an exception. */
static neo_cache *cache_of(JSContext *ctx) {
    if (ncsl__js_class_ensure(ctx, &g_neo_cache_class, &g_neo_cache_def) < 0 ||
        ncsl__js_slot_ensure(ctx, &g_neo_cache_slot, "NeoKeyCacheSlot") < 0) {
        return NULL;
    }
    JSValue holder = ncsl__js_slot_get(ctx, g_neo_cache_slot);
    neo_cache *c = JS_GetOpaque(holder, g_neo_cache_class);
    JS_FreeValue(ctx, holder); /* the slot keeps it */
    if (c) {
        return c;
    }
    holder = JS_NewObjectProtoClass(ctx, JS_NULL, g_neo_cache_class);
    if (JS_IsException(holder)) {
        return NULL;
    }
    c = js_mallocz(ctx, sizeof(*c));
    if (!c) {
        JS_FreeValue(ctx, holder);
        return NULL;
    }
    JS_SetOpaque(holder, c);
    ncsl__js_slot_set(ctx, g_neo_cache_slot, holder); /* takes holder */
    return c;
}

static JSValue js_key_sign(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv);
static JSValue js_key_verify(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv);

static const JSCFunctionListEntry g_key_proto_funcs[] = {
    JS_CFUNC_DEF("sign", 1, js_key_sign),
    JS_CFUNC_DEF("verify", 2, js_key_verify),
};

static bool name_char_ok(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}

/* Derives the entry of `name` for the call of `ctx`, or NULL with an exception. */
static neo_key *derive_entry(JSContext *ctx, const ncsl_keys *keys, const char *name) {
    ncsl__js_call_state *st = JS_GetContextOpaque(ctx);
    ncsl_err err;
    uint8_t pub[NCSL_KEYS_P256_PUB_SIZE];
    neo_key *k = js_mallocz(ctx, sizeof(*k));
    if (!k) {
        return NULL;
    }
    k->refs = 1;
    snprintf(k->name, sizeof(k->name), "%s", name);
    ncsl_err_clear(&err);
    ncsl_status s = ncsl_keys_derive_p256(keys, st ? st->user_id : "", st ? st->function_id : "",
                                          name, &k->key, &err);
    if (s == NCSL_OK) {
        ncsl_keys_derived_pub(k->key, pub);
        s = ncsl_crypto_hex_encode(pub, sizeof(pub), k->pub_hex, sizeof(k->pub_hex), &err);
    }
    if (s == NCSL_OK) {
        /* the key is valid by construction: the address without validating the point again */
        uint8_t script[NCSL_NEO_VERIFICATION_SCRIPT_SIZE], hash[NCSL_NEO_SCRIPT_HASH_SIZE];
        ncsl_receipt_neo_verification_script(pub, script);
        s = ncsl_receipt_neo_script_hash(script, sizeof(script), hash, &err);
        if (s == NCSL_OK) {
            s = ncsl_receipt_neo_address_from_script_hash(hash, k->address, &err);
        }
    }
    if (s != NCSL_OK) {
        ncsl_keys_derived_destroy(k->key);
        js_free(ctx, k);
        if (s == NCSL_E_NOMEM) {
            JS_ThrowOutOfMemory(ctx);
        } else {
            JS_ThrowPlainError(ctx, "Neo.keys.get: cannot derive the key: %s", err.message);
        }
        return NULL;
    }
    __atomic_fetch_add(&g_derivations, 1, __ATOMIC_RELAXED);
    return k;
}

/* Defines a read-only, enumerable string property. */
static int define_str(JSContext *ctx, JSValueConst obj, const char *name, const char *value) {
    JSValue v = JS_NewString(ctx, value);
    if (JS_IsException(v)) {
        return -1;
    }
    return JS_DefinePropertyValueStr(ctx, obj, name, v, JS_PROP_ENUMERABLE) < 0 ? -1 : 0;
}

static JSValue js_keys_get(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    (void)this_val;
    char name[NCSL_KEYS_DERIVE_NAME_MAX + 1];
    size_t len = 0;
    JSValue proto = JS_UNDEFINED;

    if (ncsl__js_gas_charge(ctx, NCSL__JS_GAS_HOST_CALL) < 0) {
        return JS_EXCEPTION;
    }
    if (argc < 1 || !JS_IsString(argv[0])) {
        return JS_ThrowTypeError(ctx, "Neo.keys.get: name must be a string");
    }
    const char *s = JS_ToCStringLen(ctx, &len, argv[0]);
    if (!s) {
        return JS_EXCEPTION;
    }
    bool ok = len >= 1 && len <= NCSL_KEYS_DERIVE_NAME_MAX;
    for (size_t i = 0; ok && i < len; i++) {
        ok = name_char_ok(s[i]);
    }
    if (ok) {
        memcpy(name, s, len);
        name[len] = '\0';
    }
    JS_FreeCString(ctx, s);
    if (!ok) {
        return JS_ThrowTypeError(ctx,
                                 "Neo.keys.get: name must be 1 to %u characters of A-Z, a-z, "
                                 "0-9, '_', '.' and '-'",
                                 NCSL_KEYS_DERIVE_NAME_MAX);
    }
    const ncsl_keys *keys = __atomic_load_n(&g_identity_keys, __ATOMIC_ACQUIRE);
    if (!keys) {
        return JS_ThrowPlainError(ctx, "Neo.keys needs the daemon's identity keys, and this "
                                       "process has none installed");
    }
    neo_cache *c = cache_of(ctx);
    if (!c) {
        return JS_EXCEPTION;
    }
    neo_key *k = NULL;
    for (size_t i = 0; i < c->count && !k; i++) {
        if (strcmp(c->keys[i]->name, name) == 0) {
            k = c->keys[i];
        }
    }
    if (!k) {
        if (c->count >= NEO_KEYS_PER_CALL) {
            return JS_ThrowRangeError(ctx,
                                      "Neo.keys.get: a call may use at most %u different "
                                      "key names",
                                      NEO_KEYS_PER_CALL);
        }
        if (ncsl__js_gas_charge(ctx, NCSL__JS_GAS_KEY_DERIVE) < 0) {
            return JS_EXCEPTION;
        }
        k = derive_entry(ctx, keys, name);
        if (!k) {
            return JS_EXCEPTION;
        }
        c->keys[c->count++] = k; /* the cache's reference */
    }
    /* key objects share a prototype with sign and verify */
    if (ncsl__js_class_proto(ctx, &g_neo_key_class, &g_neo_key_def, g_key_proto_funcs,
                             (int)NCSL_ARRAY_LEN(g_key_proto_funcs), &proto) < 0) {
        return JS_EXCEPTION;
    }
    JSValue obj = JS_NewObjectProtoClass(ctx, proto, g_neo_key_class);
    JS_FreeValue(ctx, proto);
    if (JS_IsException(obj)) {
        return JS_EXCEPTION;
    }
    k->refs++;
    JS_SetOpaque(obj, k);
    if (define_str(ctx, obj, "name", k->name) < 0 ||
        define_str(ctx, obj, "publicKey", k->pub_hex) < 0 ||
        define_str(ctx, obj, "address", k->address) < 0) {
        JS_FreeValue(ctx, obj);
        return JS_EXCEPTION;
    }
    return obj;
}

static neo_key *key_of(JSContext *ctx, JSValueConst this_val, const char *method) {
    /* the ID may be allocated concurrently by another thread (js_lazy.c): read it atomically */
    JSClassID id = __atomic_load_n(&g_neo_key_class, __ATOMIC_ACQUIRE);
    neo_key *k = id ? JS_GetOpaque(this_val, id) : NULL;
    if (!k) {
        JS_ThrowTypeError(ctx, "%s: `this` must be a key from Neo.keys.get", method);
    }
    return k;
}

static JSValue js_key_sign(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    uint8_t sig[NCSL_KEYS_P256_SIG_SIZE];
    ncsl__js_bytes b;
    ncsl_err err;
    if (ncsl__js_gas_charge(ctx, NCSL__JS_GAS_HOST_CALL) < 0) {
        return JS_EXCEPTION;
    }
    neo_key *k = key_of(ctx, this_val, "key.sign");
    if (!k || ncsl__js_bytes_get(ctx, argc > 0 ? argv[0] : JS_UNDEFINED, true, "key.sign: bytes",
                                 &b) < 0) {
        return JS_EXCEPTION;
    }
    if (ncsl__js_gas_charge(ctx, NCSL__JS_GAS_SIGN + ncsl__js_gas_bytes(b.len)) < 0) {
        ncsl__js_bytes_release(ctx, &b);
        return JS_EXCEPTION;
    }
    ncsl_err_clear(&err);
    ncsl_status st = ncsl_keys_derived_sign(k->key, b.data, b.len, sig, &err);
    ncsl__js_bytes_release(ctx, &b);
    if (st != NCSL_OK) {
        return JS_ThrowPlainError(ctx, "key.sign: %s", err.message);
    }
    return ncsl__js_new_uint8_array_copy(ctx, sig, sizeof(sig));
}

static JSValue js_key_verify(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    uint8_t sig[NCSL_KEYS_P256_SIG_SIZE];
    ncsl__js_bytes b;
    ncsl_err err;
    if (ncsl__js_gas_charge(ctx, NCSL__JS_GAS_HOST_CALL) < 0) {
        return JS_EXCEPTION;
    }
    neo_key *k = key_of(ctx, this_val, "key.verify");
    if (!k) {
        return JS_EXCEPTION;
    }
    /* the signature first, copied out: reading the message may run JS (a DataView's getters) */
    if (ncsl__js_bytes_get(ctx, argc > 1 ? argv[1] : JS_UNDEFINED, false, "key.verify: signature",
                           &b) < 0) {
        return JS_EXCEPTION;
    }
    bool sig_ok = b.len == sizeof(sig);
    if (sig_ok) {
        memcpy(sig, b.data, sizeof(sig));
    }
    ncsl__js_bytes_release(ctx, &b);
    if (ncsl__js_bytes_get(ctx, argc > 0 ? argv[0] : JS_UNDEFINED, true, "key.verify: bytes", &b) <
        0) {
        return JS_EXCEPTION;
    }
    if (!sig_ok) {
        ncsl__js_bytes_release(ctx, &b);
        return JS_FALSE; /* not 64 bytes: not a signature Neo would accept either */
    }
    if (ncsl__js_gas_charge(ctx, NCSL__JS_GAS_VERIFY + ncsl__js_gas_bytes(b.len)) < 0) {
        ncsl__js_bytes_release(ctx, &b);
        return JS_EXCEPTION;
    }
    ncsl_err_clear(&err);
    ncsl_status st = ncsl_keys_derived_verify(k->key, b.data, b.len, sig, &err);
    ncsl__js_bytes_release(ctx, &b);
    if (st == NCSL_OK || st == NCSL_E_SIGNATURE_INVALID) {
        return JS_NewBool(ctx, st == NCSL_OK);
    }
    return JS_ThrowPlainError(ctx, "key.verify: %s", err.message);
}

/* ------------------------------------------------------------------------- address */

static JSValue js_address(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    (void)this_val;
    uint8_t point[NCSL_KEYS_P256_POINT_SIZE];
    uint8_t pub[NCSL_KEYS_P256_PUB_SIZE];
    char address[NCSL_NEO_ADDRESS_SIZE];
    size_t len = 0, n = 0;
    ncsl_err err;

    if (ncsl__js_gas_charge(ctx, NCSL__JS_GAS_HOST_CALL + GAS_ADDRESS) < 0) {
        return JS_EXCEPTION;
    }
    if (argc < 1 || !JS_IsString(argv[0])) {
        return JS_ThrowTypeError(ctx, "Neo.address: publicKey must be a hex string");
    }
    const char *s = JS_ToCStringLen(ctx, &len, argv[0]);
    if (!s) {
        return JS_EXCEPTION;
    }
    ncsl_err_clear(&err);
    bool hex_ok = (len == 2 * NCSL_KEYS_P256_PUB_SIZE || len == 2 * NCSL_KEYS_P256_POINT_SIZE) &&
                  ncsl_crypto_hex_decode(s, len, point, sizeof(point), &n, &err) == NCSL_OK;
    JS_FreeCString(ctx, s);
    if (!hex_ok) {
        return JS_ThrowTypeError(ctx, "Neo.address: publicKey must be the hex of a 33-byte "
                                      "compressed or 65-byte uncompressed P-256 public key");
    }
    ncsl_status st = NCSL_OK;
    if (n == NCSL_KEYS_P256_POINT_SIZE) {
        st = ncsl_keys_p256_compress(point, pub, &err);
    } else {
        memcpy(pub, point, sizeof(pub));
    }
    if (st == NCSL_OK) {
        st = ncsl_receipt_neo_address(pub, address, &err);
    }
    if (st == NCSL_E_KEY_INVALID) {
        return JS_ThrowTypeError(ctx, "Neo.address: publicKey is not a point on P-256 (%s)",
                                 n == NCSL_KEYS_P256_POINT_SIZE ? "04 || x || y" : "02 or 03 || x");
    }
    if (st != NCSL_OK) {
        return JS_ThrowPlainError(ctx, "Neo.address: %s", err.message);
    }
    return JS_NewString(ctx, address);
}

/* ------------------------------------------------------------------------- secureRandom */

/* A uniform draw in [0, max) for 1 <= max <= 2^64 - 1: draws of the bit width of max - 1,
 * rejected when >= max. -1 with an exception when the generator fails. */
static int uniform_u64(JSContext *ctx, uint64_t max, uint64_t *out) {
    *out = 0;
    if (max <= 1) {
        return 0;
    }
    uint64_t top = max - 1;
    int bits = 64 - __builtin_clzll(top);
    uint64_t mask = bits == 64 ? UINT64_MAX : (((uint64_t)1 << bits) - 1);
    for (int i = 0; i < NEO_RANDOM_MAX_DRAWS; i++) {
        uint64_t v = 0;
        if (RAND_priv_bytes((unsigned char *)&v, sizeof(v)) != 1) {
            ERR_clear_error();
            JS_ThrowPlainError(ctx, "Neo.secureRandom: the random generator failed");
            return -1;
        }
        v &= mask;
        if (v < max) {
            *out = v;
            return 0;
        }
    }
    JS_ThrowPlainError(ctx, "Neo.secureRandom: the random generator gave %d draws out of range",
                       NEO_RANDOM_MAX_DRAWS);
    return -1;
}

/* A uniform BIGNUM in [0, max) for max >= 2 (max borrowed), as uniform_u64. */
static int uniform_bn(JSContext *ctx, const BIGNUM *max, BIGNUM *out) {
    uint8_t buf[NEO_RANDOM_MAX_BITS / 8];
    int ret = -1;
    BIGNUM *top = BN_dup(max);
    if (!top || !BN_sub_word(top, 1)) {
        JS_ThrowOutOfMemory(ctx);
        goto out;
    }
    int bits = BN_num_bits(top);
    size_t nbytes = (size_t)(bits + 7) / 8;
    uint8_t mask = (uint8_t)(bits % 8 == 0 ? 0xFF : (1u << (bits % 8)) - 1);
    for (int i = 0; i < NEO_RANDOM_MAX_DRAWS; i++) {
        if (RAND_priv_bytes(buf, (int)nbytes) != 1) {
            ERR_clear_error();
            JS_ThrowPlainError(ctx, "Neo.secureRandom: the random generator failed");
            goto out;
        }
        buf[0] &= mask;
        if (!BN_bin2bn(buf, (int)nbytes, out)) {
            JS_ThrowOutOfMemory(ctx);
            goto out;
        }
        if (BN_cmp(out, max) < 0) {
            ret = 0;
            goto out;
        }
    }
    JS_ThrowPlainError(ctx, "Neo.secureRandom: the random generator gave %d draws out of range",
                       NEO_RANDOM_MAX_DRAWS);
out:
    OPENSSL_cleanse(buf, sizeof(buf));
    BN_free(top);
    return ret;
}

/* A BigInt from its decimal text (`dec`, NUL-terminated). QuickJS-ng's API makes BigInts from
 * 64-bit integers only, so larger values go through the global BigInt function, and the result
 * is checked (it may have been replaced by the call's own code). */
static JSValue bigint_from_decimal(JSContext *ctx, const char *dec) {
    JSValue global = JS_GetGlobalObject(ctx);
    JSValue fn = JS_GetPropertyStr(ctx, global, "BigInt");
    JS_FreeValue(ctx, global);
    if (JS_IsException(fn)) {
        return JS_EXCEPTION;
    }
    JSValue str = JS_NewString(ctx, dec);
    JSValue r = JS_IsException(str) ? JS_EXCEPTION : JS_Call(ctx, fn, JS_UNDEFINED, 1, &str);
    JS_FreeValue(ctx, str);
    JS_FreeValue(ctx, fn);
    if (JS_IsException(r)) {
        return r;
    }
    const char *back = JS_IsBigInt(r) ? JS_ToCString(ctx, r) : NULL;
    bool same = back && strcmp(back, dec) == 0;
    if (back) {
        JS_FreeCString(ctx, back);
    }
    if (!same) {
        JS_FreeValue(ctx, r);
        if (JS_HasException(ctx)) {
            return JS_EXCEPTION;
        }
        return JS_ThrowTypeError(ctx, "Neo.secureRandom: the global BigInt function was replaced: "
                                      "cannot make a BigInt result above 64 bits");
    }
    return r;
}

static JSValue secure_random_bigint(JSContext *ctx, JSValueConst v) {
    size_t len = 0;
    JSValue ret = JS_EXCEPTION;
    BIGNUM *max = NULL, *r = NULL;
    char *dec = NULL;
    /* ToString of a BigInt primitive is built in: no user code runs */
    const char *s = JS_ToCStringLen(ctx, &len, v);
    if (!s) {
        return JS_EXCEPTION;
    }
    /* 4096 bits have at most 1234 decimal digits */
    if (s[0] == '-' || (len == 1 && s[0] == '0') || len > 1234) {
        JS_ThrowRangeError(ctx, "Neo.secureRandom: max must be a BigInt from 1n to 2n ** %un - 1n",
                           NEO_RANDOM_MAX_BITS);
        goto out;
    }
    if (BN_dec2bn(&max, s) != (int)len || !max) {
        ERR_clear_error();
        JS_ThrowOutOfMemory(ctx);
        goto out;
    }
    if (BN_num_bits(max) > (int)NEO_RANDOM_MAX_BITS) {
        JS_ThrowRangeError(ctx, "Neo.secureRandom: max must be a BigInt from 1n to 2n ** %un - 1n",
                           NEO_RANDOM_MAX_BITS);
        goto out;
    }
    size_t nbytes = ((size_t)BN_num_bits(max) + 7) / 8;
    if (ncsl__js_gas_charge(ctx, NCSL__JS_GAS_RANDOM + ncsl__js_gas_bytes(nbytes)) < 0) {
        goto out;
    }
    if (BN_num_bits(max) <= 64) {
        uint64_t m = (uint64_t)BN_get_word(max), out = 0;
        if (uniform_u64(ctx, m, &out) == 0) {
            ret = JS_NewBigUint64(ctx, out);
        }
        goto out;
    }
    r = BN_new();
    if (!r) {
        JS_ThrowOutOfMemory(ctx);
        goto out;
    }
    if (uniform_bn(ctx, max, r) < 0) {
        goto out;
    }
    if (BN_num_bits(r) <= 64) {
        ret = JS_NewBigUint64(ctx, (uint64_t)BN_get_word(r));
        goto out;
    }
    dec = BN_bn2dec(r);
    if (!dec) {
        JS_ThrowOutOfMemory(ctx);
        goto out;
    }
    ret = bigint_from_decimal(ctx, dec);
out:
    OPENSSL_free(dec);
    BN_clear_free(r);
    BN_free(max);
    JS_FreeCString(ctx, s);
    ERR_clear_error();
    return ret;
}

static JSValue js_secure_random(JSContext *ctx, JSValueConst this_val, int argc,
                                JSValueConst *argv) {
    (void)this_val;
    JSValueConst v = argc > 0 ? argv[0] : JS_UNDEFINED;
    if (ncsl__js_gas_charge(ctx, NCSL__JS_GAS_HOST_CALL) < 0) {
        return JS_EXCEPTION;
    }
    if (JS_IsBigInt(v)) {
        return secure_random_bigint(ctx, v);
    }
    if (!JS_IsNumber(v)) {
        return JS_ThrowTypeError(ctx, "Neo.secureRandom: max must be a Number or a BigInt");
    }
    double d = 0;
    if (JS_ToFloat64(ctx, &d, v) < 0) {
        return JS_EXCEPTION;
    }
    if (!(d >= 1 && d <= MAX_SAFE_INTEGER) || d != floor(d)) {
        return JS_ThrowRangeError(ctx, "Neo.secureRandom: max must be an integer from 1 to "
                                       "Number.MAX_SAFE_INTEGER (use a BigInt for more)");
    }
    uint64_t out = 0;
    if (ncsl__js_gas_charge(ctx, NCSL__JS_GAS_RANDOM) < 0 ||
        uniform_u64(ctx, (uint64_t)d, &out) < 0) {
        return JS_EXCEPTION;
    }
    return JS_NewInt64(ctx, (int64_t)out);
}

/* ------------------------------------------------------------------------- the global */

static const JSCFunctionListEntry g_keys_funcs[] = {
    JS_CFUNC_DEF("get", 1, js_keys_get),
};

static const JSCFunctionListEntry g_neo_funcs[] = {
    JS_CFUNC_DEF("secureRandom", 1, js_secure_random),
    JS_CFUNC_DEF("address", 1, js_address),
    JS_OBJECT_DEF("keys", g_keys_funcs, (int)(sizeof(g_keys_funcs) / sizeof(g_keys_funcs[0])),
                  JS_PROP_CONFIGURABLE),
};

/* `Neo` is an autoinit property: built when first read */
static const JSCFunctionListEntry g_global[] = {
    JS_OBJECT_DEF("Neo", g_neo_funcs, (int)(sizeof(g_neo_funcs) / sizeof(g_neo_funcs[0])),
                  JS_PROP_WRITABLE | JS_PROP_CONFIGURABLE),
};

int ncsl_js_neo_init(JSContext *ctx, JSValue global) {
    return JS_SetPropertyFunctionList(ctx, global, g_global, 1) < 0 ? -1 : 0;
}
