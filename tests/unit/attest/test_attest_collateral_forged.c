/*
 * SGX collateral (step 6) under a freshly generated "Intel SGX Root CA": what the real test data
 * cannot show. A forged quote (phala-1's bytes, a new chain whose PCK leaf carries phala-1's real
 * SGX extension, every signature redone) and collateral signed by a forged "Intel SGX TCB
 * Signing" certificate, all pinned through opts.root_pem. Covers every TCB status (Revoked is
 * rejected), the order of tcbLevels and each component's comparison, TCB info version 2, revoked
 * PCK leaf / intermediate / TCB Signing certificates, signers that are not the TCB Signing
 * certificate of the pinned root, CRLs signed by the wrong key, each QE identity check, the PCE
 * ID, advisory merging and truncation, and a simulation quote given collateral.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
#include "attest/attest_int.h"
#include "attest_test_util.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* The forged world. */
typedef struct forge {
    int64_t t; /* the "as of" time */
    EVP_PKEY *root_key, *inter_key, *leaf_key, *signer_key, *att_key;
    X509 *root, *inter, *leaf, *signer;
    char *root_pem; /* NUL-terminated */
    uint8_t *quote;
    size_t quote_len;
    uint8_t comp[16]; /* the PCK leaf's SVNs (phala-1's) */
    int pcesvn;
    char qe_mrsigner[65];
} forge;

static forge g_f;
static const char *const ISSUE = "2025-06-20T00:00:00Z";
static const char *const NEXT = "2025-07-20T00:00:00Z";

/* ------------------------------------------------------------------------- PKI helpers */

static X509_NAME *intel_name(const char *cn) {
    X509_NAME *n = X509_NAME_new();
    assert_non_null(n);
    assert_int_equal(
        X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0), 1);
    assert_int_equal(X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC,
                                                (const unsigned char *)"Intel Corporation", -1, -1,
                                                0),
                     1);
    assert_int_equal(
        X509_NAME_add_entry_by_txt(n, "C", MBSTRING_ASC, (const unsigned char *)"US", -1, -1, 0),
        1);
    return n;
}

/* A certificate for `key` named `subject`, signed by `issuer_key` as `issuer`, valid
 * [nb, na]; `ext` (may be NULL) is added as is. */
static X509 *make_cert(const X509_NAME *subject, EVP_PKEY *key, const X509_NAME *issuer,
                       EVP_PKEY *issuer_key, bool ca, long serial, X509_EXTENSION *ext, int64_t nb,
                       int64_t na) {
    X509 *c = X509_new();
    assert_non_null(c);
    assert_int_equal(X509_set_version(c, 2), 1);
    assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(c), serial), 1);
    assert_int_equal(X509_set_subject_name(c, subject), 1);
    assert_int_equal(X509_set_issuer_name(c, issuer), 1);
    assert_non_null(ASN1_TIME_set(X509_getm_notBefore(c), (time_t)nb));
    assert_non_null(ASN1_TIME_set(X509_getm_notAfter(c), (time_t)na));
    assert_int_equal(X509_set_pubkey(c, key), 1);
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, c, c, NULL, NULL, 0);
    X509_EXTENSION *bc = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints,
                                             ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    assert_non_null(bc);
    assert_int_equal(X509_add_ext(c, bc, -1), 1);
    X509_EXTENSION_free(bc);
    if (ext) {
        assert_int_equal(X509_add_ext(c, ext, -1), 1);
    }
    assert_true(X509_sign(c, issuer_key, EVP_sha256()) > 0);
    return c;
}

static void raw_pub(EVP_PKEY *k, uint8_t xy[64]) {
    uint8_t pt[65];
    size_t n = 0;
    assert_int_equal(
        EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &n), 1);
    assert_int_equal(n, 65);
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

static char *pem_of(X509 *const *certs, size_t n) {
    BIO *b = BIO_new(BIO_s_mem());
    assert_non_null(b);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(PEM_write_bio_X509(b, certs[i]), 1);
    }
    char *p = NULL;
    long len = BIO_get_mem_data(b, &p);
    char *out = calloc(1, (size_t)len + 1);
    assert_non_null(out);
    memcpy(out, p, (size_t)len);
    BIO_free(b);
    return out;
}

/* A CRL named `issuer`, signed by `key`, listing `serials`; no nextUpdate when next == 0. */
static uint8_t *make_crl(const X509_NAME *issuer, EVP_PKEY *key, const long *serials, size_t n,
                         int64_t last, int64_t next, size_t *len) {
    X509_CRL *crl = X509_CRL_new();
    assert_non_null(crl);
    assert_int_equal(X509_CRL_set_version(crl, 1), 1);
    assert_int_equal(X509_CRL_set_issuer_name(crl, issuer), 1);
    ASN1_TIME *t = ASN1_TIME_set(NULL, (time_t)last);
    assert_int_equal(X509_CRL_set1_lastUpdate(crl, t), 1);
    ASN1_TIME_free(t);
    if (next) {
        t = ASN1_TIME_set(NULL, (time_t)next);
        assert_int_equal(X509_CRL_set1_nextUpdate(crl, t), 1);
        ASN1_TIME_free(t);
    }
    for (size_t i = 0; i < n; i++) {
        X509_REVOKED *r = X509_REVOKED_new();
        ASN1_INTEGER *s = ASN1_INTEGER_new();
        assert_non_null(r);
        assert_non_null(s);
        ASN1_INTEGER_set(s, serials[i]);
        assert_int_equal(X509_REVOKED_set_serialNumber(r, s), 1);
        ASN1_TIME *rt = ASN1_TIME_set(NULL, (time_t)last);
        assert_int_equal(X509_REVOKED_set_revocationDate(r, rt), 1);
        ASN1_TIME_free(rt);
        ASN1_INTEGER_free(s);
        assert_int_equal(X509_CRL_add0_revoked(crl, r), 1);
    }
    assert_int_equal(X509_CRL_sort(crl), 1);
    assert_true(X509_CRL_sign(crl, key, EVP_sha256()) > 0);
    unsigned char *der = NULL;
    int dl = i2d_X509_CRL(crl, &der);
    assert_true(dl > 0);
    uint8_t *out = malloc((size_t)dl);
    assert_non_null(out);
    memcpy(out, der, (size_t)dl);
    *len = (size_t)dl;
    OPENSSL_free(der);
    X509_CRL_free(crl);
    return out;
}

