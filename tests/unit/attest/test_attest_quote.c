/*
 * SGX DCAP v3 quotes: the parser and the verifier against the real quotes in
 * ../shared/testdata/sgx (expected values from its expected.json), time bounds, systematic
 * mutations and truncations, and forged chains under a freshly generated "Intel SGX Root CA".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cmocka.h>

#include "attest/attest.h"

#ifndef NCSL_SGX_TESTDATA
#error "NCSL_SGX_TESTDATA must name the testdata/sgx folder"
#endif

#define MAX_QUOTES 32
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

typedef struct quote_case {
    char name[64];
    uint8_t *data;
    size_t len;
    json_t *exp; /* borrowed from g_expected */
    bool genuine;
} quote_case;

static json_t *g_expected;
static quote_case g_quotes[MAX_QUOTES];
static size_t g_nquotes;
static int64_t g_t_fixed; /* 2026-11-24T00:00:00Z */

/* ------------------------------------------------------------------------- helpers */

static uint8_t *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        return NULL;
    }
    uint8_t *buf = NULL;
    size_t cap = 0;
    size_t n = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 8192;
            uint8_t *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        if (r == 0) {
            break;
        }
        n += r;
    }
    fclose(f);
    *len = n;
    return buf;
}

static void hex(const uint8_t *p, size_t n, char *out) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

static void assert_hex_field(const uint8_t *p, size_t n, const json_t *exp, const char *key) {
    char buf[2 * 64 + 1];
    const char *want = json_string_value(json_object_get(exp, key));
    assert_non_null(want);
    assert_true(n <= 64);
    hex(p, n, buf);
    if (strcasecmp(buf, want) != 0) {
        fail_msg("%s: got %s, expected %s", key, buf, want);
    }
}

/* "Mar  7 15:01:04 2024 GMT" (openssl's text form) -> seconds since the epoch. */
static int64_t parse_openssl_time(const char *s) {
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *end = strptime(s, "%b %d %H:%M:%S %Y GMT", &tm);
    assert_non_null(end);
    return (int64_t)timegm(&tm);
}

static int64_t asn1_time_epoch(const ASN1_TIME *t) {
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    assert_int_equal(ASN1_TIME_to_tm(t, &tm), 1);
    return (int64_t)timegm(&tm);
}

/* A malloc'd copy of exactly `len` bytes (so ASan sees any read past the end). */
static uint8_t *dup_exact(const uint8_t *p, size_t len) {
    uint8_t *c = malloc(len ? len : 1);
    assert_non_null(c);
    if (len) {
        memcpy(c, p, len);
    }
    return c;
}

static ncsl_status verify_at(const uint8_t *buf, size_t len, int64_t at, const char *root_pem,
                             ncsl_quote_verdict *v) {
    ncsl_quote_verify_opts opts;
    ncsl_attest_quote_verify_opts_default(&opts);
    opts.at_time = at;
    if (root_pem) {
        opts.root_pem = root_pem;
        opts.root_pem_len = strlen(root_pem);
    }
    ncsl_err err;
    memset(&err, 0, sizeof(err));
    ncsl_status st = ncsl_attest_quote_verify(buf, len, &opts, v, &err);
    /* Invariants of every verdict. */
    if (st == NCSL_OK) {
        assert_true(v->valid);
        assert_string_equal(v->reason, "");
        assert_int_equal(v->tee_kind, NCSL_ATTEST_TEE_SGX_HARDWARE);
    } else {
        assert_false(v->valid);
        assert_true(strlen(v->reason) > 0);
        assert_int_equal(v->tee_kind, NCSL_ATTEST_TEE_NONE);
        assert_int_equal(err.code, st);
        assert_string_equal(err.message, v->reason);
    }
    assert_false(v->collateral_checked);
    return st;
}

/* DER encodings of every certificate in a PEM text; count in *n. Caller frees each and the
 * array. */
static unsigned char **pem_ders(const char *pem, size_t len, size_t **lens, size_t *n) {
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    assert_non_null(bio);
    unsigned char **ders = calloc(16, sizeof(*ders));
    *lens = calloc(16, sizeof(**lens));
    assert_non_null(ders);
    *n = 0;
    X509 *c = NULL;
    while (*n < 16 && (c = PEM_read_bio_X509(bio, NULL, NULL, (void *)"")) != NULL) {
        unsigned char *d = NULL;
        int dl = i2d_X509(c, &d);
        assert_true(dl > 0);
        ders[*n] = d;
        (*lens)[*n] = (size_t)dl;
        (*n)++;
        X509_free(c);
    }
    BIO_free(bio);
    ERR_clear_error();
    return ders;
}

