/*
 * Verifying attestation proofs: strict parsing, the quote verifier, then the bindings and the
 * caller's policy (order and meaning in proof.h). The first failed check gives the reason; the
 * remaining checks still run so the verdict reports every mismatch it can see.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "crypto/crypto.h"
#include "keys/trust_util.h"
#include "proof/proof.h"

#define BAD NCSL_E_PROOF_MALFORMED
#define MAX_TEXT (256u * 1024u) /* proof JSON text; a real one is about 10 KiB */

void ncsl_proof_verify_opts_default(ncsl_proof_verify_opts *opts) {
    memset(opts, 0, sizeof(*opts));
    ncsl_attest_quote_verify_opts_default(&opts->quote);
}

const char *ncsl_proof_check_name(ncsl_proof_check c) {
    switch (c) {
    case NCSL_PROOF_CHECK_NONE:
        return "";
    case NCSL_PROOF_CHECK_FORMAT:
        return "format";
    case NCSL_PROOF_CHECK_QUOTE:
        return "quote";
    case NCSL_PROOF_CHECK_TEE_TYPE:
        return "teeType";
    case NCSL_PROOF_CHECK_REPORT_DATA:
        return "reportData";
    case NCSL_PROOF_CHECK_ENCLAVE_ID:
        return "enclaveId";
    case NCSL_PROOF_CHECK_MEASUREMENT:
        return "measurement";
    case NCSL_PROOF_CHECK_DEBUG:
        return "debug";
    case NCSL_PROOF_CHECK_EXPECTED:
        return "expected";
    case NCSL_PROOF_CHECK_SETUP:
        return "setup";
    }
    return "";
}

/* Records a failed check unless an earlier one already failed (the first reason wins). `field`
 * is the proof's JSON field the check is about. */
NCSL_PRINTF(6, 7)
static void fail(ncsl_proof_verdict *v, ncsl_status *st, ncsl_proof_check check, ncsl_status code,
                 const char *field, const char *fmt, ...) {
    if (v->failed_check != NCSL_PROOF_CHECK_NONE) {
        return;
    }
    v->failed_check = check;
    *st = code;
    snprintf(v->field, sizeof(v->field), "%s", field);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
    va_end(ap);
}