/* phala-1's quote with `pem` as its chain, re-signed throughout (QE report by `leaf_key`). */
static uint8_t *forge_quote(const uint8_t *base, size_t base_len, const char *pem,
                            EVP_PKEY *leaf_key, EVP_PKEY *att_key, size_t *len) {
    ncsl_sgx_quote q;
    assert_int_equal(ncsl_attest_quote_parse(base, base_len, &q, NULL), NCSL_OK);
    size_t pem_len = strlen(pem);
    size_t head = 1014 + q.qe_auth_data_len + 2;
    *len = head + 4 + pem_len;
    uint8_t *m = malloc(*len);
    assert_non_null(m);
    memcpy(m, base, head);
    uint32_t cs = (uint32_t)pem_len;
    uint32_t sl = (uint32_t)(*len - 436);
    memcpy(m + head, &cs, 4);
    memcpy(m + 432, &sl, 4);
    memcpy(m + head + 4, pem, pem_len);
    uint8_t xy[64];
    raw_pub(att_key, xy);
    memcpy(m + 500, xy, 64);
    uint8_t bind[64 + 64];
    assert_true(q.qe_auth_data_len <= 64);
    memcpy(bind, xy, 64);
    memcpy(bind + 64, m + 1014, q.qe_auth_data_len);
    unsigned int mdl = 0;
    assert_int_equal(
        EVP_Digest(bind, 64 + q.qe_auth_data_len, m + 564 + 320, &mdl, EVP_sha256(), NULL), 1);
    memset(m + 564 + 352, 0, 32);
    raw_sign(leaf_key, m + 564, 384, m + 948);
    raw_sign(att_key, m, 432, m + 436);
    return m;
}

/* ------------------------------------------------------------------------- collateral */

/* What to build the collateral from; NULL/0 fields take the defaults. */
typedef struct coll_spec {
    const char *tcb_body;
    const char *qe_body;
    X509 *tcb_signer;  /* certificate listed as the signer */
    EVP_PKEY *tcb_key; /* key that signs the TCB info and QE identity */
    const long *root_revoked;
    size_t n_root_revoked;
    const long *pck_revoked;
    size_t n_pck_revoked;
    EVP_PKEY *root_crl_key; /* default: the root's */
    EVP_PKEY *pck_crl_key;  /* default: the intermediate's */
    bool bare;              /* bare bodies + separate signatures instead of PCS JSON */
} coll_spec;

static char *default_tcb(const char *status, const char *advisories) {
    tu_level l;
    memset(&l, 0, sizeof(l));
    memcpy(l.comp, g_f.comp, 16);
    l.pcesvn = g_f.pcesvn;
    l.status = status;
    l.advisories = advisories;
    return tu_tcb_info_json(3, "00A067110000", "0000", ISSUE, NEXT, &l, 1);
}

static char *default_qe(void) {
    static const tu_qe_level lv[] = {{8, "UpToDate", NULL},
                                     {6, "OutOfDate", "[\"INTEL-SA-00615\"]"}};
    return tu_qe_identity_json("QE", ISSUE, NEXT, "00000000", "FFFFFFFF",
                               "11000000000000000000000000000000",
                               "FBFFFFFFFFFFFFFF0000000000000000", g_f.qe_mrsigner, 1, lv, 2);
}

static char *wrap(const char *key, const char *body, EVP_PKEY *k) {
    uint8_t rs[64];
    raw_sign(k, (const uint8_t *)body, strlen(body), rs);
    char hex[129];
    tu_hex(rs, 64, hex);
    size_t n = strlen(body) + strlen(key) + 200;
    char *out = malloc(n);
    assert_non_null(out);
    snprintf(out, n, "{\"%s\":%s,\"signature\":\"%s\"}", key, body, hex);
    return out;
}

