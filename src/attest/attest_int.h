/*
 * Internals of src/attest shared across its files (ncsl__attest_*). Not for other subsystems.
 */
#ifndef NCSL_ATTEST_INT_H
#define NCSL_ATTEST_INT_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "attest/attest.h"
#include "common/common.h"

/* Quote offsets (REFERENCE.md section 3). */
#define ATT_OFF_VERSION 0
#define ATT_OFF_KEY_TYPE 2
#define ATT_OFF_TEE_TYPE 4
#define ATT_OFF_QE_SVN 8
#define ATT_OFF_PCE_SVN 10
#define ATT_OFF_QE_VENDOR 12
#define ATT_OFF_USER_DATA 28
#define ATT_OFF_REPORT 48
#define ATT_OFF_SIG_LEN 432
#define ATT_OFF_ISV_SIG 436
#define ATT_OFF_ATT_KEY 500
#define ATT_OFF_QE_REPORT 564
#define ATT_OFF_QE_REPORT_SIG 948
#define ATT_OFF_QE_AUTH 1012

/* Little-endian loads; `p` must have 2/4/8 readable bytes (callers bound-check first). */
uint16_t ncsl__attest_le16(const uint8_t *p);
uint32_t ncsl__attest_le32(const uint8_t *p);
uint64_t ncsl__attest_le64(const uint8_t *p);

/* Builds a P-256 public key from raw x || y (64 bytes, borrowed). Returns NULL when the point is
 * not on the curve or on allocation failure; the caller frees with EVP_PKEY_free. */
EVP_PKEY *ncsl__attest_p256_from_raw(const uint8_t xy[64]);

/* True when `pkey` (borrowed) is an EC key on P-256. */
bool ncsl__attest_pkey_is_p256(const EVP_PKEY *pkey);

/* ECDSA-P256-SHA256 check of `msg` (borrowed) against the raw r || s signature `rs` (64 bytes,
 * borrowed). Returns 1 valid, 0 invalid, -1 on an internal failure (out of memory). */
int ncsl__attest_ecdsa_verify_raw(EVP_PKEY *pkey, const uint8_t *msg, size_t msg_len,
                                  const uint8_t rs[64]);

/* Parses a PEM chain of exactly 3 "CERTIFICATE" blocks (`pem` borrowed, need not be
 * NUL-terminated; text between blocks is ignored, but each block must decode to exactly one DER
 * certificate and carry no headers). On success *out is a new stack the caller frees with
 * sk_X509_pop_free(..., X509_free). Returns false (and a reason in `why`) on any error. */
bool ncsl__attest_pem_chain_parse(const char *pem, size_t len, STACK_OF(X509) * *out, char *why,
                                  size_t why_size);

/* Reads the 6-byte FMSPC from a PCK certificate's SGX extension (1.2.840.113741.1.13.1.4).
 * `cert` is borrowed. Returns false when the certificate has none or it is malformed. */
bool ncsl__attest_pck_fmspc(X509 *cert, uint8_t fmspc[6]);

#endif /* NCSL_ATTEST_INT_H */
