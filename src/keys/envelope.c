/*
 * Secret envelopes (envelope.h, docs/secrets.md): X25519 to the enclave's attested encryption
 * key, HKDF-SHA256, AES-256-GCM bound to (user id, secret name).
 *
 * Both sides do X25519 through ncsl_keys_ecdh: the sender's one-time key is an ephemeral
 * ncsl_keys, so the small-order check lives in one place. Parsing is strict and happens before
 * any secret operation; the value is checked against the caller's limit from the ciphertext's
 * length, before decryption. Every authentication failure is one error: which byte was changed,
 * or whether the envelope was meant for another user or name, is not told.
 */
#include "keys/envelope.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "common/common.h"
#include "crypto/crypto.h"
#include "keys/keys_int.h"
#include "keys/trust_util.h"

#define KEY_SIZE 32u
#define SALT_SIZE (2u * NCSL_KEYS_X25519_SIZE)
/* "ncsl-secret-v1" NUL user NUL name */
#define AAD_MAX (sizeof(NCSL_KEYS_ENVELOPE_AAD_LABEL) + 2u * NCSL_KEYS_ENVELOPE_MAX_ID + 1u)
/* Longest base64 text of n bytes (with padding). */
#define B64_LEN(n) (4u * (((size_t)(n) + 2u) / 3u))

static const char *const g_members[] = {"alg", "encryptionKey", "ephemeralKey", "nonce",
                                        "ciphertext"};

/* ------------------------------------------------------------------------- shared parts */

static ncsl_status check_ids(const char *user_id, const char *name, ncsl_err *err) {
    const struct {
        const char *s;
        const char *field;
    } ids[] = {{user_id, "user_id"}, {name, "name"}};
    for (size_t i = 0; i < NCSL_ARRAY_LEN(ids); i++) {
        size_t n = ids[i].s ? strlen(ids[i].s) : 0;
        if (n == 0 || n > NCSL_KEYS_ENVELOPE_MAX_ID) {
            return ncsl_err_set(err, NCSL_E_INVALID_ARG, ids[i].field, "%s must be 1..%u bytes",
                                ids[i].field, NCSL_KEYS_ENVELOPE_MAX_ID);
        }
    }
    return NCSL_OK;
}

/* The AAD (see envelope.h) into `out` (AAD_MAX bytes); returns its length. IDs checked. */
static size_t make_aad(const char *user_id, const char *name, uint8_t out[AAD_MAX]) {
    size_t n = 0;
    size_t ul = strlen(user_id);
    size_t nl = strlen(name);
    memcpy(out, NCSL_KEYS_ENVELOPE_AAD_LABEL, sizeof(NCSL_KEYS_ENVELOPE_AAD_LABEL)); /* + NUL */
    n += sizeof(NCSL_KEYS_ENVELOPE_AAD_LABEL);
    memcpy(out + n, user_id, ul);
    n += ul;
    out[n++] = 0;
    memcpy(out + n, name, nl);
    return n + nl;
}

/* The AES key from the X25519 result (borrowed) and both public keys; `key` is a secret. */
static ncsl_status derive_key(const uint8_t shared[NCSL_KEYS_X25519_SIZE],
                              const uint8_t eph_pub[NCSL_KEYS_X25519_SIZE],
                              const uint8_t enc_pub[NCSL_KEYS_X25519_SIZE], uint8_t key[KEY_SIZE],
                              ncsl_err *err) {
    uint8_t salt[SALT_SIZE];
    memcpy(salt, eph_pub, NCSL_KEYS_X25519_SIZE);
    memcpy(salt + NCSL_KEYS_X25519_SIZE, enc_pub, NCSL_KEYS_X25519_SIZE);
    return ncsl_crypto_hkdf_sha256(shared, NCSL_KEYS_X25519_SIZE, salt, sizeof(salt),
                                   (const uint8_t *)NCSL_KEYS_ENVELOPE_ALG,
                                   sizeof(NCSL_KEYS_ENVELOPE_ALG) - 1, key, KEY_SIZE, err);
}

/*
 * AES-256-GCM over `len` bytes at `in`: encrypt writes len bytes of ciphertext then the tag to
 * `out`; decrypt reads the tag after the `len` ciphertext bytes at `in` and writes len bytes of
 * plaintext to `out`. Returns 1 on success, 0 when decryption does not authenticate, -1 when
 * OpenSSL fails. `out` is wiped by the caller on failure.
 */
