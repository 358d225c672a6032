/*
 * The enclave identity keys: made from the TEE's randomness, sealed to the TEE, stored once,
 * reloaded unchanged (format and rules in keys.h).
 *
 * Key material is drawn from ncsl_tee_random and turned into keys without OpenSSL's own
 * generator: X25519 through EVP_PKEY_new_raw_private_key; P-256 by rejection sampling a scalar
 * in [1, n-1] and decoding it as a SEC1 ECPrivateKey without a public key, which makes OpenSSL's
 * decoder compute the public point (EVP_PKEY_fromdata in OpenSSL 3.0 does not). So the private
 * keys are exactly what the TEE's generator produced, and loading a sealed record takes the same
 * path as creating one.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "common/common.h"
#include "crypto/crypto.h"
#include "keys/keys_int.h"

#define KEYS_MAX_FILE 4096u
#define KEYS_DEFAULT_DATA_DIR "./ncsl-data"
#define KEYS_GEN_TRIES 64 /* a 32-byte draw is >= n with probability about 2^-32 */

/* Record offsets (keys.h). */
#define REC_OFF_VERSION 8u
#define REC_OFF_RESERVED 9u
#define REC_OFF_P256_D 12u
#define REC_OFF_X25519 44u
#define REC_OFF_P256_PUB 76u
#define REC_OFF_X25519_PUB 109u

struct ncsl_keys {
    EVP_PKEY *sign_key; /* P-256, private */
    /* signs with sign_key (its own copy of it) and keeps the pool of precomputed nonces */
    ncsl__keys_signer *signer;
    EVP_PKEY *enc_key; /* X25519, private */
    uint8_t sign_pub[NCSL_KEYS_P256_PUB_SIZE];
    uint8_t enc_pub[NCSL_KEYS_X25519_SIZE];
    char *path; /* "" for ephemeral keys */
    ncsl_seal_policy policy;
    bool created;
    /* HKDF-Extract(NCSL_KEYS_DERIVE_SALT, d || x): the root of the derived keys (keys.h), kept
     * instead of a copy of the private keys; a secret, wiped with the handle */
    uint8_t derive_prk[32];
};

/* A derived key (keys.h): the private key and its public key. */
struct ncsl_keys_derived {
    EVP_PKEY *key; /* P-256, private */
    uint8_t pub[NCSL_KEYS_P256_PUB_SIZE];
};

void ncsl_keys_options_default(ncsl_keys_options *opts) {
    memset(opts, 0, sizeof(*opts));
    opts->policy = NCSL_SEAL_POLICY_MRENCLAVE;
    opts->create = true;
}

static const char *policy_name(ncsl_seal_policy p) {
    return p == NCSL_SEAL_POLICY_MRENCLAVE  ? "MRENCLAVE"
           : p == NCSL_SEAL_POLICY_MRSIGNER ? "MRSIGNER"
                                            : "unknown";
}

/* ------------------------------------------------------------------------- key material */

/* P-256 private key from scalar `d` (borrowed, 1 <= d < n): a DER ECPrivateKey (RFC 5915) with
 * the named curve and no public key; the decoder derives the public point. */
static EVP_PKEY *p256_from_scalar(const uint8_t d[32]) {
    /* SEQUENCE { INTEGER 1, OCTET STRING d, [0] OID prime256v1 } */
    static const uint8_t head[7] = {0x30, 0x31, 0x02, 0x01, 0x01, 0x04, 0x20};
    static const uint8_t tail[12] = {0xA0, 0x0A, 0x06, 0x08, 0x2A, 0x86,
                                     0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07};
    uint8_t der[sizeof(head) + 32 + sizeof(tail)];
    memcpy(der, head, sizeof(head));
    memcpy(der + sizeof(head), d, 32);
    memcpy(der + sizeof(head) + 32, tail, sizeof(tail));
    const unsigned char *p = der;
    EVP_PKEY *k = d2i_PrivateKey(EVP_PKEY_EC, NULL, &p, (long)sizeof(der));
    ncsl_wipe(der, sizeof(der));
    ERR_clear_error();
    return k;
}

/* The P-256 group for derived keys, made once per process and only read afterwards (OpenSSL
 * allows sharing it between threads then). One-time initialization, like OpenSSL's own. */
static pthread_once_t g_p256_once = PTHREAD_ONCE_INIT;
static EC_GROUP *g_p256;

static void p256_group_make(void) {
    g_p256 = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    ERR_clear_error();
}

/* P-256 key pair from scalar `d` (borrowed, 1 <= d < n) for derived keys, made per call: the
 * public point d.G computed here (constant-time scalar multiplication) and both halves imported
 * with EVP_PKEY_fromdata, about three times faster than the decoder path of p256_from_scalar
 * (tests check that both give the same key). `pub` gets the compressed public key. */