static void free_ders(unsigned char **ders, size_t *lens, size_t n) {
    for (size_t i = 0; i < n; i++) {
        OPENSSL_free(ders[i]);
    }
    free(ders);
    free(lens);
}

static bool same_ders(const char *a, size_t alen, const char *b, size_t blen) {
    size_t *la = NULL;
    size_t *lb = NULL;
    size_t na = 0;
    size_t nb = 0;
    unsigned char **da = pem_ders(a, alen, &la, &na);
    unsigned char **db = pem_ders(b, blen, &lb, &nb);
    bool same = na == nb;
    for (size_t i = 0; same && i < na; i++) {
        same = la[i] == lb[i] && memcmp(da[i], db[i], la[i]) == 0;
    }
    free_ders(da, la, na);
    free_ders(db, lb, nb);
    return same;
}

/* ------------------------------------------------------------------------- setup */

static int group_setup(void **state) {
    (void)state;
    struct stat sb;
    if (stat(NCSL_SGX_TESTDATA, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        fprintf(stderr,
                "FATAL: SGX test data folder %s is missing (it lives in ../shared next to the "
                "repository; CI always has it)\n",
                NCSL_SGX_TESTDATA);
        return -1;
    }
    json_error_t jerr;
    g_expected = json_load_file(NCSL_SGX_TESTDATA "/expected.json", 0, &jerr);
    if (!g_expected) {
        fprintf(stderr, "FATAL: cannot read %s/expected.json: %s\n", NCSL_SGX_TESTDATA, jerr.text);
        return -1;
    }
    const char *key;
    json_t *val;
    json_object_foreach(g_expected, key, val) {
        if (strncmp(key, "quote-", 6) != 0 || g_nquotes >= MAX_QUOTES) {
            continue;
        }
        quote_case *qc = &g_quotes[g_nquotes];
        snprintf(qc->name, sizeof(qc->name), "%s", key);
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", NCSL_SGX_TESTDATA, key);
        qc->data = read_file(path, &qc->len);
        if (!qc->data) {
            fprintf(stderr, "FATAL: cannot read %s\n", path);
            return -1;
        }
        qc->exp = val;
        qc->genuine = json_is_true(json_object_get(val, "overall_valid"));
        g_nquotes++;
    }
    if (g_nquotes < 13) {
        fprintf(stderr, "FATAL: expected at least 13 quotes in expected.json, found %zu\n",
                g_nquotes);
        return -1;
    }
    struct tm tm = {.tm_year = 2026 - 1900, .tm_mon = 10, .tm_mday = 24};
    g_t_fixed = (int64_t)timegm(&tm);
    return 0;
}

static int group_teardown(void **state) {
    (void)state;
    for (size_t i = 0; i < g_nquotes; i++) {
        free(g_quotes[i].data);
    }
    json_decref(g_expected);
    return 0;
}

/* ------------------------------------------------------------------------- tests */

static void test_embedded_root_is_intel_root(void **state) {
    (void)state;
    size_t flen = 0;
    uint8_t *file = read_file(NCSL_SGX_TESTDATA "/intel-sgx-root-ca.pem", &flen);
    assert_non_null(file);
    size_t elen = 0;
    const char *emb = ncsl_attest_intel_root_ca_pem(&elen);
    assert_int_equal(strlen(emb), elen);
    size_t *la = NULL;
    size_t *lb = NULL;
    size_t na = 0;
    size_t nb = 0;
    unsigned char **da = pem_ders(emb, elen, &la, &na);
    unsigned char **db = pem_ders((const char *)file, flen, &lb, &nb);
    assert_int_equal(na, 1);
    assert_int_equal(nb, 1);
    assert_int_equal(la[0], lb[0]);
    assert_memory_equal(da[0], db[0], la[0]);
    free_ders(da, la, na);
    free_ders(db, lb, nb);
    free(file);
}

static void test_genuine_quotes_verify(void **state) {
    (void)state;
    size_t legacy_len = 0;
    uint8_t *legacy =
        read_file(NCSL_SGX_TESTDATA "/intel-sgx-root-ca-legacy-2033.pem", &legacy_len);
    assert_non_null(legacy);
    char *legacy_pem = calloc(1, legacy_len + 1);
    assert_non_null(legacy_pem);
    memcpy(legacy_pem, legacy, legacy_len);
    size_t n_genuine = 0;
    for (size_t i = 0; i < g_nquotes; i++) {
        const quote_case *qc = &g_quotes[i];
        if (!qc->genuine) {
            continue;
        }
        n_genuine++;
        const json_t *e = qc->exp;
        ncsl_sgx_quote q;
        ncsl_err err;
        assert_int_equal(ncsl_attest_quote_parse(qc->data, qc->len, &q, &err), NCSL_OK);
        assert_int_equal(q.version, json_integer_value(json_object_get(e, "version")));
        assert_int_equal(q.att_key_type, json_integer_value(json_object_get(e, "att_key_type")));
        assert_int_equal(q.tee_type, json_integer_value(json_object_get(e, "tee_type")));
        assert_int_equal(q.qe_svn, json_integer_value(json_object_get(e, "qe_svn")));
        assert_int_equal(q.pce_svn, json_integer_value(json_object_get(e, "pce_svn")));
        assert_int_equal(q.sig_data_len, json_integer_value(json_object_get(e, "sig_data_len")));
        assert_int_equal(q.qe_auth_data_len,
                         json_integer_value(json_object_get(e, "qe_auth_data_len")));
        assert_int_equal(q.cert_data_type,
                         json_integer_value(json_object_get(e, "cert_data_type")));
        assert_int_equal(q.pem_chain_len, json_integer_value(json_object_get(e, "cert_data_size")));
        assert_hex_field(q.qe_vendor_id, 16, e, "qe_vendor_id");
        assert_hex_field(q.report.cpu_svn, 16, e, "cpusvn");
        assert_hex_field(q.report.attributes, 16, e, "attributes");
        assert_hex_field(q.qe_report.mr_enclave, 32, e, "qe_report_mrenclave");
        assert_hex_field(q.qe_report.mr_signer, 32, e, "qe_report_mrsigner");
        assert_int_equal(q.qe_report.isv_prod_id,
                         json_integer_value(json_object_get(e, "qe_report_isvprodid")));
        assert_int_equal(q.qe_report.isv_svn,
                         json_integer_value(json_object_get(e, "qe_report_isvsvn")));

        ncsl_quote_verdict v;
        /* At the fixed date, with the built-in root, and with the file's roots. */
        ncsl_status st = verify_at(qc->data, qc->len, g_t_fixed, NULL, &v);
        if (st != NCSL_OK) {
            fail_msg("%s: %s", qc->name, v.reason);
        }
        print_message("  %-28s valid   mrenclave %.16s... (%s)\n", qc->name,
                      json_string_value(json_object_get(e, "mrenclave")),
                      v.debug ? "debug" : "production");
        assert_int_equal(v.failed_step, NCSL_ATTEST_STEP_NONE);
        assert_true(v.fields_present);
        assert_int_equal(v.checked_at, g_t_fixed);
        assert_hex_field(v.mr_enclave, 32, e, "mrenclave");
        assert_hex_field(v.mr_signer, 32, e, "mrsigner");
        assert_hex_field(v.report_data, 64, e, "report_data");
        assert_hex_field(v.cpu_svn, 16, e, "cpusvn");
        assert_hex_field(v.attributes, 16, e, "attributes");
        assert_int_equal(v.isv_prod_id, json_integer_value(json_object_get(e, "isvprodid")));
        assert_int_equal(v.isv_svn, json_integer_value(json_object_get(e, "isvsvn")));
        assert_int_equal(v.debug, json_is_true(json_object_get(e, "debug")));
        assert_int_equal(v.qe_svn, json_integer_value(json_object_get(e, "qe_svn")));
        assert_int_equal(v.pce_svn, json_integer_value(json_object_get(e, "pce_svn")));
        assert_true(v.has_fmspc);
        assert_hex_field(v.fmspc, 6, e, "fmspc");

        size_t rlen = 0;
        assert_int_equal(
            verify_at(qc->data, qc->len, g_t_fixed, ncsl_attest_intel_root_ca_pem(&rlen), &v),
            NCSL_OK);
        /* The 2033 issue of the root has the same key and subject: also a valid pin. */
        assert_int_equal(verify_at(qc->data, qc->len, g_t_fixed, legacy_pem, &v), NCSL_OK);
        /* NULL options: defaults (built-in root, now). Must not crash; the leaves are valid
         * today until 2027 at least, but "now" may be later, so only the invariants. */
        ncsl_err e2;
        ncsl_status st_now = ncsl_attest_quote_verify(qc->data, qc->len, NULL, &v, &e2);
        assert_true(st_now == NCSL_OK || st_now == NCSL_E_ATTEST_CHAIN);
    }
    assert_int_equal(n_genuine, 13);
    free(legacy_pem);
    free(legacy);
}

static void test_tampered_rejected(void **state) {
    (void)state;
    size_t n = 0;
    for (size_t i = 0; i < g_nquotes; i++) {
        const quote_case *qc = &g_quotes[i];
        if (qc->genuine) {
            continue;
        }
        n++;
        ncsl_quote_verdict v;
        ncsl_status st = verify_at(qc->data, qc->len, g_t_fixed, NULL, &v);
        assert_int_equal(st, NCSL_E_ATTEST_SIGNATURE);
        assert_int_equal(v.failed_step, NCSL_ATTEST_STEP_ISV_SIGNATURE);
        assert_non_null(strstr(v.reason, "ISV report signature does not verify"));
        print_message("  %-28s INVALID (%s)\n", qc->name, v.reason);
    }
    assert_int_equal(n, 1);
}

static void test_time_bounds(void **state) {
    (void)state;
    for (size_t i = 0; i < g_nquotes; i++) {
        const quote_case *qc = &g_quotes[i];
        if (!qc->genuine) {
            continue;
        }
        int64_t nb =
            parse_openssl_time(json_string_value(json_object_get(qc->exp, "pck_not_before")));
        int64_t na =
            parse_openssl_time(json_string_value(json_object_get(qc->exp, "pck_not_after")));
        /* Cross-check expected.json with the leaf certificate itself. */
        ncsl_sgx_quote q;
        ncsl_err err;
        assert_int_equal(ncsl_attest_quote_parse(qc->data, qc->len, &q, &err), NCSL_OK);
        BIO *bio = BIO_new_mem_buf(q.pem_chain, (int)q.pem_chain_len);
        X509 *leaf = PEM_read_bio_X509(bio, NULL, NULL, (void *)"");
        assert_non_null(leaf);
        assert_int_equal(asn1_time_epoch(X509_get0_notBefore(leaf)), nb);
        assert_int_equal(asn1_time_epoch(X509_get0_notAfter(leaf)), na);
        X509_free(leaf);
        BIO_free(bio);

        ncsl_quote_verdict v;
        assert_int_equal(verify_at(qc->data, qc->len, na - 1, NULL, &v), NCSL_OK);
        assert_int_equal(verify_at(qc->data, qc->len, nb + 1, NULL, &v), NCSL_OK);
        assert_int_equal(verify_at(qc->data, qc->len, na + 1, NULL, &v), NCSL_E_ATTEST_CHAIN);
        assert_int_equal(v.failed_step, NCSL_ATTEST_STEP_PCK_CHAIN);
        assert_non_null(strstr(v.reason, "expired"));
        assert_int_equal(verify_at(qc->data, qc->len, nb - 1, NULL, &v), NCSL_E_ATTEST_CHAIN);
        assert_int_equal(v.failed_step, NCSL_ATTEST_STEP_PCK_CHAIN);
        assert_non_null(strstr(v.reason, "not yet valid"));
    }
}

typedef struct region {
    const char *name;
    size_t off;
    size_t len;
} region;

/* Verifies a bit-flipped copy; returns true when rejected. A mutation that still verifies is
 * only acceptable inside the PEM text, and then only when every certificate decodes to the same
 * DER as before (whitespace or text outside the base64 bodies). */
static bool flip_rejected(const quote_case *qc, size_t pos, unsigned bit, size_t pem_off,
                          size_t *still_valid) {
    uint8_t *m = dup_exact(qc->data, qc->len);
    m[pos] ^= (uint8_t)(1u << bit);
    ncsl_quote_verdict v;
    ncsl_status st = verify_at(m, qc->len, g_t_fixed, NULL, &v);
    bool rejected = st != NCSL_OK;
    bool same_der = false;
    if (!rejected && pos >= pem_off) {
        size_t pem_len = qc->len - pem_off;
        same_der = same_ders((const char *)qc->data + pem_off, pem_len, (const char *)m + pem_off,
                             pem_len);
        print_message("    still valid, same DER: %s PEM byte %zu of %zu, 0x%02x -> 0x%02x\n",
                      qc->name, pos - pem_off, pem_len, qc->data[pos], m[pos]);
    }
    free(m);
    if (!rejected) {
        if (pos < pem_off) {
            fail_msg("%s: flipping bit %u of byte %zu still verifies", qc->name, bit, pos);
        }
        if (!same_der) {
            fail_msg("%s: PEM byte %zu flipped, DER changed, still verifies", qc->name,
                     pos - pem_off);
        }
        (*still_valid)++;
    }
    return rejected;
}

static void test_bit_flips(void **state) {
    (void)state;
    size_t total = 0;
    size_t rejected = 0;
    size_t still_valid = 0;
    size_t per_region[16] = {0};
    const char *region_names[16] = {0};
    for (size_t i = 0; i < g_nquotes; i++) {
        const quote_case *qc = &g_quotes[i];
        if (!qc->genuine) {
            continue;
        }
        ncsl_sgx_quote q;
        ncsl_err err;
        assert_int_equal(ncsl_attest_quote_parse(qc->data, qc->len, &q, &err), NCSL_OK);
        size_t auth = 1014;
        size_t ctype = auth + q.qe_auth_data_len;
        size_t pem_off = ctype + 6;
        const region regions[] = {
            {"header version", 0, 2},
            {"header key type", 2, 2},
            {"header rest", 4, 44},
            {"report body mrenclave", 112, 32},
            {"report body other", 48, 64},
            {"report_data", 368, 64},
            {"sig data length", 432, 4},
            {"ISV signature", 436, 64},
            {"attestation key", 500, 64},
            {"QE report body", 564, 384},
            {"QE report signature", 948, 64},
            {"QE auth data size", 1012, 2},
            {"QE auth data", auth, q.qe_auth_data_len},
            {"cert data type", ctype, 2},
            {"cert data size", ctype + 2, 4},
            {"PEM chain", pem_off, qc->len - pem_off},
        };
        for (size_t r = 0; r < ARRAY_LEN(regions); r++) {
            const region *rg = &regions[r];
            /* Every byte of small regions; about 48 evenly spread bytes of larger ones. */
            size_t step = rg->len <= 64 ? 1 : rg->len / 48;
            region_names[r] = rg->name;
            for (size_t k = 0; k < rg->len; k += step) {
                total++;
                per_region[r]++;
                rejected +=
                    flip_rejected(qc, rg->off + k, (unsigned)((k + r) % 8), pem_off, &still_valid);
            }
        }
        /* Inside the base64 body of the leaf: replace characters with other base64 letters,
         * which always changes the DER. Every one must be rejected. */
        const char *pem = (const char *)qc->data + pem_off;
        size_t body = 0;
        while (body < qc->len - pem_off && pem[body] != '\n') {
            body++;
        }
        body++; /* first base64 line of the leaf */
        for (size_t k = 0; k < 60; k++) {
            size_t pos = pem_off + body + k * 13; /* spread over the first ~12 lines */
            assert_true(pos < qc->len);
            if (pem[pos - pem_off] == '\n') {
                pos++;
            }
            char c = (char)qc->data[pos];
            assert_true((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                        (c >= '0' && c <= '9') || c == '+' || c == '/');
            uint8_t *m = dup_exact(qc->data, qc->len);
            m[pos] = (uint8_t)(c == 'A' ? 'B' : 'A');
            ncsl_quote_verdict v;
            ncsl_status st = verify_at(m, qc->len, g_t_fixed, NULL, &v);
            free(m);
            if (st == NCSL_OK) {
                fail_msg("%s: leaf base64 changed at PEM byte %zu, still verifies", qc->name,
                         pos - pem_off);
            }
            total++;
            rejected++;
        }
    }
    for (size_t r = 0; r < 16 && region_names[r]; r++) {
        print_message("    %-22s %zu\n", region_names[r], per_region[r]);
    }
    print_message("  bit flips: %zu mutations, %zu rejected, %zu still valid with identical "
                  "DER (PEM whitespace/padding)\n",
                  total, rejected, still_valid);
    assert_int_equal(total, rejected + still_valid);
    assert_true(rejected > 1000);
}

static void test_truncations_and_lengths(void **state) {
    (void)state;
    size_t total = 0;
    for (size_t i = 0; i < g_nquotes; i++) {
        const quote_case *qc = &g_quotes[i];
        if (!qc->genuine) {
            continue;
        }
        for (size_t n = 0; n < qc->len; n += (n < 1100 ? 1 : 7)) {
            uint8_t *m = dup_exact(qc->data, n);
            ncsl_quote_verdict v;
            ncsl_status st = verify_at(n ? m : NULL, n, g_t_fixed, NULL, &v);
            assert_int_not_equal(st, NCSL_OK);
            if (n) {
                assert_int_equal(v.failed_step, NCSL_ATTEST_STEP_PARSE);
            }
            ncsl_sgx_quote q;
            assert_int_not_equal(ncsl_attest_quote_parse(m, n, &q, NULL), NCSL_OK);
            free(m);
            total++;
        }
        /* One trailing byte, with the signature data length adjusted and without. */
        uint8_t *m = malloc(qc->len + 1);
        assert_non_null(m);
        memcpy(m, qc->data, qc->len);
        m[qc->len] = 0;
        ncsl_quote_verdict v;
        assert_int_equal(verify_at(m, qc->len + 1, g_t_fixed, NULL, &v), NCSL_E_ATTEST_MALFORMED);
        uint32_t sl = (uint32_t)(qc->len + 1 - 436);
        memcpy(m + 432, &sl, 4); /* little-endian host (x86-64, aarch64) */
        assert_int_equal(verify_at(m, qc->len + 1, g_t_fixed, NULL, &v), NCSL_E_ATTEST_MALFORMED);
        assert_non_null(strstr(v.reason, "trailing"));
        free(m);
        total += 2;
        /* Hostile length fields. */
        ncsl_sgx_quote q;
        assert_int_equal(ncsl_attest_quote_parse(qc->data, qc->len, &q, NULL), NCSL_OK);
        size_t ctype = 1014 + q.qe_auth_data_len;
        static const uint32_t u32s[] = {0, 1, 0x7fffffffu, 0x80000000u, 0xffffffffu, 0xfffffffcu};
        for (size_t k = 0; k < ARRAY_LEN(u32s); k++) {
            m = dup_exact(qc->data, qc->len);
            memcpy(m + 432, &u32s[k], 4);
            assert_int_equal(verify_at(m, qc->len, g_t_fixed, NULL, &v), NCSL_E_ATTEST_MALFORMED);
            memcpy(m, qc->data, qc->len);
            memcpy(m + ctype + 2, &u32s[k], 4);
            assert_int_equal(verify_at(m, qc->len, g_t_fixed, NULL, &v), NCSL_E_ATTEST_MALFORMED);
            free(m);
            total += 2;
        }
        static const uint16_t u16s[] = {0, 1, 31, 33, 0x7fff, 0xffff};
        for (size_t k = 0; k < ARRAY_LEN(u16s); k++) {
            m = dup_exact(qc->data, qc->len);
            memcpy(m + 1012, &u16s[k], 2);
            assert_int_not_equal(verify_at(m, qc->len, g_t_fixed, NULL, &v), NCSL_OK);
            memcpy(m, qc->data, qc->len);
            memcpy(m + ctype, &u16s[k], 2);
            assert_int_equal(verify_at(m, qc->len, g_t_fixed, NULL, &v), NCSL_E_ATTEST_MALFORMED);
            free(m);
            total += 2;
        }
    }
    print_message("  truncations and hostile lengths: %zu, all rejected\n", total);
}

static void test_bad_arguments(void **state) {
    (void)state;
    const quote_case *qc = &g_quotes[0];
    ncsl_quote_verdict v;
    ncsl_err err;
    assert_int_equal(ncsl_attest_quote_verify(qc->data, qc->len, NULL, NULL, &err),
                     NCSL_E_INVALID_ARG);
    assert_int_equal(verify_at(NULL, 100, g_t_fixed, NULL, &v), NCSL_E_INVALID_ARG);
    assert_int_equal(verify_at(qc->data, qc->len, g_t_fixed, "not a certificate", &v),
                     NCSL_E_INVALID_ARG);
    assert_int_equal(v.failed_step, NCSL_ATTEST_STEP_SETUP);
    assert_int_equal(ncsl_attest_quote_parse(NULL, 10, NULL, NULL), NCSL_E_INVALID_ARG);
    ncsl_sgx_quote q;
    assert_int_equal(ncsl_attest_quote_parse(NULL, 10, &q, NULL), NCSL_E_INVALID_ARG);
}

/* ------------------------------------------------------------------------- forged chains */

static EVP_PKEY *new_p256(void) {
    EVP_PKEY *k = EVP_EC_gen("P-256");
    assert_non_null(k);
    return k;
}

static void raw_pub(EVP_PKEY *k, uint8_t xy[64]) {
    uint8_t pt[65];
    size_t n = 0;
    assert_int_equal(
        EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &n), 1);
    assert_int_equal(n, 65);
    assert_int_equal(pt[0], 4);
    memcpy(xy, pt + 1, 64);
}

static void raw_sign(EVP_PKEY *k, const uint8_t *msg, size_t len, uint8_t rs[64]) {
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    assert_non_null(ctx);
    assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k), 1);
    unsigned char der[128];
    size_t dl = sizeof(der);
    assert_int_equal(EVP_DigestSign(ctx, der, &dl, msg, len), 1);
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)dl);
    assert_non_null(sig);
    assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_r(sig), rs, 32), 32);
    assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_s(sig), rs + 32, 32), 32);
    ECDSA_SIG_free(sig);
    EVP_MD_CTX_free(ctx);
}