static int gcm(bool encrypt, const uint8_t key[KEY_SIZE],
               const uint8_t nonce[NCSL_KEYS_ENVELOPE_NONCE_SIZE], const uint8_t *aad,
               size_t aad_len, const uint8_t *in, size_t len, uint8_t *out) {
    int rc = -1;
    int n = 0;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    /* The sizes fit an int: the plaintext limit is 16 MiB. */
    if (!ctx ||
        (encrypt ? EVP_EncryptInit_ex2(ctx, EVP_aes_256_gcm(), key, nonce, NULL)
                 : EVP_DecryptInit_ex2(ctx, EVP_aes_256_gcm(), key, nonce, NULL)) != 1 ||
        EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aad_len) != 1) {
        goto out;
    }
    if (len > 0 && (EVP_CipherUpdate(ctx, out, &n, in, (int)len) != 1 || (size_t)n != len)) {
        goto out;
    }
    if (encrypt) {
        if (EVP_EncryptFinal_ex(ctx, out + len, &n) != 1 || n != 0 ||
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, (int)NCSL_KEYS_ENVELOPE_TAG_SIZE,
                                out + len) != 1) {
            goto out;
        }
        rc = 1;
        goto out;
    }
    uint8_t tag[NCSL_KEYS_ENVELOPE_TAG_SIZE];
    memcpy(tag, in + len, sizeof(tag));
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, (int)sizeof(tag), tag) != 1) {
        goto out;
    }
    rc = EVP_DecryptFinal_ex(ctx, out + len, &n) == 1 ? 1 : 0;
out:
    EVP_CIPHER_CTX_free(ctx); /* cleanses the key schedule */
    ERR_clear_error();
    return rc;
}

/* ------------------------------------------------------------------------- seal */

/* Seals with the ephemeral identity `eph` (borrowed) and `nonce`. */
static ncsl_status seal(const uint8_t enclave_pub[NCSL_KEYS_X25519_SIZE], const char *user_id,
                        const char *name, const void *plaintext, size_t len, const ncsl_keys *eph,
                        const uint8_t nonce[NCSL_KEYS_ENVELOPE_NONCE_SIZE], json_t **out,
                        ncsl_err *err) {
    ncsl_status st = NCSL_OK;
    uint8_t shared[NCSL_KEYS_X25519_SIZE];
    uint8_t key[KEY_SIZE];
    uint8_t eph_pub[NCSL_KEYS_X25519_SIZE];
    uint8_t aad[AAD_MAX];
    uint8_t *ct = NULL;
    char *b64 = NULL;
    json_t *o = NULL;

    ncsl_keys_encryption_pub(eph, eph_pub);
    st = ncsl_keys_ecdh(eph, enclave_pub, shared, err);
    if (st != NCSL_OK) {
        if (st == NCSL_E_KEY_INVALID) {
            st = ncsl_err_set(err, st, "enclave_pub",
                              "the enclave encryption key is not usable (a small-order point)");
        }
        goto out;
    }
    if ((st = derive_key(shared, eph_pub, enclave_pub, key, err)) != NCSL_OK) {
        goto out;
    }
    ct = malloc(len + NCSL_KEYS_ENVELOPE_TAG_SIZE);
    if (!ct) {
        st = ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
        goto out;
    }
    size_t aad_len = make_aad(user_id, name, aad);
    if (gcm(true, key, nonce, aad, aad_len, plaintext, len, ct) != 1) {
        st = ncsl_err_set(err, NCSL_E_CRYPTO, NULL, "AES-256-GCM encryption failed");
        goto out;
    }
    b64 = ncsl__trust_base64_encode(ct, len + NCSL_KEYS_ENVELOPE_TAG_SIZE);
    o = json_object();
    if (!b64 || !o || json_object_set_new(o, "alg", json_string(NCSL_KEYS_ENVELOPE_ALG)) != 0 ||
        !ncsl__trust_json_set_hex(o, "encryptionKey", enclave_pub, NCSL_KEYS_X25519_SIZE) ||
        !ncsl__trust_json_set_hex(o, "ephemeralKey", eph_pub, NCSL_KEYS_X25519_SIZE) ||
        !ncsl__trust_json_set_hex(o, "nonce", nonce, NCSL_KEYS_ENVELOPE_NONCE_SIZE) ||
        json_object_set_new(o, "ciphertext", json_string(b64)) != 0) {
        st = ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
        goto out;
    }
    *out = o;
    o = NULL;
out:
    json_decref(o);
    free(b64);
    free(ct); /* ciphertext only: nothing secret */
    ncsl_wipe(shared, sizeof(shared));
    ncsl_wipe(key, sizeof(key));
    return st;
}

