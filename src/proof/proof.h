/*
 * proof: attestation proofs (DESIGN.md section 5). A proof binds the enclave identity keys
 * (src/keys) to a TEE quote: whoever verifies it learns that those keys live in an enclave with
 * the quoted measurement, and (with a nonce they chose) that the proof is fresh.
 *
 * ---------------------------------------------------------------------------------------------
 * The proof, version 1 (a JSON object; every member required, no others allowed):
 *   version        1
 *   teeType        "simulation" | "sgx-occlum" | "sgx-gramine"
 *   enclaveId      lowercase hex of the first 16 bytes of SHA-256(signingKey's 33 bytes):
 *                  a short, stable name for this identity (32 hex characters)
 *   mrEnclave      hex, 32 bytes  } copied from the quote's ISV report body, so a reader need
 *   mrSigner       hex, 32 bytes  } not parse the quote; the verifier requires them to equal
 *   isvProdId      integer 0..65535 } the quote's
 *   isvSvn         integer 0..65535 }
 *   debug          boolean          }
 *   nonce          hex, 0..64 bytes (the caller's challenge; "" when none)
 *   signingKey     hex, 33 bytes: the P-256 compressed public key that signs receipts
 *   encryptionKey  hex, 32 bytes: the X25519 public key clients encrypt secrets to
 *   reportData     hex, 64 bytes: SHA-256("NCSL-ATTEST-v1" || nonce || signingKey ||
 *                  encryptionKey) || 32 zero bytes (the strings are ASCII without NUL, the keys
 *                  their raw bytes); the quote's report_data
 *   quote          standard base64 (with padding) of the raw DCAP v3 quote
 *   timestamp      RFC 3339 UTC with milliseconds, "2026-11-24T15:00:00.123Z": when the proof
 *                  was made. Informational: it is NOT covered by the quote (freshness comes
 *                  from the nonce)
 * Hex is lowercase. Output member order is the order above.
 * ---------------------------------------------------------------------------------------------
 *
 * Verification (ncsl_proof_verify) runs these checks in order; the verdict's reason is the first
 * that failed, and every check that can run still runs, so the verdict's booleans are complete:
 *   1. format     the JSON as above, strictly (types, lengths, lowercase hex, valid point,
 *                 canonical base64 and timestamp; error names the field);
 *   2. quote      ncsl_attest_quote_verify (signatures, QE binding, PCK chain to the pinned root;
 *                 simulation quotes only with allow_simulation + the installation's root);
 *   3. teeType    "simulation" if and only if the quote verified as simulation;
 *   4. reportData the quote's report_data == the recomputed value == the reportData field;
 *   5. enclaveId  equals the value derived from signingKey;
 *   6. measurement mrEnclave, mrSigner, isvProdId, isvSvn, debug equal the quote's;
 *   7. debug      a DEBUG enclave (its memory is readable by the host) only with allow_debug;
 *   8. expected   the caller's expected nonce, mrEnclave, mrSigner and signing key, if given.
 *
 * Thread safety: every function may be called concurrently (the TEE and keys handles allow it;
 * nothing here keeps state).
 */
#ifndef NCSL_PROOF_H
#define NCSL_PROOF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "attest/attest.h"
#include "keys/keys.h"
#include "ncsl/ncsl.h"
#include "tee/tee.h"

#define NCSL_PROOF_VERSION 1
#define NCSL_PROOF_DOMAIN "NCSL-ATTEST-v1"
#define NCSL_PROOF_MAX_NONCE 64u
#define NCSL_PROOF_ENCLAVE_ID_SIZE 16u /* bytes; 32 hex characters */
#define NCSL_PROOF_MAX_QUOTE 65536u    /* bytes of decoded quote a verifier accepts */
#define NCSL_PROOF_TEE_TYPE_SIZE 16u   /* longest teeType plus NUL */

/*
 * reportData for a nonce (borrowed, 0..64 bytes; NULL when nonce_len is 0) and the two public
 * keys (borrowed): SHA-256(NCSL_PROOF_DOMAIN || nonce || signing_pub || enc_pub) || 32 zero
 * bytes, into `out` (caller-owned). Errors: NCSL_E_INVALID_ARG (field "nonce"), NCSL_E_CRYPTO.
 */
