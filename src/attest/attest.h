/*
 * Intel SGX DCAP ECDSA quotes (version 3): a bounds-checked parser and a verifier.
 *
 * Layout and verification order: REFERENCE.md section 3 (from Intel's sgx_quote_3.h).
 *
 * What ncsl_attest_quote_verify proves today, in this order:
 *   1. the quote is version 3 with attestation key type 2 (ECDSA-256 on P-256);
 *   2. the ISV enclave report (header + report body, bytes [0, 432)) is signed by the
 *      attestation key carried in the quote;
 *   3. the Quoting Enclave vouches for that key: SHA-256(attestation key || QE auth data) equals
 *      the QE report's report_data[0..32], and report_data[32..64] is zero;
 *   4. the QE report is signed by the PCK leaf certificate's key;
 *   5. the PCK chain in the quote (leaf, intermediate CA, root CA) verifies with OpenSSL to the
 *      pinned Intel SGX Root CA, at the current time or a caller-given time. Trust is by the root's
 *      public key and subject: the pinned certificate is the only trust anchor, and the root that
 *      the quote carries must have the same subject and public key (genuine chains may carry the
 *      2033 issue of the same root).
 *      Simulation quotes (NCSL's sim backend: root CN NCSL_ATTEST_SIM_ROOT_CN or QE vendor id
 *      "NCSL-SIMULATION") are never checked against the hardware root: they pass only with
 *      opts.allow_simulation, against opts.simulation_root_pem, as NCSL_ATTEST_TEE_SIMULATION.
 *
 * Design note on what comes next (not implemented, and not faked): collateral. A quote that
 * passes the checks above was produced by genuine SGX hardware with a genuine Quoting Enclave,
 * but nothing here says whether that platform's TCB is up to date or revoked. The next steps are
 * Intel's TCB info (signature by the TCB Signing certificate, FMSPC match, TCB level from the PCK
 * extension's SVNs), the QE identity (signature, QE mrsigner/isvprodid/isvsvn), and the Root CA
 * and PCK CA CRLs, all evaluated at the same "as of" time. Until then, `valid` means "steps 1-5
 * passed" and the verdict says so (`collateral_checked` is always false).
 *
 * Policy (step 7 of the reference: DEBUG, mr_enclave, mr_signer, isv_prod_id, isv_svn,
 * report_data binding) is the caller's: the verdict reports every field needed for it.
 */
#ifndef NCSL_ATTEST_H
#define NCSL_ATTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ncsl/ncsl.h"

#define NCSL_SGX_QUOTE_HEADER_SIZE 48
#define NCSL_SGX_REPORT_BODY_SIZE 384
/* header + ISV report body: what the ISV signature covers */
#define NCSL_SGX_QUOTE_SIGNED_SIZE 432
/* up to and including an empty cert data header */
#define NCSL_SGX_QUOTE_MIN_SIZE 1020
#define NCSL_SGX_CERT_TYPE_PCK_CHAIN 5
#define NCSL_SGX_ATTRIBUTE_DEBUG 0x2u /* bit in attributes.flags (the first u64) */

/* An SGX report body (384 bytes), decoded. Every field is a copy. */
typedef struct ncsl_sgx_report_body {
    uint8_t cpu_svn[16];
    uint32_t misc_select;
    uint8_t isv_ext_prod_id[16];
    uint8_t attributes[16]; /* flags u64 LE, then xfrm u64 LE */
    uint8_t mr_enclave[32];
    uint8_t mr_signer[32];
    uint8_t config_id[64];
    uint16_t isv_prod_id;
    uint16_t isv_svn;
    uint16_t config_svn;
    uint8_t isv_family_id[16];
    uint8_t report_data[64];
    bool debug; /* attributes flags & NCSL_SGX_ATTRIBUTE_DEBUG */
} ncsl_sgx_report_body;

