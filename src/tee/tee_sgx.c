/*
 * Helpers shared by the SGX backends (Occlum and Gramine): decoding the enclave's own report,
 * turning a 16-byte SGX sealing key into NCSL's 32-byte seal root, checking a quote the platform
 * handed back before anyone else sees it, and getrandom.
 *
 * The platform is trusted to be what it claims only as far as SGX makes it so: the quote check
 * here is no verification (ncsl_attest_quote_verify does that); it catches a device or file that
 * answered with the wrong thing (a stale quote, another request's report data, padding) so the
 * error surfaces where it happened, with the file or ioctl named.
 */
#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "crypto/crypto.h"
#include "tee/tee_int.h"

#define SGX_FLAGS_INITTED 0x1u
#define SGX_FLAGS_DEBUG 0x2u

static uint16_t le16(const uint8_t *p) {
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static bool all_zero(const uint8_t *p, size_t n) {
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++) {
        acc |= p[i];
    }
    return acc == 0;
}

ncsl_status ncsl__tee_sgx_report_decode(const uint8_t report[NCSL_TEE_SGX_REPORT_SIZE],
                                        const char *what, ncsl__tee_sgx_identity *out,
                                        ncsl_err *err) {
    memset(out, 0, sizeof(*out));
    const uint8_t *b = report; /* the body comes first in sgx_report_t */
    memcpy(out->cpu_svn, b + NCSL_TEE_SGX_RB_CPU_SVN, sizeof(out->cpu_svn));
    out->misc_select = le32(b + NCSL_TEE_SGX_RB_MISC_SELECT);
    memcpy(out->m.attributes, b + NCSL_TEE_SGX_RB_ATTRIBUTES, sizeof(out->m.attributes));
    memcpy(out->m.mr_enclave, b + NCSL_TEE_SGX_RB_MR_ENCLAVE, sizeof(out->m.mr_enclave));
    memcpy(out->m.mr_signer, b + NCSL_TEE_SGX_RB_MR_SIGNER, sizeof(out->m.mr_signer));
    out->m.isv_prod_id = le16(b + NCSL_TEE_SGX_RB_ISV_PROD_ID);
    out->m.isv_svn = le16(b + NCSL_TEE_SGX_RB_ISV_SVN);
    out->config_svn = le16(b + NCSL_TEE_SGX_RB_CONFIG_SVN);
    out->m.debug = (out->m.attributes[0] & SGX_FLAGS_DEBUG) != 0;
    /* EREPORT always fills both measurements and runs only in an initialized enclave: a body
     * without them is a device that answered "success" without writing a report. */
    if (all_zero(out->m.mr_enclave, 32) || all_zero(out->m.mr_signer, 32) ||
        !(out->m.attributes[0] & SGX_FLAGS_INITTED)) {
        memset(out, 0, sizeof(*out));
        return ncsl_err_set(err, NCSL_E_TEE, NULL,
                            "%s did not return an SGX enclave report (MRENCLAVE or MRSIGNER is "
                            "zero, or the INIT attribute is clear)",
                            what);
    }
    return NCSL_OK;
}

ncsl_status ncsl__tee_sgx_expand_seal_key(const char *info_prefix,
                                          const uint8_t hw_key[NCSL_TEE_SGX_HW_KEY_SIZE],
                                          ncsl_seal_policy policy,
                                          uint8_t key[NCSL_TEE_SEAL_KEY_SIZE], ncsl_err *err) {
    uint8_t info[64];
    size_t n = strlen(info_prefix);
    if (policy != NCSL_SEAL_POLICY_MRENCLAVE && policy != NCSL_SEAL_POLICY_MRSIGNER) {
        ncsl_wipe(key, NCSL_TEE_SEAL_KEY_SIZE);
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "policy", "unknown sealing policy %d",
                            (int)policy);
    }
    if (n >= sizeof(info)) {
        ncsl_wipe(key, NCSL_TEE_SEAL_KEY_SIZE);
        return ncsl_err_set(err, NCSL_E_INTERNAL, NULL, "seal key info prefix too long");
    }
    memcpy(info, info_prefix, n);
    info[n] = (uint8_t)policy;
    return ncsl_crypto_hkdf_sha256(hw_key, NCSL_TEE_SGX_HW_KEY_SIZE, NULL, 0, info, n + 1, key,
                                   NCSL_TEE_SEAL_KEY_SIZE, err);
}

ncsl_status ncsl__tee_sgx_quote_check(const uint8_t *quote, size_t *len,
                                      const uint8_t report_data[64],
                                      const ncsl__tee_sgx_identity *id, const char *what,
                                      ncsl_err *err) {
    size_t n = *len;
    if (n < NCSL_TEE_SGX_QUOTE_FIXED_SIZE) {
        return ncsl_err_set(err, NCSL_E_TEE, NULL,
                            "%s returned %zu bytes, too short for an SGX DCAP quote (at least %u)",
                            what, n, NCSL_TEE_SGX_QUOTE_FIXED_SIZE);
    }
    uint16_t version = le16(quote);
    if (version != 3) {
        return ncsl_err_set(err, NCSL_E_TEE, NULL,
                            "%s returned a quote of version %u; NCSL handles DCAP version 3", what,
                            (unsigned)version);
    }
    uint32_t sig_len = le32(quote + NCSL_TEE_SGX_QUOTE_SIG_LEN_OFF);
    if (sig_len > n - NCSL_TEE_SGX_QUOTE_FIXED_SIZE) {
        return ncsl_err_set(
            err, NCSL_E_TEE, NULL,
            "%s returned a truncated quote: %zu bytes, its header announces %llu", what, n,
            (unsigned long long)NCSL_TEE_SGX_QUOTE_FIXED_SIZE + (unsigned long long)sig_len);
    }
    const uint8_t *body = quote + NCSL_TEE_SGX_QUOTE_REPORT_OFF;
    if (memcmp(body + NCSL_TEE_SGX_RB_REPORT_DATA, report_data, 64) != 0) {
        return ncsl_err_set(err, NCSL_E_TEE, NULL,
                            "%s returned a quote over other report data than requested (a stale "
                            "quote or a concurrent user of the quoting interface)",
                            what);
    }
    if (memcmp(body + NCSL_TEE_SGX_RB_MR_ENCLAVE, id->m.mr_enclave, 32) != 0 ||
        memcmp(body + NCSL_TEE_SGX_RB_MR_SIGNER, id->m.mr_signer, 32) != 0) {
        return ncsl_err_set(err, NCSL_E_TEE, NULL,
                            "%s returned a quote for another enclave (MRENCLAVE/MRSIGNER differ "
                            "from this enclave's own report)",
                            what);
    }
    *len = NCSL_TEE_SGX_QUOTE_FIXED_SIZE + (size_t)sig_len;
    return NCSL_OK;
}

ncsl_status ncsl__tee_getrandom(void *buf, size_t len, ncsl_err *err) {
    uint8_t *p = buf;
    size_t left = len;
    while (left > 0) {
        ssize_t n = getrandom(p, left, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            int e = n < 0 ? errno : EIO;
            ncsl_wipe(buf, len); /* never hand out a partly random buffer */
            return ncsl_err_set(err, NCSL_E_CRYPTO, NULL, "getrandom failed: %s", strerror(e));
        }
        p += n;
        left -= (size_t)n;
    }
    return NCSL_OK;
}
