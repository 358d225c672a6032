/*
 * Intel SGX DCAP ECDSA quotes (version 3): a bounds-checked parser and a verifier.
 *
 * Layout and verification order: REFERENCE.md section 3 (from Intel's sgx_quote_3.h).
 *
 * What ncsl_attest_quote_verify proves, in this order:
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
 *   6. with collateral (opts.collateral; see "Collateral" below): Intel's TCB info and QE identity
 *      are signed by the Intel SGX TCB Signing certificate, which chains to the pinned root; the
 *      Root CA CRL is signed by the pinned root and the PCK CA CRL by the quote's intermediate CA;
 *      neither the TCB Signing certificate, the intermediate nor the PCK leaf is revoked; the TCB
 *      info is for the PCK leaf's FMSPC and PCE ID; the platform's TCB level (the PCK leaf's 16
 *      SGX TCB component SVNs and PCESVN against tcbLevels, first satisfied level wins) and the
 *      QE's (mrsigner, isvprodid, masked miscselect/attributes, isvsvn against the QE identity)
 *      are reported; every piece is inside its issueDate/nextUpdate (lastUpdate/nextUpdate)
 *      window. All at the same "as of" time as step 5.
 *      Without collateral, `valid` means "steps 1-5 passed" and `collateral_checked` is false:
 *      nothing then says whether the platform's TCB is up to date or revoked.
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

/* ------------------------------------------------------------------------- collateral */
/*
 * Collateral: what Intel's PCS (or a caching service) serves for one platform, parsed and checked
 * for form at load time, verified against a quote by ncsl_attest_quote_verify (step 6). Opaque;
 * immutable after loading, so one collateral may be shared by concurrent verifications.
 *
 * Pieces, and the forms accepted for each (the loaders sniff the form):
 *   TCB info       Intel PCS JSON {"tcbInfo":{...},"signature":"<128 hex>"} (PCS v3/v4), or the
 *                  bare tcbInfo object plus a separate signature. Intel signs the exact bytes of
 *                  the tcbInfo value as it appears in the document, so those bytes are located
 *                  in the text (never re-serialized) and the object used for every decision is
 *                  parsed from them. SGX TCB info version 2 and 3 (id "SGX"); TDX is rejected.
 *   QE identity    {"enclaveIdentity":{...},"signature":"<hex>"} or the bare object plus a
 *                  separate signature; version 2, id "QE".
 *   signatures     separate ones: 64 raw bytes r || s, or the same as 128 hex characters.
 *   signing chain  the Intel SGX TCB Signing certificate first (PEM, further certificates such
 *                  as the root are ignored: trust comes only from the pinned root), or one DER
 *                  certificate. The QE identity's chain defaults to the TCB info's (Intel signs
 *                  both with the same certificate).
 *   CRLs           the Intel SGX Root CA CRL and the CRL of the PCK CA that issued the quote's
 *                  PCK leaf (Processor or Platform CA): DER, PEM ("X509 CRL") or hex of the DER.
 *
 * Directory layout read by ncsl_attest_collateral_load_dir (what `ncsl verify-quote
 * --collateral DIR` passes). Either the one file
 *   sgx_quote_collateral.json    a bundle in Phala's dcap-qvl format (the other files are then
 *                                not read): {"tcb_info": "<exact signed JSON text>",
 *                                "tcb_info_signature": "<hex>", "tcb_info_issuer_chain": "<PEM>",
 *                                "qe_identity": "<JSON text>", "qe_identity_signature": "<hex>",
 *                                "qe_identity_issuer_chain": "<PEM>", "root_ca_crl": "<hex DER>",
 *                                "pck_crl": "<hex DER>", "pck_crl_issuer_chain": "<PEM, unused>"}
 * or these files:
 *   tcb_info.json                required; PCS form, or the bare body with tcb_info.sig
 *   tcb_info.sig                 only with a bare tcb_info.json
 *   qe_identity.json             required; PCS form, or the bare body with qe_identity.sig
 *   qe_identity.sig              only with a bare qe_identity.json
 *   tcb_signing_chain.pem        required, or instead tcb_signing_cert.der (PCS returns it in
 *                                the TCB-Info-Issuer-Chain header, URL-encoded)
 *   qe_identity_issuer_chain.pem optional; default: the TCB signing chain
 *   root_ca_crl.der              required, or instead root_ca_crl.pem
 *   pck_ca_crl.der               required, or instead pck_ca_crl.pem
 * A missing required file is NCSL_E_ATTEST_COLLATERAL with ncsl_err.field naming the file.
 */
