/*
 * seal: AES-256-GCM sealing of data to this TEE installation and to one record (DESIGN.md 6).
 *
 * ---------------------------------------------------------------------------------------------
 * Sealed blob format, version 1. THIS IS A CONTRACT: stored data and the `ncsl seal`/`unseal`
 * CLI depend on it. Never change it in place; a new layout gets a new version byte.
 *
 *   offset  size  field
 *   0       8     magic     "NCSLSEAL" (ASCII 4E 43 53 4C 53 45 41 4C, no NUL)
 *   8       1     version   0x01
 *   9       1     policy    0x01 = MRENCLAVE, 0x02 = MRSIGNER (ncsl_seal_policy)
 *   10      2     reserved  0x00 0x00 (any other value is rejected)
 *   12      12    nonce     random, fresh for every seal (the GCM IV)
 *   24      n     ciphertext, n = plaintext length (0 .. NCSL_SEAL_MAX_PLAIN)
 *   24+n    16    tag       the GCM authentication tag
 *
 *   blob length = n + 40 (NCSL_SEAL_OVERHEAD). Multi-byte fields: none need an order (reserved is
 *   all zero); if reserved ever becomes a number it is big-endian.
 *
 * Key:  K = HKDF-SHA256(IKM  = the TEE seal root key for `policy` (16 or 32 bytes),
 *                       salt = none (RFC 5869: 32 zero bytes),
 *                       info = "ncsl-seal-v1" (12 ASCII bytes, no NUL) || policy byte)  -> 32 B
 * AEAD: AES-256-GCM, key K, 96-bit IV = nonce, 128-bit tag,
 *       AAD = blob[0..24) (the whole header, magic..nonce) || label (its bytes, no NUL).
 *
 * So no header field can be changed, a blob moved to another record (another label) fails, and a
 * blob from another installation (another root key) fails: all as one integrity error.
 * ---------------------------------------------------------------------------------------------
 *
 * The label is the record's identity, e.g. "secret/<user>/<name>": the same string must be given
 * to unseal. It is authenticated, not encrypted, and is not stored in the blob.
 *
 * The root key is supplied by the caller (the TEE layer's seal_key(policy)): on SGX it already
 * differs per policy; the policy byte in `info` keeps the two derived keys apart on backends
 * (sim) that have one root secret. The caller picks the root key for the blob's policy, which
 * ncsl_seal_blob_info reads from the header before unsealing.
 */
#ifndef NCSL_SEAL_H
#define NCSL_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "ncsl/ncsl.h"

typedef enum ncsl_seal_policy {
    NCSL_SEAL_POLICY_MRENCLAVE = 1, /* only this exact enclave build can unseal */
    NCSL_SEAL_POLICY_MRSIGNER = 2,  /* any enclave from the same signer (survives upgrades) */
} ncsl_seal_policy;

#define NCSL_SEAL_MAGIC "NCSLSEAL"
#define NCSL_SEAL_MAGIC_SIZE 8u
#define NCSL_SEAL_VERSION 1u
#define NCSL_SEAL_NONCE_SIZE 12u
#define NCSL_SEAL_TAG_SIZE 16u
#define NCSL_SEAL_HEADER_SIZE 24u                                       /* magic..nonce */
#define NCSL_SEAL_OVERHEAD (NCSL_SEAL_HEADER_SIZE + NCSL_SEAL_TAG_SIZE) /* 40 */
#define NCSL_SEAL_KEY_SIZE 32u
#define NCSL_SEAL_INFO "ncsl-seal-v1"             /* HKDF info prefix; the policy byte follows */
#define NCSL_SEAL_MAX_PLAIN (64u * 1024u * 1024u) /* 64 MiB */
#define NCSL_SEAL_MAX_LABEL 1024u                 /* bytes, without the NUL */

/* Byte offsets in the header (see the table above). */
#define NCSL_SEAL_OFF_MAGIC 0u
#define NCSL_SEAL_OFF_VERSION 8u
#define NCSL_SEAL_OFF_POLICY 9u
#define NCSL_SEAL_OFF_RESERVED 10u
#define NCSL_SEAL_OFF_NONCE 12u
#define NCSL_SEAL_OFF_CIPHERTEXT 24u

/* What the header says; no authentication has happened yet when this is filled. */
typedef struct ncsl_seal_info {
    unsigned version;
    ncsl_seal_policy policy;
    size_t plain_len; /* length of the plaintext unseal would return */
} ncsl_seal_info;

