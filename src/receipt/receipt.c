/*
 * Receipts: the fixed byte encoding (receipt.h, docs/receipts.md), signing with the enclave's
 * identity key, JSON in and out, and verification.
 */
#include "receipt/receipt.h"

#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "crypto/crypto.h"
#include "keys/trust_util.h"

#define BAD NCSL_E_RECEIPT_MALFORMED
#define MAX_TEXT (64u * 1024u) /* receipt JSON text; a real one is well under 4 KiB */

void ncsl_receipt_cleanup(ncsl_receipt *r) {
    if (!r) {
        return;
    }
    free(r->execution_id);
    free(r->function_id);
    free(r->user_id);
    memset(r, 0, sizeof(*r));
}

static void put_u16(uint8_t *p, size_t v) {
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put_u64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) {
        p[i] = (uint8_t)(v >> (56 - 8 * i));
    }
}

/* Checks one string of the encoding; `name` is the JSON member name for errors. */
static ncsl_status check_str(const char *s, size_t min, size_t max, const char *name, size_t *len,
                             ncsl_err *err) {
    *len = 0;
    if (!s) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, name, "%s is NULL", name);
    }
    size_t n = strlen(s);
    if (n < min || n > max) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, name, "%s must be %zu..%zu bytes, not %zu",
                            name, min, max, n);
    }
    if (!ncsl__trust_utf8_valid(s, n)) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, name, "%s is not valid UTF-8", name);
    }
    *len = n;
    return NCSL_OK;
}

ncsl_status ncsl_receipt_encode(const ncsl_receipt *r, uint8_t **msg, size_t *len, ncsl_err *err) {
    ncsl_status st;
    size_t le = 0, lf = 0, lu = 0;
    if (!msg || !len) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "msg", "NULL output");
    }
    *msg = NULL;
    *len = 0;
    if (!r) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "receipt", "NULL receipt");
    }
    const char *fid = r->function_id ? r->function_id : "";
    const char *uid = r->user_id ? r->user_id : "";
    if ((st = check_str(r->execution_id, 1, NCSL_RECEIPT_MAX_EXECUTION_ID, "executionId", &le,
                        err)) != NCSL_OK ||
        (st = check_str(fid, 0, NCSL_RECEIPT_MAX_ID, "functionId", &lf, err)) != NCSL_OK ||
        (st = check_str(uid, 0, NCSL_RECEIPT_MAX_ID, "userId", &lu, err)) != NCSL_OK) {
        return st;
    }
    if (r->timestamp_ms > NCSL__TRUST_TIME_MAX_MS) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "timestamp",
                            "timestamp is past 9999-12-31T23:59:59.999Z");
    }
    size_t n = NCSL_RECEIPT_FIXED_SIZE + le + lf + lu;
    uint8_t *b = malloc(n);
    if (!b) {
        return ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
    }
    uint8_t *p = b;
    memcpy(p, NCSL_RECEIPT_DOMAIN, NCSL_RECEIPT_DOMAIN_SIZE);
    p += NCSL_RECEIPT_DOMAIN_SIZE;
    put_u16(p, le);
    memcpy(p + 2, r->execution_id, le);
    p += 2 + le;
    put_u16(p, lf);
    memcpy(p + 2, fid, lf);
    p += 2 + lf;
    put_u16(p, lu);
    memcpy(p + 2, uid, lu);
    p += 2 + lu;
    memcpy(p, r->code_hash, 32);
    memcpy(p + 32, r->input_hash, 32);
    memcpy(p + 64, r->output_hash, 32);
    p += 96;
    put_u64(p, r->timestamp_ms);
    p += 8;
    memcpy(p, r->signing_key, NCSL_KEYS_P256_PUB_SIZE);
    p += NCSL_KEYS_P256_PUB_SIZE;
    NCSL_ASSERT((size_t)(p - b) == n);
    *msg = b;
    *len = n;
    return NCSL_OK;
}

ncsl_status ncsl_receipt_sign(const ncsl_keys *keys, const ncsl_receipt_input *in,
                              ncsl_receipt *out, ncsl_err *err) {
    ncsl_status st = NCSL_OK;
    uint8_t *msg = NULL;
    size_t len = 0;

    if (!out) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "out", "NULL receipt");
    }
    memset(out, 0, sizeof(*out));
    if (!keys || !in) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, keys ? "in" : "keys", "NULL argument");
    }
    if (!in->execution_id) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "executionId", "executionId is NULL");
    }
    out->execution_id = strdup(in->execution_id);
    out->function_id = strdup(in->function_id ? in->function_id : "");
    out->user_id = strdup(in->user_id ? in->user_id : "");
    if (!out->execution_id || !out->function_id || !out->user_id) {
        st = ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
        goto out;
    }
    memcpy(out->code_hash, in->code_hash, 32);
    memcpy(out->input_hash, in->input_hash, 32);
    memcpy(out->output_hash, in->output_hash, 32);
    out->timestamp_ms = in->timestamp_ms ? in->timestamp_ms : ncsl__trust_now_ms();
    ncsl_keys_signing_pub_compressed(keys, out->signing_key);
    if ((st = ncsl_receipt_encode(out, &msg, &len, err)) != NCSL_OK ||
        (st = ncsl_keys_sign(keys, msg, len, out->signature, err)) != NCSL_OK) {
        goto out;
    }