/* A CA or leaf certificate with `subject` (copied), signed by `issuer_key` under
 * `issuer_name` (copied). */
static X509 *make_cert(const X509_NAME *subject, EVP_PKEY *key, const X509_NAME *issuer_name,
                       EVP_PKEY *issuer_key, bool ca, long serial) {
    X509 *c = X509_new();
    assert_non_null(c);
    assert_int_equal(X509_set_version(c, 2), 1);
    ASN1_INTEGER_set(X509_get_serialNumber(c), serial);
    assert_int_equal(X509_set_subject_name(c, subject), 1);
    assert_int_equal(X509_set_issuer_name(c, issuer_name), 1);
    assert_non_null(ASN1_TIME_set(X509_getm_notBefore(c), (time_t)g_t_fixed - 86400L * 365 * 5));
    assert_non_null(ASN1_TIME_set(X509_getm_notAfter(c), (time_t)g_t_fixed + 86400L * 365 * 5));
    assert_int_equal(X509_set_pubkey(c, key), 1);
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, c, c, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints,
                                              ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    assert_non_null(ext);
    assert_int_equal(X509_add_ext(c, ext, -1), 1);
    X509_EXTENSION_free(ext);
    assert_true(X509_sign(c, issuer_key, EVP_sha256()) > 0);
    return c;
}