static ncsl_sgx_collateral *build(const coll_spec *s, ncsl_status want, const char *msg) {
    char *tcb_own = s->tcb_body ? NULL : default_tcb("UpToDate", NULL);
    char *qe_own = s->qe_body ? NULL : default_qe();
    const char *tcb = s->tcb_body ? s->tcb_body : tcb_own;
    const char *qe = s->qe_body ? s->qe_body : qe_own;
    EVP_PKEY *k = s->tcb_key ? s->tcb_key : g_f.signer_key;
    X509 *signer = s->tcb_signer ? s->tcb_signer : g_f.signer;
    char *chain = pem_of(&signer, 1);
    size_t rl = 0;
    size_t pl = 0;
    uint8_t *root_crl =
        make_crl(X509_get_subject_name(g_f.root), s->root_crl_key ? s->root_crl_key : g_f.root_key,
                 s->root_revoked, s->n_root_revoked, g_f.t - 86400, g_f.t + 29 * 86400, &rl);
    uint8_t *pck_crl =
        make_crl(X509_get_subject_name(g_f.inter), s->pck_crl_key ? s->pck_crl_key : g_f.inter_key,
                 s->pck_revoked, s->n_pck_revoked, g_f.t - 86400, g_f.t + 29 * 86400, &pl);
    ncsl_sgx_collateral_pieces p;
    memset(&p, 0, sizeof(p));
    char *tcb_doc = NULL;
    char *qe_doc = NULL;
    uint8_t tsig[64];
    uint8_t qsig[64];
    if (s->bare) {
        raw_sign(k, (const uint8_t *)tcb, strlen(tcb), tsig);
        raw_sign(k, (const uint8_t *)qe, strlen(qe), qsig);
        p.tcb_info = (const uint8_t *)tcb;
        p.tcb_info_len = strlen(tcb);
        p.tcb_info_signature = tsig;
        p.tcb_info_signature_len = 64;
        p.qe_identity = (const uint8_t *)qe;
        p.qe_identity_len = strlen(qe);
        p.qe_identity_signature = qsig;
        p.qe_identity_signature_len = 64;
    } else {
        tcb_doc = wrap("tcbInfo", tcb, k);
        qe_doc = wrap("enclaveIdentity", qe, k);
        p.tcb_info = (const uint8_t *)tcb_doc;
        p.tcb_info_len = strlen(tcb_doc);
        p.qe_identity = (const uint8_t *)qe_doc;
        p.qe_identity_len = strlen(qe_doc);
    }
    p.tcb_signing_chain = (const uint8_t *)chain;
    p.tcb_signing_chain_len = strlen(chain);
    p.root_ca_crl = root_crl;
    p.root_ca_crl_len = rl;
    p.pck_ca_crl = pck_crl;
    p.pck_ca_crl_len = pl;
    ncsl_sgx_collateral *c = NULL;
    ncsl_err err;
    memset(&err, 0, sizeof(err));
    ncsl_status st = ncsl_attest_collateral_create(&p, &c, &err);
    if (st != want) {
        fail_msg("collateral: status %d (%s), expected %d", st, err.message, want);
    }
    if (msg && !strstr(err.message, msg)) {
        fail_msg("collateral: \"%s\" lacks \"%s\"", err.message, msg);
    }
    free(tcb_doc);
    free(qe_doc);
    free(pck_crl);
    free(root_crl);
    free(chain);
    free(qe_own);
    free(tcb_own);
    return c;
}

/* Verifies the forged quote (or `quote`) with `c` under the forged root. */
static ncsl_status verify(const ncsl_sgx_collateral *c, const uint8_t *quote, size_t qlen,
                          ncsl_quote_verdict *v) {
    ncsl_quote_verify_opts o;
    ncsl_attest_quote_verify_opts_default(&o);
    o.at_time = g_f.t;
    o.root_pem = g_f.root_pem;
    o.root_pem_len = strlen(g_f.root_pem);
    o.collateral = c;
    ncsl_err err;
    ncsl_status st = ncsl_attest_quote_verify(quote ? quote : g_f.quote,
                                              quote ? qlen : g_f.quote_len, &o, v, &err);
    if (st == NCSL_OK) {
        assert_true(v->valid);
        assert_true(v->collateral_checked);
    } else {
        assert_false(v->valid);
        assert_false(v->collateral_checked);
        assert_string_equal(err.message, v->reason);
    }
    return st;
}

/* Builds from `s`, verifies, expects `want` (and `msg` in the reason); returns the verdict. */
static void expect(const coll_spec *s, ncsl_status want, const char *msg, ncsl_quote_verdict *v) {
    ncsl_sgx_collateral *c = build(s, NCSL_OK, NULL);
    ncsl_status st = verify(c, NULL, 0, v);
    if (st != want) {
        fail_msg("status %d (%s), expected %d", st, v->reason, want);
    }
    if (msg && !strstr(v->reason, msg)) {
        fail_msg("reason \"%s\" lacks \"%s\"", v->reason, msg);
    }
    if (st != NCSL_OK) {
        assert_int_equal(v->failed_step,
                         st == NCSL_E_NOMEM ? NCSL_ATTEST_STEP_SETUP : NCSL_ATTEST_STEP_COLLATERAL);
    }
    ncsl_attest_collateral_destroy(c);
}

/* ------------------------------------------------------------------------- setup */