static EVP_PKEY *p256_keypair(const uint8_t d[32], uint8_t pub[NCSL_KEYS_P256_PUB_SIZE]) {
    uint8_t point[NCSL_KEYS_P256_POINT_SIZE];
    EVP_PKEY *k = NULL;
    EC_POINT *pt = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;

    pthread_once(&g_p256_once, p256_group_make);
    BIGNUM *priv = g_p256 ? BN_secure_new() : NULL;
    if (!priv || !BN_bin2bn(d, 32, priv)) {
        goto out;
    }
    BN_set_flags(priv, BN_FLG_CONSTTIME);
    pt = EC_POINT_new(g_p256);
    if (!pt || EC_POINT_mul(g_p256, pt, priv, NULL, NULL, NULL) != 1 ||
        EC_POINT_point2oct(g_p256, pt, POINT_CONVERSION_UNCOMPRESSED, point, sizeof(point), NULL) !=
            sizeof(point)) {
        goto out;
    }
    bld = OSSL_PARAM_BLD_new();
    if (!bld ||
        OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)) != 1) {
        goto out;
    }
    params = OSSL_PARAM_BLD_to_param(bld);
    if (!params) {
        goto out;
    }
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_KEYPAIR, params) != 1) {
        EVP_PKEY_free(k);
        k = NULL;
        goto out;
    }
    pub[0] = (uint8_t)(0x02 | (point[64] & 1));
    memcpy(pub + 1, point + 1, 32);
out:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params); /* its copy of priv is secure memory (BN_secure_new): cleared */
    OSSL_PARAM_BLD_free(bld);
    EC_POINT_free(pt);
    BN_clear_free(priv);
    ERR_clear_error();
    return k;
}

static bool scalar_ok(const uint8_t d[32]) {
    static const uint8_t zero[32] = {0};
    return memcmp(d, zero, 32) != 0 && ncsl__keys_cmp32(d, ncsl__keys_p256_order) < 0;
}

/* HMAC-SHA256 of `len` bytes at `data` with `key` (all borrowed) into `out`. */
static bool hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *data, size_t len,
                        uint8_t out[32]) {
    size_t n = 0;
    bool ok = EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, key_len, data, len, out, 32, &n) !=
                  NULL &&
              n == 32;
    ERR_clear_error();
    return ok;
}

static ncsl_status draw(ncsl_tee *tee, uint8_t *buf, size_t len, ncsl_err *err) {
    return tee ? ncsl_tee_random(tee, buf, len, err) : ncsl_crypto_random(buf, len, err);
}

/* Builds a handle from the private keys (borrowed). The caller sets path/policy/created. */
static ncsl_status keys_from_private(const uint8_t d[32], const uint8_t x[32], ncsl_keys **out,
                                     ncsl_err *err) {
    ncsl_status st = NCSL_OK;
    size_t n = NCSL_KEYS_X25519_SIZE;
    ncsl_keys *k = calloc(1, sizeof(*k));

    *out = NULL;
    if (!k) {
        return ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
    }
    k->policy = NCSL_SEAL_POLICY_MRENCLAVE;
    if (!scalar_ok(d)) {
        st = ncsl_err_set(err, NCSL_E_INVALID_ARG, "d", "P-256 private scalar out of range");
        goto out;
    }
    k->sign_key = p256_from_scalar(d);
    k->enc_key = EVP_PKEY_new_raw_private_key_ex(NULL, "X25519", NULL, x, NCSL_KEYS_X25519_SIZE);
    /* HKDF-Extract (RFC 5869): PRK = HMAC-SHA256(salt, IKM), IKM = d || x */
    uint8_t ikm[64];
    memcpy(ikm, d, 32);
    memcpy(ikm + 32, x, 32);
    bool prk_ok = hmac_sha256((const uint8_t *)NCSL_KEYS_DERIVE_SALT,
                              sizeof(NCSL_KEYS_DERIVE_SALT) - 1, ikm, sizeof(ikm), k->derive_prk);
    ncsl_wipe(ikm, sizeof(ikm));
    if (!k->sign_key || !k->enc_key || !ncsl__keys_p256_pub_of(k->sign_key, k->sign_pub) ||
        EVP_PKEY_get_raw_public_key(k->enc_key, k->enc_pub, &n) != 1 ||
        n != NCSL_KEYS_X25519_SIZE || !prk_ok) {
        st = ncsl_err_set(err, NCSL_E_CRYPTO, NULL, "cannot build the identity keys");
        goto out;
    }
    if ((st = ncsl__keys_signer_create(k->sign_key, &k->signer, err)) != NCSL_OK) {
        goto out;
    }
    k->path = strdup("");
    if (!k->path) {
        st = ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
        goto out;
    }
    *out = k;
    k = NULL;
out:
    ncsl_keys_destroy(k);
    ERR_clear_error();
    return st;
}

/* Fresh private keys from the TEE (or OpenSSL when tee is NULL). Secrets: wipe after use. */
static ncsl_status generate_private(ncsl_tee *tee, uint8_t d[32], uint8_t x[32], ncsl_err *err) {
    ncsl_status st;
    for (int i = 0; i < KEYS_GEN_TRIES; i++) {
        if ((st = draw(tee, d, 32, err)) != NCSL_OK) {
            return st;
        }
        if (scalar_ok(d)) {
            return draw(tee, x, 32, err);
        }
    }
    ncsl_wipe(d, 32);
    return ncsl_err_set(err, NCSL_E_CRYPTO, NULL,
                        "the random generator gave %d P-256 scalars out of range in a row",
                        KEYS_GEN_TRIES);
}

