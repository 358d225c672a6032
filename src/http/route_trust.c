/*
 * The trust routes: what TEE this daemon runs in (tee-info), attestation proofs and their
 * verification, receipt verification, and the receipt every execution response carries.
 * Handlers run on MHD threads; the TEE calls they make are short (no JavaScript).
 *
 * Verification routes judge what they are given: a well-formed proof or receipt that fails a
 * check is a 200 answer with valid:false and the reason; a malformed one is a 400 naming the
 * field ("proof.quote", "receipt.signature"...), like any other bad input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "http_int.h"
#include "keys/keys.h"
#include "keys/trust_util.h"
#include "proof/proof.h"
#include "receipt/receipt.h"
#include "tee/tee.h"

/* 503 when the daemon runs without a TEE handle (tests that only need execution). */
static enum MHD_Result answer_no_tee(http_req *r) {
    return ncsl__http_answer_error(r, 503, "SERVICE_UNAVAILABLE", "this server has no TEE attached",
                                   NULL, NULL);
}

enum MHD_Result ncsl__http_route_tee_info(http_req *r) {
    ncsl_tee *tee = r->srv->services.tee;
    if (!tee) {
        return answer_no_tee(r);
    }
    ncsl_tee_measurement m;
    ncsl_err err;
    ncsl_err_clear(&err);
    ncsl_status st = ncsl_tee_measure(tee, &m, &err);
    if (st != NCSL_OK) {
        NCSL_LOG_ERROR("http", "tee-info: measuring failed: %s", err.message);
        return ncsl__http_answer_status(r, st, &err);
    }
    bool sim = ncsl_tee_get_kind(tee) == NCSL_TEE_KIND_SIMULATION;
    json_t *d = json_object();
    if (!d) {
        return ncsl__http_answer_data(r, NULL);
    }
    json_object_set_new(d, "teeType", json_string(ncsl_tee_name(tee)));
    json_object_set_new(d, "hardware", json_boolean(!sim));
    json_object_set_new(d, "reason", json_string(ncsl_tee_reason(tee)));
    (void)ncsl__trust_json_set_hex(d, "mrEnclave", m.mr_enclave, sizeof(m.mr_enclave));
    (void)ncsl__trust_json_set_hex(d, "mrSigner", m.mr_signer, sizeof(m.mr_signer));
    json_object_set_new(d, "isvProdId", json_integer(m.isv_prod_id));
    json_object_set_new(d, "isvSvn", json_integer(m.isv_svn));
    json_object_set_new(d, "debug", json_boolean(m.debug));
    (void)ncsl__trust_json_set_hex(d, "attributes", m.attributes, sizeof(m.attributes));
    ncsl_keys *keys = r->srv->services.keys;
    if (keys) {
        uint8_t sig_pub[NCSL_KEYS_P256_PUB_SIZE];
        uint8_t enc_pub[NCSL_KEYS_X25519_SIZE];
        char enclave_id[2 * NCSL_PROOF_ENCLAVE_ID_SIZE + 1] = "";
        char address[NCSL_NEO_ADDRESS_SIZE] = "";
        ncsl_keys_signing_pub_compressed(keys, sig_pub);
        ncsl_keys_encryption_pub(keys, enc_pub);
        (void)ncsl__trust_json_set_hex(d, "signingKey", sig_pub, sizeof(sig_pub));
        (void)ncsl__trust_json_set_hex(d, "encryptionKey", enc_pub, sizeof(enc_pub));
        if (ncsl_proof_enclave_id(sig_pub, enclave_id, NULL) == NCSL_OK) {
            json_object_set_new(d, "enclaveId", json_string(enclave_id));
        }
        if (ncsl_receipt_neo_address(sig_pub, address, NULL) == NCSL_OK) {
            json_object_set_new(d, "neoAddress", json_string(address));
        }
    }
    if (sim) {
        json_object_set_new(d, "warning",
                            json_string("simulation mode: no hardware protection; proofs from "
                                        "this server verify only with simulation explicitly "
                                        "allowed"));
    }
    return ncsl__http_answer_data(r, d);
}

/* 503 when the daemon runs without identity keys (tests that only need execution). */
static enum MHD_Result answer_no_keys(http_req *r) {
    return ncsl__http_answer_error(r, 503, "SERVICE_UNAVAILABLE",
                                   "this server has no enclave identity keys", NULL, NULL);
}

/* 400 VALIDATION_ERROR naming `field`. */
static enum MHD_Result bad_field(http_req *r, const char *field, const char *message) {
    return ncsl__http_answer_error(r, 400, "VALIDATION_ERROR", message, field, NULL);
}

