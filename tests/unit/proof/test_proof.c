/*
 * Attestation proofs on the simulation TEE: create -> verify with the installation's simulation
 * root; refused without allow_simulation and with another installation's root; every binding
 * (nonce, keys, reportData, quote swap, enclaveId, measurement fields, teeType) altered; strict
 * parsing with errors naming the field; expectations; DEBUG policy; a genuine SGX quote claiming
 * to be simulation; the verdict's JSON.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "crypto/crypto.h"
#include "keys/keys.h"
#include "keys/trust_util.h"
#include "ncsl_test_util.h"
#include "proof/proof.h"
#include "tee/tee.h"

#define AT_2026_11_24 1795478400 /* 2026-11-24T00:00:00Z: the SGX test data's "now" */

/* ------------------------------------------------------------------------- fixture */

typedef struct fx {
    char *dir;
    char *dir2;
    ncsl_tee *tee;
    ncsl_tee *other; /* another installation */
    ncsl_keys *keys;
    const char *root;
    size_t root_len;
    const char *other_root;
    size_t other_root_len;
} fx;

static int setup(void **state) {
    fx *f = calloc(1, sizeof(*f));
    ncsl_err err;
    f->dir = ncsl_test_tmpdir_make("ncsl-proof-test");
    f->dir2 = ncsl_test_tmpdir_make("ncsl-proof-test");
    f->tee = ncsl_test_open_sim_tee(f->dir);
    f->other = ncsl_test_open_sim_tee(f->dir2);
    if (ncsl_keys_load_or_create(f->tee, f->dir, NULL, &f->keys, &err) != NCSL_OK) {
        fprintf(stderr, "keys: %s\n", err.message);
        return -1;
    }
    f->root = ncsl_tee_attestation_root_pem(f->tee, &f->root_len);
    f->other_root = ncsl_tee_attestation_root_pem(f->other, &f->other_root_len);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fx *f = *state;
    ncsl_keys_destroy(f->keys);
    ncsl_tee_close(f->tee);
    ncsl_tee_close(f->other);
    ncsl_test_tmpdir_remove(f->dir);
    ncsl_test_tmpdir_remove(f->dir2);
    free(f);
    return 0;
}

/* Options that accept this installation's simulation quotes. */
static void sim_opts(const fx *f, ncsl_proof_verify_opts *o) {
    ncsl_proof_verify_opts_default(o);
    o->quote.allow_simulation = true;
    o->quote.simulation_root_pem = f->root;
    o->quote.simulation_root_pem_len = f->root_len;
}

static json_t *make_proof(const fx *f, const uint8_t *nonce, size_t nonce_len) {
    json_t *p = NULL;
    ncsl_err err;
    ncsl_status st = ncsl_proof_create(f->tee, f->keys, nonce, nonce_len, &p, &err);
    if (st != NCSL_OK) {
        fprintf(stderr, "create: %s\n", err.message);
    }
    assert_int_equal(st, NCSL_OK);
    return p;
}

static ncsl_status verify(const json_t *p, const ncsl_proof_verify_opts *o, ncsl_proof_verdict *v,
                          ncsl_err *err) {
    return ncsl_proof_verify(p, o, v, err);
}

static void unhex(const char *hex, uint8_t *out, size_t len) {
    size_t got = 0;
    assert_int_equal(ncsl_crypto_hex_decode(hex, strlen(hex), out, len, &got, NULL), NCSL_OK);
    assert_int_equal(got, len);
}

static void set_hex(json_t *p, const char *k, const uint8_t *b, size_t n) {
    assert_true(ncsl__trust_json_set_hex(p, k, b, n));
}

/* Changes the last hex digit of field `k` (to another hex digit). */
static void flip_hex(json_t *p, const char *k) {
    char *s = strdup(json_string_value(json_object_get(p, k)));
    size_t n = strlen(s);
    assert_true(n >= 2);
    s[n - 1] = s[n - 1] == '0' ? '1' : '0';
    json_object_set_new(p, k, json_string(s));
    free(s);
}

/* ------------------------------------------------------------------------- tests */