ncsl_status ncsl_keys_create_ephemeral(ncsl_tee *tee, ncsl_keys **out, ncsl_err *err) {
    uint8_t d[32], x[32];
    if (!out) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "out", "NULL output");
    }
    *out = NULL;
    ncsl_status st = generate_private(tee, d, x, err);
    if (st == NCSL_OK) {
        st = keys_from_private(d, x, out, err);
    }
    ncsl_wipe(d, sizeof(d));
    ncsl_wipe(x, sizeof(x));
    return st;
}

ncsl_status ncsl__keys_from_private(const uint8_t d[32], const uint8_t x[32], ncsl_keys **out,
                                    ncsl_err *err) {
    return keys_from_private(d, x, out, err);
}

static bool private_of(const ncsl_keys *keys, uint8_t d[32], uint8_t x[32]) {
    BIGNUM *priv = NULL;
    size_t n = 32;
    bool ok = EVP_PKEY_get_bn_param(keys->sign_key, OSSL_PKEY_PARAM_PRIV_KEY, &priv) == 1 &&
              BN_bn2binpad(priv, d, 32) == 32 &&
              EVP_PKEY_get_raw_private_key(keys->enc_key, x, &n) == 1 && n == 32;
    BN_clear_free(priv);
    ERR_clear_error();
    if (!ok) {
        ncsl_wipe(d, 32);
        ncsl_wipe(x, 32);
    }
    return ok;
}

ncsl_status ncsl__keys_test_private(const ncsl_keys *keys, uint8_t d[32], uint8_t x[32],
                                    ncsl_err *err) {
    if (!keys || !private_of(keys, d, x)) {
        return ncsl_err_set(err, NCSL_E_CRYPTO, NULL, "cannot read the private keys");
    }
    return NCSL_OK;
}

/* ------------------------------------------------------------------------- record */

static void record_encode(const ncsl_keys *k, const uint8_t d[32], const uint8_t x[32],
                          uint8_t rec[NCSL_KEYS_RECORD_SIZE]) {
    memset(rec, 0, NCSL_KEYS_RECORD_SIZE);
    memcpy(rec, NCSL_KEYS_RECORD_MAGIC, 8);
    rec[REC_OFF_VERSION] = NCSL_KEYS_RECORD_VERSION;
    memcpy(rec + REC_OFF_P256_D, d, 32);
    memcpy(rec + REC_OFF_X25519, x, 32);
    memcpy(rec + REC_OFF_P256_PUB, k->sign_pub, NCSL_KEYS_P256_PUB_SIZE);
    memcpy(rec + REC_OFF_X25519_PUB, k->enc_pub, NCSL_KEYS_X25519_SIZE);
}

/* What is wrong with a record (record_parse). */
typedef enum rec_fault {
    REC_OK = 0,
    REC_FORMAT,   /* wrong size or magic */
    REC_VERSION,  /* another version, or reserved bytes set */
    REC_UNUSABLE, /* the private keys do not make keys (scalar out of range, crypto, memory) */
    REC_MISMATCH, /* the stored public keys are not those of the private keys */
    REC_CHECKSUM, /* hand-off material only: the SHA-256 after the record does not match */
} rec_fault;

/* Rebuilds keys from a record (borrowed): REC_OK with *out set (caller destroys), or the fault
 * (*sub says why for REC_UNUSABLE). Shared by the sealed file and ncsl_keys_private_import. */
static rec_fault record_header(const uint8_t *rec, size_t len) {
    static const uint8_t zero[3] = {0};
    if (len != NCSL_KEYS_RECORD_SIZE || memcmp(rec, NCSL_KEYS_RECORD_MAGIC, 8) != 0) {
        return REC_FORMAT;
    }
    if (rec[REC_OFF_VERSION] != NCSL_KEYS_RECORD_VERSION ||
        memcmp(rec + REC_OFF_RESERVED, zero, 3) != 0) {
        return REC_VERSION;
    }
    return REC_OK;
}

static rec_fault record_parse(const uint8_t *rec, size_t len, ncsl_keys **out, ncsl_err *sub) {
    ncsl_keys *k = NULL;
    *out = NULL;
    rec_fault f = record_header(rec, len);
    if (f != REC_OK) {
        return f;
    }
    if (keys_from_private(rec + REC_OFF_P256_D, rec + REC_OFF_X25519, &k, sub) != NCSL_OK) {
        return REC_UNUSABLE;
    }
    if (memcmp(k->sign_pub, rec + REC_OFF_P256_PUB, NCSL_KEYS_P256_PUB_SIZE) != 0 ||
        memcmp(k->enc_pub, rec + REC_OFF_X25519_PUB, NCSL_KEYS_X25519_SIZE) != 0) {
        ncsl_keys_destroy(k);
        return REC_MISMATCH;
    }
    *out = k;
    return REC_OK;
}

/* Rebuilds keys from an unsealed record; NCSL_E_KEYS_STATE naming `path` when it is wrong. */
static ncsl_status record_decode(const uint8_t *rec, size_t len, const char *path, ncsl_keys **out,
                                 ncsl_err *err) {
    ncsl_err sub;
    ncsl_err_clear(&sub);
    switch (record_parse(rec, len, out, &sub)) {
    case REC_OK:
        return NCSL_OK;
    case REC_FORMAT:
        return ncsl_err_set(err, NCSL_E_KEYS_STATE, "keys",
                            "%s unsealed, but does not hold an identity key record (%zu bytes)",
                            path, len);
    case REC_VERSION:
        return ncsl_err_set(err, NCSL_E_KEYS_STATE, "keys",
                            "%s holds identity key record version %u, this build reads version "
                            "%u",
                            path, rec[REC_OFF_VERSION], NCSL_KEYS_RECORD_VERSION);
    case REC_UNUSABLE:
        return ncsl_err_set(err, NCSL_E_KEYS_STATE, "keys", "%s holds unusable keys: %s", path,
                            sub.message);
    default:
        return ncsl_err_set(err, NCSL_E_KEYS_STATE, "keys",
                            "%s is inconsistent: its public keys do not match its private keys",
                            path);
    }
}