NCSL_NODISCARD ncsl_status ncsl_proof_report_data(
    const uint8_t *nonce, size_t nonce_len, const uint8_t signing_pub[NCSL_KEYS_P256_PUB_SIZE],
    const uint8_t enc_pub[NCSL_KEYS_X25519_SIZE], uint8_t out[NCSL_TEE_REPORT_DATA_SIZE],
    ncsl_err *err);

/* The enclaveId (32 lowercase hex characters + NUL) of a signing key (borrowed) into `out`
 * (caller-owned). Errors: NCSL_E_CRYPTO. */
NCSL_NODISCARD ncsl_status ncsl_proof_enclave_id(const uint8_t signing_pub[NCSL_KEYS_P256_PUB_SIZE],
                                                 char out[2 * NCSL_PROOF_ENCLAVE_ID_SIZE + 1],
                                                 ncsl_err *err);

/* The teeType a proof from `tee` (borrowed) carries: "simulation" for a simulation-kind backend,
 * "sgx-occlum" / "sgx-gramine" for the hardware backends named "occlum" / "gramine" (or already
 * so named). Static string, or NULL for a backend this version cannot name. */
const char *ncsl_proof_tee_type(const ncsl_tee *tee);

/*
 * Makes a proof: reportData from the nonce and `keys`' public keys, a quote over it from `tee`,
 * the measurement from the quote itself (so the JSON and the quote cannot disagree), and the
 * current time. `tee` and `keys` are borrowed; `nonce` is borrowed (0..64 bytes, NULL when
 * nonce_len is 0). On success *out is a new JSON object (caller frees with json_decref).
 * Errors: NCSL_E_INVALID_ARG (field "nonce", ...), NCSL_E_UNSUPPORTED (a backend without a
 * teeType), NCSL_E_TEE (the quote does not carry our reportData), NCSL_E_NOMEM, NCSL_E_CRYPTO,
 * and the errors of ncsl_tee_get_quote and ncsl_attest_quote_parse.
 */
NCSL_NODISCARD ncsl_status ncsl_proof_create(ncsl_tee *tee, const ncsl_keys *keys,
                                             const uint8_t *nonce, size_t nonce_len, json_t **out,
                                             ncsl_err *err);

/* Options for ncsl_proof_verify. Caller-owned; fill with ncsl_proof_verify_opts_default. Every
 * pointer is borrowed for the call. */
typedef struct ncsl_proof_verify_opts {
    /* How the quote is checked: pinned root, "as of" time, allow_simulation and the simulation
     * root (see attest.h). Defaults: Intel's root, now, simulation refused. */
    ncsl_quote_verify_opts quote;
    /* Accept an enclave with the DEBUG attribute (default false). */
    bool allow_debug;
    /* When check_nonce is true, the proof's nonce must equal these expected_nonce_len bytes
     * (0..64; NULL only when the length is 0). */
    bool check_nonce;
    const uint8_t *expected_nonce;
    size_t expected_nonce_len;
    /* NULL, or the value the proof must carry: 32, 32 and 33 bytes. */
    const uint8_t *expected_mr_enclave;
    const uint8_t *expected_mr_signer;
    const uint8_t *expected_signing_key;
} ncsl_proof_verify_opts;

/* Defaults as stated above. `opts` is borrowed. */
void ncsl_proof_verify_opts_default(ncsl_proof_verify_opts *opts);

/* The check that failed (ncsl_proof_verdict.failed_check), in verification order. */
typedef enum ncsl_proof_check {
    NCSL_PROOF_CHECK_NONE = 0,
    NCSL_PROOF_CHECK_FORMAT = 1,
    NCSL_PROOF_CHECK_QUOTE = 2,
    NCSL_PROOF_CHECK_TEE_TYPE = 3,
    NCSL_PROOF_CHECK_REPORT_DATA = 4,
    NCSL_PROOF_CHECK_ENCLAVE_ID = 5,
    NCSL_PROOF_CHECK_MEASUREMENT = 6,
    NCSL_PROOF_CHECK_DEBUG = 7,
    NCSL_PROOF_CHECK_EXPECTED = 8,
    NCSL_PROOF_CHECK_SETUP = 20, /* not the proof's fault: bad options, out of memory */
} ncsl_proof_check;