/* Parses every field of `j` into `v` and the decoded quote into *quote (caller frees). */
static ncsl_status parse_fields(const json_t *j, ncsl_proof_verdict *v, uint8_t **quote,
                                size_t *quote_len, ncsl_err *err) {
    static const char *const allowed[] = {"version",  "teeType",    "enclaveId",     "mrEnclave",
                                          "mrSigner", "isvProdId",  "isvSvn",        "debug",
                                          "nonce",    "signingKey", "encryptionKey", "reportData",
                                          "quote",    "timestamp"};
    ncsl_status st;
    long long i = 0;
    const char *s = NULL;
    size_t n = 0;
    uint64_t ms = 0;

    *quote = NULL;
    *quote_len = 0;
    if (!json_is_object(j)) {
        return ncsl_err_set(err, BAD, "", "the proof must be a JSON object");
    }
    if ((st = ncsl__trust_json_int(j, "version", NCSL_PROOF_VERSION, NCSL_PROOF_VERSION, &i, BAD,
                                   err)) != NCSL_OK) {
        if (json_is_integer(json_object_get(j, "version"))) {
            ncsl_err_set(
                err, BAD, "version", "unsupported proof version %lld (this build reads %d)",
                (long long)json_integer_value(json_object_get(j, "version")), NCSL_PROOF_VERSION);
        }
        return st;
    }
    if ((st = ncsl__trust_json_string(j, "teeType", 1, NCSL_PROOF_TEE_TYPE_SIZE - 1, &s, &n, BAD,
                                      err)) != NCSL_OK) {
        return st;
    }
    if (strcmp(s, "simulation") != 0 && strcmp(s, "sgx-occlum") != 0 &&
        strcmp(s, "sgx-gramine") != 0) {
        return ncsl_err_set(err, BAD, "teeType",
                            "field \"teeType\" must be \"simulation\", \"sgx-occlum\" or "
                            "\"sgx-gramine\"");
    }
    memcpy(v->tee_type, s, n + 1);
    uint8_t id[NCSL_PROOF_ENCLAVE_ID_SIZE];
    if ((st = ncsl__trust_json_hex(j, "enclaveId", id, sizeof(id), BAD, err)) != NCSL_OK) {
        return st;
    }
    if (ncsl_crypto_hex_encode(id, sizeof(id), v->enclave_id, sizeof(v->enclave_id), err) !=
        NCSL_OK) {
        return ncsl_err_set(err, NCSL_E_INTERNAL, NULL, "hex encoding failed");
    }
    if ((st = ncsl__trust_json_hex(j, "mrEnclave", v->mr_enclave, 32, BAD, err)) != NCSL_OK ||
        (st = ncsl__trust_json_hex(j, "mrSigner", v->mr_signer, 32, BAD, err)) != NCSL_OK) {
        return st;
    }
    if ((st = ncsl__trust_json_int(j, "isvProdId", 0, 65535, &i, BAD, err)) != NCSL_OK) {
        return st;
    }
    v->isv_prod_id = (uint16_t)i;
    if ((st = ncsl__trust_json_int(j, "isvSvn", 0, 65535, &i, BAD, err)) != NCSL_OK) {
        return st;
    }
    v->isv_svn = (uint16_t)i;
    if ((st = ncsl__trust_json_bool(j, "debug", &v->debug, BAD, err)) != NCSL_OK ||
        (st = ncsl__trust_json_hex_var(j, "nonce", v->nonce, sizeof(v->nonce), &v->nonce_len, BAD,
                                       err)) != NCSL_OK ||
        (st = ncsl__trust_json_hex(j, "signingKey", v->signing_key, sizeof(v->signing_key), BAD,
                                   err)) != NCSL_OK) {
        return st;
    }
    if (ncsl_keys_p256_validate(v->signing_key, NULL) != NCSL_OK) {
        return ncsl_err_set(err, BAD, "signingKey",
                            "field \"signingKey\" is not a compressed P-256 public key");
    }
    if ((st = ncsl__trust_json_hex(j, "encryptionKey", v->encryption_key, sizeof(v->encryption_key),
                                   BAD, err)) != NCSL_OK ||
        (st = ncsl__trust_json_hex(j, "reportData", v->report_data, sizeof(v->report_data), BAD,
                                   err)) != NCSL_OK) {
        return st;
    }
    size_t max_b64 = (NCSL_PROOF_MAX_QUOTE + 2) / 3 * 4;
    if ((st = ncsl__trust_json_string(j, "quote", 4, max_b64, &s, &n, BAD, err)) != NCSL_OK) {
        return st;
    }
    ncsl_err sub;
    st = ncsl__trust_base64_decode(s, n, quote, quote_len, &sub);
    if (st == NCSL_E_NOMEM) {
        return ncsl_err_set(err, st, NULL, "out of memory");
    }
    if (st != NCSL_OK) {
        return ncsl_err_set(err, BAD, "quote", "field \"quote\" is not canonical base64: %s",
                            sub.message);
    }
    if ((st = ncsl__trust_json_string(j, "timestamp", NCSL__TRUST_TIME_LEN, NCSL__TRUST_TIME_LEN,
                                      &s, &n, BAD, err)) != NCSL_OK ||
        !ncsl__trust_time_parse(s, n, &ms)) {
        free(*quote);
        *quote = NULL;
        *quote_len = 0;
        return ncsl_err_set(err, BAD, "timestamp",
                            "field \"timestamp\" must be RFC 3339 UTC with milliseconds, "
                            "e.g. \"2026-11-24T15:00:00.123Z\"");
    }
    memcpy(v->timestamp, s, n + 1);
    st = ncsl__trust_json_only_keys(j, allowed, NCSL_ARRAY_LEN(allowed), BAD, err);
    if (st != NCSL_OK) {
        free(*quote);
        *quote = NULL;
        *quote_len = 0;
    }
    return st;
}

static ncsl_status check_opts(const ncsl_proof_verify_opts *o, ncsl_err *err) {
    if (o->check_nonce && (o->expected_nonce_len > NCSL_PROOF_MAX_NONCE ||
                           (!o->expected_nonce && o->expected_nonce_len))) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "expected_nonce",
                            "the expected nonce must be 0..%u bytes", NCSL_PROOF_MAX_NONCE);
    }
    return NCSL_OK;
}

/* Checks 2-8 on a parsed proof (`v->fields_present`). Returns the first failure's status, or
 * NCSL_OK; a setup failure (the proof could not be judged) sets *setup and fills `sub`. */