/* ------------------------------------------------------------------------- hand-off */

ncsl_status ncsl_keys_private_export(const ncsl_keys *keys, uint8_t *buf, size_t *len,
                                     ncsl_err *err) {
    uint8_t d[32], x[32];
    if (!keys || !buf || !len) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG,
                            !keys  ? "keys"
                            : !buf ? "buf"
                                   : "len",
                            "NULL argument");
    }
    if (*len < NCSL_KEYS_PRIVATE_SIZE) {
        size_t have = *len;
        *len = NCSL_KEYS_PRIVATE_SIZE;
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "buf",
                            "a buffer of %zu bytes cannot hold the identity key material (%u)",
                            have, NCSL_KEYS_PRIVATE_SIZE);
    }
    if (!private_of(keys, d, x)) { /* wipes d and x itself */
        ncsl_wipe(buf, *len);
        *len = 0;
        return ncsl_err_set(err, NCSL_E_CRYPTO, NULL, "cannot read the identity's private keys");
    }
    record_encode(keys, d, x, buf);
    ncsl_wipe(d, sizeof(d));
    ncsl_wipe(x, sizeof(x));
    ncsl_status st =
        ncsl_crypto_sha256(buf, NCSL_KEYS_RECORD_SIZE, buf + NCSL_KEYS_RECORD_SIZE, err);
    if (st != NCSL_OK) {
        ncsl_wipe(buf, *len);
        *len = 0;
        return st;
    }
    *len = NCSL_KEYS_PRIVATE_SIZE;
    return NCSL_OK;
}

ncsl_status ncsl_keys_private_import(const uint8_t *buf, size_t len, ncsl_keys **out,
                                     ncsl_err *err) {
    if (!out) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "out", "NULL output");
    }
    *out = NULL;
    if (!buf) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "buf", "NULL argument");
    }
    ncsl_err sub;
    ncsl_err_clear(&sub);
    rec_fault fault =
        len == NCSL_KEYS_PRIVATE_SIZE ? record_header(buf, NCSL_KEYS_RECORD_SIZE) : REC_FORMAT;
    if (fault == REC_OK) {
        /* The checksum covers what no public key does: the X25519 bits that clamping ignores
         * (they change Neo.keys derivations, not the public key). */
        uint8_t sum[NCSL_CRYPTO_SHA256_SIZE];
        fault = REC_CHECKSUM;
        if (ncsl_crypto_sha256(buf, NCSL_KEYS_RECORD_SIZE, sum, &sub) == NCSL_OK &&
            CRYPTO_memcmp(sum, buf + NCSL_KEYS_RECORD_SIZE, sizeof(sum)) == 0) {
            fault = record_parse(buf, NCSL_KEYS_RECORD_SIZE, out, &sub);
        }
        ncsl_wipe(sum, sizeof(sum));
    }
    /* The messages say what is wrong, never a byte of the material. */
    switch (fault) {
    case REC_OK:
        return NCSL_OK;
    case REC_FORMAT:
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "buf",
                            "not identity key material (%zu bytes; %u expected, starting with "
                            "\"" NCSL_KEYS_RECORD_MAGIC "\")",
                            len, NCSL_KEYS_PRIVATE_SIZE);
    case REC_VERSION:
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "buf",
                            "identity key material of another version (this build reads version "
                            "%u, reserved bytes zero)",
                            NCSL_KEYS_RECORD_VERSION);
    case REC_UNUSABLE:
        if (sub.code == NCSL_E_NOMEM) {
            return ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
        }
        return ncsl_err_set(err, NCSL_E_KEY_INVALID, "buf",
                            "the identity key material holds unusable private keys: %s",
                            sub.message);
    case REC_CHECKSUM:
        return ncsl_err_set(err, NCSL_E_KEY_INVALID, "buf",
                            "the identity key material does not match its checksum");
    default:
        return ncsl_err_set(err, NCSL_E_KEY_INVALID, "buf",
                            "the identity key material is inconsistent: its public keys do not "
                            "match its private keys");
    }
}

/* ------------------------------------------------------------------------- files */

/* <data_dir>/keys: created 0700 when missing; refused when not a directory (or a symlink) or
 * writable by group/others (someone else could then replace the identity file). */
static ncsl_status ensure_keys_dir(const char *data_dir, const char *dir, ncsl_err *err) {
    if (mkdir(data_dir, 0700) != 0 && errno != EEXIST) {
        return ncsl_err_set(err, NCSL_E_IO, "data_dir", "cannot create directory %s: %s", data_dir,
                            strerror(errno));
    }
    return ncsl_private_dir(dir, NCSL_E_TEE_INSECURE_FILE, "data_dir", err);
}