static ncsl_status seal_check(const uint8_t *enclave_pub, const char *user_id, const char *name,
                              const void *plaintext, size_t len, json_t **out, ncsl_err *err) {
    if (!out) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "out", "NULL output");
    }
    *out = NULL;
    if (!enclave_pub || (!plaintext && len > 0)) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, !enclave_pub ? "enclave_pub" : "plaintext",
                            "NULL argument");
    }
    ncsl_status st = check_ids(user_id, name, err);
    if (st != NCSL_OK) {
        return st;
    }
    if (len > NCSL_KEYS_ENVELOPE_MAX_PLAINTEXT) {
        return ncsl_err_set(err, NCSL_E_PAYLOAD_TOO_LARGE, "plaintext",
                            "the value is %zu bytes, more than the %u an envelope carries", len,
                            NCSL_KEYS_ENVELOPE_MAX_PLAINTEXT);
    }
    if (!ncsl__trust_utf8_valid(plaintext, len)) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "plaintext",
                            "the value must be UTF-8 text without NUL bytes");
    }
    return NCSL_OK;
}

ncsl_status ncsl_keys_envelope_seal(const uint8_t enclave_pub[NCSL_KEYS_X25519_SIZE],
                                    const char *user_id, const char *name, const void *plaintext,
                                    size_t len, json_t **out, ncsl_err *err) {
    ncsl_keys *eph = NULL;
    uint8_t nonce[NCSL_KEYS_ENVELOPE_NONCE_SIZE];
    ncsl_status st = seal_check(enclave_pub, user_id, name, plaintext, len, out, err);
    if (st == NCSL_OK) {
        st = ncsl_keys_create_ephemeral(NULL, &eph, err);
    }
    if (st == NCSL_OK) {
        st = ncsl_crypto_random(nonce, sizeof(nonce), err);
    }
    if (st == NCSL_OK) {
        st = seal(enclave_pub, user_id, name, plaintext, len, eph, nonce, out, err);
    }
    ncsl_keys_destroy(eph); /* wipes the one-time private key */
    return st;
}

ncsl_status ncsl__keys_envelope_seal_with(const uint8_t enclave_pub[NCSL_KEYS_X25519_SIZE],
                                          const char *user_id, const char *name,
                                          const void *plaintext, size_t len,
                                          const uint8_t eph_priv[NCSL_KEYS_X25519_SIZE],
                                          const uint8_t nonce[NCSL_KEYS_ENVELOPE_NONCE_SIZE],
                                          json_t **out, ncsl_err *err) {
    /* An identity needs a P-256 scalar too; 1 is in range and never used here. */
    static const uint8_t one[32] = {[31] = 1};
    ncsl_keys *eph = NULL;
    ncsl_status st = seal_check(enclave_pub, user_id, name, plaintext, len, out, err);
    if (st == NCSL_OK && (!eph_priv || !nonce)) {
        st = ncsl_err_set(err, NCSL_E_INVALID_ARG, !eph_priv ? "eph_priv" : "nonce",
                          "NULL argument");
    }
    if (st == NCSL_OK) {
        st = ncsl__keys_from_private(one, eph_priv, &eph, err);
    }
    if (st == NCSL_OK) {
        st = seal(enclave_pub, user_id, name, plaintext, len, eph, nonce, out, err);
    }
    ncsl_keys_destroy(eph);
    return st;
}

/* ------------------------------------------------------------------------- open */

/* Rewrites an error of a member reader as "encryptedValue.<member>" (the body's view). */
static ncsl_status in_envelope(ncsl_status st, ncsl_err *err) {
    if (err && st != NCSL_OK) {
        char field[sizeof(err->field)];
        char msg[sizeof(err->message)];
        memcpy(field, err->field, sizeof(field));
        memcpy(msg, err->message, sizeof(msg));
        ncsl_err_set(err, st, NULL, NCSL_KEYS_ENVELOPE_FIELD ": %s", msg);
        snprintf(err->field, sizeof(err->field), "%s%s%.40s", NCSL_KEYS_ENVELOPE_FIELD,
                 field[0] ? "." : "", field);
    }
    return st;
}

/* The members, parsed; nothing secret. */
typedef struct parsed {
    uint8_t enc_pub[NCSL_KEYS_X25519_SIZE];
    uint8_t eph_pub[NCSL_KEYS_X25519_SIZE];
    uint8_t nonce[NCSL_KEYS_ENVELOPE_NONCE_SIZE];
    uint8_t *ct; /* ciphertext || tag; free() */
    size_t ct_len;
} parsed;