typedef struct ncsl_sgx_collateral ncsl_sgx_collateral;

/* Largest piece (file, bundle or buffer) the loaders accept. */
#define NCSL_ATTEST_COLLATERAL_MAX_SIZE (4u * 1024u * 1024u)

/* Collateral pieces in memory for ncsl_attest_collateral_create. Every pointer is borrowed for
 * the call (the collateral copies what it keeps). NULL/0 means "not given"; the signatures are
 * needed only with bare bodies, qe_identity_signing_chain is optional. */
typedef struct ncsl_sgx_collateral_pieces {
    const uint8_t *tcb_info;
    size_t tcb_info_len;
    const uint8_t *tcb_info_signature;
    size_t tcb_info_signature_len;
    const uint8_t *qe_identity;
    size_t qe_identity_len;
    const uint8_t *qe_identity_signature;
    size_t qe_identity_signature_len;
    const uint8_t *tcb_signing_chain;
    size_t tcb_signing_chain_len;
    const uint8_t *qe_identity_signing_chain;
    size_t qe_identity_signing_chain_len;
    const uint8_t *root_ca_crl;
    size_t root_ca_crl_len;
    const uint8_t *pck_ca_crl;
    size_t pck_ca_crl_len;
} ncsl_sgx_collateral_pieces;

/*
 * Parses collateral from memory. `pieces` is borrowed. On success the caller frees *out with
 * ncsl_attest_collateral_destroy. A missing, malformed or oversized piece is
 * NCSL_E_ATTEST_COLLATERAL with ncsl_err.field naming the piece ("tcb_info", "pck_ca_crl", ...)
 * and a message naming the JSON field at fault; NCSL_E_INVALID_ARG for NULL arguments,
 * NCSL_E_NOMEM. Nothing is verified against a root or a quote here.
 */
NCSL_NODISCARD ncsl_status ncsl_attest_collateral_create(const ncsl_sgx_collateral_pieces *pieces,
                                                         ncsl_sgx_collateral **out, ncsl_err *err);

/* Same from a dcap-qvl bundle (the sgx_quote_collateral.json text above; `json` borrowed). */
NCSL_NODISCARD ncsl_status ncsl_attest_collateral_create_bundle(const uint8_t *json, size_t len,
                                                                ncsl_sgx_collateral **out,
                                                                ncsl_err *err);

/* Same from a directory laid out as above (`dir` borrowed). Errors name the file in
 * ncsl_err.field; NCSL_E_IO when a file exists but cannot be read (or is not a regular file). */
NCSL_NODISCARD ncsl_status ncsl_attest_collateral_load_dir(const char *dir,
                                                           ncsl_sgx_collateral **out,
                                                           ncsl_err *err);

/* Frees collateral. NULL does nothing. */
void ncsl_attest_collateral_destroy(ncsl_sgx_collateral *c);

/* What loaded collateral covers. Caller-owned; every field is a copy. Times are seconds since
 * the epoch (UTC). */
typedef struct ncsl_sgx_collateral_info {
    uint8_t fmspc[6];
    uint8_t pce_id[2];
    int tcb_info_version;          /* 2 or 3 */
    uint32_t tcb_eval_data_number; /* the TCB info's tcbEvaluationDataNumber */
    int64_t tcb_info_issued, tcb_info_next_update;
    int64_t qe_identity_issued, qe_identity_next_update;
    int64_t root_crl_issued, root_crl_next_update; /* lastUpdate, nextUpdate */
    int64_t pck_crl_issued, pck_crl_next_update;
    char pck_crl_issuer_cn[80]; /* e.g. "Intel SGX PCK Processor CA" */
    /* The intersection of the four windows: an "as of" time in [valid_from, valid_until] passes
     * the freshness checks. valid_from > valid_until when they do not overlap. */
    int64_t valid_from, valid_until;
} ncsl_sgx_collateral_info;