static ncsl_status judge(ncsl_proof_verdict *v, const uint8_t *quote, size_t quote_len,
                         const ncsl_proof_verify_opts *opts, bool *setup, ncsl_err *sub) {
    ncsl_status st = NCSL_OK;
    *setup = false;

    /* 2. quote */
    ncsl_status qst = ncsl_attest_quote_verify(quote, quote_len, &opts->quote, &v->quote, sub);
    if (qst == NCSL_E_INVALID_ARG || qst == NCSL_E_NOMEM) {
        *setup = true;
        return qst;
    }
    if (qst != NCSL_OK) {
        fail(v, &st, NCSL_PROOF_CHECK_QUOTE, qst, "quote", "the quote does not verify: %s",
             v->quote.reason);
    }

    /* 3. teeType: only a verified quote says what kind of TEE made it. */
    if (v->quote.valid) {
        bool claims_sim = strcmp(v->tee_type, "simulation") == 0;
        bool is_sim = v->quote.tee_kind == NCSL_ATTEST_TEE_SIMULATION;
        v->tee_type_matches = claims_sim == is_sim;
        if (!v->tee_type_matches) {
            fail(v, &st, NCSL_PROOF_CHECK_TEE_TYPE, NCSL_E_PROOF_INVALID, "teeType",
                 "teeType is \"%s\" but the quote verified as %s", v->tee_type,
                 is_sim ? "a simulation quote" : "a hardware (SGX) quote");
        }
    }

    /* 4. reportData: recomputed == the JSON field == the quote's. */
    uint8_t rd[NCSL_TEE_REPORT_DATA_SIZE];
    ncsl_status rst =
        ncsl_proof_report_data(v->nonce, v->nonce_len, v->signing_key, v->encryption_key, rd, sub);
    if (rst != NCSL_OK) {
        *setup = true;
        return rst;
    }
    bool json_rd = ncsl_crypto_equal(rd, v->report_data, sizeof(rd)) == 1;
    bool quote_rd =
        v->quote.fields_present && ncsl_crypto_equal(rd, v->quote.report_data, sizeof(rd)) == 1;
    v->report_data_matches = json_rd && quote_rd;
    if (!json_rd) {
        fail(v, &st, NCSL_PROOF_CHECK_REPORT_DATA, NCSL_E_PROOF_INVALID, "reportData",
             "reportData does not equal SHA-256(\"%s\" || nonce || signingKey || encryptionKey) "
             "|| 32 zero bytes",
             NCSL_PROOF_DOMAIN);
    } else if (!quote_rd) {
        fail(v, &st, NCSL_PROOF_CHECK_REPORT_DATA, NCSL_E_PROOF_INVALID, "reportData",
             "the quote's report_data does not bind this proof's nonce and keys");
    }

    /* 5. enclaveId */
    char id[2 * NCSL_PROOF_ENCLAVE_ID_SIZE + 1];
    if ((rst = ncsl_proof_enclave_id(v->signing_key, id, sub)) != NCSL_OK) {
        *setup = true;
        return rst;
    }
    v->enclave_id_matches = strcmp(id, v->enclave_id) == 0;
    if (!v->enclave_id_matches) {
        fail(v, &st, NCSL_PROOF_CHECK_ENCLAVE_ID, NCSL_E_PROOF_INVALID, "enclaveId",
             "enclaveId is not the first %u bytes of SHA-256(signingKey)",
             NCSL_PROOF_ENCLAVE_ID_SIZE);
    }

    /* 6. measurement: the JSON copies must equal the quote's report body. */
    if (v->quote.fields_present) {
        const ncsl_quote_verdict *q = &v->quote;
        const char *which = memcmp(q->mr_enclave, v->mr_enclave, 32) != 0 ? "mrEnclave"
                            : memcmp(q->mr_signer, v->mr_signer, 32) != 0 ? "mrSigner"
                            : q->isv_prod_id != v->isv_prod_id            ? "isvProdId"
                            : q->isv_svn != v->isv_svn                    ? "isvSvn"
                            : q->debug != v->debug                        ? "debug"
                                                                          : NULL;
        v->measurement_matches = which == NULL;
        if (which) {
            fail(v, &st, NCSL_PROOF_CHECK_MEASUREMENT, NCSL_E_PROOF_INVALID, which,
                 "%s in the proof differs from the quote's", which);
        }
    }

    /* 7. debug policy, judged on the quote's attribute when there is one. */
    bool debug = v->quote.fields_present ? v->quote.debug : v->debug;
    if (debug && !opts->allow_debug) {
        fail(v, &st, NCSL_PROOF_CHECK_DEBUG, NCSL_E_PROOF_INVALID, "debug",
             "the enclave runs in DEBUG mode (its memory is readable by the host); set "
             "allow_debug to accept it");
    }

    /* 8. the caller's expectations */
    if (opts->check_nonce &&
        (opts->expected_nonce_len != v->nonce_len ||
         (v->nonce_len && memcmp(opts->expected_nonce, v->nonce, v->nonce_len) != 0))) {
        fail(v, &st, NCSL_PROOF_CHECK_EXPECTED, NCSL_E_PROOF_INVALID, "nonce",
             "the nonce is not the expected one");
    }
    if (opts->expected_mr_enclave && memcmp(opts->expected_mr_enclave, v->mr_enclave, 32) != 0) {
        fail(v, &st, NCSL_PROOF_CHECK_EXPECTED, NCSL_E_PROOF_INVALID, "mrEnclave",
             "mrEnclave is not the expected one");
    }
    if (opts->expected_mr_signer && memcmp(opts->expected_mr_signer, v->mr_signer, 32) != 0) {
        fail(v, &st, NCSL_PROOF_CHECK_EXPECTED, NCSL_E_PROOF_INVALID, "mrSigner",
             "mrSigner is not the expected one");
    }
    if (opts->expected_signing_key &&
        memcmp(opts->expected_signing_key, v->signing_key, NCSL_KEYS_P256_PUB_SIZE) != 0) {
        fail(v, &st, NCSL_PROOF_CHECK_EXPECTED, NCSL_E_PROOF_INVALID, "signingKey",
             "signingKey is not the expected one");
    }
    return st;
}