/*
 * Derives the 32-byte sealing key for `policy` from the TEE root key (borrowed, root_len 16 or
 * 32) into `key` (caller-owned; a secret: wipe it with ncsl_wipe after use). On failure `key` is
 * wiped. Errors: NCSL_E_INVALID_ARG (root_len, policy), NCSL_E_CRYPTO.
 * ncsl_seal/ncsl_unseal call this themselves; it is public for tests and for tools.
 */
NCSL_NODISCARD ncsl_status ncsl_seal_key(const uint8_t *root_key, size_t root_len,
                                         ncsl_seal_policy policy, uint8_t key[NCSL_SEAL_KEY_SIZE],
                                         ncsl_err *err);

/*
 * Seals `plain_len` bytes at `plain` (borrowed; NULL allowed when plain_len is 0) for the record
 * `aad_label` (borrowed NUL-terminated string, 0..NCSL_SEAL_MAX_LABEL bytes; "" is allowed but
 * then nothing binds the blob to a record).
 * root_key: borrowed, 16 or 32 bytes. policy: NCSL_SEAL_POLICY_MRENCLAVE or _MRSIGNER.
 * On success *blob is a new buffer of *blob_len = plain_len + NCSL_SEAL_OVERHEAD bytes; the
 * caller frees it with ncsl_seal_blob_free (or free()). On failure *blob is NULL and *blob_len 0.
 * Errors: NCSL_E_INVALID_ARG (field names the argument), NCSL_E_PAYLOAD_TOO_LARGE (plaintext
 * over NCSL_SEAL_MAX_PLAIN), NCSL_E_NOMEM, NCSL_E_CRYPTO (OpenSSL or the random generator).
 */
NCSL_NODISCARD ncsl_status ncsl_seal(const uint8_t *root_key, size_t root_len,
                                     ncsl_seal_policy policy, const char *aad_label,
                                     const uint8_t *plain, size_t plain_len, uint8_t **blob,
                                     size_t *blob_len, ncsl_err *err);

/*
 * Unseals a blob made by ncsl_seal. root_key (borrowed, 16 or 32 bytes) must be the root key for
 * the blob's policy; aad_label (borrowed) must be the label it was sealed with; blob is borrowed.
 * The header is parsed strictly first, each problem with its own status (ncsl_err.field says
 * which part: "blob.length", "blob.magic", "blob.version", "blob.policy", "blob.reserved"):
 *   NCSL_E_SEAL_MALFORMED  shorter than 40 bytes, wrong magic, non-zero reserved, or a
 *                          ciphertext longer than NCSL_SEAL_MAX_PLAIN;
 *   NCSL_E_SEAL_VERSION    a version this build does not know (sealed by a newer NCSL);
 *   NCSL_E_SEAL_POLICY     a policy byte that is neither 1 nor 2;
 *   NCSL_E_SEAL_INTEGRITY  GCM authentication failed: "sealed blob failed authentication
 *                          (tampered, moved to another record, or sealed by another
 *                          installation)";
 * and NCSL_E_INVALID_ARG, NCSL_E_NOMEM, NCSL_E_CRYPTO.
 * On success *plain is a new buffer (never NULL, also for an empty plaintext) holding *plain_len
 * bytes followed by one NUL byte (not counted), so text can be used as a C string; the caller
 * frees it with ncsl_unseal_free(*plain, *plain_len), which wipes it. On any failure *plain is
 * NULL and *plain_len 0: no unauthenticated byte ever reaches the caller.
 */
NCSL_NODISCARD ncsl_status ncsl_unseal(const uint8_t *root_key, size_t root_len,
                                       const char *aad_label, const uint8_t *blob, size_t blob_len,
                                       uint8_t **plain, size_t *plain_len, ncsl_err *err);

/*
 * Parses and checks the header of `blob` (borrowed) without any key: fills *info (caller-owned)
 * so the caller can fetch the root key for info->policy before ncsl_unseal. Same header errors
 * as ncsl_unseal (NCSL_E_SEAL_MALFORMED, _VERSION, _POLICY). Nothing is authenticated yet: do
 * not trust *info before ncsl_unseal succeeds.
 */
NCSL_NODISCARD ncsl_status ncsl_seal_blob_info(const uint8_t *blob, size_t blob_len,
                                               ncsl_seal_info *info, ncsl_err *err);

/* Frees a blob returned by ncsl_seal (takes ownership). NULL does nothing. A blob holds no
 * plaintext, so it is not wiped. */
void ncsl_seal_blob_free(uint8_t *blob);

/* Wipes `len` bytes (the *plain_len ncsl_unseal gave) plus the trailing NUL and frees `plain`
 * (takes ownership). NULL does nothing. */
void ncsl_unseal_free(uint8_t *plain, size_t len);

#endif
