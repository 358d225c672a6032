/*
 * SGX collateral (step 6) against the real collateral in ../shared/testdata/sgx/collateral: every
 * quote that has matching collateral verifies with the TCB status its README / expected.json
 * states; collateral of another FMSPC, tampered TCB info / QE identity / CRLs, stale CRLs and an
 * as-of time past nextUpdate are rejected with the right reason; malformed collateral (missing
 * fields, wrong types, huge numbers, truncations, random mutations) is refused by the loaders
 * without crashing; the directory loader reads each documented layout and names missing files.
 *
 * The "as of" times. All of this collateral was past its nextUpdate when the test data was
 * collected (2026-11-24), so every check runs at a time inside the windows of the set it uses:
 *   T_PHALA    2025-07-01T00:00:00Z: Phala's TCB info 2025-06-19T10:56:11Z..2025-07-19T10:56:11Z,
 *              QE identity ..2025-07-19T10:01:18Z, PCK Processor CA CRL 2025-06-19T10:23:18Z..
 *              2025-07-19T10:23:18Z, Root CA CRL 2025-03-20..2026-04-03, TCB Signing certificate
 *              from 2025-05-06T09:25:00Z.
 *   T_AUTOMATA 2025-09-01T00:00:00Z: Automata's 00606A000000 TCB info 2025-08-15T05:08:18Z..
 *              2025-09-14T05:08:18Z, QE identity 2025-08-15T04:36:46Z..2025-09-14T04:36:46Z,
 *              Platform CA CRL 2025-08-15T05:41:26Z..2025-09-14T05:41:26Z, the same root CRL.
 *   T_A0A0     2025-05-20T00:00:00Z: Automata's 00A067110000 TCB info, 2025-05-05T08:03:36Z..
 *              2025-06-04T08:03:36Z. It was issued the day before the TCB Signing certificate's
 *              notBefore (2025-05-06T09:25:00Z), so its signature verifies only from then on. No
 *              QE identity or PCK CRL in the test data overlaps that window, so this TCB info is
 *              checked piece by piece (internals) rather than as a full set.
 * Every PCK leaf here is valid at those times (the oldest, ccf-1, from 2020-03-20).
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cmocka.h>

#include "attest/attest.h"
#include "attest/attest_int.h"
#include "attest_test_util.h"

#ifndef NCSL_SGX_TESTDATA
#error "NCSL_SGX_TESTDATA must name the testdata/sgx folder"
#endif
#ifndef NCSL_TEST_TMPDIR
#error "NCSL_TEST_TMPDIR must name a writable folder"
#endif

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static json_t *g_expected;
static int64_t T_PHALA;
static int64_t T_AUTOMATA;
static int64_t T_A0A0;

/* ------------------------------------------------------------------------- collateral sets */

/* Files of one set (names in collateral/); NULL when not part of it. */
typedef struct set_spec {
    const char *label;
    const char *tcb_info, *tcb_info_sig, *qe_identity, *qe_identity_sig;
    const char *chain, *root_crl, *pck_crl;
    const char *bundle; /* instead of the above */
} set_spec;

static const set_spec PHALA_SPLIT = {
    "phala-* (split files + .sig)",
    "phala-tcb_info.json",
    "phala-tcb_info.sig",
    "phala-qe_identity.json",
    "phala-qe_identity.sig",
    "phala-tcb_info_issuer_chain.pem",
    "phala-root_ca_crl.der",
    "phala-pck_processor_ca_crl.der",
    NULL,
};
static const set_spec PHALA_BUNDLE = {
    "phala-sgx_quote_collateral.json", NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    "phala-sgx_quote_collateral.json",
};
static const set_spec AUTOMATA = {
    "automata-* 00606A000000 (PCS JSON)",
    "automata-tcb_info_00606A000000.json",
    NULL,
    "automata-qe_identity_sgx.json",
    NULL,
    "automata-tcb_signing_cert.der",
    "automata-root_ca_crl.der",
    "automata-pck_platform_ca_crl.der",
    NULL,
};

/* The files of a set, read, and the pieces pointing at them. */
typedef struct set_bufs {
    uint8_t *b[7];
    size_t n[7];
    ncsl_sgx_collateral_pieces p;
} set_bufs;

static void set_read(const set_spec *s, set_bufs *sb) {
    memset(sb, 0, sizeof(*sb));
    const char *files[7] = {s->tcb_info, s->tcb_info_sig, s->qe_identity, s->qe_identity_sig,
                            s->chain,    s->root_crl,     s->pck_crl};
    for (size_t i = 0; i < 7; i++) {
        if (files[i]) {
            sb->b[i] = tu_read_collateral(files[i], &sb->n[i]);
        }
    }
    sb->p.tcb_info = sb->b[0];
    sb->p.tcb_info_len = sb->n[0];
    sb->p.tcb_info_signature = sb->b[1];
    sb->p.tcb_info_signature_len = sb->n[1];
    sb->p.qe_identity = sb->b[2];
    sb->p.qe_identity_len = sb->n[2];
    sb->p.qe_identity_signature = sb->b[3];
    sb->p.qe_identity_signature_len = sb->n[3];
    sb->p.tcb_signing_chain = sb->b[4];
    sb->p.tcb_signing_chain_len = sb->n[4];
    sb->p.root_ca_crl = sb->b[5];
    sb->p.root_ca_crl_len = sb->n[5];
    sb->p.pck_ca_crl = sb->b[6];
    sb->p.pck_ca_crl_len = sb->n[6];
}

static void set_free(set_bufs *sb) {
    for (size_t i = 0; i < 7; i++) {
        free(sb->b[i]);
    }
}

static ncsl_sgx_collateral *load_set(const set_spec *s) {
    ncsl_sgx_collateral *c = NULL;
    ncsl_err err;
    memset(&err, 0, sizeof(err));
    if (s->bundle) {
        size_t n = 0;
        uint8_t *b = tu_read_collateral(s->bundle, &n);
        ncsl_status st = ncsl_attest_collateral_create_bundle(b, n, &c, &err);
        free(b);
        if (st != NCSL_OK) {
            fail_msg("%s: %s", s->label, err.message);
        }
        return c;
    }
    set_bufs sb;
    set_read(s, &sb);
    ncsl_status st = ncsl_attest_collateral_create(&sb.p, &c, &err);
    set_free(&sb);
    if (st != NCSL_OK) {
        fail_msg("%s: %s", s->label, err.message);
    }
    return c;
}

/* ------------------------------------------------------------------------- verification */

/* Verifies quote `name` with collateral `c` as of `at`, checking the invariants of every
 * verdict. */
static ncsl_status verify_q(const uint8_t *q, size_t qlen, const ncsl_sgx_collateral *c, int64_t at,
                            ncsl_quote_verdict *v) {
    ncsl_quote_verify_opts opts;
    ncsl_attest_quote_verify_opts_default(&opts);
    opts.at_time = at;
    opts.collateral = c;
    ncsl_err err;
    memset(&err, 0, sizeof(err));
    ncsl_status st = ncsl_attest_quote_verify(q, qlen, &opts, v, &err);
    if (st == NCSL_OK) {
        assert_true(v->valid);
        assert_true(v->collateral_checked);
        assert_false(v->collateral_expired);
        assert_string_equal(v->reason, "");
        assert_int_equal(v->failed_step, NCSL_ATTEST_STEP_NONE);
        assert_true(strlen(v->tcb_status) > 0);
        assert_true(strlen(v->qe_tcb_status) > 0);
        assert_string_equal(v->tcb_status, ncsl_attest_tcb_status_str(v->tcb_status_id));
        assert_string_equal(v->qe_tcb_status, ncsl_attest_tcb_status_str(v->qe_tcb_status_id));
        assert_int_not_equal(v->tcb_status_id, NCSL_ATTEST_TCB_REVOKED);
    } else {
        assert_false(v->valid);
        assert_false(v->collateral_checked);
        assert_true(strlen(v->reason) > 0);
        assert_int_equal(err.code, st);
        assert_string_equal(err.message, v->reason);
    }
    return st;
}

static ncsl_status verify_named(const char *quote, const ncsl_sgx_collateral *c, int64_t at,
                                ncsl_quote_verdict *v) {
    size_t n = 0;
    uint8_t *q = tu_read_quote(quote, &n);
    ncsl_status st = verify_q(q, n, c, at, v);
    free(q);
    return st;
}

static const json_t *expect_of(const char *quote) {
    const json_t *e = json_object_get(json_object_get(g_expected, quote), "expect");
    assert_non_null(e);
    return e;
}

/* ------------------------------------------------------------------------- setup */

static int group_setup(void **state) {
    (void)state;
    json_error_t jerr;
    g_expected = json_load_file(NCSL_SGX_TESTDATA "/expected.json", 0, &jerr);
    if (!g_expected) {
        fprintf(stderr,
                "FATAL: cannot read %s/expected.json: %s (the SGX test data lives in "
                "../shared next to the repository)\n",
                NCSL_SGX_TESTDATA, jerr.text);
        return -1;
    }
    T_PHALA = tu_utc(2025, 7, 1, 0, 0, 0);
    T_AUTOMATA = tu_utc(2025, 9, 1, 0, 0, 0);
    T_A0A0 = tu_utc(2025, 5, 20, 0, 0, 0);
    return 0;
}

static int group_teardown(void **state) {
    (void)state;
    json_decref(g_expected);
    return 0;
}

/* ------------------------------------------------------------------------- tests */

typedef struct matrix_row {
    const char *quote;
    const set_spec *set;
    const char *tcb_file; /* key of expected.json's tcb_status, NULL when it has none */
    int64_t *at;
    ncsl_status st;
    const char *tcb_status;
    const char *advisories;
    const char *reason_has; /* failures */
} matrix_row;

/* The README's table ("Expected TCB statuses") and expected.json's tcb_status entries; the
 * advisory IDs are those of the matched level, read from the TCB info files (the QE levels of
 * these quotes are UpToDate and carry none). */