ncsl_status ncsl_proof_verify(const json_t *proof, const ncsl_proof_verify_opts *opts,
                              ncsl_proof_verdict *out, ncsl_err *err) {
    ncsl_status st = NCSL_OK;
    ncsl_proof_verify_opts defaults;
    uint8_t *quote = NULL;
    size_t quote_len = 0;
    bool setup = false;
    ncsl_err sub;

    if (!out) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "out", "NULL verdict");
    }
    memset(out, 0, sizeof(*out));
    if (!opts) {
        ncsl_proof_verify_opts_default(&defaults);
        opts = &defaults;
    }
    ncsl_err_clear(&sub);
    if ((st = check_opts(opts, &sub)) != NCSL_OK) {
        out->failed_check = NCSL_PROOF_CHECK_SETUP;
    } else if (!proof) {
        st = ncsl_err_set(&sub, BAD, "", "no proof given");
        out->failed_check = NCSL_PROOF_CHECK_FORMAT;
    } else if ((st = parse_fields(proof, out, &quote, &quote_len, &sub)) != NCSL_OK) {
        out->failed_check = st == BAD ? NCSL_PROOF_CHECK_FORMAT : NCSL_PROOF_CHECK_SETUP;
        /* Never report half-parsed fields as the proof's. */
        ncsl_proof_check c = out->failed_check;
        memset(out, 0, sizeof(*out));
        out->failed_check = c;
    } else {
        out->fields_present = true;
        st = judge(out, quote, quote_len, opts, &setup, &sub);
        if (setup) {
            out->failed_check = NCSL_PROOF_CHECK_SETUP;
        }
    }
    free(quote);
    out->valid = st == NCSL_OK && out->failed_check == NCSL_PROOF_CHECK_NONE;
    if (out->valid) {
        return NCSL_OK;
    }
    if (out->failed_check == NCSL_PROOF_CHECK_FORMAT ||
        out->failed_check == NCSL_PROOF_CHECK_SETUP) {
        /* The reason and field come from the parser or the setup step. */
        snprintf(out->reason, sizeof(out->reason), "%s", sub.message);
        snprintf(out->field, sizeof(out->field), "%s", sub.field);
    }
    return ncsl_err_set(err, st, out->field, "%s", out->reason);
}

ncsl_status ncsl_proof_verify_text(const char *text, size_t len, const ncsl_proof_verify_opts *opts,
                                   ncsl_proof_verdict *out, ncsl_err *err) {
    json_error_t jerr;
    if (!out) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "out", "NULL verdict");
    }
    memset(out, 0, sizeof(*out));
    out->failed_check = NCSL_PROOF_CHECK_FORMAT;
    if (!text || len > MAX_TEXT) {
        snprintf(out->reason, sizeof(out->reason), "the proof text is missing or over %u bytes",
                 MAX_TEXT);
        return ncsl_err_set(err, BAD, "", "%s", out->reason);
    }
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!j) {
        snprintf(out->reason, sizeof(out->reason), "the proof is not valid JSON: %s (line %d)",
                 jerr.text, jerr.line);
        return ncsl_err_set(err, BAD, "", "%s", out->reason);
    }
    ncsl_status st = ncsl_proof_verify(j, opts, out, err);
    json_decref(j);
    return st;
}