/*
 * Creates `path` with `len` bytes, all or nothing: a 0600 temp file (O_EXCL), fsync, then link()
 * into place, which fails when the file appeared meanwhile (another process created the identity
 * first): NCSL_E_BUSY then, and the caller loads that file instead. File systems without hard
 * links (some enclave file systems) fall back to rename() after checking the name is still free.
 */
static ncsl_status create_file(const char *dir, const char *path, const uint8_t *data, size_t len,
                               ncsl_err *err) {
    ncsl_status st = NCSL_OK;
    char suffix[40];
    uint8_t rnd[6];
    char rnd_hex[13];
    char *tmp = NULL;
    int fd = -1;
    bool tmp_made = false;

    if ((st = ncsl_crypto_random(rnd, sizeof(rnd), err)) != NCSL_OK ||
        (st = ncsl_crypto_hex_encode(rnd, sizeof(rnd), rnd_hex, sizeof(rnd_hex), err)) != NCSL_OK) {
        return st;
    }
    snprintf(suffix, sizeof(suffix), ".tmp.%ld.%s", (long)getpid(), rnd_hex);
    size_t n = strlen(path) + strlen(suffix) + 1;
    tmp = malloc(n);
    if (!tmp) {
        return ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
    }
    snprintf(tmp, n, "%s%s", path, suffix);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        st = ncsl_err_set(err, NCSL_E_IO, "keys", "cannot create %s: %s", tmp, strerror(errno));
        goto out;
    }
    tmp_made = true;
    if (fchmod(fd, 0600) != 0 || !ncsl_write_all(fd, data, len) || fsync(fd) != 0) {
        st = ncsl_err_set(err, NCSL_E_IO, "keys", "cannot write %s: %s", tmp, strerror(errno));
        goto out;
    }
    close(fd);
    fd = -1;
    if (link(tmp, path) != 0) {
        int e = errno;
        if (e == EEXIST) {
            st = ncsl_err_set(err, NCSL_E_BUSY, "keys", "%s was created concurrently", path);
            goto out;
        }
        if (e != EPERM && e != ENOSYS && e != EOPNOTSUPP && e != EXDEV && e != EMLINK) {
            st = ncsl_err_set(err, NCSL_E_IO, "keys", "cannot link %s to %s: %s", tmp, path,
                              strerror(e));
            goto out;
        }
        if (access(path, F_OK) == 0) {
            st = ncsl_err_set(err, NCSL_E_BUSY, "keys", "%s was created concurrently", path);
            goto out;
        }
        if (rename(tmp, path) != 0) {
            st = ncsl_err_set(err, NCSL_E_IO, "keys", "cannot rename %s to %s: %s", tmp, path,
                              strerror(errno));
            goto out;
        }
        tmp_made = false;
    }
    ncsl_fsync_dir(dir);
out:
    if (fd >= 0) {
        close(fd);
    }
    if (tmp_made) {
        (void)unlink(tmp);
    }
    free(tmp);
    return st;
}

/* ------------------------------------------------------------------------- load or create */

static ncsl_status load_existing(ncsl_tee *tee, const char *path, const uint8_t *blob,
                                 size_t blob_len, ncsl_seal_policy want, ncsl_keys **out,
                                 ncsl_err *err) {
    ncsl_status st;
    ncsl_seal_info info;
    uint8_t root[NCSL_TEE_SEAL_KEY_SIZE];
    uint8_t *plain = NULL;
    size_t plain_len = 0;
    ncsl_err sub;

    *out = NULL;
    if (ncsl_seal_blob_info(blob, blob_len, &info, &sub) != NCSL_OK) {
        return ncsl_err_set(err, NCSL_E_KEYS_STATE, "keys",
                            "%s is not a sealed identity key file (%s); NCSL never replaces "
                            "identity keys by itself: restore the original file, or remove it to "
                            "create a new identity",
                            path, sub.message);
    }
    if (info.policy != want) {
        return ncsl_err_set(err, NCSL_E_KEYS_STATE, "keys",
                            "%s is sealed with policy %s but policy %s is configured; configure "
                            "%s, or remove the file to create a new identity",
                            path, policy_name(info.policy), policy_name(want),
                            policy_name(info.policy));
    }
    if ((st = ncsl_tee_seal_key(tee, info.policy, root, err)) != NCSL_OK) {
        return st;
    }
    st = ncsl_unseal(root, sizeof(root), NCSL_KEYS_SEAL_LABEL, blob, blob_len, &plain, &plain_len,
                     &sub);
    ncsl_wipe(root, sizeof(root));
    if (st == NCSL_E_NOMEM) {
        return ncsl_err_set(err, st, NULL, "out of memory");
    }
    if (st != NCSL_OK) {
        return ncsl_err_set(err, NCSL_E_KEYS_STATE, "keys",
                            "cannot unseal %s (%s): the file was changed, or it was sealed by "
                            "another enclave build (policy %s) or another installation. NCSL "
                            "never replaces identity keys by itself: restore the original file, "
                            "or remove it to create a new identity (clients must then trust the "
                            "new keys)",
                            path, ncsl_status_str(st), policy_name(info.policy));
    }
    st = record_decode(plain, plain_len, path, out, err);
    ncsl_unseal_free(plain, plain_len);
    return st;
}