static void test_collateral_matrix(void **state) {
    (void)state;
    static const char *const cfg_sw = "ConfigurationAndSWHardeningNeeded";
    const matrix_row rows[] = {
        {"quote-phala-1.bin", &PHALA_BUNDLE, "collateral/phala-tcb_info.json", &T_PHALA, NCSL_OK,
         cfg_sw, "INTEL-SA-00289,INTEL-SA-00615", NULL},
        {"quote-phala-1.bin", &PHALA_SPLIT, "collateral/phala-tcb_info.json", &T_PHALA, NCSL_OK,
         cfg_sw, "INTEL-SA-00289,INTEL-SA-00615", NULL},
        {"quote-automata-3.bin", &PHALA_BUNDLE, "collateral/phala-tcb_info.json", &T_PHALA, NCSL_OK,
         cfg_sw, "INTEL-SA-00289,INTEL-SA-00615", NULL},
        {"quote-automata-3.bin", &PHALA_SPLIT, "collateral/phala-tcb_info.json", &T_PHALA, NCSL_OK,
         cfg_sw, "INTEL-SA-00289,INTEL-SA-00615", NULL},
        {"quote-automata-1.bin", &AUTOMATA, "collateral/automata-tcb_info_00606A000000.json",
         &T_AUTOMATA, NCSL_OK, "SWHardeningNeeded", "INTEL-SA-00615", NULL},
        {"quote-automata-2.bin", &AUTOMATA, "collateral/automata-tcb_info_00606A000000.json",
         &T_AUTOMATA, NCSL_OK, "SWHardeningNeeded", "INTEL-SA-00615", NULL},
        {"quote-automata-4.bin", &AUTOMATA, "collateral/automata-tcb_info_00606A000000.json",
         &T_AUTOMATA, NCSL_OK, "OutOfDate",
         "INTEL-SA-00960,INTEL-SA-00657,INTEL-SA-00767,INTEL-SA-00615", NULL},
        /* Another platform's collateral. */
        {"quote-tlsn-1.bin", &PHALA_BUNDLE, NULL, &T_PHALA, NCSL_E_ATTEST_COLLATERAL, NULL, NULL,
         "is for FMSPC 00A067110000, but the PCK certificate's FMSPC is 00906ED50000"},
        {"quote-azure-2.bin", &PHALA_SPLIT, NULL, &T_PHALA, NCSL_E_ATTEST_COLLATERAL, NULL, NULL,
         "is for FMSPC 00A067110000, but the PCK certificate's FMSPC is 00906ED50000"},
        {"quote-automata-1.bin", &PHALA_BUNDLE, NULL, &T_PHALA, NCSL_E_ATTEST_COLLATERAL, NULL,
         NULL, "is for FMSPC 00A067110000, but the PCK certificate's FMSPC is 00606A000000"},
        {"quote-phala-1.bin", &AUTOMATA, NULL, &T_AUTOMATA, NCSL_E_ATTEST_COLLATERAL, NULL, NULL,
         "is for FMSPC 00606A000000, but the PCK certificate's FMSPC is 00A067110000"},
        {"quote-occlum-1.bin", &AUTOMATA, NULL, &T_AUTOMATA, NCSL_E_ATTEST_COLLATERAL, NULL, NULL,
         "is for FMSPC 00606A000000, but the PCK certificate's FMSPC is 30606A000000"},
        /* The quote itself fails before its collateral is looked at. */
        {"quote-phala-1-tampered.bin", &PHALA_BUNDLE, NULL, &T_PHALA, NCSL_E_ATTEST_SIGNATURE, NULL,
         NULL, "ISV report signature does not verify"},
    };
    print_message("  %-28s %-38s %s\n", "quote", "collateral", "result");
    for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
        const matrix_row *r = &rows[i];
        ncsl_sgx_collateral *c = load_set(r->set);
        ncsl_quote_verdict v;
        ncsl_status st = verify_named(r->quote, c, *r->at, &v);
        if (st == NCSL_OK) {
            print_message("  %-28s %-38s %s (QE %s; %s)\n", r->quote, r->set->label, v.tcb_status,
                          v.qe_tcb_status, v.advisory_ids);
        } else {
            print_message("  %-28s %-38s %s: %s\n", r->quote, r->set->label, ncsl_status_str(st),
                          v.reason);
        }
        if (st != r->st) {
            fail_msg("%s with %s: status %d (%s), expected %d", r->quote, r->set->label, st,
                     v.reason, r->st);
        }
        if (st == NCSL_OK) {
            assert_string_equal(v.tcb_status, r->tcb_status);
            assert_string_equal(v.advisory_ids, r->advisories);
            assert_false(v.advisory_ids_truncated);
            assert_string_equal(v.tcb_date, v.tcb_status_id == NCSL_ATTEST_TCB_OUT_OF_DATE
                                                ? "2023-08-09T00:00:00Z"
                                                : "2024-03-13T00:00:00Z");
            assert_int_equal(v.tcb_eval_data_number, 17);
            assert_int_equal(v.tee_kind, NCSL_ATTEST_TEE_SGX_HARDWARE);
            /* The same answer as expected.json. */
            const json_t *e = expect_of(r->quote);
            const char *want =
                json_string_value(json_object_get(json_object_get(e, "tcb_status"), r->tcb_file));
            assert_non_null(want);
            assert_string_equal(v.tcb_status, want);
            assert_string_equal(v.qe_tcb_status,
                                json_string_value(json_object_get(
                                    e, "qe_identity_status_with_shipped_qe_identity")));
            assert_true(v.collateral_expires_at > *r->at);
        } else {
            assert_non_null(strstr(v.reason, r->reason_has));
            if (st == NCSL_E_ATTEST_COLLATERAL) {
                assert_int_equal(v.failed_step, NCSL_ATTEST_STEP_COLLATERAL);
            }
        }
        ncsl_attest_collateral_destroy(c);
    }
}

/* The PCK extension parser against expected.json (FMSPC, the 16 SVNs, PCESVN) for every quote. */
static void test_pck_extension(void **state) {
    (void)state;
    size_t n = 0;
    const char *key;
    json_t *e;
    json_object_foreach(g_expected, key, e) {
        if (strncmp(key, "quote-", 6) != 0) {
            continue;
        }
        size_t qlen = 0;
        uint8_t *qb = tu_read_quote(key, &qlen);
        ncsl_sgx_quote q;
        assert_int_equal(ncsl_attest_quote_parse(qb, qlen, &q, NULL), NCSL_OK);
        STACK_OF(X509) *chain = NULL;
        char why[160];
        assert_true(
            ncsl__attest_pem_chain_parse(q.pem_chain, q.pem_chain_len, &chain, why, sizeof(why)));
        ncsl__pck_ext pck;
        if (!ncsl__attest_pck_ext_parse(sk_X509_value(chain, 0), &pck, why, sizeof(why))) {
            fail_msg("%s: %s", key, why);
        }
        char hex[13];
        tu_hex(pck.fmspc, 6, hex);
        assert_true(strcasecmp(hex, json_string_value(json_object_get(e, "fmspc"))) == 0);
        json_t *svns = json_object_get(e, "pck_tcb_comp_svn");
        assert_int_equal(json_array_size(svns), 16);
        for (size_t k = 0; k < 16; k++) {
            assert_int_equal(pck.comp_svn[k], json_integer_value(json_array_get(svns, k)));
        }
        assert_int_equal(pck.pce_svn, json_integer_value(json_object_get(e, "pck_pcesvn")));
        assert_int_equal(pck.pce_id[0], 0);
        assert_int_equal(pck.pce_id[1], 0);
        /* The CPUSVN in the certificate is the components' bytes for these platforms. */
        assert_memory_equal(pck.cpu_svn, pck.comp_svn, 16);
        sk_X509_pop_free(chain, X509_free);
        free(qb);
        n++;
    }
    assert_int_equal(n, 14);
}

/* The quote's PCK extension (for the piece-by-piece tests). */
static void quote_pck(const char *name, ncsl__pck_ext *pck, uint8_t qe_report[384],
                      uint16_t *qe_isvsvn) {
    size_t qlen = 0;
    uint8_t *qb = tu_read_quote(name, &qlen);
    ncsl_sgx_quote q;
    assert_int_equal(ncsl_attest_quote_parse(qb, qlen, &q, NULL), NCSL_OK);
    STACK_OF(X509) *chain = NULL;
    char why[160];
    assert_true(
        ncsl__attest_pem_chain_parse(q.pem_chain, q.pem_chain_len, &chain, why, sizeof(why)));
    assert_true(ncsl__attest_pck_ext_parse(sk_X509_value(chain, 0), pck, why, sizeof(why)));
    memcpy(qe_report, q.qe_report_raw, 384);
    *qe_isvsvn = q.qe_report.isv_svn;
    sk_X509_pop_free(chain, X509_free);
    free(qb);
}

static X509 *pinned_root(void) {
    size_t n = 0;
    const char *pem = ncsl_attest_intel_root_ca_pem(&n);
    STACK_OF(X509) *s = NULL;
    char why[160];
    assert_true(ncsl__attest_certs_parse((const uint8_t *)pem, n, 1, &s, why, sizeof(why)));
    X509 *root = sk_X509_value(s, 0);
    X509_up_ref(root);
    sk_X509_pop_free(s, X509_free);
    return root;
}

/* Automata's 00A067110000 TCB info with the two quotes of that FMSPC, piece by piece at T_A0A0
 * (see the header comment for why not as a full set). */
