/*
 * seal: AES-256-GCM blobs bound to the TEE installation (root key), the sealing policy and the
 * record they belong to (label). The byte format and key schedule are specified in seal.h; this
 * file is the only implementation of that contract.
 *
 * Order of checks in unseal: arguments, then the header (cheap, no key needed, specific errors),
 * then key derivation and one GCM pass. Plaintext is decrypted into a library buffer which is
 * wiped and freed if the tag does not verify, so unauthenticated bytes never reach the caller.
 * Derived keys live on the stack and are wiped on every path through the one `out:` label.
 */
#include "crypto/seal.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "common/common.h"
#include "crypto/crypto_int.h"

_Static_assert(sizeof(NCSL_SEAL_MAGIC) - 1 == NCSL_SEAL_MAGIC_SIZE, "magic is 8 bytes");
_Static_assert(NCSL_SEAL_OFF_NONCE + NCSL_SEAL_NONCE_SIZE == NCSL_SEAL_HEADER_SIZE,
               "header ends with the nonce");
_Static_assert(NCSL_SEAL_MAX_PLAIN <= (size_t)INT_MAX, "GCM update lengths are int");

#define INTEGRITY_MSG                                                                              \
    "sealed blob failed authentication (tampered, moved to another record, or sealed by another "  \
    "installation)"

static int policy_known(unsigned p) {
    return p == NCSL_SEAL_POLICY_MRENCLAVE || p == NCSL_SEAL_POLICY_MRSIGNER;
}

static ncsl_status check_root(const uint8_t *root_key, size_t root_len, ncsl_err *err) {
    if (!root_key || (root_len != 16 && root_len != 32)) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "root_key",
                            "seal root key must be 16 or 32 bytes (got %zu)",
                            root_key ? root_len : 0);
    }
    return NCSL_OK;
}

static ncsl_status check_label(const char *label, size_t *label_len, ncsl_err *err) {
    if (!label) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "aad_label", "seal label is required");
    }
    *label_len = strnlen(label, NCSL_SEAL_MAX_LABEL + 1);
    if (*label_len > NCSL_SEAL_MAX_LABEL) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "aad_label",
                            "seal label is longer than %u bytes", NCSL_SEAL_MAX_LABEL);
    }
    return NCSL_OK;
}

ncsl_status ncsl_seal_key(const uint8_t *root_key, size_t root_len, ncsl_seal_policy policy,
                          uint8_t key[NCSL_SEAL_KEY_SIZE], ncsl_err *err) {
    uint8_t info[sizeof(NCSL_SEAL_INFO)]; /* the 12 info characters + the policy byte */
    ncsl_status st = NCSL_OK;

    if (!key) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "key", "seal key: NULL output");
    }
    st = check_root(root_key, root_len, err);
    if (st != NCSL_OK) {
        goto out;
    }
    if (!policy_known((unsigned)policy)) {
        st = ncsl_err_set(err, NCSL_E_INVALID_ARG, "policy", "unknown sealing policy %d",
                          (int)policy);
        goto out;
    }
    memcpy(info, NCSL_SEAL_INFO, sizeof(info) - 1);
    info[sizeof(info) - 1] = (uint8_t)policy;
    st = ncsl_crypto_hkdf_sha256(root_key, root_len, NULL, 0, info, sizeof(info), key,
                                 NCSL_SEAL_KEY_SIZE, err);

out:
    if (st != NCSL_OK) {
        ncsl_wipe(key, NCSL_SEAL_KEY_SIZE);
    }
    return st;
}

ncsl_status ncsl_seal_blob_info(const uint8_t *blob, size_t blob_len, ncsl_seal_info *info,
                                ncsl_err *err) {
    if (info) {
        memset(info, 0, sizeof(*info));
    }
    if (!blob || !info) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, blob ? "info" : "blob",
                            "sealed blob: NULL argument");
    }
    if (blob_len < NCSL_SEAL_OVERHEAD) {
        return ncsl_err_set(err, NCSL_E_SEAL_MALFORMED, "blob.length",
                            "sealed blob is too short (%zu bytes, at least %u needed)", blob_len,
                            NCSL_SEAL_OVERHEAD);
    }
    if (memcmp(blob + NCSL_SEAL_OFF_MAGIC, NCSL_SEAL_MAGIC, NCSL_SEAL_MAGIC_SIZE) != 0) {
        return ncsl_err_set(err, NCSL_E_SEAL_MALFORMED, "blob.magic",
                            "not a sealed blob (wrong magic)");
    }
    if (blob[NCSL_SEAL_OFF_VERSION] != NCSL_SEAL_VERSION) {
        return ncsl_err_set(err, NCSL_E_SEAL_VERSION, "blob.version",
                            "sealed blob has format version %u; this build reads version %u",
                            (unsigned)blob[NCSL_SEAL_OFF_VERSION], NCSL_SEAL_VERSION);
    }
    if (!policy_known(blob[NCSL_SEAL_OFF_POLICY])) {
        return ncsl_err_set(err, NCSL_E_SEAL_POLICY, "blob.policy",
                            "sealed blob names unknown sealing policy %u",
                            (unsigned)blob[NCSL_SEAL_OFF_POLICY]);
    }
    if (blob[NCSL_SEAL_OFF_RESERVED] != 0 || blob[NCSL_SEAL_OFF_RESERVED + 1] != 0) {
        return ncsl_err_set(err, NCSL_E_SEAL_MALFORMED, "blob.reserved",
                            "sealed blob has non-zero reserved bytes");
    }
    if (blob_len - NCSL_SEAL_OVERHEAD > NCSL_SEAL_MAX_PLAIN) {
        return ncsl_err_set(err, NCSL_E_SEAL_MALFORMED, "blob.length",
                            "sealed blob is larger than the %u-byte plaintext limit allows",
                            NCSL_SEAL_MAX_PLAIN);
    }
    info->version = blob[NCSL_SEAL_OFF_VERSION];
    info->policy = (ncsl_seal_policy)blob[NCSL_SEAL_OFF_POLICY];
    info->plain_len = blob_len - NCSL_SEAL_OVERHEAD;
    return NCSL_OK;
}

