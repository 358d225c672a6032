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

/* ------------------------------------------------------------------------- collateral */

#define NCSL__SGX_TCB_COMPONENTS 16

/* What a PCK certificate's SGX extension (1.2.840.113741.1.13.1) says about the platform. */
typedef struct ncsl__pck_ext {
    uint8_t comp_svn[NCSL__SGX_TCB_COMPONENTS]; /* .2.1 - .2.16 */
    uint16_t pce_svn;                           /* .2.17 */
    uint8_t cpu_svn[16];                        /* .2.18 */
    uint8_t pce_id[2];                          /* .3 */
    uint8_t fmspc[6];                           /* .4 */
} ncsl__pck_ext;

/* Parses the SGX extension of `cert` (borrowed): every field above must be present exactly once
 * and in range. Returns false with a reason in `why` otherwise. */
bool ncsl__attest_pck_ext_parse(X509 *cert, ncsl__pck_ext *out, char *why, size_t why_size);

/* Certificates from `data` (borrowed): one or more PEM "CERTIFICATE" blocks (read strictly, as
 * for the quote's chain), or exactly one DER certificate. At most `max` certificates. On success
 * *out is a new stack the caller frees with sk_X509_pop_free(..., X509_free). */
bool ncsl__attest_certs_parse(const uint8_t *data, size_t len, int max, STACK_OF(X509) * *out,
                              char *why, size_t why_size);

/* Seconds since the epoch for a proleptic Gregorian UTC date (no range checks). */
int64_t ncsl__attest_epoch(int64_t year, int month, int day, int hour, int min, int sec);
/* "2025-06-19T10:56:11Z"; `out` has at least 32 bytes. */
void ncsl__attest_fmt_time(int64_t t, char *out, size_t out_size);
/* An ASN1_TIME (borrowed) as seconds since the epoch. False when it cannot be converted. */
bool ncsl__attest_asn1_epoch(const ASN1_TIME *t, int64_t *out);

/* One level of tcbLevels (TCB info or QE identity). */
typedef struct ncsl__tcb_level {
    uint8_t comp_svn[NCSL__SGX_TCB_COMPONENTS]; /* TCB info only */
    uint16_t svn;                               /* pcesvn (TCB info) or isvsvn (QE identity) */
    ncsl_attest_tcb_status status;
    char tcb_date[32];
    char *advisories; /* owned; comma-separated advisory IDs, NULL when none */
} ncsl__tcb_level;

/* A parsed tcbInfo object (version 2 or 3, SGX). Owns `levels`. */
typedef struct ncsl__tcb_info {
    int version;
    int64_t issue_date;
    int64_t next_update;
    uint8_t fmspc[6];
    uint8_t pce_id[2];
    uint32_t tcb_eval_data_number;
    size_t level_count;
    ncsl__tcb_level *levels;
} ncsl__tcb_info;

/* A parsed enclaveIdentity object (version 2, id "QE"). Owns `levels`. */
typedef struct ncsl__qe_identity {
    int version;
    int64_t issue_date;
    int64_t next_update;
    uint32_t tcb_eval_data_number;
    uint8_t miscselect[4]; /* byte order as in the report body (and as in the hex string) */
    uint8_t miscselect_mask[4];
    uint8_t attributes[16];
    uint8_t attributes_mask[16];
    uint8_t mrsigner[32];
    uint16_t isvprodid;
    size_t level_count;
    ncsl__tcb_level *levels;
} ncsl__qe_identity;

/*
 * A signed JSON document: finds the signed body in `doc` (borrowed) and its signature. `doc` is
 * either {"<wrapper_key>": {...}, "signature": "<hex>"} (then `sig` must be NULL) or the bare
 * body (then `sig`, borrowed, is 64 raw bytes or 128 hex characters). *body gets a malloc'd
 * NUL-terminated copy of the exact signed bytes (caller frees with free()), *body_len its
 * length. `name` names the piece in messages. NCSL_E_ATTEST_COLLATERAL or NCSL_E_NOMEM.
 */