static void test_tcb_info_00a067110000(void **state) {
    (void)state;
    size_t dlen = 0;
    size_t clen = 0;
    uint8_t *doc = tu_read_collateral("automata-tcb_info_00A067110000.json", &dlen);
    uint8_t *der = tu_read_collateral("automata-tcb_signing_cert.der", &clen);
    uint8_t *body = NULL;
    size_t blen = 0;
    uint8_t sig[64];
    ncsl_err err;
    assert_int_equal(
        ncsl__attest_signed_json(doc, dlen, "tcbInfo", NULL, 0, "t", &body, &blen, sig, &err),
        NCSL_OK);
    ncsl__tcb_info ti;
    assert_int_equal(ncsl__attest_tcb_info_parse(body, blen, "t", &ti, &err), NCSL_OK);
    assert_int_equal(ti.version, 3);
    assert_int_equal(ti.issue_date, tu_utc(2025, 5, 5, 8, 3, 36));
    assert_int_equal(ti.next_update, tu_utc(2025, 6, 4, 8, 3, 36));
    STACK_OF(X509) *signer = NULL;
    char why[200];
    assert_true(ncsl__attest_certs_parse(der, clen, 1, &signer, why, sizeof(why)));
    X509 *root = pinned_root();
    assert_int_equal(ncsl__attest_signed_by_tcb_signer(sk_X509_value(signer, 0), root, T_A0A0, body,
                                                       blen, sig, why, sizeof(why)),
                     1);
    /* At its own issueDate the signing certificate was not yet valid. */
    assert_int_equal(ncsl__attest_signed_by_tcb_signer(sk_X509_value(signer, 0), root,
                                                       ti.issue_date, body, blen, sig, why,
                                                       sizeof(why)),
                     0);
    assert_non_null(strstr(why, "not yet valid"));
    const char *quotes[] = {"quote-phala-1.bin", "quote-automata-3.bin"};
    for (size_t i = 0; i < ARRAY_LEN(quotes); i++) {
        ncsl__pck_ext pck;
        uint8_t qe[384];
        uint16_t qe_svn = 0;
        quote_pck(quotes[i], &pck, qe, &qe_svn);
        assert_memory_equal(pck.fmspc, ti.fmspc, 6);
        long li = ncsl__attest_tcb_level_match(&ti, &pck);
        assert_true(li >= 0);
        const char *got = ncsl_attest_tcb_status_str(ti.levels[li].status);
        const char *want =
            json_string_value(json_object_get(json_object_get(expect_of(quotes[i]), "tcb_status"),
                                              "collateral/automata-tcb_info_00A067110000.json"));
        print_message("  %-28s automata-tcb_info_00A067110000.json    %s (%s)\n", quotes[i], got,
                      ti.levels[li].advisories);
        assert_non_null(want);
        assert_string_equal(got, want);
        assert_string_equal(ti.levels[li].advisories, "INTEL-SA-00289,INTEL-SA-00615");
    }
    /* As a full set with Phala's QE identity and CRLs at T_A0A0: those were not issued yet. The
     * verdict is "not yet valid", and still reports the TCB status it would have had. */
    set_bufs sb;
    set_read(&PHALA_SPLIT, &sb);
    sb.p.tcb_info = doc;
    sb.p.tcb_info_len = dlen;
    sb.p.tcb_info_signature = NULL;
    sb.p.tcb_info_signature_len = 0;
    ncsl_sgx_collateral *c = NULL;
    assert_int_equal(ncsl_attest_collateral_create(&sb.p, &c, &err), NCSL_OK);
    ncsl_quote_verdict v;
    assert_int_equal(verify_named("quote-phala-1.bin", c, T_A0A0, &v),
                     NCSL_E_ATTEST_COLLATERAL_EXPIRED);
    print_message("    with Phala's QE identity and CRLs: %s\n", v.reason);
    assert_true(v.collateral_expired);
    assert_non_null(strstr(v.reason, "not yet valid"));
    assert_non_null(strstr(v.reason, "QE identity (qe_identity) is only valid from"));
    assert_string_equal(v.tcb_status, "ConfigurationAndSWHardeningNeeded");
    ncsl_attest_collateral_destroy(c);
    set_free(&sb);

    X509_free(root);
    sk_X509_pop_free(signer, X509_free);
    ncsl__attest_tcb_info_cleanup(&ti);
    free(body);
    free(der);
    free(doc);
}

/* Both QE identities with every genuine quote: signature, report match, level; the status must
 * be expected.json's qe_identity_status_with_shipped_qe_identity. */
static void test_qe_identity_all_quotes(void **state) {
    (void)state;
    struct {
        const char *file;
        const char *sig;
        const char *signer;
        int64_t *at;
    } ids[] = {
        {"phala-qe_identity.json", "phala-qe_identity.sig", "phala-tcb_info_issuer_chain.pem",
         &T_PHALA},
        {"automata-qe_identity_sgx.json", NULL, "automata-tcb_signing_cert.der", &T_AUTOMATA},
    };
    X509 *root = pinned_root();
    size_t checked = 0;
    for (size_t i = 0; i < ARRAY_LEN(ids); i++) {
        size_t dlen = 0;
        size_t slen = 0;
        size_t clen = 0;
        uint8_t *doc = tu_read_collateral(ids[i].file, &dlen);
        uint8_t *sig = ids[i].sig ? tu_read_collateral(ids[i].sig, &slen) : NULL;
        uint8_t *cert = tu_read_collateral(ids[i].signer, &clen);
        uint8_t *body = NULL;
        size_t blen = 0;
        uint8_t rs[64];
        ncsl_err err;
        assert_int_equal(ncsl__attest_signed_json(doc, dlen, "enclaveIdentity", sig, slen, "q",
                                                  &body, &blen, rs, &err),
                         NCSL_OK);
        ncsl__qe_identity qi;
        assert_int_equal(ncsl__attest_qe_identity_parse(body, blen, "q", &qi, &err), NCSL_OK);
        STACK_OF(X509) *signer = NULL;
        char why[200];
        assert_true(ncsl__attest_certs_parse(cert, clen, 4, &signer, why, sizeof(why)));
        assert_int_equal(ncsl__attest_signed_by_tcb_signer(sk_X509_value(signer, 0), root,
                                                           *ids[i].at, body, blen, rs, why,
                                                           sizeof(why)),
                         1);
        const char *key;
        json_t *e;
        json_object_foreach(g_expected, key, e) {
            if (strncmp(key, "quote-", 6) != 0 ||
                !json_is_true(json_object_get(e, "overall_valid"))) {
                continue;
            }
            ncsl__pck_ext pck;
            uint8_t qe[384];
            uint16_t qe_svn = 0;
            quote_pck(key, &pck, qe, &qe_svn);
            if (!ncsl__attest_qe_report_matches(&qi, qe, why, sizeof(why))) {
                fail_msg("%s with %s: %s", key, ids[i].file, why);
            }
            long li = ncsl__attest_qe_level_match(&qi, qe_svn);
            assert_true(li >= 0);
            assert_string_equal(
                ncsl_attest_tcb_status_str(qi.levels[li].status),
                json_string_value(json_object_get(json_object_get(e, "expect"),
                                                  "qe_identity_status_with_shipped_qe_identity")));
            checked++;
        }
        sk_X509_pop_free(signer, X509_free);
        ncsl__attest_qe_identity_cleanup(&qi);
        free(body);
        free(cert);
        free(sig);
        free(doc);
    }
    X509_free(root);
    assert_int_equal(checked, 26);
}

/* One byte changed inside the signed tcbInfo: never accepted. Every digit of Automata's PCS JSON
 * is changed in turn (most keep the JSON valid and reach the signature check); whitespace inside
 * the object breaks the signature too, while whitespace and member order outside it do not
 * (the signed bytes are located in the text, not re-serialized). */
static void test_tampered_tcb_info(void **state) {
    (void)state;
    set_bufs sb;
    set_read(&AUTOMATA, &sb);
    const char *doc = (const char *)sb.b[0];
    size_t dlen = sb.n[0];
    const char *sigkey = strstr(doc, ",\"signature\":\"");
    assert_non_null(sigkey);
    size_t start = strlen("{\"tcbInfo\":");
    assert_memory_equal(doc, "{\"tcbInfo\":{", start + 1);
    size_t end = (size_t)(sigkey - doc); /* the tcbInfo value is [start, end) */
    size_t sig_rejects = 0;
    size_t parse_rejects = 0;
    for (size_t i = start; i < end; i++) {
        if (doc[i] < '0' || doc[i] > '9') {
            continue;
        }
        char *m = malloc(dlen + 1);
        assert_non_null(m);
        memcpy(m, doc, dlen + 1);
        m[i] = doc[i] == '9' ? '8' : (char)(doc[i] + 1);
        ncsl_sgx_collateral_pieces p = sb.p;
        p.tcb_info = (const uint8_t *)m;
        ncsl_sgx_collateral *c = NULL;
        ncsl_err err;
        ncsl_status st = ncsl_attest_collateral_create(&p, &c, &err);
        if (st != NCSL_OK) {
            assert_int_equal(st, NCSL_E_ATTEST_COLLATERAL); /* e.g. a date made invalid */
            assert_string_equal(err.field, "tcb_info");
            parse_rejects++;
        } else {
            ncsl_quote_verdict v;
            st = verify_named("quote-automata-1.bin", c, T_AUTOMATA, &v);
            if (st != NCSL_E_ATTEST_COLLATERAL || !strstr(v.reason, "TCB info (tcb_info)") ||
                !strstr(v.reason, "signature does not verify")) {
                fail_msg("byte %zu changed: %d %s", i, st, v.reason);
            }
            sig_rejects++;
        }
        ncsl_attest_collateral_destroy(c);
        free(m);
    }
    print_message("  tampered TCB info digits: %zu rejected by the signature, %zu by the parser\n",
                  sig_rejects, parse_rejects);
    assert_true(sig_rejects > 300);

    /* Whitespace inside the signed object. */
    size_t mlen = 0;
    char *m = tu_replace(doc, dlen, "\"version\":3,", "\"version\":3, ", &mlen);
    ncsl_sgx_collateral_pieces p = sb.p;
    p.tcb_info = (const uint8_t *)m;
    p.tcb_info_len = mlen;
    ncsl_sgx_collateral *c = NULL;
    ncsl_err err;
    assert_int_equal(ncsl_attest_collateral_create(&p, &c, &err), NCSL_OK);
    ncsl_quote_verdict v;
    assert_int_equal(verify_named("quote-automata-1.bin", c, T_AUTOMATA, &v),
                     NCSL_E_ATTEST_COLLATERAL);
    assert_non_null(strstr(v.reason, "signature does not verify"));
    ncsl_attest_collateral_destroy(c);
    free(m);

    /* Another member order and whitespace outside it: the same signed bytes. */
    char *re = malloc(dlen + 64);
    assert_non_null(re);
    int n = snprintf(re, dlen + 64, "\n{ \"signature\" : \"%.128s\" ,\r\n\t\"tcbInfo\" :  %.*s }\n",
                     sigkey + strlen(",\"signature\":\""), (int)(end - start), doc + start);
    assert_true(n > 0 && (size_t)n < dlen + 64);
    p.tcb_info = (const uint8_t *)re;
    p.tcb_info_len = (size_t)n;
    assert_int_equal(ncsl_attest_collateral_create(&p, &c, &err), NCSL_OK);
    assert_int_equal(verify_named("quote-automata-1.bin", c, T_AUTOMATA, &v), NCSL_OK);
    assert_string_equal(v.tcb_status, "SWHardeningNeeded");
    ncsl_attest_collateral_destroy(c);

    /* One hex digit of the signature. */
    m = malloc(dlen + 1);
    assert_non_null(m);
    memcpy(m, doc, dlen + 1);
    size_t sigpos = end + strlen(",\"signature\":\"");
    m[sigpos] = m[sigpos] == '0' ? '1' : '0';
    p.tcb_info = (const uint8_t *)m;
    p.tcb_info_len = dlen;
    assert_int_equal(ncsl_attest_collateral_create(&p, &c, &err), NCSL_OK);
    assert_int_equal(verify_named("quote-automata-1.bin", c, T_AUTOMATA, &v),
                     NCSL_E_ATTEST_COLLATERAL);
    assert_non_null(strstr(v.reason, "signature does not verify"));
    ncsl_attest_collateral_destroy(c);
    free(m);
    free(re);
    set_free(&sb);
}