enum MHD_Result ncsl__http_route_attestation(http_req *r) {
    ncsl_tee *tee = r->srv->services.tee;
    ncsl_keys *keys = r->srv->services.keys;
    if (!tee) {
        return answer_no_tee(r);
    }
    if (!keys) {
        return answer_no_keys(r);
    }
    uint8_t nonce[NCSL_PROOF_MAX_NONCE];
    size_t nonce_len = 0;
    ncsl_err err;
    ncsl_err_clear(&err);
    const char *hex = ncsl__http_query(r, "nonce");
    if (hex && *hex) {
        size_t hex_len = strlen(hex);
        if (hex_len > 2 * NCSL_PROOF_MAX_NONCE) {
            return ncsl__http_answer_error(r, 400, "VALIDATION_ERROR",
                                           "nonce is longer than 64 bytes (128 hex characters)",
                                           "nonce", NULL);
        }
        if (ncsl_crypto_hex_decode(hex, hex_len, nonce, sizeof(nonce), &nonce_len, &err) !=
            NCSL_OK) {
            return bad_field(r, "nonce", "nonce must be hex: an even number of 0-9, a-f");
        }
    }
    json_t *proof = NULL;
    ncsl_status st = ncsl_proof_create(tee, keys, nonce, nonce_len, &proof, &err);
    if (st != NCSL_OK) {
        NCSL_LOG_ERROR("http", "attestation: making a proof failed: %s", err.message);
        return ncsl__http_answer_status(r, st, &err);
    }
    ncsl__http_metrics_inc(&r->srv->metrics.proofs);
    return ncsl__http_answer_data(r, proof);
}

/* Hex of exactly `len` bytes, or absent. Returns false (and answers) on a bad value. */
static bool opt_hex(http_req *r, json_t *body, const char *name, uint8_t *out, size_t len,
                    bool *present, enum MHD_Result *answered) {
    json_t *v = json_object_get(body, name);
    *present = false;
    if (!v || json_is_null(v)) {
        return true;
    }
    size_t got = 0;
    if (!json_is_string(v) ||
        ncsl_crypto_hex_decode(json_string_value(v), json_string_length(v), out, len, &got, NULL) !=
            NCSL_OK ||
        got != len) {
        char msg[96];
        snprintf(msg, sizeof(msg), "%s must be hex of exactly %zu bytes", name, len);
        *answered = bad_field(r, name, msg);
        return false;
    }
    *present = true;
    return true;
}

/* The proof-checking options shared by both verify routes, from the body's members:
 *   allowSimulation, allowDebug (booleans), expectedNonce (hex, 0..64 bytes),
 *   expectedMrEnclave, expectedMrSigner (hex, 32 bytes), at (RFC 3339 with milliseconds).
 * `storage` holds the decoded values. Returns false after answering 400. */
typedef struct verify_storage {
    uint8_t nonce[NCSL_PROOF_MAX_NONCE];
    uint8_t mr_enclave[32];
    uint8_t mr_signer[32];
} verify_storage;

static bool read_verify_opts(http_req *r, json_t *body, ncsl_proof_verify_opts *o,
                             verify_storage *vs, enum MHD_Result *answered) {
    ncsl_proof_verify_opts_default(o);
    static const char *const bools[] = {"allowSimulation", "allowDebug"};
    bool vals[2] = {false, false};
    for (size_t i = 0; i < 2; i++) {
        json_t *v = json_object_get(body, bools[i]);
        if (v && !json_is_boolean(v)) {
            char msg[64];
            snprintf(msg, sizeof(msg), "%s must be true or false", bools[i]);
            *answered = bad_field(r, bools[i], msg);
            return false;
        }
        vals[i] = v && json_is_true(v);
    }
    o->allow_debug = vals[1];
    if (vals[0]) {
        size_t len = 0;
        const char *pem =
            r->srv->services.tee ? ncsl_tee_attestation_root_pem(r->srv->services.tee, &len) : NULL;
        if (!pem) {
            *answered = bad_field(r, "allowSimulation",
                                  "this server runs on hardware and has no simulation root to "
                                  "check simulation proofs against");
            return false;
        }
        o->quote.allow_simulation = true;
        o->quote.simulation_root_pem = pem;
        o->quote.simulation_root_pem_len = len;
    }
    json_t *nonce = json_object_get(body, "expectedNonce");
    if (nonce && !json_is_null(nonce)) {
        size_t got = 0;
        if (!json_is_string(nonce) || json_string_length(nonce) > 2 * NCSL_PROOF_MAX_NONCE ||
            ncsl_crypto_hex_decode(json_string_value(nonce), json_string_length(nonce), vs->nonce,
                                   sizeof(vs->nonce), &got, NULL) != NCSL_OK) {
            *answered =
                bad_field(r, "expectedNonce", "expectedNonce must be hex of at most 64 bytes");
            return false;
        }
        o->check_nonce = true;
        o->expected_nonce = vs->nonce;
        o->expected_nonce_len = got;
    }
    bool present = false;
    if (!opt_hex(r, body, "expectedMrEnclave", vs->mr_enclave, 32, &present, answered)) {
        return false;
    }
    o->expected_mr_enclave = present ? vs->mr_enclave : NULL;
    if (!opt_hex(r, body, "expectedMrSigner", vs->mr_signer, 32, &present, answered)) {
        return false;
    }
    o->expected_mr_signer = present ? vs->mr_signer : NULL;
    json_t *at = json_object_get(body, "at");
    if (at && !json_is_null(at)) {
        uint64_t ms = 0;
        if (!json_is_string(at) ||
            !ncsl__trust_time_parse(json_string_value(at), json_string_length(at), &ms)) {
            *answered = bad_field(r, "at",
                                  "at must be an RFC 3339 UTC time like "
                                  "2026-01-01T00:00:00.000Z");
            return false;
        }
        o->quote.at_time = (int64_t)(ms / 1000);
    }
    return true;
}