static void test_create_and_verify(void **state) {
    fx *f = *state;
    const uint8_t nonce[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    json_t *p = make_proof(f, nonce, sizeof(nonce));

    /* The JSON: every member, in order, with the right contents. */
    static const char *const order[] = {"version",  "teeType",    "enclaveId",     "mrEnclave",
                                        "mrSigner", "isvProdId",  "isvSvn",        "debug",
                                        "nonce",    "signingKey", "encryptionKey", "reportData",
                                        "quote",    "timestamp"};
    size_t i = 0;
    const char *key;
    json_t *val;
    json_object_foreach(p, key, val) {
        assert_true(i < NCSL_ARRAY_LEN(order));
        assert_string_equal(key, order[i]);
        i++;
    }
    assert_int_equal(i, NCSL_ARRAY_LEN(order));
    assert_int_equal(json_integer_value(json_object_get(p, "version")), 1);
    assert_string_equal(json_string_value(json_object_get(p, "teeType")), "simulation");
    assert_string_equal(json_string_value(json_object_get(p, "nonce")),
                        "0102030405060708090a0b0c0d0e0f10");
    uint8_t sig_pub[33], enc_pub[32], rd[64];
    ncsl_keys_signing_pub_compressed(f->keys, sig_pub);
    ncsl_keys_encryption_pub(f->keys, enc_pub);
    char hex[200];
    assert_int_equal(ncsl_crypto_hex_encode(sig_pub, 33, hex, sizeof(hex), NULL), NCSL_OK);
    assert_string_equal(json_string_value(json_object_get(p, "signingKey")), hex);
    /* reportData = SHA-256("NCSL-ATTEST-v1" || nonce || signingKey || encryptionKey) || 0^32,
     * computed here independently of ncsl_proof_report_data. */
    uint8_t pre[14 + 16 + 33 + 32];
    memcpy(pre, "NCSL-ATTEST-v1", 14);
    memcpy(pre + 14, nonce, 16);
    memcpy(pre + 30, sig_pub, 33);
    memcpy(pre + 63, enc_pub, 32);
    memset(rd, 0, sizeof(rd));
    assert_int_equal(ncsl_crypto_sha256(pre, sizeof(pre), rd, NULL), NCSL_OK);
    assert_int_equal(ncsl_crypto_hex_encode(rd, 64, hex, sizeof(hex), NULL), NCSL_OK);
    assert_string_equal(json_string_value(json_object_get(p, "reportData")), hex);
    /* enclaveId = first 16 bytes of SHA-256(signingKey) */
    uint8_t h[32];
    assert_int_equal(ncsl_crypto_sha256(sig_pub, 33, h, NULL), NCSL_OK);
    assert_int_equal(ncsl_crypto_hex_encode(h, 16, hex, sizeof(hex), NULL), NCSL_OK);
    assert_string_equal(json_string_value(json_object_get(p, "enclaveId")), hex);
    ncsl_tee_measurement m;
    assert_int_equal(ncsl_tee_measure(f->tee, &m, NULL), NCSL_OK);
    assert_int_equal(ncsl_crypto_hex_encode(m.mr_enclave, 32, hex, sizeof(hex), NULL), NCSL_OK);
    assert_string_equal(json_string_value(json_object_get(p, "mrEnclave")), hex);
    assert_false(json_is_true(json_object_get(p, "debug")));
    uint64_t ms = 0;
    const char *ts = json_string_value(json_object_get(p, "timestamp"));
    assert_true(ncsl__trust_time_parse(ts, strlen(ts), &ms));
    assert_true(ms + 60000 > ncsl__trust_now_ms());

    /* Verifies with this installation's simulation root. */
    ncsl_proof_verify_opts o;
    ncsl_proof_verdict v;
    ncsl_err err;
    sim_opts(f, &o);
    ncsl_status st = verify(p, &o, &v, &err);
    if (st != NCSL_OK) {
        fprintf(stderr, "verify: %s\n", v.reason);
    }
    assert_int_equal(st, NCSL_OK);
    assert_true(v.valid);
    assert_int_equal(v.failed_check, NCSL_PROOF_CHECK_NONE);
    assert_string_equal(v.reason, "");
    assert_true(v.quote.valid);
    assert_int_equal(v.quote.tee_kind, NCSL_ATTEST_TEE_SIMULATION);
    assert_true(v.tee_type_matches && v.report_data_matches && v.enclave_id_matches &&
                v.measurement_matches);
    assert_memory_equal(v.signing_key, sig_pub, 33);
    assert_memory_equal(v.encryption_key, enc_pub, 32);
    assert_int_equal(v.nonce_len, 16);
    assert_memory_equal(v.mr_enclave, m.mr_enclave, 32);
    assert_string_equal(v.tee_type, "simulation");

    /* The same through text, and with the expected values. */
    char *text = json_dumps(p, JSON_COMPACT);
    assert_int_equal(ncsl_proof_verify_text(text, strlen(text), &o, &v, &err), NCSL_OK);
    free(text);
    o.check_nonce = true;
    o.expected_nonce = nonce;
    o.expected_nonce_len = sizeof(nonce);
    o.expected_mr_enclave = m.mr_enclave;
    o.expected_mr_signer = m.mr_signer;
    o.expected_signing_key = sig_pub;
    assert_int_equal(verify(p, &o, &v, &err), NCSL_OK);

    /* The verdict's JSON. */
    json_t *vj = ncsl_proof_verdict_to_json(&v);
    assert_non_null(vj);
    assert_true(json_is_true(json_object_get(vj, "valid")));
    assert_true(json_is_null(json_object_get(vj, "reason")));
    assert_string_equal(json_string_value(json_object_get(vj, "teeType")), "simulation");
    assert_string_equal(json_string_value(json_object_get(vj, "verifiedTeeKind")), "simulation");
    assert_true(json_is_true(json_object_get(vj, "reportDataMatches")));
    assert_true(json_is_true(json_object_get(vj, "quoteValid")));
    assert_false(json_is_true(json_object_get(vj, "collateralChecked")));
    assert_string_equal(json_string_value(json_object_get(vj, "mrEnclave")),
                        json_string_value(json_object_get(p, "mrEnclave")));
    assert_int_equal(json_integer_value(json_object_get(vj, "isvSvn")), 0);
    assert_non_null(strstr(json_string_value(json_object_get(vj, "note")), "simulation"));
    json_decref(vj);
    json_decref(p);

    /* Empty and 64-byte nonces; 65 bytes is refused. */
    uint8_t big[65];
    memset(big, 0x5A, sizeof(big));
    sim_opts(f, &o);
    p = make_proof(f, NULL, 0);
    assert_string_equal(json_string_value(json_object_get(p, "nonce")), "");
    assert_int_equal(verify(p, &o, &v, &err), NCSL_OK);
    assert_int_equal(v.nonce_len, 0);
    json_decref(p);
    p = make_proof(f, big, 64);
    assert_int_equal(verify(p, &o, &v, &err), NCSL_OK);
    json_decref(p);
    p = NULL;
    assert_int_equal(ncsl_proof_create(f->tee, f->keys, big, 65, &p, &err), NCSL_E_INVALID_ARG);
    assert_null(p);
    assert_string_equal(err.field, "nonce");
}

static void test_quote_trust(void **state) {
    fx *f = *state;
    json_t *p = make_proof(f, (const uint8_t *)"n", 1);
    ncsl_proof_verify_opts o;
    ncsl_proof_verdict v;
    ncsl_err err;

    /* Default options: simulation refused (the quote check fails; the bindings still hold). */
    assert_int_equal(verify(p, NULL, &v, &err), NCSL_E_ATTEST_CHAIN);
    assert_false(v.valid);
    assert_int_equal(v.failed_check, NCSL_PROOF_CHECK_QUOTE);
    assert_non_null(strstr(v.reason, "not allowed"));
    assert_string_equal(err.field, "quote");
    assert_true(v.report_data_matches);
    assert_false(v.tee_type_matches); /* not judged without a verified quote */
    json_t *vj = ncsl_proof_verdict_to_json(&v);
    assert_false(json_is_true(json_object_get(vj, "valid")));
    assert_string_equal(json_string_value(json_object_get(vj, "failedCheck")), "quote");
    assert_true(json_is_null(json_object_get(vj, "verifiedTeeKind")));
    assert_non_null(json_string_value(json_object_get(vj, "quoteReason")));
    json_decref(vj);

    /* The root given but simulation not allowed. */
    sim_opts(f, &o);
    o.quote.allow_simulation = false;
    assert_int_equal(verify(p, &o, &v, &err), NCSL_E_ATTEST_CHAIN);

    /* Another installation's root. */
    sim_opts(f, &o);
    o.quote.simulation_root_pem = f->other_root;
    o.quote.simulation_root_pem_len = f->other_root_len;
    assert_int_equal(verify(p, &o, &v, &err), NCSL_E_ATTEST_CHAIN);
    assert_int_equal(v.failed_check, NCSL_PROOF_CHECK_QUOTE);

    /* The sim root pinned as the hardware root: still not accepted. */
    ncsl_proof_verify_opts_default(&o);
    o.quote.root_pem = f->root;
    o.quote.root_pem_len = f->root_len;
    assert_int_not_equal(verify(p, &o, &v, &err), NCSL_OK);
    assert_false(v.valid);

    /* An unusable root is a setup error: the proof was not judged. */
    sim_opts(f, &o);
    o.quote.simulation_root_pem = "garbage";
    o.quote.simulation_root_pem_len = 7;
    assert_int_equal(verify(p, &o, &v, &err), NCSL_E_INVALID_ARG);
    assert_int_equal(v.failed_check, NCSL_PROOF_CHECK_SETUP);
    assert_string_equal(err.field, "simulation_root_pem");

    /* A proof made by the other installation with its own keys: fails here, passes there. */
    ncsl_keys *ok = NULL;
    assert_int_equal(ncsl_keys_load_or_create(f->other, f->dir2, NULL, &ok, &err), NCSL_OK);
    json_t *p2 = NULL;
    assert_int_equal(ncsl_proof_create(f->other, ok, NULL, 0, &p2, &err), NCSL_OK);
    sim_opts(f, &o);
    assert_int_equal(verify(p2, &o, &v, &err), NCSL_E_ATTEST_CHAIN);
    o.quote.simulation_root_pem = f->other_root;
    o.quote.simulation_root_pem_len = f->other_root_len;
    assert_int_equal(verify(p2, &o, &v, &err), NCSL_OK);
    json_decref(p2);
    ncsl_keys_destroy(ok);
    json_decref(p);
}

typedef void (*mutate_fn)(json_t *p, const fx *f);

static void m_nonce(json_t *p, const fx *f) {
    flip_hex(p, "nonce");
}
static void m_nonce_len(json_t *p, const fx *f) {
    json_object_set_new(p, "nonce", json_string("6e6e"));
}
static void m_signing_key(json_t *p, const fx *f) {
    ncsl_keys *k = NULL;
    uint8_t pub[33];
    assert_int_equal(ncsl_keys_create_ephemeral(NULL, &k, NULL), NCSL_OK);
    ncsl_keys_signing_pub_compressed(k, pub);
    set_hex(p, "signingKey", pub, 33);
    ncsl_keys_destroy(k);
}
static void m_encryption_key(json_t *p, const fx *f) {
    flip_hex(p, "encryptionKey");
}
static void m_report_data(json_t *p, const fx *f) {
    flip_hex(p, "reportData");
}
static void m_report_data_tail(json_t *p, const fx *f) {
    /* the 32 bytes that must be zero */
    char *s = strdup(json_string_value(json_object_get(p, "reportData")));
    s[100] = '1';
    json_object_set_new(p, "reportData", json_string(s));
    free(s);
}
/* A replay: new nonce, reportData recomputed consistently, but the old quote. */
static void m_nonce_consistent(json_t *p, const fx *f) {
    uint8_t sig_pub[33], enc_pub[32], rd[64];
    const uint8_t nonce[2] = {0xBE, 0xEF};
    ncsl_keys_signing_pub_compressed(f->keys, sig_pub);
    ncsl_keys_encryption_pub(f->keys, enc_pub);
    assert_int_equal(ncsl_proof_report_data(nonce, 2, sig_pub, enc_pub, rd, NULL), NCSL_OK);
    set_hex(p, "nonce", nonce, 2);
    set_hex(p, "reportData", rd, 64);
}
/* Another key pair, everything recomputed, but the quote binds the real keys. */
static void m_keys_consistent(json_t *p, const fx *f) {
    ncsl_keys *k = NULL;
    uint8_t sig_pub[33], enc_pub[32], rd[64];
    char id[33];
    assert_int_equal(ncsl_keys_create_ephemeral(NULL, &k, NULL), NCSL_OK);
    ncsl_keys_signing_pub_compressed(k, sig_pub);
    ncsl_keys_encryption_pub(k, enc_pub);
    assert_int_equal(ncsl_proof_report_data((const uint8_t *)"n", 1, sig_pub, enc_pub, rd, NULL),
                     NCSL_OK);
    assert_int_equal(ncsl_proof_enclave_id(sig_pub, id, NULL), NCSL_OK);
    set_hex(p, "signingKey", sig_pub, 33);
    set_hex(p, "encryptionKey", enc_pub, 32);
    set_hex(p, "reportData", rd, 64);
    json_object_set_new(p, "enclaveId", json_string(id));
    ncsl_keys_destroy(k);
}
/* The quote of another proof (another nonce) swapped in. */
static void m_quote_swap(json_t *p, const fx *f) {
    json_t *q = make_proof(f, (const uint8_t *)"other", 5);
    json_object_set(p, "quote", json_object_get(q, "quote"));
    json_decref(q);
}
static void m_enclave_id(json_t *p, const fx *f) {
    flip_hex(p, "enclaveId");
}
static void m_mr_enclave(json_t *p, const fx *f) {
    flip_hex(p, "mrEnclave");
}
static void m_mr_signer(json_t *p, const fx *f) {
    flip_hex(p, "mrSigner");
}
static void m_isv_prod_id(json_t *p, const fx *f) {
    json_object_set_new(p, "isvProdId", json_integer(1));
}
static void m_isv_svn(json_t *p, const fx *f) {
    json_object_set_new(p, "isvSvn", json_integer(7));
}
static void m_debug(json_t *p, const fx *f) {
    json_object_set_new(p, "debug", json_true());
}
static void m_tee_type(json_t *p, const fx *f) {
    json_object_set_new(p, "teeType", json_string("sgx-occlum"));
}
static void m_tee_type_gramine(json_t *p, const fx *f) {
    json_object_set_new(p, "teeType", json_string("sgx-gramine"));
}
/* One byte of the quote's report body changed (its signature no longer verifies). */
static void m_quote_byte(json_t *p, const fx *f) {
    const char *b64 = json_string_value(json_object_get(p, "quote"));
    uint8_t *q = NULL;
    size_t n = 0;
    assert_int_equal(ncsl__trust_base64_decode(b64, strlen(b64), &q, &n, NULL), NCSL_OK);
    q[48 + 368] ^= 1; /* report_data[0] */
    char *enc = ncsl__trust_base64_encode(q, n);
    json_object_set_new(p, "quote", json_string(enc));
    free(enc);
    free(q);
}

static void test_altered_bindings(void **state) {
    fx *f = *state;
    static const struct {
        const char *name;
        mutate_fn fn;
        ncsl_proof_check check;
        ncsl_status st;
        const char *field;
    } cases[] = {
        {"nonce", m_nonce, NCSL_PROOF_CHECK_REPORT_DATA, NCSL_E_PROOF_INVALID, "reportData"},
        {"nonce length", m_nonce_len, NCSL_PROOF_CHECK_REPORT_DATA, NCSL_E_PROOF_INVALID,
         "reportData"},
        {"signingKey", m_signing_key, NCSL_PROOF_CHECK_REPORT_DATA, NCSL_E_PROOF_INVALID,
         "reportData"},
        {"encryptionKey", m_encryption_key, NCSL_PROOF_CHECK_REPORT_DATA, NCSL_E_PROOF_INVALID,
         "reportData"},
        {"reportData", m_report_data, NCSL_PROOF_CHECK_REPORT_DATA, NCSL_E_PROOF_INVALID,
         "reportData"},
        {"reportData zero half", m_report_data_tail, NCSL_PROOF_CHECK_REPORT_DATA,
         NCSL_E_PROOF_INVALID, "reportData"},
        {"replayed quote, new nonce", m_nonce_consistent, NCSL_PROOF_CHECK_REPORT_DATA,
         NCSL_E_PROOF_INVALID, "reportData"},
        {"other keys, old quote", m_keys_consistent, NCSL_PROOF_CHECK_REPORT_DATA,
         NCSL_E_PROOF_INVALID, "reportData"},
        {"quote swapped", m_quote_swap, NCSL_PROOF_CHECK_REPORT_DATA, NCSL_E_PROOF_INVALID,
         "reportData"},
        {"enclaveId", m_enclave_id, NCSL_PROOF_CHECK_ENCLAVE_ID, NCSL_E_PROOF_INVALID, "enclaveId"},
        {"mrEnclave", m_mr_enclave, NCSL_PROOF_CHECK_MEASUREMENT, NCSL_E_PROOF_INVALID,
         "mrEnclave"},
        {"mrSigner", m_mr_signer, NCSL_PROOF_CHECK_MEASUREMENT, NCSL_E_PROOF_INVALID, "mrSigner"},
        {"isvProdId", m_isv_prod_id, NCSL_PROOF_CHECK_MEASUREMENT, NCSL_E_PROOF_INVALID,
         "isvProdId"},
        {"isvSvn", m_isv_svn, NCSL_PROOF_CHECK_MEASUREMENT, NCSL_E_PROOF_INVALID, "isvSvn"},
        {"debug", m_debug, NCSL_PROOF_CHECK_MEASUREMENT, NCSL_E_PROOF_INVALID, "debug"},
        {"teeType", m_tee_type, NCSL_PROOF_CHECK_TEE_TYPE, NCSL_E_PROOF_INVALID, "teeType"},
        {"teeType gramine", m_tee_type_gramine, NCSL_PROOF_CHECK_TEE_TYPE, NCSL_E_PROOF_INVALID,
         "teeType"},
        {"quote byte", m_quote_byte, NCSL_PROOF_CHECK_QUOTE, NCSL_E_ATTEST_SIGNATURE, "quote"},
    };
    json_t *base = make_proof(f, (const uint8_t *)"n", 1);
    ncsl_proof_verify_opts o;
    sim_opts(f, &o);
    for (size_t i = 0; i < NCSL_ARRAY_LEN(cases); i++) {
        json_t *p = json_deep_copy(base);
        cases[i].fn(p, f);
        ncsl_proof_verdict v;
        ncsl_err err;
        ncsl_status st = verify(p, &o, &v, &err);
        if (st != cases[i].st || v.failed_check != cases[i].check) {
            fprintf(stderr, "case %s: status %d check %d: %s\n", cases[i].name, st, v.failed_check,
                    v.reason);
        }
        assert_int_equal(st, cases[i].st);
        assert_false(v.valid);
        assert_int_equal(v.failed_check, cases[i].check);
        assert_string_equal(v.field, cases[i].field);
        assert_string_equal(err.field, cases[i].field);
        assert_string_equal(err.message, v.reason);
        assert_true(v.fields_present);
        json_t *vj = ncsl_proof_verdict_to_json(&v);
        assert_non_null(vj);
        assert_false(json_is_true(json_object_get(vj, "valid")));
        assert_string_equal(json_string_value(json_object_get(vj, "reason")), v.reason);
        json_decref(vj);
        json_decref(p);
    }
    /* The unmodified proof still verifies (the cases changed copies). */
    ncsl_proof_verdict v;
    assert_int_equal(verify(base, &o, &v, NULL), NCSL_OK);
    json_decref(base);
}

typedef struct malformed_case {
    const char *field;
    const char *json_value; /* JSON text for the member; NULL: remove it */
} malformed_case;

static void test_malformed_fields(void **state) {
    fx *f = *state;
    static const malformed_case cases[] = {
        {"version", NULL},
        {"version", "2"},
        {"version", "\"1\""},
        {"version", "1.0"},
        {"teeType", NULL},
        {"teeType", "\"sgx\""},
        {"teeType", "\"SIMULATION\""},
        {"teeType", "7"},
        {"enclaveId", NULL},
        {"enclaveId", "\"abcd\""},
        {"enclaveId", "\"0123456789ABCDEF0123456789abcdef\""},
        {"mrEnclave", NULL},
        {"mrEnclave", "\"00\""},
        {"mrEnclave", "null"},
        {"mrSigner", "\"zz00000000000000000000000000000000000000000000000000000000000000\""},
        {"isvProdId", NULL},
        {"isvProdId", "-1"},
        {"isvProdId", "65536"},
        {"isvProdId", "\"0\""},
        {"isvSvn", "1.5"},
        {"debug", NULL},
        {"debug", "0"},
        {"debug", "\"false\""},
        {"nonce", NULL},
        {"nonce", "\"abc\""},
        {"nonce", "null"},
        {"nonce", "\"0x01\""},
        {"signingKey", NULL},
        {"signingKey", "\"04\""},
        /* a valid length, but not a point: x = 1 is not on P-256 */
        {"signingKey", "\"020000000000000000000000000000000000000000000000000000000000000001\""},
        {"signingKey", "\"050000000000000000000000000000000000000000000000000000000000000000\""},
        {"encryptionKey", NULL},
        {"encryptionKey", "\"\""},
        {"reportData", NULL},
        {"reportData", "\"00\""},
        {"quote", NULL},
        {"quote", "\"\""},
        {"quote", "\"not base64!\""},
        {"quote", "\"Zh==\""},
        {"quote", "[]"},
        {"timestamp", NULL},
        {"timestamp", "\"2026-11-24T15:00:00Z\""},
        {"timestamp", "\"yesterday\""},
        {"timestamp", "1795532400"},
        {"extra", "1"},
    };
    json_t *base = make_proof(f, (const uint8_t *)"n", 1);
    ncsl_proof_verify_opts o;
    sim_opts(f, &o);
    for (size_t i = 0; i < NCSL_ARRAY_LEN(cases); i++) {
        json_t *p = json_deep_copy(base);
        if (cases[i].json_value) {
            json_error_t jerr;
            json_t *val = json_loads(cases[i].json_value, JSON_DECODE_ANY, &jerr);
            assert_non_null(val);
            json_object_set_new(p, cases[i].field, val);
        } else {
            json_object_del(p, cases[i].field);
        }
        ncsl_proof_verdict v;
        ncsl_err err;
        ncsl_status st = verify(p, &o, &v, &err);
        if (st != NCSL_E_PROOF_MALFORMED || strcmp(err.field, cases[i].field) != 0) {
            fprintf(stderr, "case %zu (%s = %s): status %d field '%s': %s\n", i, cases[i].field,
                    cases[i].json_value ? cases[i].json_value : "(removed)", st, err.field,
                    err.message);
        }
        assert_int_equal(st, NCSL_E_PROOF_MALFORMED);
        assert_string_equal(err.field, cases[i].field);
        assert_non_null(strstr(err.message, cases[i].field));
        assert_false(v.valid);
        assert_false(v.fields_present);
        assert_int_equal(v.failed_check, NCSL_PROOF_CHECK_FORMAT);
        json_t *vj = ncsl_proof_verdict_to_json(&v);
        assert_true(json_is_null(json_object_get(vj, "mrEnclave")));
        assert_string_equal(json_string_value(json_object_get(vj, "failedCheck")), "format");
        assert_string_equal(json_string_value(json_object_get(vj, "field")), cases[i].field);
        json_decref(vj);
        json_decref(p);
    }

    /* Not an object; text that is not JSON; duplicate members. */
    ncsl_proof_verdict v;
    ncsl_err err;
    json_t *arr = json_array();
    assert_int_equal(verify(arr, &o, &v, &err), NCSL_E_PROOF_MALFORMED);
    json_decref(arr);
    assert_int_equal(verify(NULL, &o, &v, &err), NCSL_E_PROOF_MALFORMED);
    assert_int_equal(ncsl_proof_verify_text("{", 1, &o, &v, &err), NCSL_E_PROOF_MALFORMED);
    char *text = json_dumps(base, JSON_COMPACT);
    size_t n = strlen(text);
    char *dup = malloc(n + 64);
    /* {"version":1,"version":1,... */
    snprintf(dup, n + 64, "{\"version\":1,%s", text + 1);
    assert_int_equal(ncsl_proof_verify_text(dup, strlen(dup), &o, &v, &err),
                     NCSL_E_PROOF_MALFORMED);
    assert_non_null(strstr(err.message, "duplicate"));
    assert_int_equal(ncsl_proof_verify_text(text, n, &o, &v, &err), NCSL_OK);
    free(dup);
    free(text);
    json_decref(base);
}

static void test_expectations(void **state) {
    fx *f = *state;
    const uint8_t nonce[4] = {0xDE, 0xAD, 0xBE, 0xEF};
    json_t *p = make_proof(f, nonce, sizeof(nonce));
    ncsl_proof_verify_opts o;
    ncsl_proof_verdict v;
    ncsl_err err;
    uint8_t other[33] = {0};

    sim_opts(f, &o);
    o.check_nonce = true;
    o.expected_nonce = nonce;
    o.expected_nonce_len = 3; /* a prefix is not the nonce */
    assert_int_equal(verify(p, &o, &v, &err), NCSL_E_PROOF_INVALID);
    assert_int_equal(v.failed_check, NCSL_PROOF_CHECK_EXPECTED);
    assert_string_equal(err.field, "nonce");
    o.expected_nonce_len = 0; /* expecting "no nonce" */
    assert_int_equal(verify(p, &o, &v, &err), NCSL_E_PROOF_INVALID);
    o.expected_nonce_len = 65;
    assert_int_equal(verify(p, &o, &v, &err), NCSL_E_INVALID_ARG);
    assert_int_equal(v.failed_check, NCSL_PROOF_CHECK_SETUP);

    sim_opts(f, &o);
    o.expected_mr_enclave = other;
    assert_int_equal(verify(p, &o, &v, &err), NCSL_E_PROOF_INVALID);
    assert_string_equal(err.field, "mrEnclave");
    sim_opts(f, &o);
    o.expected_mr_signer = other;
    assert_int_equal(verify(p, &o, &v, &err), NCSL_E_PROOF_INVALID);
    assert_string_equal(err.field, "mrSigner");
    sim_opts(f, &o);
    o.expected_signing_key = other;
    assert_int_equal(verify(p, &o, &v, &err), NCSL_E_PROOF_INVALID);
    assert_string_equal(err.field, "signingKey");
    json_decref(p);
}

static void test_debug_enclave(void **state) {
    fx *f = *state;
    char *dir = ncsl_test_tmpdir_make("ncsl-proof-test");
    ncsl_err err;
    ncsl_tee *tee = ncsl_test_open_sim_tee_expect(dir, true, NCSL_OK, &err);
    ncsl_keys *k = NULL;
    assert_int_equal(ncsl_keys_create_ephemeral(tee, &k, &err), NCSL_OK);
    json_t *p = NULL;
    assert_int_equal(ncsl_proof_create(tee, k, NULL, 0, &p, &err), NCSL_OK);
    assert_true(json_is_true(json_object_get(p, "debug")));
    size_t root_len = 0;
    const char *root = ncsl_tee_attestation_root_pem(tee, &root_len);
    ncsl_proof_verify_opts o;
    ncsl_proof_verdict v;
    ncsl_proof_verify_opts_default(&o);
    o.quote.allow_simulation = true;
    o.quote.simulation_root_pem = root;
    o.quote.simulation_root_pem_len = root_len;
    assert_int_equal(verify(p, &o, &v, &err), NCSL_E_PROOF_INVALID);
    assert_int_equal(v.failed_check, NCSL_PROOF_CHECK_DEBUG);
    assert_string_equal(err.field, "debug");
    assert_true(v.measurement_matches);
    /* claiming "debug": false does not help: the quote's attribute decides */
    json_object_set_new(p, "debug", json_false());
    assert_int_equal(verify(p, &o, &v, &err), NCSL_E_PROOF_INVALID);
    assert_int_equal(v.failed_check, NCSL_PROOF_CHECK_MEASUREMENT);
    json_object_set_new(p, "debug", json_true());
    o.allow_debug = true;
    assert_int_equal(verify(p, &o, &v, &err), NCSL_OK);
    json_decref(p);
    ncsl_keys_destroy(k);
    ncsl_tee_close(tee);
    ncsl_test_tmpdir_remove(dir);
    (void)f;
}

/* A genuine SGX quote (Occlum, from the test data) wrapped in a proof: claiming "simulation"
 * fails on teeType; claiming "sgx-occlum" passes the quote and teeType checks and fails on the
 * report data binding (the quote binds someone else's data). */
static void test_hardware_quote(void **state) {
    fx *f = *state;
    const char *path = NCSL_SGX_TESTDATA "/quote-occlum-1.bin";
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        fail_msg("SGX test data missing: %s", path);
    }
    uint8_t q[8192];
    size_t qn = fread(q, 1, sizeof(q), fp);
    fclose(fp);
    ncsl_sgx_quote pq;
    assert_int_equal(ncsl_attest_quote_parse(q, qn, &pq, NULL), NCSL_OK);

    uint8_t sig_pub[33], enc_pub[32], rd[64];
    char id[33];
    ncsl_keys_signing_pub_compressed(f->keys, sig_pub);
    ncsl_keys_encryption_pub(f->keys, enc_pub);
    assert_int_equal(ncsl_proof_report_data(NULL, 0, sig_pub, enc_pub, rd, NULL), NCSL_OK);
    assert_int_equal(ncsl_proof_enclave_id(sig_pub, id, NULL), NCSL_OK);
    char *b64 = ncsl__trust_base64_encode(q, qn);
    json_t *p = json_object();
    json_object_set_new(p, "version", json_integer(1));
    json_object_set_new(p, "teeType", json_string("simulation"));
    json_object_set_new(p, "enclaveId", json_string(id));
    set_hex(p, "mrEnclave", pq.report.mr_enclave, 32);
    set_hex(p, "mrSigner", pq.report.mr_signer, 32);
    json_object_set_new(p, "isvProdId", json_integer(pq.report.isv_prod_id));
    json_object_set_new(p, "isvSvn", json_integer(pq.report.isv_svn));
    json_object_set_new(p, "debug", json_boolean(pq.report.debug));
    json_object_set_new(p, "nonce", json_string(""));
    set_hex(p, "signingKey", sig_pub, 33);
    set_hex(p, "encryptionKey", enc_pub, 32);
    set_hex(p, "reportData", rd, 64);
    json_object_set_new(p, "quote", json_string(b64));
    json_object_set_new(p, "timestamp", json_string("2026-11-24T15:00:00.000Z"));
    free(b64);

    ncsl_proof_verify_opts o;
    ncsl_proof_verdict v;
    ncsl_err err;
    ncsl_proof_verify_opts_default(&o);
    o.quote.at_time = AT_2026_11_24;
    ncsl_status st = verify(p, &o, &v, &err);
    assert_true(v.quote.valid);
    assert_int_equal(v.quote.tee_kind, NCSL_ATTEST_TEE_SGX_HARDWARE);
    assert_int_equal(st, NCSL_E_PROOF_INVALID);
    assert_int_equal(v.failed_check, NCSL_PROOF_CHECK_TEE_TYPE);
    assert_non_null(strstr(v.reason, "hardware"));
    assert_true(v.measurement_matches);
    assert_false(v.report_data_matches);
    json_t *vj = ncsl_proof_verdict_to_json(&v);
    assert_string_equal(json_string_value(json_object_get(vj, "verifiedTeeKind")), "sgx");
    json_decref(vj);

    json_object_set_new(p, "teeType", json_string("sgx-occlum"));
    assert_int_equal(verify(p, &o, &v, &err), NCSL_E_PROOF_INVALID);
    assert_true(v.tee_type_matches);
    assert_int_equal(v.failed_check, NCSL_PROOF_CHECK_REPORT_DATA);
    assert_non_null(strstr(v.reason, "quote's report_data"));
    json_decref(p);
}