static void append_pem(BIO *bio, X509 *c) {
    assert_int_equal(PEM_write_bio_X509(bio, c), 1);
}

/* The quote `qc` with its cert data replaced by `pem` (and the lengths fixed). */
static uint8_t *with_pem(const quote_case *qc, const char *pem, size_t pem_len, size_t *len) {
    ncsl_sgx_quote q;
    assert_int_equal(ncsl_attest_quote_parse(qc->data, qc->len, &q, NULL), NCSL_OK);
    size_t head = 1014 + q.qe_auth_data_len + 2; /* up to the cert data size */
    *len = head + 4 + pem_len;
    uint8_t *m = malloc(*len);
    assert_non_null(m);
    memcpy(m, qc->data, head);
    uint32_t cs = (uint32_t)pem_len;
    uint32_t sl = (uint32_t)(*len - 436);
    memcpy(m + head, &cs, 4);
    memcpy(m + 432, &sl, 4);
    memcpy(m + head + 4, pem, pem_len);
    return m;
}

static void test_forged_roots(void **state) {
    (void)state;
    const quote_case *qc = NULL;
    for (size_t i = 0; i < g_nquotes && !qc; i++) {
        if (g_quotes[i].genuine) {
            qc = &g_quotes[i];
        }
    }
    assert_non_null(qc);
    ncsl_sgx_quote q;
    assert_int_equal(ncsl_attest_quote_parse(qc->data, qc->len, &q, NULL), NCSL_OK);
    BIO *in = BIO_new_mem_buf(q.pem_chain, (int)q.pem_chain_len);
    X509 *leaf = PEM_read_bio_X509(in, NULL, NULL, (void *)"");
    X509 *inter = PEM_read_bio_X509(in, NULL, NULL, (void *)"");
    X509 *root = PEM_read_bio_X509(in, NULL, NULL, (void *)"");
    assert_non_null(leaf);
    assert_non_null(inter);
    assert_non_null(root);
    BIO_free(in);

    /* A fresh self-signed "Intel SGX Root CA" (same subject, another key). */
    EVP_PKEY *fake_root_key = new_p256();
    const X509_NAME *root_name = X509_get_subject_name(root);
    X509 *fake_root = make_cert(root_name, fake_root_key, root_name, fake_root_key, true, 1);

    /* (a) Genuine leaf and intermediate, the quote's root replaced by the fake one. */
    BIO *out = BIO_new(BIO_s_mem());
    append_pem(out, leaf);
    append_pem(out, inter);
    append_pem(out, fake_root);
    char *pem = NULL;
    long pem_len = BIO_get_mem_data(out, &pem);
    size_t mlen = 0;
    uint8_t *m = with_pem(qc, pem, (size_t)pem_len, &mlen);
    BIO_free(out);
    ncsl_quote_verdict v;
    assert_int_equal(verify_at(m, mlen, g_t_fixed, NULL, &v), NCSL_E_ATTEST_CHAIN);
    assert_int_equal(v.failed_step, NCSL_ATTEST_STEP_PCK_CHAIN);
    print_message("  genuine chain, fake root in quote: %s\n", v.reason);
    free(m);

    /* (b) A complete forgery under the fake root: every signature in the quote is valid. */
    EVP_PKEY *fake_inter_key = new_p256();
    EVP_PKEY *fake_leaf_key = new_p256();
    EVP_PKEY *att_key = new_p256();
    X509 *fake_inter =
        make_cert(X509_get_subject_name(inter), fake_inter_key, root_name, fake_root_key, true, 2);
    X509 *fake_leaf = make_cert(X509_get_subject_name(leaf), fake_leaf_key,
                                X509_get_subject_name(inter), fake_inter_key, false, 3);
    out = BIO_new(BIO_s_mem());
    append_pem(out, fake_leaf);
    append_pem(out, fake_inter);
    append_pem(out, fake_root);
    pem_len = BIO_get_mem_data(out, &pem);
    m = with_pem(qc, pem, (size_t)pem_len, &mlen);
    BIO_free(out);
    uint8_t xy[64];
    raw_pub(att_key, xy);
    memcpy(m + 500, xy, 64);
    uint8_t bind[64 + 65536];
    memcpy(bind, xy, 64);
    memcpy(bind + 64, m + 1014, q.qe_auth_data_len);
    uint8_t md[32];
    unsigned int mdl = 0;
    assert_int_equal(EVP_Digest(bind, 64 + q.qe_auth_data_len, md, &mdl, EVP_sha256(), NULL), 1);
    memcpy(m + 564 + 320, md, 32);
    memset(m + 564 + 352, 0, 32);
    raw_sign(fake_leaf_key, m + 564, 384, m + 948);
    raw_sign(att_key, m, 432, m + 436);
    assert_int_equal(verify_at(m, mlen, g_t_fixed, NULL, &v), NCSL_E_ATTEST_CHAIN);
    assert_int_equal(v.failed_step, NCSL_ATTEST_STEP_PCK_CHAIN);
    print_message("  forged chain under a fake root: %s\n", v.reason);
    /* Sanity: the forgery is well-formed; pinning the fake root makes it verify. */
    out = BIO_new(BIO_s_mem());
    append_pem(out, fake_root);
    char *root_pem = NULL;
    long root_len = BIO_get_mem_data(out, &root_pem);
    char *root_str = calloc(1, (size_t)root_len + 1);
    assert_non_null(root_str);
    memcpy(root_str, root_pem, (size_t)root_len);
    BIO_free(out);
    assert_int_equal(verify_at(m, mlen, g_t_fixed, root_str, &v), NCSL_OK);
    assert_false(v.has_fmspc);
    /* And the genuine quote does not verify under the fake pin. */
    assert_int_equal(verify_at(qc->data, qc->len, g_t_fixed, root_str, &v), NCSL_E_ATTEST_CHAIN);
    free(root_str);
    free(m);

    X509_free(fake_leaf);
    X509_free(fake_inter);
    X509_free(fake_root);
    EVP_PKEY_free(att_key);
    EVP_PKEY_free(fake_leaf_key);
    EVP_PKEY_free(fake_inter_key);
    EVP_PKEY_free(fake_root_key);
    X509_free(root);
    X509_free(inter);
    X509_free(leaf);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_embedded_root_is_intel_root),
        cmocka_unit_test(test_genuine_quotes_verify),
        cmocka_unit_test(test_tampered_rejected),
        cmocka_unit_test(test_time_bounds),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_forged_roots),
        cmocka_unit_test(test_truncations_and_lengths),
        cmocka_unit_test(test_bit_flips),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