/* Refuses members other than `allowed` with a 400 naming the first one. */
static bool only_members(http_req *r, json_t *body, const char *const *allowed, size_t n,
                         enum MHD_Result *answered) {
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v) {
        bool ok = false;
        for (size_t i = 0; i < n && !ok; i++) {
            ok = strcmp(key, allowed[i]) == 0;
        }
        if (!ok) {
            (void)v;
            char msg[160];
            snprintf(msg, sizeof(msg), "unknown member \"%.100s\"", key);
            *answered = bad_field(r, key, msg);
            return false;
        }
    }
    return true;
}

/* A malformed proof/receipt is bad input: 400 naming "<prefix>.<field>". */
static enum MHD_Result answer_malformed(http_req *r, const char *prefix, const ncsl_err *err) {
    char field[96];
    if (err->field[0]) {
        snprintf(field, sizeof(field), "%s.%s", prefix, err->field);
    } else {
        snprintf(field, sizeof(field), "%s", prefix);
    }
    return ncsl__http_answer_error(r, 400, "VALIDATION_ERROR", err->message, field, NULL);
}

/* Verifies body.proof (required) with the options; fills *verdict. Returns false after
 * answering (malformed proof, setup error). */
static bool verify_proof_member(http_req *r, json_t *proof, const ncsl_proof_verify_opts *o,
                                ncsl_proof_verdict *verdict, enum MHD_Result *answered) {
    ncsl_err err;
    ncsl_err_clear(&err);
    ncsl_status st = ncsl_proof_verify(proof, o, verdict, &err);
    if (st == NCSL_E_PROOF_MALFORMED) {
        *answered = answer_malformed(r, "proof", &err);
        return false;
    }
    if (verdict->failed_check == NCSL_PROOF_CHECK_SETUP) {
        NCSL_LOG_ERROR("http", "proof verification could not run: %s", err.message);
        *answered = ncsl__http_answer_status(r, st, &err);
        return false;
    }
    return true;
}

enum MHD_Result ncsl__http_route_attestation_verify(http_req *r) {
    enum MHD_Result answered = MHD_NO;
    json_t *body = ncsl__http_body_object(r, &answered);
    if (!body) {
        return answered;
    }
    static const char *const allowed[] = {"proof",
                                          "allowSimulation",
                                          "allowDebug",
                                          "expectedNonce",
                                          "expectedMrEnclave",
                                          "expectedMrSigner",
                                          "at"};
    ncsl_proof_verify_opts o;
    verify_storage vs;
    ncsl_proof_verdict verdict;
    json_t *proof = json_object_get(body, "proof");
    if (!only_members(r, body, allowed, NCSL_ARRAY_LEN(allowed), &answered) ||
        !read_verify_opts(r, body, &o, &vs, &answered)) {
        goto out;
    }
    if (!json_is_object(proof)) {
        answered =
            bad_field(r, "proof", "proof is required: the data object of GET /api/v1/attestation");
        goto out;
    }
    if (!verify_proof_member(r, proof, &o, &verdict, &answered)) {
        goto out;
    }
    answered = ncsl__http_answer_data(r, ncsl_proof_verdict_to_json(&verdict));
out:
    json_decref(body);
    return answered;
}