ncsl_status ncsl_seal(const uint8_t *root_key, size_t root_len, ncsl_seal_policy policy,
                      const char *aad_label, const uint8_t *plain, size_t plain_len, uint8_t **blob,
                      size_t *blob_len, ncsl_err *err) {
    ncsl_status st = NCSL_OK;
    uint8_t key[NCSL_SEAL_KEY_SIZE];
    EVP_CIPHER_CTX *ctx = NULL;
    uint8_t *b = NULL;
    size_t label_len = 0;
    size_t total = 0;
    int n = 0;

    memset(key, 0, sizeof(key));
    if (blob) {
        *blob = NULL;
    }
    if (blob_len) {
        *blob_len = 0;
    }
    if (!blob || !blob_len) {
        st = ncsl_err_set(err, NCSL_E_INVALID_ARG, blob ? "blob_len" : "blob", "seal: NULL output");
        goto out;
    }
    if (!plain && plain_len) {
        st = ncsl_err_set(err, NCSL_E_INVALID_ARG, "plain", "seal: NULL plaintext");
        goto out;
    }
    if (plain_len > NCSL_SEAL_MAX_PLAIN) {
        st =
            ncsl_err_set(err, NCSL_E_PAYLOAD_TOO_LARGE, "plain",
                         "plaintext is larger than the %u-byte sealing limit", NCSL_SEAL_MAX_PLAIN);
        goto out;
    }
    st = check_label(aad_label, &label_len, err);
    if (st != NCSL_OK) {
        goto out;
    }
    /* Validates root_key and policy too. */
    st = ncsl_seal_key(root_key, root_len, policy, key, err);
    if (st != NCSL_OK) {
        goto out;
    }

    total = plain_len + NCSL_SEAL_OVERHEAD;
    b = malloc(total);
    if (!b) {
        st = ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory for a %zu-byte sealed blob",
                          total);
        goto out;
    }
    memcpy(b + NCSL_SEAL_OFF_MAGIC, NCSL_SEAL_MAGIC, NCSL_SEAL_MAGIC_SIZE);
    b[NCSL_SEAL_OFF_VERSION] = NCSL_SEAL_VERSION;
    b[NCSL_SEAL_OFF_POLICY] = (uint8_t)policy;
    b[NCSL_SEAL_OFF_RESERVED] = 0;
    b[NCSL_SEAL_OFF_RESERVED + 1] = 0;
    st = ncsl_crypto_random(b + NCSL_SEAL_OFF_NONCE, NCSL_SEAL_NONCE_SIZE, err);
    if (st != NCSL_OK) {
        goto out;
    }

    ctx = EVP_CIPHER_CTX_new();
    if (!ctx) {
        st = ncsl__crypto_fail(err, "seal: cipher context");
        goto out;
    }
    /* The default GCM IV length is 12 bytes, which is our nonce size. */
    if (EVP_EncryptInit_ex2(ctx, EVP_aes_256_gcm(), key, b + NCSL_SEAL_OFF_NONCE, NULL) != 1) {
        st = ncsl__crypto_fail(err, "seal: AES-256-GCM init");
        goto out;
    }
    if (EVP_EncryptUpdate(ctx, NULL, &n, b, (int)NCSL_SEAL_HEADER_SIZE) != 1 ||
        (label_len &&
         EVP_EncryptUpdate(ctx, NULL, &n, (const uint8_t *)aad_label, (int)label_len) != 1)) {
        st = ncsl__crypto_fail(err, "seal: AES-256-GCM AAD");
        goto out;
    }
    if (plain_len) {
        if (EVP_EncryptUpdate(ctx, b + NCSL_SEAL_OFF_CIPHERTEXT, &n, plain, (int)plain_len) != 1 ||
            (size_t)n != plain_len) {
            st = ncsl__crypto_fail(err, "seal: AES-256-GCM encrypt");
            goto out;
        }
    }
    if (EVP_EncryptFinal_ex(ctx, b + NCSL_SEAL_OFF_CIPHERTEXT + plain_len, &n) != 1 || n != 0) {
        st = ncsl__crypto_fail(err, "seal: AES-256-GCM final");
        goto out;
    }
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, (int)NCSL_SEAL_TAG_SIZE,
                            b + NCSL_SEAL_OFF_CIPHERTEXT + plain_len) != 1) {
        st = ncsl__crypto_fail(err, "seal: AES-256-GCM tag");
        goto out;
    }
    *blob = b;
    *blob_len = total;
    b = NULL;