static void test_tee_type_names(void **state) {
    fx *f = *state;
    assert_string_equal(ncsl_proof_tee_type(f->tee), "simulation");
    assert_null(ncsl_proof_tee_type(NULL));
    assert_string_equal(ncsl_proof_check_name(NCSL_PROOF_CHECK_REPORT_DATA), "reportData");
    assert_string_equal(ncsl_proof_check_name(NCSL_PROOF_CHECK_NONE), "");
    /* Known answer for the binding: empty nonce, signingKey 02 || 0^32, encryptionKey 0^32.
     * The expected hash was computed with Python's hashlib. */
    uint8_t sig_pub[33] = {0x02}, enc_pub[32] = {0}, rd[64], want[32];
    assert_int_equal(ncsl_proof_report_data(NULL, 0, sig_pub, enc_pub, rd, NULL), NCSL_OK);
    unhex("2c3ec6e277c6655e9f561930493f1608aa9af8550dc3f43e59f734ecc94c358e", want, 32);
    assert_memory_equal(rd, want, 32);
    static const uint8_t zeros[32] = {0};
    assert_memory_equal(rd + 32, zeros, 32);
    uint8_t nonce65[65] = {0};
    assert_int_equal(ncsl_proof_report_data(nonce65, 65, sig_pub, enc_pub, rd, NULL),
                     NCSL_E_INVALID_ARG);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_and_verify), cmocka_unit_test(test_quote_trust),
        cmocka_unit_test(test_altered_bindings),  cmocka_unit_test(test_malformed_fields),
        cmocka_unit_test(test_expectations),      cmocka_unit_test(test_debug_enclave),
        cmocka_unit_test(test_hardware_quote),    cmocka_unit_test(test_tee_type_names),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