enum MHD_Result ncsl__http_route_receipt_verify(http_req *r) {
    enum MHD_Result answered = MHD_NO;
    json_t *body = ncsl__http_body_object(r, &answered);
    if (!body) {
        return answered;
    }
    static const char *const allowed[] = {"receipt",          "proof",
                                          "allowSimulation",  "allowDebug",
                                          "expectedNonce",    "expectedMrEnclave",
                                          "expectedMrSigner", "at"};
    ncsl_proof_verify_opts o;
    verify_storage vs;
    ncsl_proof_verdict verdict;
    ncsl_receipt rc;
    memset(&rc, 0, sizeof(rc));
    ncsl_err err;
    ncsl_err_clear(&err);
    json_t *receipt = json_object_get(body, "receipt");
    json_t *proof = json_object_get(body, "proof");
    json_t *d = NULL;
    if (!only_members(r, body, allowed, NCSL_ARRAY_LEN(allowed), &answered) ||
        !read_verify_opts(r, body, &o, &vs, &answered)) {
        goto out;
    }
    if (!json_is_object(receipt)) {
        answered =
            bad_field(r, "receipt", "receipt is required: the data.receipt object of an execution");
        goto out;
    }
    if (proof && !json_is_null(proof) && !json_is_object(proof)) {
        answered = bad_field(r, "proof", "proof must be an attestation proof object");
        goto out;
    }
    if (ncsl_receipt_from_json(receipt, &rc, &err) != NCSL_OK) {
        answered = answer_malformed(r, "receipt", &err);
        goto out;
    }
    bool with_proof = proof && json_is_object(proof);
    if (with_proof && !verify_proof_member(r, proof, &o, &verdict, &answered)) {
        goto out;
    }
    /* The signature alone, then (with a proof) whether the attested key signed it. */
    ncsl_status sig_st = ncsl_receipt_verify(&rc, NULL, &err);
    bool sig_ok = sig_st == NCSL_OK;
    char sig_reason[sizeof(err.message)];
    memcpy(sig_reason, sig_ok ? "" : err.message, sig_ok ? 1 : sizeof(sig_reason));
    bool attested = with_proof && verdict.valid && sig_ok &&
                    memcmp(verdict.signing_key, rc.signing_key, sizeof(rc.signing_key)) == 0;
    const char *reason = NULL;
    if (!sig_ok) {
        reason = sig_reason;
    } else if (with_proof && !verdict.valid) {
        reason = "the attestation proof is not valid (see proof.reason)";
    } else if (with_proof && !attested) {
        reason = "the receipt was not signed by the attested enclave key";
    }
    d = json_object();
    char address[NCSL_NEO_ADDRESS_SIZE] = "";
    bool have_address = ncsl_receipt_neo_address(rc.signing_key, address, NULL) == NCSL_OK;
    if (!d) {
        answered = ncsl__http_answer_data(r, NULL);
        goto out;
    }
    json_object_set_new(d, "valid", json_boolean(sig_ok && (!with_proof || attested)));
    json_object_set_new(d, "reason", reason ? json_string(reason) : json_null());
    json_object_set_new(d, "signatureValid", json_boolean(sig_ok));
    json_object_set_new(d, "executionId", json_string(rc.execution_id));
    (void)ncsl__trust_json_set_hex(d, "signingKey", rc.signing_key, sizeof(rc.signing_key));
    json_object_set_new(d, "neoAddress", have_address ? json_string(address) : json_null());
    json_object_set_new(d, "attested", json_boolean(attested));
    json_object_set_new(d, "proof",
                        with_proof ? ncsl_proof_verdict_to_json(&verdict) : json_null());
    answered = ncsl__http_answer_data(r, d);
out:
    ncsl_receipt_cleanup(&rc);
    json_decref(body);
    return answered;
}

/* A string as jansson's json_dumps writes it: the mandatory escapes, \uXXXX in upper case for
 * the other control characters, UTF-8 as is. False when it is not UTF-8 (json_string refuses). */
static bool append_receipt_string(ncsl_buf *b, const char *s) {
    static const char hex[] = "0123456789ABCDEF";
    size_t len = strlen(s);
    if (!ncsl_utf8_valid(s, len)) {
        return false;
    }
    ncsl_buf_append(b, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            continue;
        }
        ncsl_buf_append(b, s + run, i - run);
        run = i + 1;
        char esc[6] = {'\\', 0, 0, 0, 0, 0};
        size_t n = 2;
        switch (c) {
        case '"':
        case '\\':
            esc[1] = (char)c;
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            n = 6;
        }
        ncsl_buf_append(b, esc, n);
    }
    ncsl_buf_append(b, s + run, len - run);
    ncsl_buf_append(b, "\"", 1);
    return true;
}