/* The QE identity, tampered or swapped for another piece's signature. */
static void test_tampered_qe_identity(void **state) {
    (void)state;
    set_bufs sb;
    set_read(&PHALA_SPLIT, &sb);
    ncsl_sgx_collateral *c = NULL;
    ncsl_err err;
    ncsl_quote_verdict v;
    /* isvsvn 8 -> 7 in the UpToDate level: would make QE isvsvn 7 "UpToDate" if accepted. */
    size_t mlen = 0;
    char *m = tu_replace((const char *)sb.b[2], sb.n[2], "{\"isvsvn\":8}", "{\"isvsvn\":7}", &mlen);
    ncsl_sgx_collateral_pieces p = sb.p;
    p.qe_identity = (const uint8_t *)m;
    p.qe_identity_len = mlen;
    assert_int_equal(ncsl_attest_collateral_create(&p, &c, &err), NCSL_OK);
    assert_int_equal(verify_named("quote-phala-1.bin", c, T_PHALA, &v), NCSL_E_ATTEST_COLLATERAL);
    assert_non_null(strstr(v.reason, "QE identity (qe_identity): the signature does not verify"));
    ncsl_attest_collateral_destroy(c);
    free(m);
    /* The TCB info's signature given for the QE identity (and the other way round). */
    p = sb.p;
    p.qe_identity_signature = sb.b[1];
    p.qe_identity_signature_len = sb.n[1];
    assert_int_equal(ncsl_attest_collateral_create(&p, &c, &err), NCSL_OK);
    assert_int_equal(verify_named("quote-phala-1.bin", c, T_PHALA, &v), NCSL_E_ATTEST_COLLATERAL);
    assert_non_null(strstr(v.reason, "QE identity"));
    ncsl_attest_collateral_destroy(c);
    p = sb.p;
    p.tcb_info_signature = sb.b[3];
    p.tcb_info_signature_len = sb.n[3];
    assert_int_equal(ncsl_attest_collateral_create(&p, &c, &err), NCSL_OK);
    assert_int_equal(verify_named("quote-phala-1.bin", c, T_PHALA, &v), NCSL_E_ATTEST_COLLATERAL);
    assert_non_null(strstr(v.reason, "TCB info (tcb_info): the signature does not verify"));
    ncsl_attest_collateral_destroy(c);
    /* A signature as hex text instead of raw bytes: the same. */
    char hexsig[130];
    tu_hex(sb.b[1], 64, hexsig);
    hexsig[128] = '\n';
    p = sb.p;
    p.tcb_info_signature = (const uint8_t *)hexsig;
    p.tcb_info_signature_len = 129;
    assert_int_equal(ncsl_attest_collateral_create(&p, &c, &err), NCSL_OK);
    assert_int_equal(verify_named("quote-phala-1.bin", c, T_PHALA, &v), NCSL_OK);
    ncsl_attest_collateral_destroy(c);
    set_free(&sb);
}

/* Changes the last seconds digit of the first UTCTime (the CRL's lastUpdate) in a DER CRL: the
 * CRL still parses, its signature no longer verifies. */
static void tamper_crl_time(uint8_t *der, size_t len) {
    for (size_t i = 0; i + 15 <= len; i++) {
        if (der[i] == 0x17 && der[i + 1] == 0x0d && der[i + 14] == 'Z') {
            uint8_t *d = &der[i + 13];
            *d = *d == '9' ? '8' : (uint8_t)(*d + 1);
            return;
        }
    }
    fail_msg("no UTCTime in the CRL");
}

static void test_tampered_and_foreign_crls(void **state) {
    (void)state;
    set_bufs sb;
    set_read(&PHALA_SPLIT, &sb);
    ncsl_sgx_collateral *c = NULL;
    ncsl_err err;
    ncsl_quote_verdict v;
    struct {
        int piece; /* 5 root, 6 pck */
        const char *what;
    } cases[] = {{5, "Root CA CRL (root_ca_crl)"}, {6, "PCK CA CRL (pck_ca_crl)"}};
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        size_t n = sb.n[cases[i].piece];
        uint8_t *m = malloc(n);
        assert_non_null(m);
        memcpy(m, sb.b[cases[i].piece], n);
        tamper_crl_time(m, n);
        ncsl_sgx_collateral_pieces p = sb.p;
        if (cases[i].piece == 5) {
            p.root_ca_crl = m;
        } else {
            p.pck_ca_crl = m;
        }
        assert_int_equal(ncsl_attest_collateral_create(&p, &c, &err), NCSL_OK);
        assert_int_equal(verify_named("quote-phala-1.bin", c, T_PHALA, &v),
                         NCSL_E_ATTEST_COLLATERAL);
        print_message("  tampered %s: %s\n", cases[i].what, v.reason);
        assert_non_null(strstr(v.reason, cases[i].what));
        assert_non_null(strstr(v.reason, "CRL signature does not verify"));
        ncsl_attest_collateral_destroy(c);
        free(m);
    }
    /* The Platform CA's CRL for a quote whose PCK comes from the Processor CA. */
    size_t n = 0;
    uint8_t *platform = tu_read_collateral("automata-pck_platform_ca_crl.der", &n);
    ncsl_sgx_collateral_pieces p = sb.p;
    p.pck_ca_crl = platform;
    p.pck_ca_crl_len = n;
    assert_int_equal(ncsl_attest_collateral_create(&p, &c, &err), NCSL_OK);
    assert_int_equal(verify_named("quote-phala-1.bin", c, T_PHALA, &v), NCSL_E_ATTEST_COLLATERAL);
    assert_non_null(strstr(v.reason, "is issued by \"Intel SGX PCK Platform CA\", but the quote's "
                                     "chain needs the CRL of \"Intel SGX PCK Processor CA\""));
    ncsl_attest_collateral_destroy(c);
    free(platform);
    /* A CRL in place of the root's: the PCK CA CRL as root CRL. */
    p = sb.p;
    p.root_ca_crl = sb.b[6];
    p.root_ca_crl_len = sb.n[6];
    assert_int_equal(ncsl_attest_collateral_create(&p, &c, &err), NCSL_OK);
    assert_int_equal(verify_named("quote-phala-1.bin", c, T_PHALA, &v), NCSL_E_ATTEST_COLLATERAL);
    assert_non_null(strstr(v.reason, "Root CA CRL (root_ca_crl) is issued by"));
    ncsl_attest_collateral_destroy(c);
    /* Stale, genuine CRLs (MobileCoin's, 2023): signed by the right CAs, but past nextUpdate. */
    const struct {
        const char *file;
        bool root;
        const char *what;
    } stale[] = {{"mobilecoin-root_ca_crl.der", true,
                  "Root CA CRL (root_ca_crl) expired at its "
                  "nextUpdate 2024-04-02T10:22:51Z"},
                 {"mobilecoin-pck_processor_ca_crl.der", false,
                  "PCK CA CRL (pck_ca_crl) expired at its nextUpdate 2023-05-21T22:00:36Z"}};
    for (size_t i = 0; i < ARRAY_LEN(stale); i++) {
        uint8_t *crl = tu_read_collateral(stale[i].file, &n);
        p = sb.p;
        if (stale[i].root) {
            p.root_ca_crl = crl;
            p.root_ca_crl_len = n;
        } else {
            p.pck_ca_crl = crl;
            p.pck_ca_crl_len = n;
        }
        assert_int_equal(ncsl_attest_collateral_create(&p, &c, &err), NCSL_OK);
        assert_int_equal(verify_named("quote-phala-1.bin", c, T_PHALA, &v),
                         NCSL_E_ATTEST_COLLATERAL_EXPIRED);
        print_message("  stale %s: %s\n", stale[i].file, v.reason);
        assert_non_null(strstr(v.reason, stale[i].what));
        assert_true(v.collateral_expired);
        assert_string_equal(v.tcb_status, "ConfigurationAndSWHardeningNeeded");
        ncsl_attest_collateral_destroy(c);
        free(crl);
    }
    set_free(&sb);
}