static int group_setup(void **state) {
    (void)state;
    forge *f = &g_f;
    f->t = tu_utc(2025, 7, 1, 0, 0, 0);
    int64_t nb = f->t - 86400L * 365 * 5;
    int64_t na = f->t + 86400L * 365 * 5;
    size_t base_len = 0;
    uint8_t *base = tu_read_quote("quote-phala-1.bin", &base_len);
    ncsl_sgx_quote q;
    assert_int_equal(ncsl_attest_quote_parse(base, base_len, &q, NULL), NCSL_OK);
    tu_hex(q.qe_report.mr_signer, 32, f->qe_mrsigner);
    STACK_OF(X509) *real = NULL;
    char why[160];
    assert_true(
        ncsl__attest_pem_chain_parse(q.pem_chain, q.pem_chain_len, &real, why, sizeof(why)));
    X509 *rleaf = sk_X509_value(real, 0);
    ncsl__pck_ext pck;
    assert_true(ncsl__attest_pck_ext_parse(rleaf, &pck, why, sizeof(why)));
    memcpy(f->comp, pck.comp_svn, 16);
    f->pcesvn = pck.pce_svn;
    ASN1_OBJECT *oid = OBJ_txt2obj("1.2.840.113741.1.13.1", 1);
    X509_EXTENSION *sgx = X509_get_ext(rleaf, X509_get_ext_by_OBJ(rleaf, oid, -1));
    assert_non_null(sgx);

    f->root_key = EVP_EC_gen("P-256");
    f->inter_key = EVP_EC_gen("P-256");
    f->leaf_key = EVP_EC_gen("P-256");
    f->signer_key = EVP_EC_gen("P-256");
    f->att_key = EVP_EC_gen("P-256");
    assert_true(f->root_key && f->inter_key && f->leaf_key && f->signer_key && f->att_key);
    X509_NAME *rn = intel_name("Intel SGX Root CA");
    X509_NAME *in = intel_name("Intel SGX PCK Processor CA");
    X509_NAME *ln = intel_name("Intel SGX PCK Certificate");
    X509_NAME *sn = intel_name("Intel SGX TCB Signing");
    f->root = make_cert(rn, f->root_key, rn, f->root_key, true, 1, NULL, nb, na);
    f->inter = make_cert(in, f->inter_key, rn, f->root_key, true, 2, NULL, nb, na);
    f->leaf = make_cert(ln, f->leaf_key, in, f->inter_key, false, 0x1234, sgx, nb, na);
    f->signer = make_cert(sn, f->signer_key, rn, f->root_key, false, 77, NULL, nb, na);
    f->root_pem = pem_of(&f->root, 1);
    X509 *chain[] = {f->leaf, f->inter, f->root};
    char *pem = pem_of(chain, 3);
    f->quote = forge_quote(base, base_len, pem, f->leaf_key, f->att_key, &f->quote_len);
    free(pem);
    X509_NAME_free(sn);
    X509_NAME_free(ln);
    X509_NAME_free(in);
    X509_NAME_free(rn);
    ASN1_OBJECT_free(oid);
    sk_X509_pop_free(real, X509_free);
    free(base);
    return 0;
}

static int group_teardown(void **state) {
    (void)state;
    forge *f = &g_f;
    free(f->quote);
    free(f->root_pem);
    X509_free(f->signer);
    X509_free(f->leaf);
    X509_free(f->inter);
    X509_free(f->root);
    EVP_PKEY_free(f->att_key);
    EVP_PKEY_free(f->signer_key);
    EVP_PKEY_free(f->leaf_key);
    EVP_PKEY_free(f->inter_key);
    EVP_PKEY_free(f->root_key);
    return 0;
}

/* ------------------------------------------------------------------------- tests */

static void test_baseline(void **state) {
    (void)state;
    coll_spec s = {0};
    ncsl_quote_verdict v;
    expect(&s, NCSL_OK, NULL, &v);
    assert_int_equal(v.tee_kind, NCSL_ATTEST_TEE_SGX_HARDWARE);
    assert_string_equal(v.tcb_status, "UpToDate");
    assert_string_equal(v.qe_tcb_status, "UpToDate");
    assert_string_equal(v.advisory_ids, "");
    assert_int_equal(v.collateral_expires_at, tu_utc(2025, 7, 20, 0, 0, 0));
    s.bare = true;
    expect(&s, NCSL_OK, NULL, &v);
    /* The same collateral against the real Intel root: the forged chain fails first. */
    ncsl_sgx_collateral *c = build(&s, NCSL_OK, NULL);
    ncsl_quote_verify_opts o;
    ncsl_attest_quote_verify_opts_default(&o);
    o.at_time = g_f.t;
    o.collateral = c;
    ncsl_err err;
    assert_int_equal(ncsl_attest_quote_verify(g_f.quote, g_f.quote_len, &o, &v, &err),
                     NCSL_E_ATTEST_CHAIN);
    assert_int_equal(v.failed_step, NCSL_ATTEST_STEP_PCK_CHAIN);
    ncsl_attest_collateral_destroy(c);
    /* And Intel's genuine collateral (same FMSPC) is no use under the forged root. */
    size_t n = 0;
    uint8_t *b = tu_read_collateral("phala-sgx_quote_collateral.json", &n);
    assert_int_equal(ncsl_attest_collateral_create_bundle(b, n, &c, &err), NCSL_OK);
    assert_int_equal(verify(c, NULL, 0, &v), NCSL_E_ATTEST_COLLATERAL);
    assert_non_null(strstr(v.reason, "TCB info (bundle:tcb_info): the TCB Signing certificate "
                                     "does not verify to the pinned root"));
    ncsl_attest_collateral_destroy(c);
    free(b);
}