/* `prefix` then `len` bytes at `p` in lower-case hex and a closing quote. */
static void append_receipt_hex(ncsl_buf *b, const char *prefix, const uint8_t *p, size_t len) {
    static const char hex[] = "0123456789abcdef";
    ncsl_buf_append_str(b, prefix);
    if (!ncsl_buf_reserve(b, 2 * len + 1)) {
        return;
    }
    char *o = b->data + b->len;
    for (size_t i = 0; i < len; i++) {
        o[2 * i] = hex[p[i] >> 4];
        o[2 * i + 1] = hex[p[i] & 15];
    }
    b->len += 2 * len;
    ncsl_buf_append(b, "\"", 1); /* also terminates the data */
}

bool ncsl__http_receipt_json(ncsl_buf *b, const ncsl_receipt *rc) {
    char ts[NCSL_HTTP_TS_SIZE];
    if (!rc->execution_id || ncsl__http_time_format(rc->timestamp_ms, ts) == 0) {
        return false;
    }
    size_t mark = b->len;
    bool ok = true;
    ncsl_buf_append_str(b, "{\"executionId\":");
    ok = ok && append_receipt_string(b, rc->execution_id);
    ncsl_buf_append_str(b, ",\"functionId\":");
    ok = ok && append_receipt_string(b, rc->function_id ? rc->function_id : "");
    ncsl_buf_append_str(b, ",\"userId\":");
    ok = ok && append_receipt_string(b, rc->user_id ? rc->user_id : "");
    append_receipt_hex(b, ",\"codeHash\":\"", rc->code_hash, sizeof(rc->code_hash));
    append_receipt_hex(b, ",\"inputHash\":\"", rc->input_hash, sizeof(rc->input_hash));
    append_receipt_hex(b, ",\"outputHash\":\"", rc->output_hash, sizeof(rc->output_hash));
    ncsl_buf_append_str(b, ",\"timestamp\":\"");
    ncsl_buf_append_str(b, ts);
    append_receipt_hex(b, "\",\"signingKey\":\"", rc->signing_key, sizeof(rc->signing_key));
    append_receipt_hex(b, ",\"signature\":\"", rc->signature, sizeof(rc->signature));
    ncsl_buf_append(b, "}", 1);
    if (!ok && !b->oom && b->data) {
        b->len = mark; /* take back what was appended */
        b->data[mark] = '\0';
    }
    return ok && !b->oom;
}

void ncsl__http_append_receipt(ncsl_buf *b, const http_req *r, const char *execution_id,
                               const void *output, size_t output_len) {
    ncsl_keys *keys = r->srv->services.keys;
    if (!keys || !r->receipt_wanted || !execution_id || !*execution_id) {
        return;
    }
    ncsl_err err;
    ncsl_err_clear(&err);
    ncsl_receipt_input in;
    memset(&in, 0, sizeof(in));
    in.execution_id = execution_id;
    in.function_id = r->function_id;
    in.user_id = r->user_id;
    memcpy(in.code_hash, r->code_hash, sizeof(in.code_hash));
    memcpy(in.input_hash, r->input_hash, sizeof(in.input_hash));
    ncsl_receipt rc;
    if (ncsl_crypto_sha256(output, output_len, in.output_hash, &err) != NCSL_OK ||
        ncsl_receipt_sign(keys, &in, &rc, &err) != NCSL_OK) {
        NCSL_LOG_ERROR("http", "request %s: signing the receipt failed: %s", r->request_id,
                       err.message);
        ncsl__http_metrics_inc(&r->srv->metrics.receipt_failures);
        return;
    }
    ncsl__http_metrics_inc(&r->srv->metrics.receipts_signed);
    /* Written straight into the answer: what ncsl_receipt_to_json and json_dumps give (the
     * unit test test_http_ids checks it) at a tenth of their cost. A failure takes back what it
     * appended. */
    size_t mark = b->len;
    ncsl_buf_append_str(b, ",\"receipt\":");
    if (!ncsl__http_receipt_json(b, &rc)) {
        if (!b->oom && b->data) {
            b->len = mark;
            b->data[mark] = '\0';
        }
        NCSL_LOG_ERROR("http", "request %s: rendering the receipt failed: %s", r->request_id,
                       b->oom ? "out of memory" : "a string that is not UTF-8");
    }
    ncsl_receipt_cleanup(&rc);
}