/*
 * A parsed v3 quote. Fixed-size fields are copies. The pointers (`signed_data`, `qe_report_raw`,
 * `qe_auth_data`, `pem_chain`) are BORROWED from the buffer given to ncsl_attest_quote_parse and
 * are only valid while that buffer is alive and unchanged. Nothing here needs freeing.
 */
typedef struct ncsl_sgx_quote {
    /* header */
    uint16_t version;
    uint16_t att_key_type;
    uint32_t tee_type;
    uint16_t qe_svn;
    uint16_t pce_svn;
    uint8_t qe_vendor_id[16];
    uint8_t user_data[20];
    ncsl_sgx_report_body report;
    /* signature data */
    uint32_t sig_data_len;
    uint8_t isv_signature[64];   /* raw r || s, big-endian halves */
    uint8_t attestation_key[64]; /* raw x || y of a P-256 point */
    ncsl_sgx_report_body qe_report;
    uint8_t qe_report_signature[64]; /* raw r || s */
    const uint8_t *signed_data;      /* borrowed: bytes [0, 432) of the quote */
    const uint8_t *qe_report_raw;    /* borrowed: the 384-byte QE report body */
    const uint8_t *qe_auth_data;     /* borrowed; NULL when qe_auth_data_len is 0 */
    uint16_t qe_auth_data_len;
    uint16_t cert_data_type; /* always NCSL_SGX_CERT_TYPE_PCK_CHAIN after a successful parse */
    const char *pem_chain;   /* borrowed; NOT NUL-terminated, may end in NUL bytes */
    uint32_t pem_chain_len;
} ncsl_sgx_quote;

/*
 * Parses a v3 ECDSA quote of exactly `len` bytes. `buf` is borrowed and must stay alive while
 * `out`'s pointers are used; `out` is caller-owned and fully overwritten (zeroed on failure).
 * Checks the layout only (every length is bounded, no trailing bytes, cert type 5): the version
 * and key type are reported, not checked here. Returns NCSL_E_ATTEST_MALFORMED with a message in
 * `err` (may be NULL) for any layout error, NCSL_E_INVALID_ARG for NULL arguments.
 */
NCSL_NODISCARD ncsl_status ncsl_attest_quote_parse(const uint8_t *buf, size_t len,
                                                   ncsl_sgx_quote *out, ncsl_err *err);

/* Verification options. Caller-owned; fill with ncsl_attest_quote_verify_opts_default. */
typedef struct ncsl_quote_verify_opts {
    /* PEM of the pinned Intel SGX Root CA certificate; borrowed for the call. NULL: the Intel
     * SGX Root CA certificate built into the library (ncsl_attest_intel_root_ca_pem). */
    const char *root_pem;
    size_t root_pem_len;
    /* Verify the certificate chain as of this time (seconds since the Unix epoch, UTC).
     * 0: the current time. */
    int64_t at_time;
    /* Simulation quotes (src/tee/sim): accepted only when allow_simulation is true AND the
     * quote's chain verifies to simulation_root_pem (borrowed for the call: the one
     * installation's "NCSL Simulation Root CA" the caller trusts). Such a verdict is valid with
     * tee_kind NCSL_ATTEST_TEE_SIMULATION, never SGX_HARDWARE. A quote whose chain verifies to
     * the hardware root is judged as hardware first; a chain ending in a simulation root never
     * passes as hardware, even when that root was passed as root_pem. Default: not allowed. */
    bool allow_simulation;
    const char *simulation_root_pem;
    size_t simulation_root_pem_len;
} ncsl_quote_verify_opts;

/* Defaults: the built-in root, the current time. `opts` is borrowed. */
void ncsl_attest_quote_verify_opts_default(ncsl_quote_verify_opts *opts);

typedef enum ncsl_attest_tee_kind {
    NCSL_ATTEST_TEE_NONE = 0,         /* nothing verified */
    NCSL_ATTEST_TEE_SGX_HARDWARE = 1, /* a genuine SGX enclave on Intel hardware (steps 1-5) */
    NCSL_ATTEST_TEE_SIMULATION = 2    /* NCSL's simulation backend, explicitly allowed: steps 1-4
                                         plus a chain to the pinned simulation root; proves
                                         nothing about hardware */
} ncsl_attest_tee_kind;