/* The freshness windows: edges from ncsl_attest_collateral_get_info, and the collection day. */
static void test_expired_collateral(void **state) {
    (void)state;
    ncsl_sgx_collateral *c = load_set(&PHALA_BUNDLE);
    ncsl_sgx_collateral_info info;
    ncsl_attest_collateral_get_info(c, &info);
    assert_int_equal(info.tcb_info_version, 3);
    assert_int_equal(info.tcb_eval_data_number, 17);
    assert_memory_equal(info.fmspc, "\x00\xA0\x67\x11\x00\x00", 6);
    assert_string_equal(info.pck_crl_issuer_cn, "Intel SGX PCK Processor CA");
    assert_int_equal(info.tcb_info_issued, tu_utc(2025, 6, 19, 10, 56, 11));
    assert_int_equal(info.tcb_info_next_update, tu_utc(2025, 7, 19, 10, 56, 11));
    assert_int_equal(info.qe_identity_next_update, tu_utc(2025, 7, 19, 10, 1, 18));
    assert_int_equal(info.root_crl_next_update, tu_utc(2026, 4, 3, 11, 21, 57));
    assert_int_equal(info.valid_from, tu_utc(2025, 6, 19, 10, 56, 11));
    assert_int_equal(info.valid_until, tu_utc(2025, 7, 19, 10, 1, 18));

    ncsl_quote_verdict v;
    assert_int_equal(verify_named("quote-phala-1.bin", c, info.valid_from, &v), NCSL_OK);
    assert_int_equal(verify_named("quote-phala-1.bin", c, info.valid_until, &v), NCSL_OK);
    assert_int_equal(v.collateral_expires_at, info.valid_until);
    assert_int_equal(verify_named("quote-phala-1.bin", c, info.valid_until + 1, &v),
                     NCSL_E_ATTEST_COLLATERAL_EXPIRED);
    assert_int_equal(v.failed_step, NCSL_ATTEST_STEP_COLLATERAL);
    assert_non_null(strstr(v.reason, "collateral expired as of 2025-07-19T10:01:19Z: QE identity "
                                     "(bundle:qe_identity) expired at its nextUpdate "
                                     "2025-07-19T10:01:18Z"));
    assert_int_equal(verify_named("quote-phala-1.bin", c, info.valid_from - 1, &v),
                     NCSL_E_ATTEST_COLLATERAL_EXPIRED);
    assert_non_null(strstr(v.reason, "not yet valid as of 2025-06-19T10:56:10Z: TCB info"));
    /* The day the test data was collected: everything but the root CRL is out of date. */
    int64_t collected = tu_utc(2026, 11, 24, 0, 0, 0);
    assert_int_equal(verify_named("quote-phala-1.bin", c, collected, &v),
                     NCSL_E_ATTEST_COLLATERAL_EXPIRED);
    print_message("  as of 2026-11-24: %s\n", v.reason);
    assert_non_null(strstr(v.reason, "collateral expired as of 2026-11-24T00:00:00Z: TCB info "
                                     "(bundle:tcb_info) expired at its nextUpdate "
                                     "2025-07-19T10:56:11Z; also out of date: QE identity, Root CA "
                                     "CRL, PCK CA CRL"));
    assert_true(v.collateral_expired);
    assert_false(v.valid);
    /* Diagnostics survive: the status it would have had. */
    assert_string_equal(v.tcb_status, "ConfigurationAndSWHardeningNeeded");
    assert_string_equal(v.qe_tcb_status, "UpToDate");
    /* The default "now" (later than 2026-11-24) can only be expired (or a PCK chain failure
     * once the leaf expires in 2030). */
    ncsl_quote_verify_opts opts;
    ncsl_attest_quote_verify_opts_default(&opts);
    opts.collateral = c;
    size_t qlen = 0;
    uint8_t *q = tu_read_quote("quote-phala-1.bin", &qlen);
    ncsl_err err;
    ncsl_status st = ncsl_attest_quote_verify(q, qlen, &opts, &v, &err);
    assert_true(st == NCSL_E_ATTEST_COLLATERAL_EXPIRED || st == NCSL_E_ATTEST_CHAIN);
    free(q);
    ncsl_attest_collateral_destroy(c);

    c = load_set(&AUTOMATA);
    ncsl_attest_collateral_get_info(c, &info);
    assert_int_equal(info.valid_from, tu_utc(2025, 8, 15, 5, 41, 26));
    assert_int_equal(info.valid_until, tu_utc(2025, 9, 14, 4, 36, 46));
    assert_string_equal(info.pck_crl_issuer_cn, "Intel SGX PCK Platform CA");
    assert_int_equal(verify_named("quote-automata-1.bin", c, info.valid_until + 1, &v),
                     NCSL_E_ATTEST_COLLATERAL_EXPIRED);
    ncsl_attest_collateral_destroy(c);
}

/* Without collateral nothing changes; with a simulation-root quote collateral is ignored. */
static void test_no_collateral_unchanged(void **state) {
    (void)state;
    size_t qlen = 0;
    uint8_t *q = tu_read_quote("quote-phala-1.bin", &qlen);
    ncsl_quote_verdict v;
    ncsl_quote_verify_opts opts;
    ncsl_attest_quote_verify_opts_default(&opts);
    opts.at_time = T_PHALA;
    assert_null(opts.collateral);
    ncsl_err err;
    assert_int_equal(ncsl_attest_quote_verify(q, qlen, &opts, &v, &err), NCSL_OK);
    assert_false(v.collateral_checked);
    assert_string_equal(v.tcb_status, "");
    assert_int_equal(v.tcb_status_id, NCSL_ATTEST_TCB_NONE);
    assert_string_equal(v.advisory_ids, "");
    free(q);
}

/* ------------------------------------------------------------------------- malformed input */

typedef struct bad_case {
    const char *old;
    const char *repl;
    const char *msg; /* part of the error message */
} bad_case;

/* Expects creation to fail with NCSL_E_ATTEST_COLLATERAL naming `field`. */
static void expect_bad(const ncsl_sgx_collateral_pieces *p, const char *field, const char *msg,
                       const char *label) {
    ncsl_sgx_collateral *c = NULL;
    ncsl_err err;
    memset(&err, 0, sizeof(err));
    ncsl_status st = ncsl_attest_collateral_create(p, &c, &err);
    if (st != NCSL_E_ATTEST_COLLATERAL) {
        fail_msg("%s: status %d (%s), expected NCSL_E_ATTEST_COLLATERAL", label, st, err.message);
    }
    assert_null(c);
    assert_string_equal(err.field, field);
    if (msg && !strstr(err.message, msg)) {
        fail_msg("%s: message \"%s\" lacks \"%s\"", label, err.message, msg);
    }
}

