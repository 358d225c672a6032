/*
 * P-256 public-key helpers: point validation, (de)compression and raw r || s ECDSA verification,
 * all through OpenSSL 3's EVP interfaces (EVP_PKEY_fromdata imports a point and rejects one that
 * is not on the curve; P-256 has cofactor 1, so every point on the curve other than infinity,
 * which neither encoding can express, is in the prime-order group).
 */
#include <pthread.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "common/common.h"
#include "keys/keys_int.h"

const uint8_t ncsl__keys_p256_order[32] = {
    0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17, 0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63, 0x25, 0x51};
const uint8_t ncsl__keys_p256_half_order[32] = {
    0x7F, 0xFF, 0xFF, 0xFF, 0x80, 0x00, 0x00, 0x00, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xDE, 0x73, 0x7D, 0x56, 0xD3, 0x8B, 0xCF, 0x42, 0x79, 0xDC, 0xE5, 0x61, 0x7E, 0x31, 0x92, 0xA8};

int ncsl__keys_cmp32(const uint8_t a[32], const uint8_t b[32]) {
    return memcmp(a, b, 32);
}

void ncsl__keys_low_s(uint8_t s[32]) {
    if (ncsl__keys_cmp32(s, ncsl__keys_p256_half_order) <= 0) {
        return;
    }
    unsigned borrow = 0;
    for (int i = 31; i >= 0; i--) {
        unsigned v = (unsigned)ncsl__keys_p256_order[i] - s[i] - borrow;
        s[i] = (uint8_t)v;
        borrow = (v >> 8) & 1u;
    }
}

ncsl_status ncsl__keys_sig_to_raw(const ECDSA_SIG *es, uint8_t sig[NCSL_KEYS_P256_SIG_SIZE],
                                  ncsl_err *err) {
    const BIGNUM *r = NULL, *s = NULL;
    ECDSA_SIG_get0(es, &r, &s);
    if (BN_bn2binpad(r, sig, 32) != 32 || BN_bn2binpad(s, sig + 32, 32) != 32) {
        return ncsl_err_set(err, NCSL_E_CRYPTO, NULL, "ECDSA signature encoding failed");
    }
    ncsl__keys_low_s(sig + 32);
    return NCSL_OK;
}

/* Imports an encoded point (33 or 65 bytes, borrowed) as a P-256 public key. */
static EVP_PKEY *pkey_from_point(const uint8_t *pt, size_t len) {
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *k = NULL;
    OSSL_PARAM params[3];
    params[0] =
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)"prime256v1", 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)pt, len);
    params[2] = OSSL_PARAM_construct_end();
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params) != 1) {
        EVP_PKEY_free(k);
        k = NULL;
    }
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    return k;
}

/*
 * Recently imported public keys. Importing a compressed point costs about 33 us (a square root
 * mod p, a group made by name, checks), a third of a verification, and the same few keys are
 * checked over and over (the enclave's own, in every receipt it verifies, parses and turns into
 * a Neo address). This cache is process-wide state, an exception to "everything hangs off a
 * handle" because the verification API has no handle: it holds public keys only (nothing
 * secret), a fixed number of them, behind one lock held for a lookup; an entry is a reference
 * each caller takes, so evicting one in use is safe. Only valid points get in. Never freed:
 * the keys stay reachable until the process exits.
 */
#define PUB_CACHE_SIZE 8

typedef struct pub_cache_entry {
    uint8_t pub[NCSL_KEYS_P256_PUB_SIZE];
    EVP_PKEY *key; /* NULL: unused slot */
    uint64_t last; /* g_pub_cache_clock at the last hit: evict the oldest */
} pub_cache_entry;

static pthread_mutex_t g_pub_cache_mu = PTHREAD_MUTEX_INITIALIZER;
static pub_cache_entry g_pub_cache[PUB_CACHE_SIZE];
static uint64_t g_pub_cache_clock;

/* A new reference to the cached key of `pub`, or NULL. */
static EVP_PKEY *pub_cache_get(const uint8_t pub[NCSL_KEYS_P256_PUB_SIZE]) {
    EVP_PKEY *k = NULL;
    pthread_mutex_lock(&g_pub_cache_mu);
    for (size_t i = 0; i < PUB_CACHE_SIZE; i++) {
        pub_cache_entry *e = &g_pub_cache[i];
        if (e->key && memcmp(e->pub, pub, NCSL_KEYS_P256_PUB_SIZE) == 0) {
            if (EVP_PKEY_up_ref(e->key) == 1) {
                k = e->key;
                e->last = ++g_pub_cache_clock;
            }
            break;
        }
    }
    pthread_mutex_unlock(&g_pub_cache_mu);
    return k;
}