out:
    free(msg);
    if (st != NCSL_OK) {
        ncsl_receipt_cleanup(out);
    }
    return st;
}

ncsl_status ncsl_receipt_to_json(const ncsl_receipt *r, json_t **out, ncsl_err *err) {
    char ts[32];
    if (!out) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "out", "NULL output");
    }
    *out = NULL;
    if (!r || !r->execution_id) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "receipt", "NULL or empty receipt");
    }
    if (!ncsl__trust_time_format(r->timestamp_ms, ts, sizeof(ts))) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "timestamp",
                            "timestamp is past 9999-12-31T23:59:59.999Z");
    }
    json_t *j = json_object();
    bool ok = j && json_object_set_new(j, "executionId", json_string(r->execution_id)) == 0 &&
              json_object_set_new(j, "functionId",
                                  json_string(r->function_id ? r->function_id : "")) == 0 &&
              json_object_set_new(j, "userId", json_string(r->user_id ? r->user_id : "")) == 0 &&
              ncsl__trust_json_set_hex(j, "codeHash", r->code_hash, 32) &&
              ncsl__trust_json_set_hex(j, "inputHash", r->input_hash, 32) &&
              ncsl__trust_json_set_hex(j, "outputHash", r->output_hash, 32) &&
              json_object_set_new(j, "timestamp", json_string(ts)) == 0 &&
              ncsl__trust_json_set_hex(j, "signingKey", r->signing_key, NCSL_KEYS_P256_PUB_SIZE) &&
              ncsl__trust_json_set_hex(j, "signature", r->signature, NCSL_KEYS_P256_SIG_SIZE);
    if (!ok) {
        json_decref(j);
        /* json_string returns NULL for invalid UTF-8 as well as for no memory. */
        return ncsl_err_set(err, NCSL_E_NOMEM, NULL,
                            "cannot build the receipt JSON (out of memory or a string that is "
                            "not UTF-8)");
    }
    *out = j;
    return NCSL_OK;
}

static ncsl_status bad_point(ncsl_err *err) {
    return ncsl_err_set(err, BAD, "signingKey",
                        "field \"signingKey\" is not a compressed P-256 public key");
}

static ncsl_status dup_member(const json_t *j, const char *name, size_t min, size_t max, char **out,
                              ncsl_err *err) {
    const char *s = NULL;
    size_t n = 0;
    ncsl_status st = ncsl__trust_json_string(j, name, min, max, &s, &n, BAD, err);
    if (st != NCSL_OK) {
        return st;
    }
    if (!ncsl__trust_utf8_valid(s, n)) {
        return ncsl_err_set(err, BAD, name, "field \"%s\" is not valid UTF-8", name);
    }
    *out = strndup(s, n);
    if (!*out) {
        return ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
    }
    return NCSL_OK;
}

/* Parses strictly; `check_point` false skips the point check (a square root mod p, about a third
 * of a verification) when the caller verifies the signature next, which checks the point. */