/* Fills `out` (caller-owned) from `c` (borrowed). */
void ncsl_attest_collateral_get_info(const ncsl_sgx_collateral *c, ncsl_sgx_collateral_info *out);

/* TCB status of a TCB level (Intel's tcbStatus strings). */
typedef enum ncsl_attest_tcb_status {
    NCSL_ATTEST_TCB_NONE = 0, /* not evaluated */
    NCSL_ATTEST_TCB_UP_TO_DATE = 1,
    NCSL_ATTEST_TCB_SW_HARDENING_NEEDED = 2,
    NCSL_ATTEST_TCB_CONFIGURATION_NEEDED = 3,
    NCSL_ATTEST_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED = 4,
    NCSL_ATTEST_TCB_OUT_OF_DATE = 5,
    NCSL_ATTEST_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED = 6,
    NCSL_ATTEST_TCB_REVOKED = 7,
} ncsl_attest_tcb_status;

/* Intel's string for a status ("UpToDate", ...; "" for NCSL_ATTEST_TCB_NONE). Static. */
const char *ncsl_attest_tcb_status_str(ncsl_attest_tcb_status s);

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
    /* Collateral for step 6 (borrowed for the call; NULL: step 6 is skipped and
     * collateral_checked stays false). Checked at the same time as the chain, against the same
     * pinned root. Ignored for simulation quotes (there is no Intel collateral for them). */
    const ncsl_sgx_collateral *collateral;
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
    NCSL_ATTEST_STEP_COLLATERAL = 6,    /* TCB info, QE identity, CRLs (opts.collateral) */
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
    bool collateral_checked; /* step 6 ran and passed (only with opts.collateral) */
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
    /* Step 6, with opts.collateral: filled as far as the checks got, also when they failed
     * (diagnostics; e.g. the TCB status of expired collateral): trust them only when `valid`.
     * A valid verdict can carry any status but Revoked: which statuses are acceptable is the
     * caller's policy (UpToDate only, or also SWHardeningNeeded, ...). */
    ncsl_attest_tcb_status tcb_status_id;    /* the platform's TCB level */
    char tcb_status[40];                     /* its string, "" when not evaluated */
    char tcb_date[32];                       /* that level's tcbDate, as given */
    uint32_t tcb_eval_data_number;           /* the TCB info's tcbEvaluationDataNumber */
    ncsl_attest_tcb_status qe_tcb_status_id; /* the Quoting Enclave's TCB level */
    char qe_tcb_status[40];
    /* Advisory IDs of the platform's level, then of the QE's, comma-separated, no duplicates
     * ("INTEL-SA-00289,INTEL-SA-00615"); advisory_ids_truncated when they did not all fit. */
    char advisory_ids[512];
    bool advisory_ids_truncated;
    /* Some piece was outside its validity window at checked_at (the verdict then fails with
     * NCSL_E_ATTEST_COLLATERAL_EXPIRED); collateral_expires_at is the earliest nextUpdate. */
    bool collateral_expired;
    int64_t collateral_expires_at;
} ncsl_quote_verdict;

/* Subject CN of the root CA that NCSL's simulation backend creates per installation. */
#define NCSL_ATTEST_SIM_ROOT_CN "NCSL Simulation Root CA"

/*
 * Verifies a v3 quote (steps 1-5 above). `buf` and `opts` (NULL: defaults) are borrowed;
 * `out` is caller-owned and always fully written (also on failure). Returns NCSL_OK only when
 * the quote is valid. A rejected quote returns NCSL_E_ATTEST_MALFORMED, _UNSUPPORTED,
 * _SIGNATURE or _CHAIN with out->reason copied into `err` (may be NULL); with collateral also
 * NCSL_E_ATTEST_COLLATERAL (collateral not Intel's, tampered, or for another platform),
 * _COLLATERAL_EXPIRED, _REVOKED (a certificate, or the TCB level, is revoked) or _TCB (no TCB
 * level matches, or the QE does not match the QE identity). NCSL_E_INVALID_ARG
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