ncsl_status ncsl__attest_signed_json(const uint8_t *doc, size_t len, const char *wrapper_key,
                                     const uint8_t *sig, size_t sig_len, const char *name,
                                     uint8_t **body, size_t *body_len, uint8_t sig_out[64],
                                     ncsl_err *err);

/* Parses a tcbInfo body (borrowed). On success the caller cleans `out` up with
 * ncsl__attest_tcb_info_cleanup (also safe after a failure). */
ncsl_status ncsl__attest_tcb_info_parse(const uint8_t *body, size_t len, const char *name,
                                        ncsl__tcb_info *out, ncsl_err *err);
void ncsl__attest_tcb_info_cleanup(ncsl__tcb_info *t);

/* Parses an enclaveIdentity body (borrowed). Same ownership as the TCB info. */
ncsl_status ncsl__attest_qe_identity_parse(const uint8_t *body, size_t len, const char *name,
                                           ncsl__qe_identity *out, ncsl_err *err);
void ncsl__attest_qe_identity_cleanup(ncsl__qe_identity *q);

/* Index of the first level of `t` whose component SVNs and PCESVN are all <= the platform's,
 * or -1 when none is (the platform's TCB is not supported). */
long ncsl__attest_tcb_level_match(const ncsl__tcb_info *t, const ncsl__pck_ext *pck);
/* Index of the first level of `q` with isvsvn <= `isvsvn`, or -1. */
long ncsl__attest_qe_level_match(const ncsl__qe_identity *q, uint16_t isvsvn);

/* True when the QE report (384 bytes, borrowed) has the identity's mrsigner and isvprodid and
 * its masked miscselect and attributes equal the identity's. `why` names the first mismatch. */
bool ncsl__attest_qe_report_matches(const ncsl__qe_identity *q, const uint8_t *qe_report_raw,
                                    char *why, size_t why_size);

/*
 * Checks that `signer` (borrowed) is an Intel SGX TCB Signing certificate (subject CN "Intel SGX
 * TCB Signing", a P-256 key) issued directly by `pinned` (borrowed), valid at `at`, and that
 * `sig` (raw r || s) over `body` verifies with its key. Returns 1 valid, 0 invalid (reason in
 * `why`), -1 out of memory.
 */
int ncsl__attest_signed_by_tcb_signer(X509 *signer, X509 *pinned, int64_t at, const uint8_t *body,
                                      size_t body_len, const uint8_t sig[64], char *why,
                                      size_t why_size);

/* Loaded collateral (attest.h). Immutable after loading. */
struct ncsl_sgx_collateral {
    uint8_t *tcb_info_body; /* the exact signed bytes */
    size_t tcb_info_body_len;
    uint8_t tcb_info_sig[64];
    ncsl__tcb_info tcb_info;
    uint8_t *qe_identity_body;
    size_t qe_identity_body_len;
    uint8_t qe_identity_sig[64];
    ncsl__qe_identity qe_identity;
    STACK_OF(X509) * tcb_chain; /* [0] signs the TCB info */
    STACK_OF(X509) * qe_chain;  /* [0] signs the QE identity */
    X509_CRL *root_crl;
    X509_CRL *pck_crl;
    int64_t root_crl_issued, root_crl_next_update;
    int64_t pck_crl_issued, pck_crl_next_update;
    /* where each piece came from, for messages ("tcb_info.json", "tcb_info") */
    char tcb_info_name[64];
    char qe_identity_name[64];
    char tcb_chain_name[64];
    char qe_chain_name[64];
    char root_crl_name[64];
    char pck_crl_name[64];
};

/* Step 6 for a quote that passed steps 1-5: `chain` (leaf, intermediate, root; borrowed) verified
 * to `pinned` (borrowed) at v->checked_at. Fills the verdict's collateral fields; on failure
 * fills reason/failed_step like the other steps and returns the status. */
ncsl_status ncsl__attest_collateral_check(ncsl_quote_verdict *v, const ncsl_sgx_collateral *c,
                                          STACK_OF(X509) * chain, X509 *pinned,
                                          const ncsl_sgx_quote *q);

#endif /* NCSL_ATTEST_INT_H */
