/*
 * Internals of src/tee shared across its files (ncsl__tee_*). Not for other subsystems.
 */
#ifndef NCSL_TEE_INT_H
#define NCSL_TEE_INT_H

#include "common/common.h"
#include "tee/tee.h"

/* The backends: simulation (sim/tee_sim.c), Occlum (occlum/tee_occlum.c), Gramine
 * (gramine/tee_gramine.c). */
extern const ncsl_tee_ops ncsl__tee_sim_ops;
extern const ncsl_tee_ops ncsl__tee_occlum_ops;
extern const ncsl_tee_ops ncsl__tee_gramine_ops;

/* The real paths the hardware backends use when the options leave them NULL. */
#define NCSL_TEE_OCCLUM_DEVICE_DEFAULT "/dev/sgx"
#define NCSL_TEE_GRAMINE_DIR_DEFAULT "/dev/attestation"

/* ------------------------------------------------------------------------- SGX (tee_sgx.c) */
/* Shared by the two SGX backends. Layouts from Intel's sgx_report.h / sgx_key.h (the same the
 * SDK, Occlum and Gramine use); REFERENCE.md section 3 gives the report body inside a quote. */

/* sgx_report_t: the 384-byte body, key_id [32] at 384, mac [16] at 416. */
#define NCSL_TEE_SGX_REPORT_SIZE 432u
#define NCSL_TEE_SGX_REPORT_BODY_SIZE 384u
/* Offsets inside the report body. */
#define NCSL_TEE_SGX_RB_CPU_SVN 0u
#define NCSL_TEE_SGX_RB_MISC_SELECT 16u
#define NCSL_TEE_SGX_RB_ATTRIBUTES 48u
#define NCSL_TEE_SGX_RB_MR_ENCLAVE 64u
#define NCSL_TEE_SGX_RB_MR_SIGNER 128u
#define NCSL_TEE_SGX_RB_ISV_PROD_ID 256u
#define NCSL_TEE_SGX_RB_ISV_SVN 258u
#define NCSL_TEE_SGX_RB_CONFIG_SVN 260u
#define NCSL_TEE_SGX_RB_REPORT_DATA 320u
/* In a DCAP v3 quote: the report body follows the 48-byte header; the signature data length
 * (u32) sits at 432 and the quote is 436 + that length long. */
#define NCSL_TEE_SGX_QUOTE_REPORT_OFF 48u
#define NCSL_TEE_SGX_QUOTE_SIG_LEN_OFF 432u
#define NCSL_TEE_SGX_QUOTE_FIXED_SIZE 436u
/* An upper bound for a sane DCAP quote (Gramine caps /dev/attestation/quote at 8192 bytes; the
 * PCK chain is about 4 KiB): protects allocations from a device that reports nonsense. */
#define NCSL_TEE_SGX_QUOTE_MAX_SIZE (64u * 1024u)

/* The hardware sealing key EGETKEY returns (sgx_key_128bit_t). */
#define NCSL_TEE_SGX_HW_KEY_SIZE 16u

/* What the SGX backends keep from their own report. Every field is a copy. */
typedef struct ncsl__tee_sgx_identity {
    ncsl_tee_measurement m;
    uint8_t cpu_svn[16];
    uint32_t misc_select;
    uint16_t config_svn;
} ncsl__tee_sgx_identity;

/* Decodes the report body at the start of a 432-byte sgx_report_t (`report`, borrowed) into
 * *out. NCSL_E_TEE when it cannot be an enclave's report (MRENCLAVE or MRSIGNER all zero, or
 * the INIT attribute clear); `what` names the source in the message. */
NCSL_NODISCARD ncsl_status
ncsl__tee_sgx_report_decode(const uint8_t report[NCSL_TEE_SGX_REPORT_SIZE], const char *what,
                            ncsl__tee_sgx_identity *out, ncsl_err *err);

/* The 32-byte NCSL seal root from a 16-byte SGX sealing key (borrowed, a secret):
 * HKDF-SHA256(ikm = hw_key, no salt, info = info_prefix || policy byte) into `key`
 * (caller-owned, a secret; wiped on failure). NCSL_E_INVALID_ARG for an unknown policy. */
NCSL_NODISCARD ncsl_status ncsl__tee_sgx_expand_seal_key(
    const char *info_prefix, const uint8_t hw_key[NCSL_TEE_SGX_HW_KEY_SIZE],
    ncsl_seal_policy policy, uint8_t key[NCSL_TEE_SEAL_KEY_SIZE], ncsl_err *err);

/*
 * Checks a quote the platform returned for `report_data` before it leaves the backend: at least
 * the fixed DCAP v3 part, version 3, a signature-data length that fits in `*len` (then *len is
 * cut to 436 + that length: devices may hand back a padded buffer), the requested report data,
 * and the MRENCLAVE/MRSIGNER of `id`. `quote` and `id` are borrowed. NCSL_E_TEE with a message
 * naming `what` (the device or file) otherwise.
 */
NCSL_NODISCARD ncsl_status ncsl__tee_sgx_quote_check(const uint8_t *quote, size_t *len,
                                                     const uint8_t report_data[64],
                                                     const ncsl__tee_sgx_identity *id,
                                                     const char *what, ncsl_err *err);

/* `len` bytes from getrandom(2) into `buf` (caller-owned); retries short reads and EINTR.
 * Inside Occlum and Gramine the enclave answers it from RDRAND, not the host. */
NCSL_NODISCARD ncsl_status ncsl__tee_getrandom(void *buf, size_t len, ncsl_err *err);

/* Names of the simulation's files under <data_dir>/tee/. */
#define NCSL_TEE_SIM_DIR "tee"
#define NCSL_TEE_SIM_SECRET_FILE "platform.secret"
#define NCSL_TEE_SIM_SECRET_SIZE 32u

/* Which simulated private key ncsl__tee_sim_test_private_scalar reads. */
typedef enum ncsl__tee_sim_key {
    NCSL__TEE_SIM_KEY_PCK = 1,         /* PCK leaf: signs the QE report */
    NCSL__TEE_SIM_KEY_ATTESTATION = 2, /* QE attestation key: signs the ISV report */
} ncsl__tee_sim_key;

/* TEST ONLY: the 32-byte private scalar of one simulated key of an open simulation handle, so
 * tests can check that it never appears in clear on disk. `out` is caller-owned; a secret. */
NCSL_NODISCARD ncsl_status ncsl__tee_sim_test_private_scalar(ncsl_tee *tee, ncsl__tee_sim_key which,
                                                             uint8_t out[32], ncsl_err *err);

/* The backend state of an open handle (borrowed). */
void *ncsl__tee_state(ncsl_tee *tee);

#endif /* NCSL_TEE_INT_H */