/* The verification step that failed (NCSL_ATTEST_STEP_NONE when valid). */
typedef enum ncsl_attest_step {
    NCSL_ATTEST_STEP_NONE = 0,
    NCSL_ATTEST_STEP_PARSE = 10,        /* layout (before step 1) */
    NCSL_ATTEST_STEP_VERSION = 1,       /* version / attestation key type */
    NCSL_ATTEST_STEP_ISV_SIGNATURE = 2, /* ISV report signature by the attestation key */
    NCSL_ATTEST_STEP_QE_BINDING = 3,    /* QE report_data binds the attestation key */
    NCSL_ATTEST_STEP_QE_SIGNATURE = 4,  /* QE report signature by the PCK leaf */
    NCSL_ATTEST_STEP_PCK_CHAIN = 5,     /* PCK chain to the pinned root */
    NCSL_ATTEST_STEP_SETUP = 20,        /* not the quote's fault: bad options, out of memory */
} ncsl_attest_step;

/*
 * The outcome of ncsl_attest_quote_verify. Caller-owned; every field is a copy.
 * The enclave fields are filled as soon as the quote parses, also when `valid` is false (for
 * diagnostics): trust them only when `valid` is true.
 */
typedef struct ncsl_quote_verdict {
    bool valid;
    ncsl_attest_step failed_step;
    char reason[256]; /* "" when valid, else which step failed and why */
    ncsl_attest_tee_kind tee_kind;
    bool collateral_checked; /* always false for now: see the design note above */
    bool fields_present;     /* the quote parsed and the fields below are set */
    uint16_t version;
    uint16_t att_key_type;
    uint32_t tee_type;
    uint16_t qe_svn;
    uint16_t pce_svn;
    bool debug;
    uint8_t cpu_svn[16];
    uint8_t attributes[16];
    uint8_t mr_enclave[32];
    uint8_t mr_signer[32];
    uint16_t isv_prod_id;
    uint16_t isv_svn;
    uint8_t report_data[64];
    bool has_fmspc; /* from the PCK leaf's SGX extension, when present */
    uint8_t fmspc[6];
    int64_t checked_at; /* the time the chain was checked at (seconds since the epoch) */
    /* "" or a remark on a valid verdict: "simulation quote (allowed explicitly)" for
     * NCSL_ATTEST_TEE_SIMULATION. */
    char note[128];
} ncsl_quote_verdict;

/* Subject CN of the root CA that NCSL's simulation backend creates per installation. */
#define NCSL_ATTEST_SIM_ROOT_CN "NCSL Simulation Root CA"

/*
 * Verifies a v3 quote (steps 1-5 above). `buf` and `opts` (NULL: defaults) are borrowed;
 * `out` is caller-owned and always fully written (also on failure). Returns NCSL_OK only when
 * the quote is valid. A rejected quote returns NCSL_E_ATTEST_MALFORMED, _UNSUPPORTED,
 * _SIGNATURE or _CHAIN with out->reason copied into `err` (may be NULL). NCSL_E_INVALID_ARG
 * (bad arguments or an unusable root PEM) and NCSL_E_NOMEM mean the quote was not judged.
 * Never keeps a pointer to `buf` after returning.
 */
NCSL_NODISCARD ncsl_status ncsl_attest_quote_verify(const uint8_t *buf, size_t len,
                                                    const ncsl_quote_verify_opts *opts,
                                                    ncsl_quote_verdict *out, ncsl_err *err);

/* The built-in Intel SGX Root CA certificate (PEM, NUL-terminated, static). `len` (may be NULL)
 * gets its length without the NUL. */
const char *ncsl_attest_intel_root_ca_pem(size_t *len);

#endif /* NCSL_ATTEST_H */