static void test_every_status(void **state) {
    (void)state;
    static const struct {
        const char *s;
        ncsl_attest_tcb_status id;
    } statuses[] = {
        {"UpToDate", NCSL_ATTEST_TCB_UP_TO_DATE},
        {"SWHardeningNeeded", NCSL_ATTEST_TCB_SW_HARDENING_NEEDED},
        {"ConfigurationNeeded", NCSL_ATTEST_TCB_CONFIGURATION_NEEDED},
        {"ConfigurationAndSWHardeningNeeded",
         NCSL_ATTEST_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED},
        {"OutOfDate", NCSL_ATTEST_TCB_OUT_OF_DATE},
        {"OutOfDateConfigurationNeeded", NCSL_ATTEST_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED},
        {"Revoked", NCSL_ATTEST_TCB_REVOKED},
    };
    for (size_t i = 0; i < ARRAY_LEN(statuses); i++) {
        char *tcb = default_tcb(statuses[i].s, "[\"INTEL-SA-00001\"]");
        coll_spec s = {.tcb_body = tcb};
        ncsl_quote_verdict v;
        bool revoked = statuses[i].id == NCSL_ATTEST_TCB_REVOKED;
        expect(&s, revoked ? NCSL_E_ATTEST_REVOKED : NCSL_OK,
               revoked ? "the platform's TCB level (tcbLevels[0], tcbDate 2024-03-13T00:00:00Z) "
                         "is Revoked"
                       : NULL,
               &v);
        assert_string_equal(v.tcb_status, statuses[i].s);
        assert_int_equal(v.tcb_status_id, statuses[i].id);
        assert_string_equal(ncsl_attest_tcb_status_str(statuses[i].id), statuses[i].s);
        assert_string_equal(v.advisory_ids, "INTEL-SA-00001");
        free(tcb);
    }
    assert_string_equal(ncsl_attest_tcb_status_str(NCSL_ATTEST_TCB_NONE), "");
    assert_string_equal(ncsl_attest_tcb_status_str((ncsl_attest_tcb_status)99), "");
}

/* The first satisfied level wins; every component and the PCESVN are compared. */
static void test_level_order_and_components(void **state) {
    (void)state;
    tu_level lv[4];
    memset(lv, 0, sizeof(lv));
    for (size_t i = 0; i < 4; i++) {
        memcpy(lv[i].comp, g_f.comp, 16);
        lv[i].pcesvn = g_f.pcesvn;
    }
    lv[0].comp[6] = (uint8_t)(g_f.comp[6] + 1); /* one component above the platform's */
    lv[0].status = "UpToDate";
    lv[1].pcesvn = g_f.pcesvn + 1; /* PCESVN above */
    lv[1].status = "SWHardeningNeeded";
    lv[2].status = "ConfigurationNeeded";
    memset(lv[3].comp, 0, 16);
    lv[3].pcesvn = 0;
    lv[3].status = "OutOfDate";
    char *tcb = tu_tcb_info_json(3, "00A067110000", "0000", ISSUE, NEXT, lv, 4);
    coll_spec s = {.tcb_body = tcb};
    ncsl_quote_verdict v;
    expect(&s, NCSL_OK, NULL, &v);
    assert_string_equal(v.tcb_status, "ConfigurationNeeded");
    free(tcb);
    /* Nothing satisfied: not supported. */
    tcb = tu_tcb_info_json(3, "00A067110000", "0000", ISSUE, NEXT, lv, 2);
    s.tcb_body = tcb;
    expect(&s, NCSL_E_ATTEST_TCB, "reaches no level of the TCB info", &v);
    assert_string_equal(v.tcb_status, "");
    free(tcb);
    /* Each component on its own: one above the platform's skips the level. */
    for (size_t k = 0; k < 16; k++) {
        if (g_f.comp[k] == 255) {
            continue;
        }
        tu_level two[2];
        memset(two, 0, sizeof(two));
        memcpy(two[0].comp, g_f.comp, 16);
        two[0].comp[k]++;
        two[0].pcesvn = g_f.pcesvn;
        two[0].status = "UpToDate";
        two[1].status = "OutOfDate";
        tcb = tu_tcb_info_json(3, "00A067110000", "0000", ISSUE, NEXT, two, 2);
        s.tcb_body = tcb;
        expect(&s, NCSL_OK, NULL, &v);
        if (strcmp(v.tcb_status, "OutOfDate") != 0) {
            fail_msg("component %zu is not compared", k);
        }
        free(tcb);
    }
    /* Version 2 (sgxtcbcompNNsvn keys), same evaluation. */
    tcb = tu_tcb_info_json(2, "00a067110000", "0000", ISSUE, NEXT, lv, 4);
    s.tcb_body = tcb;
    expect(&s, NCSL_OK, NULL, &v);
    assert_string_equal(v.tcb_status, "ConfigurationNeeded");
    free(tcb);
}

static void test_revocation(void **state) {
    (void)state;
    ncsl_quote_verdict v;
    const long others[] = {5, 6, 0x1233, 0x1235, 78};
    coll_spec s = {
        .root_revoked = others, .n_root_revoked = 5, .pck_revoked = others, .n_pck_revoked = 5};
    expect(&s, NCSL_OK, NULL, &v);
    const long leaf[] = {5, 0x1234};
    s = (coll_spec){.pck_revoked = leaf, .n_pck_revoked = 2};
    expect(&s, NCSL_E_ATTEST_REVOKED, "the quote's PCK certificate is revoked by the PCK CA CRL",
           &v);
    const long inter[] = {2};
    s = (coll_spec){.root_revoked = inter, .n_root_revoked = 1};
    expect(&s, NCSL_E_ATTEST_REVOKED, "the quote's intermediate CA certificate is revoked", &v);
    const long signer[] = {77};
    s = (coll_spec){.root_revoked = signer, .n_root_revoked = 1};
    expect(&s, NCSL_E_ATTEST_REVOKED, "the TCB Signing certificate (tcb_signing_chain) is revoked",
           &v);
    /* The leaf's serial on the root CRL means nothing (the root did not issue it). */
    s = (coll_spec){.root_revoked = leaf + 1, .n_root_revoked = 1};
    expect(&s, NCSL_OK, NULL, &v);
    /* CRLs signed by the wrong key. */
    s = (coll_spec){.root_crl_key = g_f.inter_key};
    expect(&s, NCSL_E_ATTEST_COLLATERAL, "Root CA CRL (root_ca_crl): the CRL signature does not",
           &v);
    s = (coll_spec){.pck_crl_key = g_f.root_key};
    expect(&s, NCSL_E_ATTEST_COLLATERAL, "PCK CA CRL (pck_ca_crl): the CRL signature does not", &v);
}