static ncsl_status from_json(const json_t *j, bool check_point, ncsl_receipt *out, ncsl_err *err) {
    static const char *const allowed[] = {"executionId", "functionId", "userId",
                                          "codeHash",    "inputHash",  "outputHash",
                                          "timestamp",   "signingKey", "signature"};
    ncsl_status st;
    const char *s = NULL;
    size_t n = 0;

    if (!out) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "out", "NULL receipt");
    }
    memset(out, 0, sizeof(*out));
    if (!json_is_object(j)) {
        return ncsl_err_set(err, BAD, "", "the receipt must be a JSON object");
    }
    if ((st = dup_member(j, "executionId", 1, NCSL_RECEIPT_MAX_EXECUTION_ID, &out->execution_id,
                         err)) != NCSL_OK ||
        (st = dup_member(j, "functionId", 0, NCSL_RECEIPT_MAX_ID, &out->function_id, err)) !=
            NCSL_OK ||
        (st = dup_member(j, "userId", 0, NCSL_RECEIPT_MAX_ID, &out->user_id, err)) != NCSL_OK ||
        (st = ncsl__trust_json_hex(j, "codeHash", out->code_hash, 32, BAD, err)) != NCSL_OK ||
        (st = ncsl__trust_json_hex(j, "inputHash", out->input_hash, 32, BAD, err)) != NCSL_OK ||
        (st = ncsl__trust_json_hex(j, "outputHash", out->output_hash, 32, BAD, err)) != NCSL_OK) {
        goto out;
    }
    if ((st = ncsl__trust_json_string(j, "timestamp", NCSL__TRUST_TIME_LEN, NCSL__TRUST_TIME_LEN,
                                      &s, &n, BAD, err)) != NCSL_OK ||
        !ncsl__trust_time_parse(s, n, &out->timestamp_ms)) {
        st = ncsl_err_set(err, BAD, "timestamp",
                          "field \"timestamp\" must be RFC 3339 UTC with milliseconds, e.g. "
                          "\"2026-11-24T15:00:00.123Z\"");
        goto out;
    }
    if ((st = ncsl__trust_json_hex(j, "signingKey", out->signing_key, NCSL_KEYS_P256_PUB_SIZE, BAD,
                                   err)) != NCSL_OK) {
        goto out;
    }
    if (check_point && ncsl_keys_p256_validate(out->signing_key, NULL) != NCSL_OK) {
        st = bad_point(err);
        goto out;
    }
    if ((st = ncsl__trust_json_hex(j, "signature", out->signature, NCSL_KEYS_P256_SIG_SIZE, BAD,
                                   err)) != NCSL_OK ||
        (st = ncsl__trust_json_only_keys(j, allowed, NCSL_ARRAY_LEN(allowed), BAD, err)) !=
            NCSL_OK) {
        goto out;
    }
out:
    if (st != NCSL_OK) {
        ncsl_receipt_cleanup(out);
    }
    return st;
}

ncsl_status ncsl_receipt_from_json(const json_t *j, ncsl_receipt *out, ncsl_err *err) {
    return from_json(j, true, out, err);
}

/* ncsl_receipt_verify; *bad_key tells whether signing_key is not a valid point. */
static ncsl_status verify(const ncsl_receipt *r, const uint8_t *expected_key, bool *bad_key,
                          ncsl_err *err) {
    uint8_t *msg = NULL;
    size_t len = 0;
    ncsl_status st = ncsl_receipt_encode(r, &msg, &len, err);
    if (st != NCSL_OK) {
        return st;
    }
    ncsl_err sub;
    st = ncsl_keys_p256_verify(r->signing_key, msg, len, r->signature, &sub);
    free(msg);
    *bad_key = st == NCSL_E_KEY_INVALID;
    if (st == NCSL_E_SIGNATURE_INVALID || st == NCSL_E_KEY_INVALID) {
        return ncsl_err_set(
            err, NCSL_E_RECEIPT_INVALID, st == NCSL_E_KEY_INVALID ? "signingKey" : "signature",
            "the receipt's signature does not verify with its signingKey (%s)", sub.message);
    }
    if (st != NCSL_OK) {
        return ncsl_err_set(err, st, sub.field, "%s", sub.message);
    }
    if (expected_key && memcmp(expected_key, r->signing_key, NCSL_KEYS_P256_PUB_SIZE) != 0) {
        return ncsl_err_set(err, NCSL_E_RECEIPT_INVALID, "signingKey",
                            "the receipt is signed by another key than the expected one");
    }
    return NCSL_OK;
}

ncsl_status ncsl_receipt_verify(const ncsl_receipt *r, const uint8_t *expected_key, ncsl_err *err) {
    bool bad_key = false;
    return verify(r, expected_key, &bad_key, err);
}

ncsl_status ncsl_receipt_verify_json(const json_t *json, const uint8_t *expected_key,
                                     ncsl_receipt *out, ncsl_err *err) {
    ncsl_receipt r;
    bool bad_key = false;
    if (out) {
        memset(out, 0, sizeof(*out));
    }
    /* The signature check validates the key's point: parse without doing it twice. */
    ncsl_status st = from_json(json, false, &r, err);
    if (st != NCSL_OK) {
        return st;
    }
    st = verify(&r, expected_key, &bad_key, err);
    if (bad_key) {
        ncsl_receipt_cleanup(&r);
        return bad_point(err);
    }
    if (out) {
        *out = r;
    } else {
        ncsl_receipt_cleanup(&r);
    }
    return st;
}

ncsl_status ncsl_receipt_verify_text(const char *text, size_t len, const uint8_t *expected_key,
                                     ncsl_receipt *out, ncsl_err *err) {
    json_error_t jerr;
    if (out) {
        memset(out, 0, sizeof(*out));
    }
    if (!text || len > MAX_TEXT) {
        return ncsl_err_set(err, BAD, "", "the receipt text is missing or over %u bytes", MAX_TEXT);
    }
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!j) {
        return ncsl_err_set(err, BAD, "", "the receipt is not valid JSON: %s (line %d)", jerr.text,
                            jerr.line);
    }
    ncsl_status st = ncsl_receipt_verify_json(j, expected_key, out, err);
    json_decref(j);
    return st;
}