static void test_malformed_tcb_info(void **state) {
    (void)state;
    static const bad_case cases[] = {
        {"\"fmspc\":\"00A067110000\",", "", "fmspc is missing"},
        {"\"pceId\":\"0000\",", "", "pceId is missing"},
        {"\"issueDate\":\"2025-06-19T10:56:11Z\",", "", "issueDate is missing"},
        {"\"nextUpdate\":\"2025-07-19T10:56:11Z\",", "", "nextUpdate is missing"},
        {"\"tcbType\":0,", "", "tcbType is missing"},
        {"\"version\":3,", "", "version is missing"},
        {"\"id\":\"SGX\",", "", "id is missing"},
        {"\"tcbEvaluationDataNumber\":17,", "", "tcbEvaluationDataNumber is missing"},
        {",\"pcesvn\":13},\"tcbDate\"", "},\"tcbDate\"", "tcbLevels[0].tcb.pcesvn is missing"},
        {"\"tcbStatus\":\"SWHardeningNeeded\",", "", "tcbLevels[0].tcbStatus is missing"},
        {"\"tcbDate\":\"2024-03-13T00:00:00Z\",", "", "tcbLevels[0].tcbDate is missing"},
        {"{\"tcb\":{\"sgxtcbcomponents\":", "{\"tcbx\":{\"sgxtcbcomponents\":",
         "tcbLevels[0].tcb is missing"},
        {"\"version\":3", "\"version\":\"3\"", "version is not an integer"},
        {"\"fmspc\":\"00A067110000\"", "\"fmspc\":123", "fmspc is not a string"},
        {"\"svn\":11}", "\"svn\":\"11\"}", "sgxtcbcomponents[0].svn is not an integer"},
        {"\"svn\":11}", "\"svn\":11.0}", "sgxtcbcomponents[0].svn is not an integer"},
        {"\"svn\":11}", "\"svn\":256}", "svn is 256, outside 0..255"},
        {"\"svn\":11}", "\"svn\":-1}", "svn is -1, outside 0..255"},
        {"\"svn\":11}", "\"svn\":99999999999999999999999}", "not valid JSON"},
        {"\"svn\":11}", "\"svn\":1e400}", "not valid JSON"},
        {"\"pcesvn\":13", "\"pcesvn\":65536", "pcesvn is 65536, outside 0..65535"},
        {"\"tcbEvaluationDataNumber\":17", "\"tcbEvaluationDataNumber\":4294967296",
         "outside 0..4294967295"},
        {"\"version\":3", "\"version\":9223372036854775807", "version is 9223372036854775807"},
        {"\"version\":3", "\"version\":4", "TCB info version 4 is not supported"},
        {"\"id\":\"SGX\"", "\"id\":\"TDX\"", "not for SGX"},
        {"\"tcbType\":0", "\"tcbType\":1", "tcbType 1 is not supported"},
        {"\"fmspc\":\"00A067110000\"", "\"fmspc\":\"00A06711000G\"", "fmspc is not 12 hex"},
        {"\"fmspc\":\"00A067110000\"", "\"fmspc\":\"00A0671100\"", "fmspc is not 12 hex"},
        {"\"pceId\":\"0000\"", "\"pceId\":\"\"", "pceId is not 4 hex"},
        {"2025-06-19T10:56:11Z", "2025-13-19T10:56:11Z", "issueDate is not a date"},
        {"2025-06-19T10:56:11Z", "2025-02-29T10:56:11Z", "issueDate is not a date"},
        {"2025-06-19T10:56:11Z", "2025-06-19 10:56:11", "issueDate is not a date"},
        {"2025-06-19T10:56:11Z", "2025-06-19T10:56:11+00:00", "issueDate is not a date"},
        {"\"nextUpdate\":\"2025-07-19T10:56:11Z\"", "\"nextUpdate\":\"2025-06-18T10:56:11Z\"",
         "nextUpdate is before issueDate"},
        {"\"tcbStatus\":\"SWHardeningNeeded\"", "\"tcbStatus\":\"Fine\"",
         "tcbLevels[0].tcbStatus is not a known TCB status"},
        {"\"advisoryIDs\":[\"INTEL-SA-00615\"]", "\"advisoryIDs\":\"INTEL-SA-00615\"",
         "tcbLevels[0].advisoryIDs is not an array"},
        {"\"advisoryIDs\":[\"INTEL-SA-00615\"]", "\"advisoryIDs\":[615]",
         "tcbLevels[0].advisoryIDs[0] is not an ID"},
        {"\"advisoryIDs\":[\"INTEL-SA-00615\"]", "\"advisoryIDs\":[\"INTEL SA,00615\"]",
         "advisoryIDs[0] is not an ID"},
        {"{\"svn\":11},{\"svn\":11},", "{\"svn\":11},", "sgxtcbcomponents has 15 entries"},
        {"{\"svn\":11},{\"svn\":11},", "{\"svn\":11},{\"svn\":11},{\"svn\":11},",
         "sgxtcbcomponents has 17 entries"},
        {"{\"svn\":11},", "7,", "sgxtcbcomponents[0] is not an object"},
        {"\"tcbLevels\":[{", "\"tcbLevels\":[1,{", "tcbLevels[0] is not an object"},
        {"\"tcbLevels\":[", "\"tcbLevels\":{\"x\":[", "not valid JSON"},
        {"\"version\":3,", "\"version\":3,\"version\":3,", "duplicate"},
        {"{\"id\"", "[{\"id\"", "not valid JSON"},
        {"{\"id\"", "\"\\u0000\"{\"id\"", "not valid JSON"},
    };
    set_bufs sb;
    set_read(&PHALA_SPLIT, &sb);
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        size_t mlen = 0;
        char *m = tu_replace((const char *)sb.b[0], sb.n[0], cases[i].old, cases[i].repl, &mlen);
        ncsl_sgx_collateral_pieces p = sb.p;
        p.tcb_info = (const uint8_t *)m;
        p.tcb_info_len = mlen;
        char label[64];
        snprintf(label, sizeof(label), "TCB info case %zu", i);
        expect_bad(&p, "tcb_info", cases[i].msg, label);
        free(m);
    }
    /* The whole document replaced (bare bodies keep the separate signature, PCS-style ones
     * carry their own). */
    static const struct {
        const char *text;
        bool pcs;
        const char *msg;
    } whole[] = {
        {"", false, "is missing"},
        {"   ", false, "not valid JSON"},
        {"null", false, "not valid JSON"},
        {"[]", false, "is not a JSON object"},
        {"{}", false, "version is missing"},
        {"\"x\"", false, "not valid JSON"},
        {"{\"tcbInfo\":1}", true, "\"tcbInfo\" is not an object"},
        {"{\"tcbInfo\":{},\"signature\":\"00\"}", true, "\"signature\" is not 128 hex"},
    };
    for (size_t i = 0; i < ARRAY_LEN(whole); i++) {
        ncsl_sgx_collateral_pieces p = sb.p;
        p.tcb_info = (const uint8_t *)whole[i].text;
        p.tcb_info_len = strlen(whole[i].text);
        if (whole[i].pcs) {
            p.tcb_info_signature = NULL;
            p.tcb_info_signature_len = 0;
        }
        expect_bad(&p, "tcb_info", whole[i].msg, whole[i].text);
    }
    /* 300 levels; deep nesting; many advisories. */
    tu_level lv[300];
    memset(lv, 0, sizeof(lv));
    for (size_t i = 0; i < ARRAY_LEN(lv); i++) {
        lv[i].pcesvn = 1;
        lv[i].status = "UpToDate";
    }
    char *many = tu_tcb_info_json(3, "00A067110000", "0000", "2025-06-19T10:56:11Z",
                                  "2025-07-19T10:56:11Z", lv, ARRAY_LEN(lv));
    ncsl_sgx_collateral_pieces p = sb.p;
    p.tcb_info = (const uint8_t *)many;
    p.tcb_info_len = strlen(many);
    expect_bad(&p, "tcb_info", "tcbLevels has 300 levels", "300 levels");
    free(many);
    char *ok256 = tu_tcb_info_json(3, "00A067110000", "0000", "2025-06-19T10:56:11Z",
                                   "2025-07-19T10:56:11Z", lv, 256);
    p.tcb_info = (const uint8_t *)ok256;
    p.tcb_info_len = strlen(ok256);
    ncsl_sgx_collateral *c = NULL;
    ncsl_err err;
    assert_int_equal(ncsl_attest_collateral_create(&p, &c, &err), NCSL_OK); /* parses; unsigned */
    ncsl_attest_collateral_destroy(c);
    free(ok256);
    size_t depth = 200000;
    char *deep = malloc(2 * depth + 64);
    assert_non_null(deep);
    size_t k = (size_t)sprintf(deep, "{\"id\":\"SGX\",\"x\":");
    memset(deep + k, '[', depth);
    memset(deep + k + depth, ']', depth);
    k += 2 * depth;
    deep[k++] = '}';
    p.tcb_info = (const uint8_t *)deep;
    p.tcb_info_len = k;
    expect_bad(&p, "tcb_info", "not valid JSON", "deep nesting");
    free(deep);
    tu_level adv = {.pcesvn = 1, .status = "UpToDate", .advisories = NULL};
    char *advs = malloc(200 * 20 + 16);
    assert_non_null(advs);
    size_t an = (size_t)sprintf(advs, "[");
    for (int i = 0; i < 200; i++) {
        an += (size_t)sprintf(advs + an, "%s\"INTEL-SA-%05d\"", i ? "," : "", i);
    }
    sprintf(advs + an, "]");
    adv.advisories = advs;
    char *manyadv = tu_tcb_info_json(3, "00A067110000", "0000", "2025-06-19T10:56:11Z",
                                     "2025-07-19T10:56:11Z", &adv, 1);
    p.tcb_info = (const uint8_t *)manyadv;
    p.tcb_info_len = strlen(manyadv);
    expect_bad(&p, "tcb_info", "advisoryIDs is not an array of at most 128", "200 advisories");
    free(manyadv);
    free(advs);
    /* Oversized. */
    p.tcb_info_len = NCSL_ATTEST_COLLATERAL_MAX_SIZE + 1;
    p.tcb_info = malloc(p.tcb_info_len);
    assert_non_null(p.tcb_info);
    memset((void *)p.tcb_info, ' ', p.tcb_info_len);
    expect_bad(&p, "tcb_info", "more than", "oversized");
    free((void *)p.tcb_info);
    set_free(&sb);
}