/* Static lowercase name of a check ("format", "quote", "teeType", "reportData", "enclaveId",
 * "measurement", "debug", "expected", "setup"; "" for NONE). */
const char *ncsl_proof_check_name(ncsl_proof_check c);

/*
 * The outcome of ncsl_proof_verify. Caller-owned; every field is a copy. The proof's fields are
 * filled when `fields_present` (the JSON parsed), also when the proof is rejected: trust them
 * only when `valid`.
 */
typedef struct ncsl_proof_verdict {
    bool valid;
    ncsl_proof_check failed_check;
    char reason[512]; /* "" when valid */
    char field[64];   /* the JSON field at fault, "" when none */
    /* The quote's verdict (quote.valid, quote.tee_kind, quote.reason, its report body fields
     * when quote.fields_present). */
    ncsl_quote_verdict quote;
    /* Individual checks (false also when they could not run). */
    bool tee_type_matches;
    bool report_data_matches;
    bool enclave_id_matches;
    bool measurement_matches;
    /* The proof's fields. */
    bool fields_present;
    char tee_type[NCSL_PROOF_TEE_TYPE_SIZE];
    char enclave_id[2 * NCSL_PROOF_ENCLAVE_ID_SIZE + 1];
    uint8_t mr_enclave[32];
    uint8_t mr_signer[32];
    uint16_t isv_prod_id;
    uint16_t isv_svn;
    bool debug;
    uint8_t nonce[NCSL_PROOF_MAX_NONCE];
    size_t nonce_len;
    uint8_t signing_key[NCSL_KEYS_P256_PUB_SIZE];
    uint8_t encryption_key[NCSL_KEYS_X25519_SIZE];
    uint8_t report_data[NCSL_TEE_REPORT_DATA_SIZE];
    char timestamp[32];
} ncsl_proof_verdict;

/*
 * Verifies a proof (checks in the order listed at the top). `proof` and `opts` (NULL: defaults)
 * are borrowed; `out` is caller-owned and always fully written.
 * Returns NCSL_OK only when the proof is valid. Otherwise:
 *   NCSL_E_PROOF_MALFORMED  check 1 failed (err->field names the JSON field);
 *   NCSL_E_ATTEST_*         check 2 failed (the quote verifier's status);
 *   NCSL_E_PROOF_INVALID    checks 3-8;
 *   NCSL_E_INVALID_ARG, NCSL_E_NOMEM, NCSL_E_CRYPTO: the proof was not judged (failed_check
 *                           SETUP), e.g. an unusable root PEM (field names the option).
 * The verdict's reason is copied into err->message.
 */
NCSL_NODISCARD ncsl_status ncsl_proof_verify(const json_t *proof,
                                             const ncsl_proof_verify_opts *opts,
                                             ncsl_proof_verdict *out, ncsl_err *err);

/* As ncsl_proof_verify for JSON text (`text`, borrowed, `len` bytes, need not be NUL-terminated);
 * duplicate member names are refused (NCSL_E_PROOF_MALFORMED), as is text that is not one JSON
 * object. */
NCSL_NODISCARD ncsl_status ncsl_proof_verify_text(const char *text, size_t len,
                                                  const ncsl_proof_verify_opts *opts,
                                                  ncsl_proof_verdict *out, ncsl_err *err);

/*
 * The verdict as the JSON an API or CLI returns (caller frees with json_decref; NULL when out of
 * memory):
 *   {valid, reason (null when valid), failedCheck (null when valid), field (null or the JSON
 *    field), teeType, verifiedTeeKind ("simulation" | "sgx" | null: what the quote proved),
 *    enclaveId, mrEnclave, mrSigner, isvProdId, isvSvn, debug, nonce, signingKey, encryptionKey,
 *    timestamp, quoteValid, quoteReason (null when the quote verified), teeTypeMatches,
 *    reportDataMatches, enclaveIdMatches, measurementMatches, collateralChecked, checkedAt
 *    (RFC 3339, the time the certificate chain was checked at), note}
 * The proof's fields are null when the JSON did not parse.
 */
json_t *ncsl_proof_verdict_to_json(const ncsl_proof_verdict *v);

#endif /* NCSL_PROOF_H */