static ncsl_status parse(const ncsl_keys *keys, const json_t *env, size_t max_plaintext, parsed *p,
                         ncsl_err *err) {
    const ncsl_status bad = NCSL_E_INVALID_ARG;
    const char *s = NULL;
    size_t n = 0;
    ncsl_status st;

    if (!json_is_object(env)) {
        return ncsl_err_set(err, bad, NCSL_KEYS_ENVELOPE_FIELD,
                            NCSL_KEYS_ENVELOPE_FIELD " must be a JSON object: an envelope "
                                                     "with alg, encryptionKey, ephemeralKey, "
                                                     "nonce and ciphertext");
    }
    if ((st = ncsl__trust_json_only_keys(env, g_members, NCSL_ARRAY_LEN(g_members), bad, err)) !=
            NCSL_OK ||
        (st = ncsl__trust_json_string(env, "alg", 1, 128, &s, &n, bad, err)) != NCSL_OK) {
        return in_envelope(st, err);
    }
    if (n != sizeof(NCSL_KEYS_ENVELOPE_ALG) - 1 || memcmp(s, NCSL_KEYS_ENVELOPE_ALG, n) != 0) {
        return ncsl_err_set(err, bad, NCSL_KEYS_ENVELOPE_FIELD ".alg",
                            NCSL_KEYS_ENVELOPE_FIELD ": unsupported alg; this server accepts "
                                                     "\"" NCSL_KEYS_ENVELOPE_ALG "\"");
    }
    if ((st = ncsl__trust_json_hex(env, "encryptionKey", p->enc_pub, sizeof(p->enc_pub), bad,
                                   err)) != NCSL_OK) {
        return in_envelope(st, err);
    }
    uint8_t ours[NCSL_KEYS_X25519_SIZE];
    ncsl_keys_encryption_pub(keys, ours);
    if (memcmp(ours, p->enc_pub, sizeof(ours)) != 0) {
        char ours_hex[2 * NCSL_KEYS_X25519_SIZE + 1];
        if (ncsl_crypto_hex_encode(ours, sizeof(ours), ours_hex, sizeof(ours_hex), NULL) !=
            NCSL_OK) {
            ours_hex[0] = '\0'; /* cannot happen: the buffer fits */
        }
        return ncsl_err_set(err, bad, NCSL_KEYS_ENVELOPE_FIELD ".encryptionKey",
                            NCSL_KEYS_ENVELOPE_FIELD
                            ": the value was encrypted to another enclave's encryption key, not "
                            "this enclave's (%s): the enclave's key changed or the proof it was "
                            "encrypted with is another enclave's; verify a fresh attestation "
                            "proof (GET /api/v1/attestation) and encrypt again",
                            ours_hex);
    }
    if ((st = ncsl__trust_json_hex(env, "ephemeralKey", p->eph_pub, sizeof(p->eph_pub), bad,
                                   err)) != NCSL_OK ||
        (st = ncsl__trust_json_hex(env, "nonce", p->nonce, sizeof(p->nonce), bad, err)) !=
            NCSL_OK ||
        (st = ncsl__trust_json_string(env, "ciphertext", 0, SIZE_MAX, &s, &n, bad, err)) !=
            NCSL_OK) {
        return in_envelope(st, err);
    }
    /* Refuse an oversize value from its length alone, before decoding or decrypting it. */
    if (n > B64_LEN(max_plaintext + NCSL_KEYS_ENVELOPE_TAG_SIZE)) {
        return ncsl_err_set(err, NCSL_E_PAYLOAD_TOO_LARGE, NCSL_KEYS_ENVELOPE_FIELD ".ciphertext",
                            NCSL_KEYS_ENVELOPE_FIELD ": the value is larger than the limit of %zu "
                                                     "bytes",
                            max_plaintext);
    }
    if ((st = ncsl__trust_base64_decode(s, n, &p->ct, &p->ct_len, err)) != NCSL_OK) {
        if (st == bad && err) {
            char why[sizeof(err->message)];
            memcpy(why, err->message, sizeof(why));
            ncsl_err_set(err, st, "ciphertext",
                         "field \"ciphertext\" must be canonical standard base64 with padding "
                         "(%.200s)",
                         why);
        }
        return in_envelope(st, err);
    }
    if (p->ct_len < NCSL_KEYS_ENVELOPE_TAG_SIZE) {
        return ncsl_err_set(err, bad, NCSL_KEYS_ENVELOPE_FIELD ".ciphertext",
                            NCSL_KEYS_ENVELOPE_FIELD ": the ciphertext is %zu bytes, shorter "
                                                     "than the %u-byte tag it must end with",
                            p->ct_len, NCSL_KEYS_ENVELOPE_TAG_SIZE);
    }
    if (p->ct_len - NCSL_KEYS_ENVELOPE_TAG_SIZE > max_plaintext) {
        return ncsl_err_set(err, NCSL_E_PAYLOAD_TOO_LARGE, NCSL_KEYS_ENVELOPE_FIELD ".ciphertext",
                            NCSL_KEYS_ENVELOPE_FIELD ": the value is %zu bytes, more than the "
                                                     "limit of %zu bytes",
                            p->ct_len - NCSL_KEYS_ENVELOPE_TAG_SIZE, max_plaintext);
    }
    return NCSL_OK;
}

