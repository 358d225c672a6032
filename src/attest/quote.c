/*
 * SGX DCAP v3 quote parser. Every length in the quote is untrusted: each read is preceded by a
 * check against the bytes that remain, computed by subtraction (never `off + n > len`, which
 * could wrap), and the quote must end exactly where the certification data ends.
 */
#include <string.h>

#include "attest_int.h"

uint16_t ncsl__attest_le16(const uint8_t *p) {
    return (uint16_t)(p[0] | (p[1] << 8));
}

uint32_t ncsl__attest_le32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

uint64_t ncsl__attest_le64(const uint8_t *p) {
    return (uint64_t)ncsl__attest_le32(p) | ((uint64_t)ncsl__attest_le32(p + 4) << 32);
}

/* `p` points at 384 readable bytes. */
static void report_body_decode(const uint8_t *p, ncsl_sgx_report_body *r) {
    memcpy(r->cpu_svn, p + 0, sizeof(r->cpu_svn));
    r->misc_select = ncsl__attest_le32(p + 16);
    memcpy(r->isv_ext_prod_id, p + 32, sizeof(r->isv_ext_prod_id));
    memcpy(r->attributes, p + 48, sizeof(r->attributes));
    memcpy(r->mr_enclave, p + 64, sizeof(r->mr_enclave));
    memcpy(r->mr_signer, p + 128, sizeof(r->mr_signer));
    memcpy(r->config_id, p + 192, sizeof(r->config_id));
    r->isv_prod_id = ncsl__attest_le16(p + 256);
    r->isv_svn = ncsl__attest_le16(p + 258);
    r->config_svn = ncsl__attest_le16(p + 260);
    memcpy(r->isv_family_id, p + 304, sizeof(r->isv_family_id));
    memcpy(r->report_data, p + 320, sizeof(r->report_data));
    r->debug = (ncsl__attest_le64(r->attributes) & NCSL_SGX_ATTRIBUTE_DEBUG) != 0;
}

ncsl_status ncsl_attest_quote_parse(const uint8_t *buf, size_t len, ncsl_sgx_quote *out,
                                    ncsl_err *err) {
    ncsl_status st = NCSL_OK;
    if (!out) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "out", "no output quote");
    }
    memset(out, 0, sizeof(*out));
    if (!buf) {
        st = ncsl_err_set(err, NCSL_E_INVALID_ARG, "buf", "no quote buffer");
        goto out;
    }
    if (len < NCSL_SGX_QUOTE_MIN_SIZE) {
        st = ncsl_err_set(err, NCSL_E_ATTEST_MALFORMED, "quote",
                          "quote is %zu bytes, shorter than the minimum %d", len,
                          NCSL_SGX_QUOTE_MIN_SIZE);
        goto out;
    }
    /* From here on the fixed part [0, 1014) is inside the buffer. */
    out->version = ncsl__attest_le16(buf + ATT_OFF_VERSION);
    out->att_key_type = ncsl__attest_le16(buf + ATT_OFF_KEY_TYPE);
    out->tee_type = ncsl__attest_le32(buf + ATT_OFF_TEE_TYPE);
    out->qe_svn = ncsl__attest_le16(buf + ATT_OFF_QE_SVN);
    out->pce_svn = ncsl__attest_le16(buf + ATT_OFF_PCE_SVN);
    memcpy(out->qe_vendor_id, buf + ATT_OFF_QE_VENDOR, sizeof(out->qe_vendor_id));
    memcpy(out->user_data, buf + ATT_OFF_USER_DATA, sizeof(out->user_data));
    report_body_decode(buf + ATT_OFF_REPORT, &out->report);
    out->signed_data = buf;

    out->sig_data_len = ncsl__attest_le32(buf + ATT_OFF_SIG_LEN);
    size_t sig_avail = len - ATT_OFF_ISV_SIG;
    if ((uint64_t)out->sig_data_len != (uint64_t)sig_avail) {
        st = ncsl_err_set(err, NCSL_E_ATTEST_MALFORMED, "sig_data_len",
                          "signature data length %u does not match the %zu bytes after it",
                          (unsigned)out->sig_data_len, sig_avail);
        goto out;
    }
    memcpy(out->isv_signature, buf + ATT_OFF_ISV_SIG, 64);
    memcpy(out->attestation_key, buf + ATT_OFF_ATT_KEY, 64);
    report_body_decode(buf + ATT_OFF_QE_REPORT, &out->qe_report);
    out->qe_report_raw = buf + ATT_OFF_QE_REPORT;
    memcpy(out->qe_report_signature, buf + ATT_OFF_QE_REPORT_SIG, 64);

    size_t off = ATT_OFF_QE_AUTH;
    out->qe_auth_data_len = ncsl__attest_le16(buf + off);
    off += 2;
    /* The auth data plus the 6-byte cert data header must fit in what remains. */
    if (len - off < (size_t)out->qe_auth_data_len || len - off - out->qe_auth_data_len < 6) {
        st = ncsl_err_set(err, NCSL_E_ATTEST_MALFORMED, "qe_auth_data",
                          "QE auth data length %u runs past the end of the quote",
                          (unsigned)out->qe_auth_data_len);
        goto out;
    }
    out->qe_auth_data = out->qe_auth_data_len ? buf + off : NULL;
    off += out->qe_auth_data_len;

    out->cert_data_type = ncsl__attest_le16(buf + off);
    uint32_t cert_size = ncsl__attest_le32(buf + off + 2);
    off += 6;
    if (out->cert_data_type != NCSL_SGX_CERT_TYPE_PCK_CHAIN) {
        st = ncsl_err_set(err, NCSL_E_ATTEST_MALFORMED, "cert_data_type",
                          "certification data type %u is not 5 (PCK certificate chain)",
                          (unsigned)out->cert_data_type);
        goto out;
    }
    if ((uint64_t)cert_size != (uint64_t)(len - off)) {
        st = ncsl_err_set(err, NCSL_E_ATTEST_MALFORMED, "cert_data_size",
                          "certification data size %u does not match the %zu bytes left%s",
                          (unsigned)cert_size, len - off,
                          cert_size < len - off ? " (trailing bytes)" : "");
        goto out;
    }
    if (cert_size == 0) {
        st = ncsl_err_set(err, NCSL_E_ATTEST_MALFORMED, "cert_data_size",
                          "certification data is empty");
        goto out;
    }
    out->pem_chain = (const char *)(buf + off);
    out->pem_chain_len = cert_size;

out:
    if (st != NCSL_OK) {
        memset(out, 0, sizeof(*out));
    }
    return st;
}