static void test_wrong_signers(void **state) {
    (void)state;
    ncsl_quote_verdict v;
    int64_t nb = g_f.t - 86400L * 365;
    int64_t na = g_f.t + 86400L * 365;
    /* Signed by the PCK intermediate, which is under the pinned root but is not the signer. */
    coll_spec s = {.tcb_signer = g_f.inter, .tcb_key = g_f.inter_key};
    expect(&s, NCSL_E_ATTEST_COLLATERAL,
           "the signing certificate is \"Intel SGX PCK Processor CA\", not \"Intel SGX TCB "
           "Signing\"",
           &v);
    /* A "TCB Signing" certificate from another root with the same name. */
    EVP_PKEY *evil_root_key = EVP_EC_gen("P-256");
    EVP_PKEY *evil_key = EVP_EC_gen("P-256");
    assert_non_null(evil_root_key);
    assert_non_null(evil_key);
    X509_NAME *rn = intel_name("Intel SGX Root CA");
    X509_NAME *sn = intel_name("Intel SGX TCB Signing");
    X509_NAME *in = intel_name("Intel SGX PCK Processor CA");
    X509 *evil = make_cert(sn, evil_key, rn, evil_root_key, false, 77, NULL, nb, na);
    s = (coll_spec){.tcb_signer = evil, .tcb_key = evil_key};
    expect(&s, NCSL_E_ATTEST_COLLATERAL, "does not verify to the pinned root", &v);
    /* The right name, issued by the intermediate (one level too deep). */
    X509 *deep = make_cert(sn, evil_key, in, g_f.inter_key, false, 79, NULL, nb, na);
    s = (coll_spec){.tcb_signer = deep, .tcb_key = evil_key};
    expect(&s, NCSL_E_ATTEST_COLLATERAL, "TCB info (tcb_info)", &v);
    /* The genuine signer listed, another key signing. */
    s = (coll_spec){.tcb_key = evil_key};
    expect(&s, NCSL_E_ATTEST_COLLATERAL,
           "TCB info (tcb_info): the signature does not verify with the TCB Signing certificate",
           &v);
    /* A signer that expired before the as-of time. */
    X509 *old = make_cert(sn, evil_key, rn, g_f.root_key, false, 80, NULL, nb, g_f.t - 1);
    s = (coll_spec){.tcb_signer = old, .tcb_key = evil_key};
    expect(&s, NCSL_E_ATTEST_COLLATERAL_EXPIRED, "certificate has expired", &v);
    assert_true(v.collateral_expired);
    X509_free(old);
    X509_free(deep);
    X509_free(evil);
    X509_NAME_free(in);
    X509_NAME_free(sn);
    X509_NAME_free(rn);
    EVP_PKEY_free(evil_key);
    EVP_PKEY_free(evil_root_key);
}

static void test_platform_mismatch(void **state) {
    (void)state;
    ncsl_quote_verdict v;
    tu_level l;
    memset(&l, 0, sizeof(l));
    memcpy(l.comp, g_f.comp, 16);
    l.pcesvn = g_f.pcesvn;
    l.status = "UpToDate";
    char *tcb = tu_tcb_info_json(3, "00A067110000", "0001", ISSUE, NEXT, &l, 1);
    coll_spec s = {.tcb_body = tcb};
    expect(&s, NCSL_E_ATTEST_COLLATERAL, "is for PCE ID 0001, but the PCK certificate's is 0000",
           &v);
    free(tcb);
    tcb = tu_tcb_info_json(3, "00A067110001", "0000", ISSUE, NEXT, &l, 1);
    s.tcb_body = tcb;
    expect(&s, NCSL_E_ATTEST_COLLATERAL, "is for FMSPC 00A067110001", &v);
    free(tcb);
}

