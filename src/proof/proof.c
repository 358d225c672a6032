/*
 * Attestation proofs: the reportData binding, the enclaveId, and making a proof (format in
 * proof.h). Verification is in proof_verify.c.
 */
#include "proof/proof.h"

#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "crypto/crypto.h"
#include "keys/trust_util.h"

ncsl_status ncsl_proof_report_data(const uint8_t *nonce, size_t nonce_len,
                                   const uint8_t signing_pub[NCSL_KEYS_P256_PUB_SIZE],
                                   const uint8_t enc_pub[NCSL_KEYS_X25519_SIZE],
                                   uint8_t out[NCSL_TEE_REPORT_DATA_SIZE], ncsl_err *err) {
    uint8_t buf[sizeof(NCSL_PROOF_DOMAIN) - 1 + NCSL_PROOF_MAX_NONCE + NCSL_KEYS_P256_PUB_SIZE +
                NCSL_KEYS_X25519_SIZE];
    size_t n = 0;
    if (nonce_len > NCSL_PROOF_MAX_NONCE || (!nonce && nonce_len)) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "nonce", "nonce must be 0..%u bytes",
                            NCSL_PROOF_MAX_NONCE);
    }
    if (!signing_pub || !enc_pub || !out) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, NULL, "NULL argument");
    }
    memcpy(buf, NCSL_PROOF_DOMAIN, sizeof(NCSL_PROOF_DOMAIN) - 1);
    n = sizeof(NCSL_PROOF_DOMAIN) - 1;
    if (nonce_len) {
        memcpy(buf + n, nonce, nonce_len);
        n += nonce_len;
    }
    memcpy(buf + n, signing_pub, NCSL_KEYS_P256_PUB_SIZE);
    n += NCSL_KEYS_P256_PUB_SIZE;
    memcpy(buf + n, enc_pub, NCSL_KEYS_X25519_SIZE);
    n += NCSL_KEYS_X25519_SIZE;
    memset(out + 32, 0, NCSL_TEE_REPORT_DATA_SIZE - 32);
    return ncsl_crypto_sha256(buf, n, out, err);
}

ncsl_status ncsl_proof_enclave_id(const uint8_t signing_pub[NCSL_KEYS_P256_PUB_SIZE],
                                  char out[2 * NCSL_PROOF_ENCLAVE_ID_SIZE + 1], ncsl_err *err) {
    uint8_t h[32];
    ncsl_status st = ncsl_crypto_sha256(signing_pub, NCSL_KEYS_P256_PUB_SIZE, h, err);
    if (st != NCSL_OK) {
        return st;
    }
    return ncsl_crypto_hex_encode(h, NCSL_PROOF_ENCLAVE_ID_SIZE, out,
                                  2 * NCSL_PROOF_ENCLAVE_ID_SIZE + 1, err);
}

const char *ncsl_proof_tee_type(const ncsl_tee *tee) {
    if (!tee) {
        return NULL;
    }
    if (ncsl_tee_get_kind(tee) == NCSL_TEE_KIND_SIMULATION) {
        return "simulation";
    }
    const char *name = ncsl_tee_name(tee);
    if (strcmp(name, "occlum") == 0 || strcmp(name, "sgx-occlum") == 0) {
        return "sgx-occlum";
    }
    if (strcmp(name, "gramine") == 0 || strcmp(name, "sgx-gramine") == 0) {
        return "sgx-gramine";
    }
    return NULL;
}

static bool set_str(json_t *o, const char *k, const char *v) {
    return json_object_set_new(o, k, json_string(v)) == 0;
}

static bool set_int(json_t *o, const char *k, json_int_t v) {
    return json_object_set_new(o, k, json_integer(v)) == 0;
}

ncsl_status ncsl_proof_create(ncsl_tee *tee, const ncsl_keys *keys, const uint8_t *nonce,
                              size_t nonce_len, json_t **out, ncsl_err *err) {
    ncsl_status st = NCSL_OK;
    uint8_t sig_pub[NCSL_KEYS_P256_PUB_SIZE];
    uint8_t enc_pub[NCSL_KEYS_X25519_SIZE];
    uint8_t rd[NCSL_TEE_REPORT_DATA_SIZE];
    char enclave_id[2 * NCSL_PROOF_ENCLAVE_ID_SIZE + 1];
    char ts[32];
    uint8_t *quote = NULL;
    size_t quote_len = 0;
    char *quote_b64 = NULL;
    json_t *j = NULL;
    ncsl_sgx_quote q;

    if (!out) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "out", "NULL output");
    }
    *out = NULL;
    if (!tee || !keys) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, tee ? "keys" : "tee", "NULL argument");
    }
    const char *tee_type = ncsl_proof_tee_type(tee);
    if (!tee_type) {
        return ncsl_err_set(err, NCSL_E_UNSUPPORTED, "tee",
                            "the TEE backend \"%s\" has no attestation proof type",
                            ncsl_tee_name(tee));
    }
    ncsl_keys_signing_pub_compressed(keys, sig_pub);
    ncsl_keys_encryption_pub(keys, enc_pub);
    if ((st = ncsl_proof_report_data(nonce, nonce_len, sig_pub, enc_pub, rd, err)) != NCSL_OK ||
        (st = ncsl_proof_enclave_id(sig_pub, enclave_id, err)) != NCSL_OK ||
        (st = ncsl_tee_get_quote(tee, rd, &quote, &quote_len, err)) != NCSL_OK) {
        goto out;
    }
    /* The measurement comes from the quote itself, so the JSON cannot disagree with it. */
    if ((st = ncsl_attest_quote_parse(quote, quote_len, &q, err)) != NCSL_OK) {
        goto out;
    }
    if (memcmp(q.report.report_data, rd, sizeof(rd)) != 0) {
        st = ncsl_err_set(err, NCSL_E_TEE, NULL,
                          "the TEE returned a quote that does not carry the requested report "
                          "data");
        goto out;
    }
    quote_b64 = ncsl__trust_base64_encode(quote, quote_len);
    j = json_object();
    if (!quote_b64 || !j || !ncsl__trust_time_format(ncsl__trust_now_ms(), ts, sizeof(ts))) {
        st = ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
        goto out;
    }
    bool ok = set_int(j, "version", NCSL_PROOF_VERSION) && set_str(j, "teeType", tee_type) &&
              set_str(j, "enclaveId", enclave_id) &&
              ncsl__trust_json_set_hex(j, "mrEnclave", q.report.mr_enclave, 32) &&
              ncsl__trust_json_set_hex(j, "mrSigner", q.report.mr_signer, 32) &&
              set_int(j, "isvProdId", q.report.isv_prod_id) &&
              set_int(j, "isvSvn", q.report.isv_svn) &&
              json_object_set_new(j, "debug", json_boolean(q.report.debug)) == 0 &&
              ncsl__trust_json_set_hex(j, "nonce", nonce, nonce_len) &&
              ncsl__trust_json_set_hex(j, "signingKey", sig_pub, sizeof(sig_pub)) &&
              ncsl__trust_json_set_hex(j, "encryptionKey", enc_pub, sizeof(enc_pub)) &&
              ncsl__trust_json_set_hex(j, "reportData", rd, sizeof(rd)) &&
              set_str(j, "quote", quote_b64) && set_str(j, "timestamp", ts);
    if (!ok) {
        st = ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
        goto out;
    }
    *out = j;
    j = NULL;
out:
    json_decref(j);
    free(quote_b64);
    free(quote);
    return st;
}