static ncsl_status create_new(ncsl_tee *tee, const char *dir, const char *path,
                              ncsl_seal_policy policy, ncsl_keys **out, ncsl_err *err) {
    ncsl_status st;
    uint8_t d[32], x[32];
    uint8_t rec[NCSL_KEYS_RECORD_SIZE];
    uint8_t root[NCSL_TEE_SEAL_KEY_SIZE];
    uint8_t *blob = NULL;
    size_t blob_len = 0;
    ncsl_keys *k = NULL;

    *out = NULL;
    if ((st = generate_private(tee, d, x, err)) != NCSL_OK ||
        (st = keys_from_private(d, x, &k, err)) != NCSL_OK) {
        goto out;
    }
    record_encode(k, d, x, rec);
    if ((st = ncsl_tee_seal_key(tee, policy, root, err)) != NCSL_OK) {
        goto out;
    }
    st = ncsl_seal(root, sizeof(root), policy, NCSL_KEYS_SEAL_LABEL, rec, sizeof(rec), &blob,
                   &blob_len, err);
    if (st != NCSL_OK) {
        goto out;
    }
    if ((st = create_file(dir, path, blob, blob_len, err)) != NCSL_OK) {
        goto out;
    }
    *out = k;
    k = NULL;
out:
    ncsl_keys_destroy(k);
    ncsl_seal_blob_free(blob);
    ncsl_wipe(root, sizeof(root));
    ncsl_wipe(rec, sizeof(rec));
    ncsl_wipe(d, sizeof(d));
    ncsl_wipe(x, sizeof(x));
    return st;
}

ncsl_status ncsl_keys_load_or_create(ncsl_tee *tee, const char *data_dir,
                                     const ncsl_keys_options *opts, ncsl_keys **out,
                                     ncsl_err *err) {
    ncsl_status st = NCSL_OK;
    ncsl_keys_options o;
    char *dir = NULL;
    char *path = NULL;
    uint8_t *blob = NULL;
    size_t blob_len = 0;
    ncsl_keys *k = NULL;
    bool created = false;

    if (!out) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "out", "NULL output");
    }
    *out = NULL;
    if (!tee) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "tee", "NULL TEE handle");
    }
    if (opts) {
        o = *opts;
    } else {
        ncsl_keys_options_default(&o);
    }
    if (o.policy != NCSL_SEAL_POLICY_MRENCLAVE && o.policy != NCSL_SEAL_POLICY_MRSIGNER) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "policy", "unknown sealing policy %d",
                            (int)o.policy);
    }
    if (!data_dir || !*data_dir) {
        data_dir = KEYS_DEFAULT_DATA_DIR;
    }
    dir = ncsl_path_join(data_dir, NCSL_KEYS_DIR);
    path = dir ? ncsl_path_join(dir, NCSL_KEYS_FILE) : NULL;
    if (!dir || !path) {
        st = ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
        goto out;
    }
    if ((st = ensure_keys_dir(data_dir, dir, err)) != NCSL_OK) {
        goto out;
    }
    /* Twice at most: a lost creation race means the winner's file is there to load. */
    for (int attempt = 0; attempt < 2; attempt++) {
        st = ncsl_read_small_file(path, KEYS_MAX_FILE, NCSL_E_KEYS_STATE, NCSL_E_KEYS_STATE, "keys",
                                  &blob, &blob_len, err);
        if (st == NCSL_OK) {
            st = load_existing(tee, path, blob, blob_len, o.policy, &k, err);
            break;
        }
        if (st != NCSL_E_NOT_FOUND) {
            break;
        }
        if (!o.create) {
            st = ncsl_err_set(err, NCSL_E_NOT_FOUND, "keys",
                              "%s does not exist and creating keys is disabled", path);
            break;
        }
        st = create_new(tee, dir, path, o.policy, &k, err);
        if (st != NCSL_E_BUSY) {
            created = st == NCSL_OK;
            break;
        }
    }
    if (st != NCSL_OK) {
        goto out;
    }
    free(k->path);
    k->path = path;
    path = NULL;
    k->policy = o.policy;
    k->created = created;
    *out = k;
    k = NULL;
    if (created) {
        NCSL_LOG_INFO("keys", "created enclave identity keys in %s (sealed, policy %s)",
                      (*out)->path, policy_name(o.policy));
    }
out:
    ncsl_keys_destroy(k);
    free(blob);
    free(path);
    free(dir);
    return st;
}

void ncsl_keys_destroy(ncsl_keys *keys) {
    if (!keys) {
        return;
    }
    ncsl__keys_signer_destroy(keys->signer); /* stops its thread, wipes its pool */
    /* EVP_PKEY_free clears private key material (OpenSSL frees key data with clear_free). */
    EVP_PKEY_free(keys->sign_key);
    EVP_PKEY_free(keys->enc_key);
    free(keys->path);
    ncsl_wipe(keys, sizeof(*keys));
    free(keys);
}

/* ------------------------------------------------------------------------- accessors */

bool ncsl_keys_created(const ncsl_keys *keys) {
    return keys->created;
}

const char *ncsl_keys_path(const ncsl_keys *keys) {
    return keys->path;
}

ncsl_seal_policy ncsl_keys_policy(const ncsl_keys *keys) {
    return keys->policy;
}