static void test_qe_identity_checks(void **state) {
    (void)state;
    ncsl_quote_verdict v;
    static const tu_qe_level up[] = {{8, "UpToDate", NULL}};
    const char *ms = g_f.qe_mrsigner;
    char other_mr[65];
    snprintf(other_mr, sizeof(other_mr), "%s", ms);
    other_mr[0] = other_mr[0] == '0' ? '1' : '0';
    static const char *const attr = "11000000000000000000000000000000";
    static const char *const amask = "FBFFFFFFFFFFFFFF0000000000000000";
    struct {
        const char *mr, *misc, *mmask, *attr, *amask;
        int prod;
        ncsl_status want;
        const char *msg;
    } cases[] = {
        {ms, "00000000", "FFFFFFFF", attr, amask, 1, NCSL_OK, NULL},
        {other_mr, "00000000", "FFFFFFFF", attr, amask, 1, NCSL_E_ATTEST_TCB,
         "the QE's mrsigner is not the QE identity's"},
        {ms, "00000000", "FFFFFFFF", attr, amask, 2, NCSL_E_ATTEST_TCB,
         "the QE's isvprodid 1 is not the QE identity's 2"},
        {ms, "00000001", "FFFFFFFF", attr, amask, 1, NCSL_E_ATTEST_TCB, "miscselect"},
        {ms, "00000001", "FFFFFFFE", attr, amask, 1, NCSL_OK, NULL}, /* bit masked out */
        /* The mask FB clears MODE64BIT (0x04) and keeps DEBUG (0x02): an identity that asks
         * for MODE64BIT matches whatever the QE has there, one that asks for DEBUG does not. */
        {ms, "00000000", "FFFFFFFF", "15000000000000000000000000000000", amask, 1, NCSL_OK, NULL},
        {ms, "00000000", "FFFFFFFF", "13000000000000000000000000000000", amask, 1,
         NCSL_E_ATTEST_TCB, "attributes do not match the QE identity's under its mask (byte 0)"},
        /* XFRM (bytes 8..15) is masked out entirely. */
        {ms, "00000000", "FFFFFFFF", "11000000000000000100000000000000", amask, 1, NCSL_OK, NULL},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        char *qe =
            tu_qe_identity_json("QE", ISSUE, NEXT, cases[i].misc, cases[i].mmask, cases[i].attr,
                                cases[i].amask, cases[i].mr, cases[i].prod, up, 1);
        coll_spec s = {.qe_body = qe};
        expect(&s, cases[i].want, cases[i].msg, &v);
        free(qe);
    }
    /* Levels: none reached; Revoked; OutOfDate with merged advisories. */
    static const tu_qe_level high[] = {{11, "UpToDate", NULL}};
    static const tu_qe_level rev[] = {{11, "UpToDate", NULL}, {10, "Revoked", NULL}};
    static const tu_qe_level ood[] = {{11, "UpToDate", NULL},
                                      {9, "OutOfDate", "[\"INTEL-SA-2\",\"INTEL-SA-1\"]"}};
    char *qe =
        tu_qe_identity_json("QE", ISSUE, NEXT, "00000000", "FFFFFFFF", attr, amask, ms, 1, high, 1);
    coll_spec s = {.qe_body = qe};
    expect(&s, NCSL_E_ATTEST_TCB, "the QE's isvsvn 10 reaches no level of the QE identity", &v);
    free(qe);
    qe = tu_qe_identity_json("QE", ISSUE, NEXT, "00000000", "FFFFFFFF", attr, amask, ms, 1, rev, 2);
    s.qe_body = qe;
    expect(&s, NCSL_E_ATTEST_REVOKED, "the QE's TCB level (isvsvn 10", &v);
    assert_string_equal(v.qe_tcb_status, "Revoked");
    free(qe);
    qe = tu_qe_identity_json("QE", ISSUE, NEXT, "00000000", "FFFFFFFF", attr, amask, ms, 1, ood, 2);
    char *tcb = default_tcb("SWHardeningNeeded", "[\"INTEL-SA-3\",\"INTEL-SA-2\"]");
    s = (coll_spec){.qe_body = qe, .tcb_body = tcb};
    expect(&s, NCSL_OK, NULL, &v);
    assert_string_equal(v.tcb_status, "SWHardeningNeeded");
    assert_string_equal(v.qe_tcb_status, "OutOfDate");
    assert_string_equal(v.advisory_ids, "INTEL-SA-3,INTEL-SA-2,INTEL-SA-1");
    assert_false(v.advisory_ids_truncated);
    free(tcb);
    free(qe);
}

static void test_advisory_truncation(void **state) {
    (void)state;
    char *advs = malloc(128 * 44 + 8);
    assert_non_null(advs);
    size_t n = (size_t)sprintf(advs, "[");
    for (int i = 0; i < 128; i++) {
        n += (size_t)sprintf(advs + n, "%s\"INTEL-SA-%030d\"", i ? "," : "", i);
    }
    sprintf(advs + n, "]");
    char *tcb = default_tcb("OutOfDate", advs);
    coll_spec s = {.tcb_body = tcb};
    ncsl_quote_verdict v;
    expect(&s, NCSL_OK, NULL, &v);
    assert_true(v.advisory_ids_truncated);
    assert_true(strlen(v.advisory_ids) < sizeof(v.advisory_ids));
    assert_non_null(strstr(v.advisory_ids, "INTEL-SA-000000000000000000000000000000,"));
    free(tcb);
    free(advs);
}

static void test_leaf_without_extension(void **state) {
    (void)state;
    X509_NAME *ln = intel_name("Intel SGX PCK Certificate");
    X509_NAME *in = intel_name("Intel SGX PCK Processor CA");
    EVP_PKEY *k = EVP_EC_gen("P-256");
    assert_non_null(k);
    X509 *leaf = make_cert(ln, k, in, g_f.inter_key, false, 0x99, NULL, g_f.t - 86400L * 365,
                           g_f.t + 86400L * 365);
    X509 *chain[] = {leaf, g_f.inter, g_f.root};
    char *pem = pem_of(chain, 3);
    size_t base_len = 0;
    uint8_t *base = tu_read_quote("quote-phala-1.bin", &base_len);
    size_t qlen = 0;
    uint8_t *q = forge_quote(base, base_len, pem, k, g_f.att_key, &qlen);
    coll_spec s = {0};
    ncsl_sgx_collateral *c = build(&s, NCSL_OK, NULL);
    ncsl_quote_verdict v;
    assert_int_equal(verify(c, q, qlen, &v), NCSL_E_ATTEST_CHAIN);
    assert_int_equal(v.failed_step, NCSL_ATTEST_STEP_COLLATERAL);
    assert_non_null(strstr(v.reason, "the PCK certificate has no SGX extension"));
    /* Without collateral the same quote is valid (steps 1-5 only). */
    ncsl_quote_verify_opts o;
    ncsl_attest_quote_verify_opts_default(&o);
    o.at_time = g_f.t;
    o.root_pem = g_f.root_pem;
    o.root_pem_len = strlen(g_f.root_pem);
    ncsl_err err;
    assert_int_equal(ncsl_attest_quote_verify(q, qlen, &o, &v, &err), NCSL_OK);
    assert_false(v.collateral_checked);
    ncsl_attest_collateral_destroy(c);
    free(q);
    free(base);
    free(pem);
    X509_free(leaf);
    EVP_PKEY_free(k);
    X509_NAME_free(in);
    X509_NAME_free(ln);
}