out:
    free(b);                  /* only on failure: holds at most ciphertext, never plaintext */
    EVP_CIPHER_CTX_free(ctx); /* cleanses the expanded key schedule */
    ncsl_wipe(key, sizeof(key));
    return st;
}

ncsl_status ncsl_unseal(const uint8_t *root_key, size_t root_len, const char *aad_label,
                        const uint8_t *blob, size_t blob_len, uint8_t **plain, size_t *plain_len,
                        ncsl_err *err) {
    ncsl_status st = NCSL_OK;
    uint8_t key[NCSL_SEAL_KEY_SIZE];
    uint8_t tag[NCSL_SEAL_TAG_SIZE];
    EVP_CIPHER_CTX *ctx = NULL;
    ncsl_seal_info info;
    uint8_t *p = NULL;
    size_t label_len = 0;
    size_t ct_len = 0;
    int n = 0;

    memset(key, 0, sizeof(key));
    if (plain) {
        *plain = NULL;
    }
    if (plain_len) {
        *plain_len = 0;
    }
    if (!plain || !plain_len) {
        st = ncsl_err_set(err, NCSL_E_INVALID_ARG, plain ? "plain_len" : "plain",
                          "unseal: NULL output");
        goto out;
    }
    st = check_root(root_key, root_len, err);
    if (st != NCSL_OK) {
        goto out;
    }
    st = check_label(aad_label, &label_len, err);
    if (st != NCSL_OK) {
        goto out;
    }
    st = ncsl_seal_blob_info(blob, blob_len, &info, err);
    if (st != NCSL_OK) {
        goto out;
    }
    ct_len = info.plain_len;
    st = ncsl_seal_key(root_key, root_len, info.policy, key, err);
    if (st != NCSL_OK) {
        goto out;
    }

    p = malloc(ct_len + 1);
    if (!p) {
        st = ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory for %zu bytes of unsealed data",
                          ct_len);
        goto out;
    }
    /* The tag is copied out because OpenSSL's SET_TAG takes a non-const pointer. */
    memcpy(tag, blob + NCSL_SEAL_OFF_CIPHERTEXT + ct_len, sizeof(tag));

    ctx = EVP_CIPHER_CTX_new();
    if (!ctx) {
        st = ncsl__crypto_fail(err, "unseal: cipher context");
        goto out;
    }
    if (EVP_DecryptInit_ex2(ctx, EVP_aes_256_gcm(), key, blob + NCSL_SEAL_OFF_NONCE, NULL) != 1) {
        st = ncsl__crypto_fail(err, "unseal: AES-256-GCM init");
        goto out;
    }
    if (EVP_DecryptUpdate(ctx, NULL, &n, blob, (int)NCSL_SEAL_HEADER_SIZE) != 1 ||
        (label_len &&
         EVP_DecryptUpdate(ctx, NULL, &n, (const uint8_t *)aad_label, (int)label_len) != 1)) {
        st = ncsl__crypto_fail(err, "unseal: AES-256-GCM AAD");
        goto out;
    }
    if (ct_len) {
        if (EVP_DecryptUpdate(ctx, p, &n, blob + NCSL_SEAL_OFF_CIPHERTEXT, (int)ct_len) != 1 ||
            (size_t)n != ct_len) {
            st = ncsl__crypto_fail(err, "unseal: AES-256-GCM decrypt");
            goto out;
        }
    }
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, (int)sizeof(tag), tag) != 1) {
        st = ncsl__crypto_fail(err, "unseal: AES-256-GCM tag");
        goto out;
    }
    /* The one check that matters: Final verifies the tag over AAD and ciphertext. */
    if (EVP_DecryptFinal_ex(ctx, p + ct_len, &n) != 1) {
        ERR_clear_error(); /* a tag mismatch is data, not an OpenSSL fault */
        st = ncsl_err_set(err, NCSL_E_SEAL_INTEGRITY, "blob", INTEGRITY_MSG);
        goto out;
    }
    p[ct_len] = '\0';
    *plain = p;
    *plain_len = ct_len;
    p = NULL;

out:
    if (p) {
        ncsl_wipe(p, ct_len + 1); /* decrypted but unauthenticated bytes */
        free(p);
    }
    EVP_CIPHER_CTX_free(ctx);
    ncsl_wipe(key, sizeof(key));
    return st;
}

void ncsl_seal_blob_free(uint8_t *blob) {
    free(blob);
}

void ncsl_unseal_free(uint8_t *plain, size_t len) {
    if (plain) {
        ncsl_wipe(plain, len + 1);
        free(plain);
    }
}