static void test_malformed_wrappers_and_pieces(void **state) {
    (void)state;
    set_bufs sb;
    set_read(&AUTOMATA, &sb);
    const char *doc = (const char *)sb.b[0];
    size_t dlen = sb.n[0];
    static const bad_case wrap[] = {
        {",\"signature\":\"", ",\"signaturex\":\"", "\"signature\" is not 128 hex digits"},
        {",\"signature\":\"", ",\"signature\":\"00", "\"signature\" is not 128 hex digits"},
        {",\"signature\":\"", ",\"signature\":1,\"x\":\"", "\"signature\" is not 128 hex"},
        {"{\"tcbInfo\":{", "{\"tcbInfo\":[{", "not valid JSON"},
        {"{\"tcbInfo\":{\"id\":\"SGX\",", "{\"tcbInfo\":{\"id\":\"SGX\",\"id\":\"SGX\",",
         "duplicate"},
        {"{\"tcbInfo\":", "{\"tcb\\u0049nfo\":", "cannot locate the signed text"},
        {"{\"tcbInfo\":", "{\"tcbInfo\":1,\"tcbInfo\":", "duplicate"},
        {"{\"tcbInfo\":", "{\"enclaveIdentity\":", "has a \"signature\" but no \"tcbInfo\""},
    };
    for (size_t i = 0; i < ARRAY_LEN(wrap); i++) {
        size_t mlen = 0;
        char *m = tu_replace(doc, dlen, wrap[i].old, wrap[i].repl, &mlen);
        ncsl_sgx_collateral_pieces p = sb.p;
        p.tcb_info = (const uint8_t *)m;
        p.tcb_info_len = mlen;
        char label[64];
        snprintf(label, sizeof(label), "wrapper case %zu", i);
        expect_bad(&p, "tcb_info", wrap[i].msg, label);
        free(m);
    }
    /* A PCS document plus a separate signature; a bare body without one. */
    ncsl_sgx_collateral_pieces p = sb.p;
    uint8_t sig[64] = {0};
    p.tcb_info_signature = sig;
    p.tcb_info_signature_len = sizeof(sig);
    expect_bad(&p, "tcb_info", "a separate signature was given as well", "two signatures");
    size_t plen = 0;
    uint8_t *phala = tu_read_collateral("phala-tcb_info.json", &plen);
    p = sb.p;
    p.tcb_info = phala;
    p.tcb_info_len = plen;
    expect_bad(&p, "tcb_info", "bare body without a signature", "bare, unsigned");
    p.tcb_info_signature = sig;
    p.tcb_info_signature_len = 63;
    expect_bad(&p, "tcb_info", "neither 64 bytes nor 128 hex digits", "short signature");
    free(phala);
    /* Pieces swapped or missing. */
    p = sb.p;
    p.tcb_info = sb.b[2]; /* the QE identity */
    p.tcb_info_len = sb.n[2];
    expect_bad(&p, "tcb_info", "has a \"signature\" but no \"tcbInfo\"", "QE identity as TCB");
    p = sb.p;
    p.qe_identity = sb.b[0];
    p.qe_identity_len = sb.n[0];
    expect_bad(&p, "qe_identity", "no \"enclaveIdentity\"", "TCB as QE identity");
    const char *fields[] = {"tcb_info", "qe_identity", "tcb_signing_chain", "root_ca_crl",
                            "pck_ca_crl"};
    for (size_t i = 0; i < ARRAY_LEN(fields); i++) {
        p = sb.p;
        switch (i) {
        case 0:
            p.tcb_info = NULL;
            break;
        case 1:
            p.qe_identity_len = 0;
            break;
        case 2:
            p.tcb_signing_chain = NULL;
            break;
        case 3:
            p.root_ca_crl = NULL;
            break;
        default:
            p.pck_ca_crl = NULL;
            break;
        }
        expect_bad(&p, fields[i], "is missing", fields[i]);
    }
    /* Bad CRLs and chains. */
    static const char *const bad_crls[] = {
        "garbage",
        "0102",
        "30820120",
        "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        "abc",
    };
    for (size_t i = 0; i < ARRAY_LEN(bad_crls); i++) {
        p = sb.p;
        p.pck_ca_crl = (const uint8_t *)bad_crls[i];
        p.pck_ca_crl_len = strlen(bad_crls[i]);
        expect_bad(&p, "pck_ca_crl", NULL, bad_crls[i]);
    }
    uint8_t *der_plus = malloc(sb.n[5] + 1);
    assert_non_null(der_plus);
    memcpy(der_plus, sb.b[5], sb.n[5]);
    der_plus[sb.n[5]] = 0;
    p = sb.p;
    p.root_ca_crl = der_plus;
    p.root_ca_crl_len = sb.n[5] + 1;
    expect_bad(&p, "root_ca_crl", "is not one DER CRL", "CRL + trailing byte");
    p.root_ca_crl_len = sb.n[5] - 1;
    expect_bad(&p, "root_ca_crl", "is not one DER CRL", "truncated CRL");
    free(der_plus);
    /* The same CRL as PEM and as hex: accepted. */
    {
        char *hex = malloc(2 * sb.n[5] + 2);
        assert_non_null(hex);
        tu_hex(sb.b[5], sb.n[5], hex);
        strcat(hex, "\n");
        p = sb.p;
        p.root_ca_crl = (const uint8_t *)hex;
        p.root_ca_crl_len = strlen(hex);
        ncsl_sgx_collateral *c = NULL;
        ncsl_err err;
        assert_int_equal(ncsl_attest_collateral_create(&p, &c, &err), NCSL_OK);
        ncsl_quote_verdict v;
        assert_int_equal(verify_named("quote-automata-1.bin", c, T_AUTOMATA, &v), NCSL_OK);
        ncsl_attest_collateral_destroy(c);
        free(hex);
        const unsigned char *d = sb.b[5];
        X509_CRL *crl = d2i_X509_CRL(NULL, &d, (long)sb.n[5]);
        assert_non_null(crl);
        BIO *bio = BIO_new(BIO_s_mem());
        assert_int_equal(PEM_write_bio_X509_CRL(bio, crl), 1);
        char *pem = NULL;
        long pl = BIO_get_mem_data(bio, &pem);
        p.root_ca_crl = (const uint8_t *)pem;
        p.root_ca_crl_len = (size_t)pl;
        assert_int_equal(ncsl_attest_collateral_create(&p, &c, &err), NCSL_OK);
        assert_int_equal(verify_named("quote-automata-1.bin", c, T_AUTOMATA, &v), NCSL_OK);
        ncsl_attest_collateral_destroy(c);
        BIO_free(bio);
        X509_CRL_free(crl);
    }
    static const char *const bad_chains[] = {
        "garbage",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        "\x30\x03\x02\x01\x01",
    };
    for (size_t i = 0; i < ARRAY_LEN(bad_chains); i++) {
        p = sb.p;
        p.tcb_signing_chain = (const uint8_t *)bad_chains[i];
        p.tcb_signing_chain_len = strlen(bad_chains[i]);
        expect_bad(&p, "tcb_signing_chain", NULL, bad_chains[i]);
    }
    /* QE identity specifics. */
    static const bad_case qe[] = {
        {"\"id\":\"QE\"", "\"id\":\"QVE\"", "id is not \"QE\""},
        {"\"id\":\"QE\"", "\"id\":\"TD_QE\"", "id is not \"QE\""},
        {"\"version\":2", "\"version\":1", "QE identity version 1 is not supported"},
        {"\"mrsigner\":\"8C4F", "\"mrsigner\":\"", "mrsigner is not 64 hex"},
        {"\"isvprodid\":1", "\"isvprodid\":70000", "isvprodid is 70000"},
        {"\"isvsvn\":8", "\"isvsvn\":\"8\"", "tcbLevels[0].tcb.isvsvn is not an integer"},
        {"\"miscselectMask\":\"FFFFFFFF\"", "\"miscselectMask\":\"FFFFFFFFFF\"",
         "miscselectMask is not 8 hex"},
        {"\"attributesMask\":\"FBFFFFFFFFFFFFFF0000000000000000\"", "\"attributesMask\":null",
         "attributesMask is not a string"},
        {"\"tcbStatus\":\"UpToDate\"", "\"tcbStatus\":\"uptodate\"", "not a known TCB status"},
    };
    for (size_t i = 0; i < ARRAY_LEN(qe); i++) {
        size_t mlen = 0;
        char *m = tu_replace((const char *)sb.b[2], sb.n[2], qe[i].old, qe[i].repl, &mlen);
        p = sb.p;
        p.qe_identity = (const uint8_t *)m;
        p.qe_identity_len = mlen;
        char label[64];
        snprintf(label, sizeof(label), "QE identity case %zu", i);
        expect_bad(&p, "qe_identity", qe[i].msg, label);
        free(m);
    }
    set_free(&sb);
}

static void test_malformed_bundle(void **state) {
    (void)state;
    size_t blen = 0;
    uint8_t *b = tu_read_collateral("phala-sgx_quote_collateral.json", &blen);
    static const bad_case cases[] = {
        {"\"tcb_info\":", "\"tcb_infox\":", "\"tcb_info\" is missing"},
        {"\"root_ca_crl\":", "\"root_ca_crlx\":", "\"root_ca_crl\" is missing"},
        {"\"tcb_info_signature\": \"9ad0", "\"tcb_info_signature\": \"9ad", "neither 64 bytes"},
        {"\"pck_crl\": \"30", "\"pck_crl\": \"3g", "is not a CRL in DER, PEM or hex"},
        {"\"tcb_info_issuer_chain\": \"", "\"tcb_info_issuer_chain\": 5, \"x\": \"",
         "\"tcb_info_issuer_chain\" is not a string"},
        {"{", "[{", "not valid JSON"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        size_t mlen = 0;
        char *m = tu_replace((const char *)b, blen, cases[i].old, cases[i].repl, &mlen);
        ncsl_sgx_collateral *c = NULL;
        ncsl_err err;
        assert_int_equal(ncsl_attest_collateral_create_bundle((const uint8_t *)m, mlen, &c, &err),
                         NCSL_E_ATTEST_COLLATERAL);
        assert_null(c);
        assert_string_equal(err.field, "bundle");
        if (!strstr(err.message, cases[i].msg)) {
            fail_msg("bundle case %zu: \"%s\" lacks \"%s\"", i, err.message, cases[i].msg);
        }
        free(m);
    }
    free(b);
}

/* Every prefix of each JSON document, and deterministic random byte changes of every piece: the
 * loaders refuse or accept, never crash (ASan checks the reads); accepted mutants never verify
 * unless the bytes that matter are unchanged. */
static void test_truncations_and_mutations(void **state) {
    (void)state;
    set_bufs sb;
    set_read(&AUTOMATA, &sb);
    size_t refused = 0;
    size_t verified_bad = 0;
    for (int piece = 0; piece < 3; piece += 2) { /* tcb_info, qe_identity */
        size_t n = sb.n[piece];
        for (size_t len = 0; len < n; len += (len < 300 ? 1 : 7)) {
            uint8_t *m = malloc(len ? len : 1);
            assert_non_null(m);
            memcpy(m, sb.b[piece], len);
            ncsl_sgx_collateral_pieces p = sb.p;
            if (piece == 0) {
                p.tcb_info = m;
                p.tcb_info_len = len;
            } else {
                p.qe_identity = m;
                p.qe_identity_len = len;
            }
            ncsl_sgx_collateral *c = NULL;
            ncsl_err err;
            assert_int_equal(ncsl_attest_collateral_create(&p, &c, &err), NCSL_E_ATTEST_COLLATERAL);
            refused++;
            free(m);
        }
    }
    uint32_t rng = 12345;
    size_t accepted = 0;
    size_t unchanged = 0;
    ncsl_sgx_collateral *orig = load_set(&AUTOMATA);
    for (int round = 0; round < 1500; round++) {
        int piece = round % 7;
        if (piece == 1 || piece == 3) {
            piece = 4; /* no separate signatures in this set */
        }
        size_t n = sb.n[piece];
        uint8_t *m = malloc(n);
        assert_non_null(m);
        memcpy(m, sb.b[piece], n);
        int changes = 1 + round % 3;
        for (int k = 0; k < changes; k++) {
            rng = rng * 1103515245u + 12345u;
            size_t pos = (rng >> 8) % n;
            rng = rng * 1103515245u + 12345u;
            m[pos] = (uint8_t)(rng >> 16);
        }
        ncsl_sgx_collateral_pieces p = sb.p;
        const uint8_t **slot[] = {&p.tcb_info,          NULL,           &p.qe_identity, NULL,
                                  &p.tcb_signing_chain, &p.root_ca_crl, &p.pck_ca_crl};
        *slot[piece] = m;
        ncsl_sgx_collateral *c = NULL;
        ncsl_err err;
        ncsl_status st = ncsl_attest_collateral_create(&p, &c, &err);
        if (st != NCSL_OK) {
            assert_int_equal(st, NCSL_E_ATTEST_COLLATERAL);
            refused++;
        } else {
            accepted++;
            ncsl_quote_verdict v;
            st = verify_named("quote-automata-1.bin", c, T_AUTOMATA, &v);
            if (st == NCSL_OK) {
                /* Only possible when what the loader kept is what it had before: the same
                 * signed bytes and signature (a hex digit's case changed) or the same bytes. */
                bool same = memcmp(m, sb.b[piece], n) == 0;
                if (piece == 0) {
                    same = c->tcb_info_body_len == orig->tcb_info_body_len &&
                           memcmp(c->tcb_info_body, orig->tcb_info_body, orig->tcb_info_body_len) ==
                               0 &&
                           memcmp(c->tcb_info_sig, orig->tcb_info_sig, 64) == 0;
                } else if (piece == 2) {
                    same = c->qe_identity_body_len == orig->qe_identity_body_len &&
                           memcmp(c->qe_identity_body, orig->qe_identity_body,
                                  orig->qe_identity_body_len) == 0 &&
                           memcmp(c->qe_identity_sig, orig->qe_identity_sig, 64) == 0;
                }
                if (!same) {
                    fail_msg("mutation round %d of piece %d still verifies", round, piece);
                }
                unchanged++;
            } else {
                verified_bad++;
            }
            ncsl_attest_collateral_destroy(c);
        }
        free(m);
    }
    print_message("  truncations and mutations: %zu refused by the loader, %zu loaded and then "
                  "rejected, %zu loaded, of which %zu unchanged in substance and valid\n",
                  refused, verified_bad, accepted, unchanged);
    ncsl_attest_collateral_destroy(orig);
    assert_true(refused > 2000);
    set_free(&sb);
}

/* ------------------------------------------------------------------------- directories */

typedef struct tmpdir {
    char path[512];
} tmpdir;

static void tmp_create(tmpdir *t) {
    memset(t, 0, sizeof(*t));
    snprintf(t->path, sizeof(t->path), "%s/collateral-XXXXXX", NCSL_TEST_TMPDIR);
    assert_non_null(mkdtemp(t->path));
}

static void tmp_link(tmpdir *t, const char *name, const char *source) {
    char from[600];
    char to[600];
    snprintf(from, sizeof(from), "%s/collateral/%s", NCSL_SGX_TESTDATA, source);
    snprintf(to, sizeof(to), "%s/%s", t->path, name);
    assert_int_equal(symlink(from, to), 0);
}

static void tmp_unlink(tmpdir *t, const char *name) {
    char p[600];
    snprintf(p, sizeof(p), "%s/%s", t->path, name);
    assert_int_equal(unlink(p), 0);
}

static void tmp_destroy(tmpdir *t) {
    DIR *d = opendir(t->path);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        char p[800];
        snprintf(p, sizeof(p), "%s/%s", t->path, e->d_name);
        struct stat sb;
        assert_int_equal(lstat(p, &sb), 0);
        assert_int_equal(S_ISDIR(sb.st_mode) ? rmdir(p) : unlink(p), 0);
    }
    closedir(d);
    assert_int_equal(rmdir(t->path), 0);
}