ncsl_status ncsl_keys_envelope_open(const ncsl_keys *keys, const json_t *envelope,
                                    const char *user_id, const char *name, size_t max_plaintext,
                                    char **plaintext, size_t *len, ncsl_err *err) {
    ncsl_status st = NCSL_OK;
    parsed p;
    uint8_t shared[NCSL_KEYS_X25519_SIZE];
    uint8_t key[KEY_SIZE];
    uint8_t aad[AAD_MAX];
    uint8_t *pt = NULL;
    size_t pt_len = 0;

    memset(&p, 0, sizeof(p));
    memset(shared, 0, sizeof(shared));
    memset(key, 0, sizeof(key));
    if (!plaintext || !len) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, !plaintext ? "plaintext" : "len",
                            "NULL output");
    }
    *plaintext = NULL;
    *len = 0;
    if (!keys) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "keys", "NULL argument");
    }
    if ((st = check_ids(user_id, name, err)) != NCSL_OK) {
        return st;
    }
    if (max_plaintext > NCSL_KEYS_ENVELOPE_MAX_PLAINTEXT) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "max_plaintext",
                            "max_plaintext must be at most %u bytes",
                            NCSL_KEYS_ENVELOPE_MAX_PLAINTEXT);
    }
    if ((st = parse(keys, envelope, max_plaintext, &p, err)) != NCSL_OK) {
        goto out;
    }
    st = ncsl_keys_ecdh(keys, p.eph_pub, shared, err);
    if (st == NCSL_E_KEY_INVALID) {
        st = ncsl_err_set(err, st, NCSL_KEYS_ENVELOPE_FIELD ".ephemeralKey",
                          NCSL_KEYS_ENVELOPE_FIELD ": ephemeralKey is not a usable X25519 public "
                                                   "key (a small-order point)");
    }
    if (st != NCSL_OK || (st = derive_key(shared, p.eph_pub, p.enc_pub, key, err)) != NCSL_OK) {
        goto out;
    }
    pt_len = p.ct_len - NCSL_KEYS_ENVELOPE_TAG_SIZE;
    pt = malloc(pt_len + 1);
    if (!pt) {
        st = ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
        goto out;
    }
    int rc = gcm(false, key, p.nonce, aad, make_aad(user_id, name, aad), p.ct, pt_len, pt);
    if (rc < 0) {
        st = ncsl_err_set(err, NCSL_E_CRYPTO, NULL, "AES-256-GCM decryption failed");
        goto out;
    }
    if (rc == 0) {
        st = ncsl_err_set(err, NCSL_E_INVALID_ARG, NCSL_KEYS_ENVELOPE_FIELD,
                          NCSL_KEYS_ENVELOPE_FIELD
                          ": the encrypted value does not authenticate: it was changed, or it "
                          "was encrypted for another user or another secret name (an envelope "
                          "is bound to both)");
        goto out;
    }
    pt[pt_len] = '\0';
    if (!ncsl__trust_utf8_valid((const char *)pt, pt_len)) {
        st = ncsl_err_set(err, NCSL_E_INVALID_ARG, NCSL_KEYS_ENVELOPE_FIELD,
                          NCSL_KEYS_ENVELOPE_FIELD
                          ": the decrypted value is not UTF-8 text without NUL bytes");
        goto out;
    }
    *plaintext = (char *)pt;
    *len = pt_len;
    pt = NULL;
out:
    if (pt) {
        ncsl_wipe(pt, pt_len + 1);
        free(pt);
    }
    free(p.ct);
    ncsl_wipe(shared, sizeof(shared));
    ncsl_wipe(key, sizeof(key));
    return st;
}

void ncsl_keys_envelope_free(char *plaintext, size_t len) {
    if (plaintext) {
        ncsl_wipe(plaintext, len + 1);
        free(plaintext);
    }
}