/* Adds `k` (borrowed: the cache takes its own reference) for `pub`, evicting the oldest. */
static void pub_cache_put(const uint8_t pub[NCSL_KEYS_P256_PUB_SIZE], EVP_PKEY *k) {
    EVP_PKEY *old = NULL;
    if (EVP_PKEY_up_ref(k) != 1) {
        return;
    }
    pthread_mutex_lock(&g_pub_cache_mu);
    pub_cache_entry *victim = &g_pub_cache[0];
    for (size_t i = 0; i < PUB_CACHE_SIZE; i++) {
        pub_cache_entry *e = &g_pub_cache[i];
        if (e->key && memcmp(e->pub, pub, NCSL_KEYS_P256_PUB_SIZE) == 0) {
            victim = e; /* another thread imported it meanwhile: keep one */
            break;
        }
        if (!e->key || (victim->key && e->last < victim->last)) {
            victim = e;
        }
    }
    old = victim->key;
    memcpy(victim->pub, pub, NCSL_KEYS_P256_PUB_SIZE);
    victim->key = k;
    victim->last = ++g_pub_cache_clock;
    pthread_mutex_unlock(&g_pub_cache_mu);
    EVP_PKEY_free(old);
}

EVP_PKEY *ncsl__keys_p256_pkey_from_pub(const uint8_t pub[NCSL_KEYS_P256_PUB_SIZE]) {
    if (pub[0] != 0x02 && pub[0] != 0x03) {
        return NULL;
    }
    EVP_PKEY *k = pub_cache_get(pub);
    if (!k) {
        k = pkey_from_point(pub, NCSL_KEYS_P256_PUB_SIZE);
        if (k) {
            pub_cache_put(pub, k);
        }
    }
    return k;
}

/* x and y of a P-256 key (borrowed), each 32 bytes big-endian. */
static bool pub_xy(EVP_PKEY *k, uint8_t x[32], uint8_t y[32]) {
    BIGNUM *bx = NULL, *by = NULL;
    bool ok = EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, &bx) == 1 &&
              EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, &by) == 1 &&
              BN_bn2binpad(bx, x, 32) == 32 && BN_bn2binpad(by, y, 32) == 32;
    BN_free(bx);
    BN_free(by);
    ERR_clear_error();
    return ok;
}

bool ncsl__keys_p256_pub_of(EVP_PKEY *k, uint8_t out[NCSL_KEYS_P256_PUB_SIZE]) {
    uint8_t x[32], y[32];
    if (!pub_xy(k, x, y)) {
        return false;
    }
    out[0] = (uint8_t)(0x02 | (y[31] & 1));
    memcpy(out + 1, x, 32);
    return true;
}

ncsl_status ncsl_keys_p256_validate(const uint8_t pub[NCSL_KEYS_P256_PUB_SIZE], ncsl_err *err) {
    if (!pub) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "pub", "NULL public key");
    }
    EVP_PKEY *k = ncsl__keys_p256_pkey_from_pub(pub);
    if (!k) {
        return ncsl_err_set(err, NCSL_E_KEY_INVALID, "pub",
                            "not a compressed P-256 public key (prefix 02 or 03, x on the curve)");
    }
    EVP_PKEY_free(k);
    return NCSL_OK;
}

ncsl_status ncsl_keys_p256_decompress(const uint8_t pub[NCSL_KEYS_P256_PUB_SIZE],
                                      uint8_t out[NCSL_KEYS_P256_POINT_SIZE], ncsl_err *err) {
    if (!pub || !out) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, pub ? "out" : "pub", "NULL buffer");
    }
    EVP_PKEY *k = ncsl__keys_p256_pkey_from_pub(pub);
    if (!k) {
        return ncsl_err_set(err, NCSL_E_KEY_INVALID, "pub",
                            "not a compressed P-256 public key (prefix 02 or 03, x on the curve)");
    }
    out[0] = 0x04;
    bool ok = pub_xy(k, out + 1, out + 33);
    EVP_PKEY_free(k);
    if (!ok) {
        return ncsl_err_set(err, NCSL_E_CRYPTO, NULL, "cannot read the point's coordinates");
    }
    return NCSL_OK;
}