void ncsl_keys_signing_pub_compressed(const ncsl_keys *keys, uint8_t out[NCSL_KEYS_P256_PUB_SIZE]) {
    memcpy(out, keys->sign_pub, NCSL_KEYS_P256_PUB_SIZE);
}

void ncsl_keys_encryption_pub(const ncsl_keys *keys, uint8_t out[NCSL_KEYS_X25519_SIZE]) {
    memcpy(out, keys->enc_pub, NCSL_KEYS_X25519_SIZE);
}

/* ------------------------------------------------------------------------- operations */

/* ECDSA P-256/SHA-256 with `key` (borrowed) over `msg`, as raw r || s with low s. */
static ncsl_status p256_sign(EVP_PKEY *key, const void *msg, size_t len,
                             uint8_t sig[NCSL_KEYS_P256_SIG_SIZE], ncsl_err *err) {
    static const uint8_t empty[1] = {0};
    ncsl_status st = NCSL_OK;
    EVP_MD_CTX *ctx = NULL;
    ECDSA_SIG *es = NULL;
    uint8_t der[80];
    size_t der_len = sizeof(der);

    ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestSignInit_ex(ctx, NULL, "SHA256", NULL, NULL, key, NULL) != 1 ||
        EVP_DigestSign(ctx, der, &der_len, msg ? msg : empty, len) != 1) {
        st = ncsl_err_set(err, NCSL_E_CRYPTO, NULL, "ECDSA signing failed");
        goto out;
    }
    const unsigned char *p = der;
    es = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    if (!es) {
        st = ncsl_err_set(err, NCSL_E_CRYPTO, NULL, "ECDSA signature decoding failed");
        goto out;
    }
    st = ncsl__keys_sig_to_raw(es, sig, err);
out:
    if (st != NCSL_OK) {
        memset(sig, 0, NCSL_KEYS_P256_SIG_SIZE);
    }
    ECDSA_SIG_free(es);
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    return st;
}

ncsl_status ncsl_keys_sign(const ncsl_keys *keys, const void *msg, size_t len,
                           uint8_t sig[NCSL_KEYS_P256_SIG_SIZE], ncsl_err *err) {
    if (!keys || !sig || (!msg && len)) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG,
                            !keys  ? "keys"
                            : !sig ? "sig"
                                   : "msg",
                            "NULL argument");
    }
    return ncsl__keys_signer_sign(keys->signer, msg, len, sig, err);
}

void ncsl_keys_presign_stats_get(const ncsl_keys *keys, ncsl_keys_presign_stats *out) {
    ncsl__keys_signer_stats(keys->signer, out);
}

ncsl_status ncsl__keys_presign_configure(const ncsl_keys *keys, size_t capacity, bool refill,
                                         ncsl_err *err) {
    return ncsl__keys_signer_configure(keys->signer, capacity, refill, err);
}

bool ncsl__keys_presign_wait(const ncsl_keys *keys, size_t n, int timeout_ms) {
    return ncsl__keys_signer_wait(keys->signer, n, timeout_ms);
}

ncsl_status ncsl_keys_ecdh(const ncsl_keys *keys, const uint8_t peer_pub[NCSL_KEYS_X25519_SIZE],
                           uint8_t shared[NCSL_KEYS_X25519_SIZE], ncsl_err *err) {
    ncsl_status st = NCSL_OK;
    EVP_PKEY *peer = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    size_t n = NCSL_KEYS_X25519_SIZE;
    static const uint8_t zero[NCSL_KEYS_X25519_SIZE] = {0};

    if (!keys || !peer_pub || !shared) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG,
                            !keys       ? "keys"
                            : !peer_pub ? "peer_pub"
                                        : "shared",
                            "NULL argument");
    }
    peer = EVP_PKEY_new_raw_public_key_ex(NULL, "X25519", NULL, peer_pub, NCSL_KEYS_X25519_SIZE);
    if (!peer) {
        st = ncsl_err_set(err, NCSL_E_KEY_INVALID, "peer_pub", "not an X25519 public key");
        goto out;
    }
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, keys->enc_key, NULL);
    if (!ctx || EVP_PKEY_derive_init(ctx) != 1 || EVP_PKEY_derive_set_peer(ctx, peer) != 1) {
        st = ncsl_err_set(err, NCSL_E_CRYPTO, NULL, "cannot set up X25519");
        goto out;
    }
    /* OpenSSL refuses a small-order peer (all-zero result); check again, it costs nothing. */
    if (EVP_PKEY_derive(ctx, shared, &n) != 1 || n != NCSL_KEYS_X25519_SIZE ||
        CRYPTO_memcmp(shared, zero, sizeof(zero)) == 0) {
        st = ncsl_err_set(err, NCSL_E_KEY_INVALID, "peer_pub",
                          "X25519 with this peer key fails (a small-order point)");
        goto out;
    }
out:
    if (st != NCSL_OK && shared) {
        ncsl_wipe(shared, NCSL_KEYS_X25519_SIZE);
    }
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(peer);
    ERR_clear_error();
    return st;
}

/* ------------------------------------------------------------------------- derived keys */

static bool derive_name_ok(const char *name) {
    size_t n = 0;
    for (; name[n]; n++) {
        char c = name[n];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == '-';
        if (!ok || n >= NCSL_KEYS_DERIVE_NAME_MAX) {
            return false;
        }
    }
    return n > 0;
}