/* ------------------------------------------------------------------------- rendering */

static json_t *hex_or_null(bool present, const uint8_t *p, size_t n) {
    char buf[2 * 64 + 1];
    if (!present || n > 64 || ncsl_crypto_hex_encode(p, n, buf, sizeof(buf), NULL) != NCSL_OK) {
        return json_null();
    }
    return json_string(buf);
}

static json_t *str_or_null(bool present, const char *s) {
    return present && s ? json_string(s) : json_null();
}

json_t *ncsl_proof_verdict_to_json(const ncsl_proof_verdict *v) {
    if (!v) {
        return NULL;
    }
    json_t *j = json_object();
    if (!j) {
        return NULL;
    }
    bool f = v->fields_present;
    const ncsl_quote_verdict *q = &v->quote;
    const char *kind = !q->valid                                     ? NULL
                       : q->tee_kind == NCSL_ATTEST_TEE_SIMULATION   ? "simulation"
                       : q->tee_kind == NCSL_ATTEST_TEE_SGX_HARDWARE ? "sgx"
                                                                     : NULL;
    char checked_at[32];
    bool have_checked =
        q->checked_at > 0 &&
        ncsl__trust_time_format((uint64_t)q->checked_at * 1000u, checked_at, sizeof(checked_at));
    int rc = 0;
    rc |= json_object_set_new(j, "valid", json_boolean(v->valid));
    rc |= json_object_set_new(j, "reason", str_or_null(!v->valid, v->reason));
    rc |= json_object_set_new(j, "failedCheck",
                              str_or_null(!v->valid, ncsl_proof_check_name(v->failed_check)));
    rc |= json_object_set_new(j, "field", str_or_null(v->field[0] != '\0', v->field));
    rc |= json_object_set_new(j, "teeType", str_or_null(f, v->tee_type));
    rc |= json_object_set_new(j, "verifiedTeeKind", str_or_null(kind != NULL, kind));
    rc |= json_object_set_new(j, "enclaveId", str_or_null(f, v->enclave_id));
    rc |= json_object_set_new(j, "mrEnclave", hex_or_null(f, v->mr_enclave, 32));
    rc |= json_object_set_new(j, "mrSigner", hex_or_null(f, v->mr_signer, 32));
    rc |= json_object_set_new(j, "isvProdId", f ? json_integer(v->isv_prod_id) : json_null());
    rc |= json_object_set_new(j, "isvSvn", f ? json_integer(v->isv_svn) : json_null());
    rc |= json_object_set_new(j, "debug", f ? json_boolean(v->debug) : json_null());
    rc |= json_object_set_new(j, "nonce", hex_or_null(f, v->nonce, v->nonce_len));
    rc |= json_object_set_new(j, "signingKey",
                              hex_or_null(f, v->signing_key, sizeof(v->signing_key)));
    rc |= json_object_set_new(j, "encryptionKey",
                              hex_or_null(f, v->encryption_key, sizeof(v->encryption_key)));
    rc |= json_object_set_new(j, "timestamp", str_or_null(f, v->timestamp));
    rc |= json_object_set_new(j, "quoteValid", json_boolean(q->valid));
    rc |= json_object_set_new(j, "quoteReason",
                              str_or_null(!q->valid && q->reason[0] != '\0', q->reason));
    rc |= json_object_set_new(j, "teeTypeMatches", json_boolean(v->tee_type_matches));
    rc |= json_object_set_new(j, "reportDataMatches", json_boolean(v->report_data_matches));
    rc |= json_object_set_new(j, "enclaveIdMatches", json_boolean(v->enclave_id_matches));
    rc |= json_object_set_new(j, "measurementMatches", json_boolean(v->measurement_matches));
    rc |= json_object_set_new(j, "collateralChecked", json_boolean(q->collateral_checked));
    rc |= json_object_set_new(j, "checkedAt", str_or_null(have_checked, checked_at));
    rc |= json_object_set_new(j, "note", str_or_null(q->note[0] != '\0', q->note));
    if (rc != 0) {
        json_decref(j);
        return NULL;
    }
    return j;
}