ncsl_status ncsl_keys_p256_compress(const uint8_t point[NCSL_KEYS_P256_POINT_SIZE],
                                    uint8_t out[NCSL_KEYS_P256_PUB_SIZE], ncsl_err *err) {
    if (!point || !out) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, point ? "out" : "point", "NULL buffer");
    }
    EVP_PKEY *k = point[0] == 0x04 ? pkey_from_point(point, NCSL_KEYS_P256_POINT_SIZE) : NULL;
    if (!k) {
        return ncsl_err_set(err, NCSL_E_KEY_INVALID, "point",
                            "not an uncompressed P-256 point (prefix 04, on the curve)");
    }
    EVP_PKEY_free(k);
    out[0] = (uint8_t)(0x02 | (point[64] & 1));
    memcpy(out + 1, point + 1, 32);
    return NCSL_OK;
}

/* r || s (borrowed) as a DER ECDSA-Sig-Value into *der (caller frees with OPENSSL_free). */
static int sig_to_der(const uint8_t sig[64], unsigned char **der) {
    ECDSA_SIG *s = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, 32, NULL);
    BIGNUM *sv = BN_bin2bn(sig + 32, 32, NULL);
    int len = -1;
    *der = NULL;
    if (s && r && sv && ECDSA_SIG_set0(s, r, sv) == 1) {
        r = sv = NULL; /* owned by s now */
        len = i2d_ECDSA_SIG(s, der);
    }
    BN_free(r);
    BN_free(sv);
    ECDSA_SIG_free(s);
    return len;
}

static bool scalar_in_range(const uint8_t v[32]) {
    static const uint8_t zero[32] = {0};
    return memcmp(v, zero, 32) != 0 && ncsl__keys_cmp32(v, ncsl__keys_p256_order) < 0;
}

ncsl_status ncsl__keys_p256_verify_pkey(EVP_PKEY *k, const void *msg, size_t len,
                                        const uint8_t sig[NCSL_KEYS_P256_SIG_SIZE], ncsl_err *err) {
    static const uint8_t empty[1] = {0};
    ncsl_status st = NCSL_OK;
    EVP_MD_CTX *ctx = NULL;
    unsigned char *der = NULL;
    int der_len = -1;

    if (!scalar_in_range(sig) || !scalar_in_range(sig + 32)) {
        return ncsl_err_set(err, NCSL_E_SIGNATURE_INVALID, "sig",
                            "signature does not verify (r or s out of range)");
    }
    der_len = sig_to_der(sig, &der);
    ctx = EVP_MD_CTX_new();
    if (der_len <= 0 || !ctx ||
        EVP_DigestVerifyInit_ex(ctx, NULL, "SHA256", NULL, NULL, k, NULL) != 1) {
        st = ncsl_err_set(err, NCSL_E_CRYPTO, NULL, "cannot set up ECDSA verification");
        goto out;
    }
    int r = EVP_DigestVerify(ctx, der, (size_t)der_len, msg ? msg : empty, len);
    if (r != 1) {
        st = ncsl_err_set(err, NCSL_E_SIGNATURE_INVALID, "sig", "signature does not verify");
    }
out:
    OPENSSL_free(der);
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    return st;
}

ncsl_status ncsl_keys_p256_verify(const uint8_t pub[NCSL_KEYS_P256_PUB_SIZE], const void *msg,
                                  size_t len, const uint8_t sig[NCSL_KEYS_P256_SIG_SIZE],
                                  ncsl_err *err) {
    if (!pub || !sig || (!msg && len)) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG,
                            !pub   ? "pub"
                            : !sig ? "sig"
                                   : "msg",
                            "NULL buffer");
    }
    EVP_PKEY *k = ncsl__keys_p256_pkey_from_pub(pub);
    if (!k) {
        return ncsl_err_set(err, NCSL_E_KEY_INVALID, "pub",
                            "not a compressed P-256 public key (prefix 02 or 03, x on the curve)");
    }
    ncsl_status st = ncsl__keys_p256_verify_pkey(k, msg, len, sig, err);
    EVP_PKEY_free(k);
    return st;
}