/* Appends u32be(len) || bytes to `info` at *off (the caller sized it). */
static void put_field(uint8_t *info, size_t *off, const char *s, size_t len) {
    info[(*off)++] = (uint8_t)(len >> 24);
    info[(*off)++] = (uint8_t)(len >> 16);
    info[(*off)++] = (uint8_t)(len >> 8);
    info[(*off)++] = (uint8_t)len;
    memcpy(info + *off, s, len);
    *off += len;
}

ncsl_status ncsl_keys_derive_p256(const ncsl_keys *keys, const char *user_id,
                                  const char *function_id, const char *name,
                                  ncsl_keys_derived **out, ncsl_err *err) {
    enum { PREFIX = sizeof(NCSL_KEYS_DERIVE_INFO) - 1 };
    ncsl_status st = NCSL_OK;
    uint8_t info[PREFIX + 3 * 4 + 2 * NCSL_KEYS_DERIVE_ID_MAX + NCSL_KEYS_DERIVE_NAME_MAX + 2];
    uint8_t k[32];
    ncsl_keys_derived *d = NULL;
    size_t off = 0;

    if (!out) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "out", "NULL output");
    }
    *out = NULL;
    user_id = user_id ? user_id : "";
    function_id = function_id ? function_id : "";
    if (!keys || !name) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, keys ? "name" : "keys", "NULL argument");
    }
    if (!derive_name_ok(name)) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "name",
                            "a key name is 1 to %u characters of A-Z, a-z, 0-9, '_', '.', '-'",
                            NCSL_KEYS_DERIVE_NAME_MAX);
    }
    size_t user_len = strnlen(user_id, NCSL_KEYS_DERIVE_ID_MAX + 1);
    size_t fn_len = strnlen(function_id, NCSL_KEYS_DERIVE_ID_MAX + 1);
    if (user_len > NCSL_KEYS_DERIVE_ID_MAX || fn_len > NCSL_KEYS_DERIVE_ID_MAX) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG,
                            user_len > NCSL_KEYS_DERIVE_ID_MAX ? "user_id" : "function_id",
                            "longer than %u bytes", NCSL_KEYS_DERIVE_ID_MAX);
    }
    memcpy(info, NCSL_KEYS_DERIVE_INFO, PREFIX);
    off = PREFIX;
    put_field(info, &off, user_id, user_len);
    put_field(info, &off, function_id, fn_len);
    put_field(info, &off, name, strlen(name));
    size_t counter_at = off++;
    info[off++] = 0x01; /* HKDF-Expand's block counter: one block of 32 bytes */

    /* HKDF-Expand(PRK, info || counter, 32) = HMAC-SHA256(PRK, info || counter || 0x01) */
    for (unsigned counter = 0;; counter++) {
        if (counter > 255) {
            st = ncsl_err_set(err, NCSL_E_CRYPTO, NULL, "no P-256 scalar in 256 derivations");
            goto out;
        }
        info[counter_at] = (uint8_t)counter;
        if (!hmac_sha256(keys->derive_prk, sizeof(keys->derive_prk), info, off, k)) {
            st = ncsl_err_set(err, NCSL_E_CRYPTO, NULL, "HKDF-SHA256 failed");
            goto out;
        }
        if (scalar_ok(k)) {
            break;
        }
    }
    d = calloc(1, sizeof(*d));
    if (!d) {
        st = ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
        goto out;
    }
    d->key = p256_keypair(k, d->pub);
    if (!d->key) {
        st = ncsl_err_set(err, NCSL_E_CRYPTO, NULL, "cannot build the derived P-256 key");
        goto out;
    }
    *out = d;
    d = NULL;
out:
    ncsl_keys_derived_destroy(d);
    ncsl_wipe(k, sizeof(k));
    ERR_clear_error();
    return st;
}

void ncsl_keys_derived_destroy(ncsl_keys_derived *k) {
    if (!k) {
        return;
    }
    EVP_PKEY_free(k->key); /* clears the private key (see ncsl_keys_destroy) */
    ncsl_wipe(k, sizeof(*k));
    free(k);
}

void ncsl_keys_derived_pub(const ncsl_keys_derived *k, uint8_t out[NCSL_KEYS_P256_PUB_SIZE]) {
    memcpy(out, k->pub, NCSL_KEYS_P256_PUB_SIZE);
}

ncsl_status ncsl_keys_derived_sign(const ncsl_keys_derived *k, const void *msg, size_t len,
                                   uint8_t sig[NCSL_KEYS_P256_SIG_SIZE], ncsl_err *err) {
    if (!k || !sig || (!msg && len)) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG,
                            !k     ? "key"
                            : !sig ? "sig"
                                   : "msg",
                            "NULL argument");
    }
    return p256_sign(k->key, msg, len, sig, err);
}

ncsl_status ncsl_keys_derived_verify(const ncsl_keys_derived *k, const void *msg, size_t len,
                                     const uint8_t sig[NCSL_KEYS_P256_SIG_SIZE], ncsl_err *err) {
    if (!k || !sig || (!msg && len)) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG,
                            !k     ? "key"
                            : !sig ? "sig"
                                   : "msg",
                            "NULL argument");
    }
    return ncsl__keys_p256_verify_pkey(k->key, msg, len, sig, err);
}