static void test_load_dir(void **state) {
    (void)state;
    ncsl_sgx_collateral *c = NULL;
    ncsl_err err;
    ncsl_quote_verdict v;

    /* PCS JSON files. */
    tmpdir t;
    tmp_create(&t);
    tmp_link(&t, "tcb_info.json", "automata-tcb_info_00606A000000.json");
    tmp_link(&t, "qe_identity.json", "automata-qe_identity_sgx.json");
    tmp_link(&t, "tcb_signing_cert.der", "automata-tcb_signing_cert.der");
    tmp_link(&t, "root_ca_crl.der", "automata-root_ca_crl.der");
    tmp_link(&t, "pck_ca_crl.der", "automata-pck_platform_ca_crl.der");
    assert_int_equal(ncsl_attest_collateral_load_dir(t.path, &c, &err), NCSL_OK);
    assert_int_equal(verify_named("quote-automata-4.bin", c, T_AUTOMATA, &v), NCSL_OK);
    assert_string_equal(v.tcb_status, "OutOfDate");
    ncsl_attest_collateral_destroy(c);
    /* Each required file missing in turn: the error names it. */
    const char *required[] = {"tcb_info.json", "qe_identity.json", "tcb_signing_cert.der",
                              "root_ca_crl.der", "pck_ca_crl.der"};
    const char *sources[] = {"automata-tcb_info_00606A000000.json", "automata-qe_identity_sgx.json",
                             "automata-tcb_signing_cert.der", "automata-root_ca_crl.der",
                             "automata-pck_platform_ca_crl.der"};
    const char *named[] = {"tcb_info.json", "qe_identity.json", "tcb_signing_chain.pem",
                           "root_ca_crl.der", "pck_ca_crl.der"};
    for (size_t i = 0; i < ARRAY_LEN(required); i++) {
        tmp_unlink(&t, required[i]);
        memset(&err, 0, sizeof(err));
        assert_int_equal(ncsl_attest_collateral_load_dir(t.path, &c, &err),
                         NCSL_E_ATTEST_COLLATERAL);
        assert_null(c);
        print_message("  without %-22s %s\n", required[i], err.message);
        assert_string_equal(err.field, named[i]);
        assert_non_null(strstr(err.message, "is missing"));
        char from[600];
        char to[600];
        snprintf(from, sizeof(from), "%s/collateral/%s", NCSL_SGX_TESTDATA, sources[i]);
        snprintf(to, sizeof(to), "%s/%s", t.path, required[i]);
        assert_int_equal(symlink(from, to), 0);
    }
    /* The PEM alternatives: tcb_signing_chain.pem wins over the DER certificate. */
    tmp_link(&t, "tcb_signing_chain.pem", "phala-tcb_info_issuer_chain.pem");
    assert_int_equal(ncsl_attest_collateral_load_dir(t.path, &c, &err), NCSL_OK);
    assert_string_equal(c->tcb_chain_name, "tcb_signing_chain.pem");
    ncsl_attest_collateral_destroy(c);
    /* A directory where a file should be. */
    tmp_unlink(&t, "pck_ca_crl.der");
    char sub[600];
    snprintf(sub, sizeof(sub), "%s/pck_ca_crl.der", t.path);
    assert_int_equal(mkdir(sub, 0700), 0);
    assert_int_equal(ncsl_attest_collateral_load_dir(t.path, &c, &err), NCSL_E_IO);
    assert_string_equal(err.field, "pck_ca_crl.der");
    tmp_destroy(&t);

    /* Phala's split files with .sig files. */
    tmp_create(&t);
    tmp_link(&t, "tcb_info.json", "phala-tcb_info.json");
    tmp_link(&t, "tcb_info.sig", "phala-tcb_info.sig");
    tmp_link(&t, "qe_identity.json", "phala-qe_identity.json");
    tmp_link(&t, "qe_identity.sig", "phala-qe_identity.sig");
    tmp_link(&t, "tcb_signing_chain.pem", "phala-tcb_info_issuer_chain.pem");
    tmp_link(&t, "root_ca_crl.der", "phala-root_ca_crl.der");
    tmp_link(&t, "pck_ca_crl.der", "phala-pck_processor_ca_crl.der");
    assert_int_equal(ncsl_attest_collateral_load_dir(t.path, &c, &err), NCSL_OK);
    assert_int_equal(verify_named("quote-phala-1.bin", c, T_PHALA, &v), NCSL_OK);
    assert_string_equal(v.tcb_status, "ConfigurationAndSWHardeningNeeded");
    ncsl_attest_collateral_destroy(c);
    /* Without its .sig the bare TCB info is refused, naming the file. */
    tmp_unlink(&t, "tcb_info.sig");
    assert_int_equal(ncsl_attest_collateral_load_dir(t.path, &c, &err), NCSL_E_ATTEST_COLLATERAL);
    assert_string_equal(err.field, "tcb_info.json");
    assert_non_null(strstr(err.message, "without a signature"));
    /* The bundle, when present, is the only file read. */
    tmp_link(&t, "sgx_quote_collateral.json", "phala-sgx_quote_collateral.json");
    assert_int_equal(ncsl_attest_collateral_load_dir(t.path, &c, &err), NCSL_OK);
    assert_string_equal(c->tcb_info_name, "sgx_quote_collateral.json:tcb_info");
    assert_int_equal(verify_named("quote-automata-3.bin", c, T_PHALA, &v), NCSL_OK);
    assert_string_equal(v.tcb_status, "ConfigurationAndSWHardeningNeeded");
    ncsl_attest_collateral_destroy(c);
    tmp_destroy(&t);

    /* Not a directory; bad arguments. */
    assert_int_equal(ncsl_attest_collateral_load_dir(NCSL_SGX_TESTDATA "/expected.json", &c, &err),
                     NCSL_E_IO);
    assert_int_equal(ncsl_attest_collateral_load_dir(NCSL_TEST_TMPDIR "/does-not-exist", &c, &err),
                     NCSL_E_IO);
    assert_int_equal(ncsl_attest_collateral_load_dir(NULL, &c, &err), NCSL_E_INVALID_ARG);
    assert_int_equal(ncsl_attest_collateral_load_dir(t.path, NULL, &err), NCSL_E_INVALID_ARG);
    assert_int_equal(ncsl_attest_collateral_create(NULL, &c, &err), NCSL_E_INVALID_ARG);
    assert_int_equal(ncsl_attest_collateral_create_bundle(NULL, 0, NULL, &err), NCSL_E_INVALID_ARG);
    ncsl_attest_collateral_destroy(NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_collateral_matrix),
        cmocka_unit_test(test_pck_extension),
        cmocka_unit_test(test_tcb_info_00a067110000),
        cmocka_unit_test(test_qe_identity_all_quotes),
        cmocka_unit_test(test_tampered_tcb_info),
        cmocka_unit_test(test_tampered_qe_identity),
        cmocka_unit_test(test_tampered_and_foreign_crls),
        cmocka_unit_test(test_expired_collateral),
        cmocka_unit_test(test_no_collateral_unchanged),
        cmocka_unit_test(test_malformed_tcb_info),
        cmocka_unit_test(test_malformed_wrappers_and_pieces),
        cmocka_unit_test(test_malformed_bundle),
        cmocka_unit_test(test_truncations_and_mutations),
        cmocka_unit_test(test_load_dir),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