/* A CRL without nextUpdate cannot say until when it is current: refused at load time. */
static void test_crl_without_next_update(void **state) {
    (void)state;
    size_t n = 0;
    uint8_t *crl =
        make_crl(X509_get_subject_name(g_f.inter), g_f.inter_key, NULL, 0, g_f.t - 86400, 0, &n);
    ncsl_sgx_collateral *c = NULL;
    char *tcb = default_tcb("UpToDate", NULL);
    char *qe = default_qe();
    char *tdoc = wrap("tcbInfo", tcb, g_f.signer_key);
    char *qdoc = wrap("enclaveIdentity", qe, g_f.signer_key);
    char *chain = pem_of(&g_f.signer, 1);
    ncsl_sgx_collateral_pieces p = {
        .tcb_info = (const uint8_t *)tdoc,
        .tcb_info_len = strlen(tdoc),
        .qe_identity = (const uint8_t *)qdoc,
        .qe_identity_len = strlen(qdoc),
        .tcb_signing_chain = (const uint8_t *)chain,
        .tcb_signing_chain_len = strlen(chain),
        .root_ca_crl = crl,
        .root_ca_crl_len = n,
        .pck_ca_crl = crl,
        .pck_ca_crl_len = n,
    };
    ncsl_err err;
    assert_int_equal(ncsl_attest_collateral_create(&p, &c, &err), NCSL_E_ATTEST_COLLATERAL);
    assert_string_equal(err.field, "root_ca_crl");
    assert_non_null(strstr(err.message, "has no valid lastUpdate and nextUpdate"));
    free(chain);
    free(qdoc);
    free(tdoc);
    free(qe);
    free(tcb);
    free(crl);
}

/* A simulation quote is judged as simulation: collateral does not apply and is not checked. */
static void test_simulation_ignores_collateral(void **state) {
    (void)state;
    X509_NAME *rn = intel_name(NCSL_ATTEST_SIM_ROOT_CN);
    X509_NAME *in = intel_name("NCSL Simulation PCK CA");
    X509_NAME *ln = intel_name("NCSL Simulation PCK");
    EVP_PKEY *rk = EVP_EC_gen("P-256");
    EVP_PKEY *ik = EVP_EC_gen("P-256");
    EVP_PKEY *lk = EVP_EC_gen("P-256");
    assert_true(rk && ik && lk);
    int64_t nb = g_f.t - 86400L * 365;
    int64_t na = g_f.t + 86400L * 365;
    X509 *root = make_cert(rn, rk, rn, rk, true, 1, NULL, nb, na);
    X509 *inter = make_cert(in, ik, rn, rk, true, 2, NULL, nb, na);
    X509 *leaf = make_cert(ln, lk, in, ik, false, 3, NULL, nb, na);
    X509 *chain[] = {leaf, inter, root};
    char *pem = pem_of(chain, 3);
    char *root_pem = pem_of(&root, 1);
    size_t base_len = 0;
    uint8_t *base = tu_read_quote("quote-phala-1.bin", &base_len);
    size_t qlen = 0;
    uint8_t *q = forge_quote(base, base_len, pem, lk, g_f.att_key, &qlen);
    coll_spec s = {0};
    ncsl_sgx_collateral *c = build(&s, NCSL_OK, NULL);
    ncsl_quote_verify_opts o;
    ncsl_attest_quote_verify_opts_default(&o);
    o.at_time = g_f.t;
    o.allow_simulation = true;
    o.simulation_root_pem = root_pem;
    o.simulation_root_pem_len = strlen(root_pem);
    o.collateral = c;
    ncsl_quote_verdict v;
    ncsl_err err;
    assert_int_equal(ncsl_attest_quote_verify(q, qlen, &o, &v, &err), NCSL_OK);
    assert_int_equal(v.tee_kind, NCSL_ATTEST_TEE_SIMULATION);
    assert_false(v.collateral_checked);
    assert_string_equal(v.tcb_status, "");
    ncsl_attest_collateral_destroy(c);
    free(q);
    free(base);
    free(root_pem);
    free(pem);
    X509_free(leaf);
    X509_free(inter);
    X509_free(root);
    EVP_PKEY_free(lk);
    EVP_PKEY_free(ik);
    EVP_PKEY_free(rk);
    X509_NAME_free(ln);
    X509_NAME_free(in);
    X509_NAME_free(rn);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_baseline),
        cmocka_unit_test(test_every_status),
        cmocka_unit_test(test_level_order_and_components),
        cmocka_unit_test(test_revocation),
        cmocka_unit_test(test_wrong_signers),
        cmocka_unit_test(test_platform_mismatch),
        cmocka_unit_test(test_qe_identity_checks),
        cmocka_unit_test(test_advisory_truncation),
        cmocka_unit_test(test_leaf_without_extension),
        cmocka_unit_test(test_crl_without_next_update),
        cmocka_unit_test(test_simulation_ignores_collateral),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
