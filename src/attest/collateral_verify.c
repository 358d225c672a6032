/*
 * Step 6 of quote verification: the quote's collateral, at the verdict's "as of" time, against
 * the same pinned root as the PCK chain. In this order (the first failure decides):
 *   a. the PCK leaf's SGX extension (FMSPC, PCE ID, TCB component SVNs, PCESVN) parses;
 *   b. the TCB info is signed by an Intel SGX TCB Signing certificate issued by the pinned root
 *      and valid at that time, and it is for this platform (FMSPC, PCE ID);
 *   c. the QE identity is signed the same way;
 *   d. the Root CA CRL is issued and signed by the pinned root, the PCK CA CRL by the quote's
 *      intermediate CA;
 *   e. neither the TCB Signing certificate(s) nor the intermediate is on the Root CA CRL, and the
 *      PCK leaf is not on the PCK CA CRL;
 *   f. the platform's TCB level: the first of tcbLevels whose component SVNs and PCESVN the PCK
 *      leaf's all reach; none -> not supported; Revoked -> rejected;
 *   g. the QE: mrsigner, isvprodid and masked miscselect/attributes equal the QE identity's, and
 *      its isvsvn's level (none -> not supported; Revoked -> rejected);
 *   h. freshness: every piece's issueDate/lastUpdate <= as-of <= nextUpdate. Checked last so an
 *      expired verdict still reports the TCB status it would have had.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509_vfy.h>

#include "attest_int.h"

#define TCB_SIGNER_CN "Intel SGX TCB Signing"

/* Records a failed step 6 in the verdict and returns `st`. */
static ncsl_status fail(ncsl_quote_verdict *v, ncsl_status st, const char *fmt, ...)
    NCSL_PRINTF(3, 4);
static ncsl_status fail(ncsl_quote_verdict *v, ncsl_status st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
    va_end(ap);
    v->valid = false;
    v->failed_step = st == NCSL_E_NOMEM ? NCSL_ATTEST_STEP_SETUP : NCSL_ATTEST_STEP_COLLATERAL;
    v->tee_kind = NCSL_ATTEST_TEE_NONE;
    v->collateral_checked = false;
    return st;
}

static void hex_str(const uint8_t *p, size_t n, char *out) {
    static const char d[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[p[i] >> 4];
        out[2 * i + 1] = d[p[i] & 15];
    }
    out[2 * n] = '\0';
}

/* The subject (or issuer) CN of a name, "" when none. */
static void name_cn(const X509_NAME *name, char *out, size_t out_size) {
    out[0] = '\0';
    int i = name ? X509_NAME_get_index_by_NID(name, NID_commonName, -1) : -1;
    const ASN1_STRING *cn = i >= 0 ? X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)) : NULL;
    int n = cn ? ASN1_STRING_length(cn) : 0;
    if (n > 0 && (size_t)n < out_size) {
        memcpy(out, ASN1_STRING_get0_data(cn), (size_t)n);
        out[n] = '\0';
    }
}

long ncsl__attest_tcb_level_match(const ncsl__tcb_info *t, const ncsl__pck_ext *pck) {
    for (size_t i = 0; i < t->level_count; i++) {
        const ncsl__tcb_level *l = &t->levels[i];
        bool ok = pck->pce_svn >= l->svn;
        for (size_t k = 0; ok && k < NCSL__SGX_TCB_COMPONENTS; k++) {
            ok = pck->comp_svn[k] >= l->comp_svn[k];
        }
        if (ok) {
            return (long)i;
        }
    }
    return -1;
}

long ncsl__attest_qe_level_match(const ncsl__qe_identity *q, uint16_t isvsvn) {
    for (size_t i = 0; i < q->level_count; i++) {
        if (isvsvn >= q->levels[i].svn) {
            return (long)i;
        }
    }
    return -1;
}

bool ncsl__attest_qe_report_matches(const ncsl__qe_identity *q, const uint8_t *qe_report_raw,
                                    char *why, size_t why_size) {
    /* Report body offsets: miscselect 16 (u32 LE), attributes 48, mrsigner 128, isvprodid 256.
     * miscselect is compared byte by byte in report order, which is how the identity's hex
     * string reads (Intel's QVL turns both into the same little-endian integer). */
    const uint8_t *misc = qe_report_raw + 16;
    const uint8_t *attr = qe_report_raw + 48;
    if (memcmp(qe_report_raw + 128, q->mrsigner, 32) != 0) {
        snprintf(why, why_size, "the QE's mrsigner is not the QE identity's");
        return false;
    }
    uint16_t prod = ncsl__attest_le16(qe_report_raw + 256);
    if (prod != q->isvprodid) {
        snprintf(why, why_size, "the QE's isvprodid %u is not the QE identity's %u", prod,
                 q->isvprodid);
        return false;
    }
    for (size_t i = 0; i < 4; i++) {
        if ((misc[i] & q->miscselect_mask[i]) != (q->miscselect[i] & q->miscselect_mask[i])) {
            snprintf(why, why_size,
                     "the QE's miscselect does not match the QE identity's under "
                     "its mask");
            return false;
        }
    }
    for (size_t i = 0; i < 16; i++) {
        if ((attr[i] & q->attributes_mask[i]) != (q->attributes[i] & q->attributes_mask[i])) {
            snprintf(why, why_size,
                     "the QE's attributes do not match the QE identity's under "
                     "its mask (byte %zu)",
                     i);
            return false;
        }
    }
    return true;
}

/* 1 valid, 0 invalid, -1 out of memory, -2 the signer is not valid at `at` (expired or not yet
 * valid; `why` says which). */
static int tcb_signer_check(X509 *signer, X509 *pinned, int64_t at, char *why, size_t why_size) {
    int rc = 0;
    X509_STORE *store = NULL;
    X509_STORE_CTX *sctx = NULL;
    char cn[80];

    name_cn(X509_get_subject_name(signer), cn, sizeof(cn));
    if (strcmp(cn, TCB_SIGNER_CN) != 0) {
        snprintf(why, why_size, "the signing certificate is \"%.70s\", not \"%s\"", cn,
                 TCB_SIGNER_CN);
        goto out;
    }
    if (!ncsl__attest_pkey_is_p256(X509_get0_pubkey(signer))) {
        snprintf(why, why_size, "the signing certificate's key is not ECDSA P-256");
        goto out;
    }
    store = X509_STORE_new();
    sctx = X509_STORE_CTX_new();
    if (!store || !sctx || X509_STORE_add_cert(store, pinned) != 1 ||
        X509_STORE_CTX_init(sctx, store, signer, NULL) != 1) {
        rc = -1;
        goto out;
    }
    /* Issued directly by the pinned root: a chain of two, no intermediates. */
    X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(sctx);
    X509_VERIFY_PARAM_set_time(param, (time_t)at);
    X509_VERIFY_PARAM_set_depth(param, 0);
    if (X509_verify_cert(sctx) != 1) {
        int e = X509_STORE_CTX_get_error(sctx);
        snprintf(why, why_size,
                 "the TCB Signing certificate does not verify to the pinned root: %s",
                 X509_verify_cert_error_string(e));
        rc = e == X509_V_ERR_CERT_HAS_EXPIRED || e == X509_V_ERR_CERT_NOT_YET_VALID ? -2 : 0;
        goto out;
    }
    STACK_OF(X509) *built = X509_STORE_CTX_get0_chain(sctx);
    if (!built || sk_X509_num(built) != 2 || X509_cmp(sk_X509_value(built, 1), pinned) != 0) {
        snprintf(why, why_size, "the TCB Signing certificate is not issued by the pinned root");
        goto out;
    }
    rc = 1;
out:
    X509_STORE_CTX_free(sctx);
    X509_STORE_free(store);
    ERR_clear_error();
    return rc;
}

/* tcb_signer_check, then the signature; same results. */
static int signed_by(X509 *signer, X509 *pinned, int64_t at, const uint8_t *body, size_t body_len,
                     const uint8_t sig[64], char *why, size_t why_size) {
    int rc = tcb_signer_check(signer, pinned, at, why, why_size);
    if (rc != 1) {
        return rc;
    }
    rc = ncsl__attest_ecdsa_verify_raw(X509_get0_pubkey(signer), body, body_len, sig);
    if (rc == 0) {
        snprintf(why, why_size,
                 "the signature does not verify with the TCB Signing certificate "
                 "(tampered, or signed over other bytes)");
    }
    return rc;
}

int ncsl__attest_signed_by_tcb_signer(X509 *signer, X509 *pinned, int64_t at, const uint8_t *body,
                                      size_t body_len, const uint8_t sig[64], char *why,
                                      size_t why_size) {
    int rc = signed_by(signer, pinned, at, body, body_len, sig, why, why_size);
    return rc == -2 ? 0 : rc;
}

/* Signature check of one signed document, as a verdict. */
static ncsl_status check_signed(ncsl_quote_verdict *v, STACK_OF(X509) * signers, X509 *pinned,
                                const uint8_t *body, size_t len, const uint8_t sig[64],
                                const char *what, const char *name) {
    char why[200];
    int rc = signed_by(sk_X509_value(signers, 0), pinned, v->checked_at, body, len, sig, why,
                       sizeof(why));
    if (rc == -1) {
        return fail(v, NCSL_E_NOMEM, "collateral: out of memory (%s signature)", what);
    }
    if (rc == -2) {
        v->collateral_expired = true;
        return fail(v, NCSL_E_ATTEST_COLLATERAL_EXPIRED, "collateral: %s (%s): %s", what, name,
                    why);
    }
    if (rc == 0) {
        return fail(v, NCSL_E_ATTEST_COLLATERAL, "collateral: %s (%s): %s", what, name, why);
    }
    return NCSL_OK;
}

/* The CRL is issued by `issuer` (same subject) and signed with its key. */
static ncsl_status check_crl(ncsl_quote_verdict *v, X509_CRL *crl, X509 *issuer, const char *what,
                             const char *name) {
    char got[80];
    char want[80];
    if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) != 0) {
        name_cn(X509_CRL_get_issuer(crl), got, sizeof(got));
        name_cn(X509_get_subject_name(issuer), want, sizeof(want));
        return fail(v, NCSL_E_ATTEST_COLLATERAL,
                    "collateral: %s (%s) is issued by \"%s\", but the quote's chain needs the CRL "
                    "of \"%s\"",
                    what, name, got, want);
    }
    EVP_PKEY *key = X509_get0_pubkey(issuer);
    int rc = key ? X509_CRL_verify(crl, key) : -1;
    ERR_clear_error();
    if (rc != 1) {
        return fail(v, NCSL_E_ATTEST_COLLATERAL,
                    "collateral: %s (%s): the CRL signature does not verify with its issuer's key",
                    what, name);
    }
    return NCSL_OK;
}

static bool on_crl(X509_CRL *crl, X509 *cert) {
    X509_REVOKED *rev = NULL;
    int rc = X509_CRL_get0_by_serial(crl, &rev, X509_get0_serialNumber(cert));
    ERR_clear_error();
    return rc == 1;
}

/* Freshness of one piece: noted in the verdict, reported at the end. */
typedef struct freshness {
    char first[200];  /* the first piece out of its window, with dates */
    char others[120]; /* the others, by name */
    bool not_yet;     /* the first one is not yet valid (rather than expired) */
} freshness;

static void window(ncsl_quote_verdict *v, freshness *f, const char *what, const char *name,
                   int64_t issued, int64_t next) {
    char t[32];
    int64_t at = v->checked_at;
    if (!v->collateral_expires_at || next < v->collateral_expires_at) {
        v->collateral_expires_at = next;
    }
    if (at >= issued && at <= next) {
        return;
    }
    if (!v->collateral_expired) {
        v->collateral_expired = true;
        f->not_yet = at < issued;
        ncsl__attest_fmt_time(f->not_yet ? issued : next, t, sizeof(t));
        snprintf(f->first, sizeof(f->first), "%s (%s) %s %s", what, name,
                 f->not_yet ? "is only valid from" : "expired at its nextUpdate", t);
        return;
    }
    size_t n = strlen(f->others);
    snprintf(f->others + n, sizeof(f->others) - n, "%s%s", n ? ", " : "", what);
}

/* Appends the advisory IDs in `list` ("a,b") to the verdict's, skipping ones already there. */
static void add_advisories(ncsl_quote_verdict *v, const char *list) {
    const char *p = list;
    while (p && *p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        bool dup = false;
        const char *q = v->advisory_ids;
        while (*q && !dup) {
            const char *qc = strchr(q, ',');
            size_t qn = qc ? (size_t)(qc - q) : strlen(q);
            dup = qn == n && memcmp(q, p, n) == 0;
            q = qc ? qc + 1 : q + qn;
        }
        if (!dup) {
            size_t used = strlen(v->advisory_ids);
            size_t need = n + (used ? 1 : 0);
            if (used + need + 1 > sizeof(v->advisory_ids)) {
                v->advisory_ids_truncated = true;
                return;
            }
            if (used) {
                v->advisory_ids[used++] = ',';
            }
            memcpy(v->advisory_ids + used, p, n);
            v->advisory_ids[used + n] = '\0';
        }
        p = comma ? comma + 1 : NULL;
    }
}

ncsl_status ncsl__attest_collateral_check(ncsl_quote_verdict *v, const ncsl_sgx_collateral *c,
                                          STACK_OF(X509) * chain, X509 *pinned,
                                          const ncsl_sgx_quote *q) {
    ncsl_status st = NCSL_OK;
    X509 *leaf = sk_X509_value(chain, 0);
    X509 *inter = sk_X509_value(chain, 1);
    ncsl__pck_ext pck;
    freshness fr;
    char why[200];
    char a[16];
    char b[16];

    memset(&fr, 0, sizeof(fr));
    v->collateral_checked = false;
    v->collateral_expired = false;
    v->collateral_expires_at = 0;

    /* (a) what the PCK leaf says about the platform. */
    if (!ncsl__attest_pck_ext_parse(leaf, &pck, why, sizeof(why))) {
        return fail(v, NCSL_E_ATTEST_CHAIN, "collateral: PCK leaf certificate: %s", why);
    }

    /* (b) TCB info: Intel's, and for this platform. */
    st = check_signed(v, c->tcb_chain, pinned, c->tcb_info_body, c->tcb_info_body_len,
                      c->tcb_info_sig, "TCB info", c->tcb_info_name);
    if (st != NCSL_OK) {
        return st;
    }
    v->tcb_eval_data_number = c->tcb_info.tcb_eval_data_number;
    if (memcmp(c->tcb_info.fmspc, pck.fmspc, sizeof(pck.fmspc)) != 0) {
        hex_str(c->tcb_info.fmspc, 6, a);
        hex_str(pck.fmspc, 6, b);
        return fail(v, NCSL_E_ATTEST_COLLATERAL,
                    "collateral: TCB info (%s) is for FMSPC %s, but the PCK certificate's FMSPC "
                    "is %s (collateral of another platform)",
                    c->tcb_info_name, a, b);
    }
    if (memcmp(c->tcb_info.pce_id, pck.pce_id, sizeof(pck.pce_id)) != 0) {
        hex_str(c->tcb_info.pce_id, 2, a);
        hex_str(pck.pce_id, 2, b);
        return fail(v, NCSL_E_ATTEST_COLLATERAL,
                    "collateral: TCB info (%s) is for PCE ID %s, but the PCK certificate's is %s",
                    c->tcb_info_name, a, b);
    }

    /* (c) QE identity. */
    st = check_signed(v, c->qe_chain, pinned, c->qe_identity_body, c->qe_identity_body_len,
                      c->qe_identity_sig, "QE identity", c->qe_identity_name);
    if (st != NCSL_OK) {
        return st;
    }

    /* (d) CRLs by their issuers. */
    st = check_crl(v, c->root_crl, pinned, "Root CA CRL", c->root_crl_name);
    if (st != NCSL_OK) {
        return st;
    }
    st = check_crl(v, c->pck_crl, inter, "PCK CA CRL", c->pck_crl_name);
    if (st != NCSL_OK) {
        return st;
    }

    /* (e) revocation. */
    X509 *signers[] = {sk_X509_value(c->tcb_chain, 0), sk_X509_value(c->qe_chain, 0)};
    for (size_t i = 0; i < NCSL_ARRAY_LEN(signers); i++) {
        if (on_crl(c->root_crl, signers[i])) {
            return fail(v, NCSL_E_ATTEST_REVOKED,
                        "collateral: the TCB Signing certificate (%s) is revoked by the Root CA "
                        "CRL (%s)",
                        i ? c->qe_chain_name : c->tcb_chain_name, c->root_crl_name);
        }
    }
    if (on_crl(c->root_crl, inter)) {
        return fail(v, NCSL_E_ATTEST_REVOKED,
                    "collateral: the quote's intermediate CA certificate is revoked by the Root "
                    "CA CRL (%s)",
                    c->root_crl_name);
    }
    if (on_crl(c->pck_crl, leaf)) {
        return fail(v, NCSL_E_ATTEST_REVOKED,
                    "collateral: the quote's PCK certificate is revoked by the PCK CA CRL (%s)",
                    c->pck_crl_name);
    }

    /* Freshness is noted now and reported last (h). */
    window(v, &fr, "TCB info", c->tcb_info_name, c->tcb_info.issue_date, c->tcb_info.next_update);
    window(v, &fr, "QE identity", c->qe_identity_name, c->qe_identity.issue_date,
           c->qe_identity.next_update);
    window(v, &fr, "Root CA CRL", c->root_crl_name, c->root_crl_issued, c->root_crl_next_update);
    window(v, &fr, "PCK CA CRL", c->pck_crl_name, c->pck_crl_issued, c->pck_crl_next_update);

    /* (f) the platform's TCB level. */
    long li = ncsl__attest_tcb_level_match(&c->tcb_info, &pck);
    if (li < 0) {
        return fail(v, NCSL_E_ATTEST_TCB,
                    "collateral: the platform's TCB (PCK component SVNs %u,%u,%u,%u,..., PCESVN "
                    "%u) reaches no level of the TCB info (%s): TCB not supported",
                    pck.comp_svn[0], pck.comp_svn[1], pck.comp_svn[2], pck.comp_svn[3], pck.pce_svn,
                    c->tcb_info_name);
    }
    const ncsl__tcb_level *lv = &c->tcb_info.levels[li];
    v->tcb_status_id = lv->status;
    snprintf(v->tcb_status, sizeof(v->tcb_status), "%s", ncsl_attest_tcb_status_str(lv->status));
    snprintf(v->tcb_date, sizeof(v->tcb_date), "%s", lv->tcb_date);
    add_advisories(v, lv->advisories);
    if (lv->status == NCSL_ATTEST_TCB_REVOKED) {
        return fail(v, NCSL_E_ATTEST_REVOKED,
                    "collateral: the platform's TCB level (tcbLevels[%ld], tcbDate %s) is "
                    "Revoked",
                    li, lv->tcb_date);
    }

    /* (g) the Quoting Enclave. */
    if (!ncsl__attest_qe_report_matches(&c->qe_identity, q->qe_report_raw, why, sizeof(why))) {
        return fail(v, NCSL_E_ATTEST_TCB, "collateral: QE identity (%s): %s", c->qe_identity_name,
                    why);
    }
    long qi = ncsl__attest_qe_level_match(&c->qe_identity, q->qe_report.isv_svn);
    if (qi < 0) {
        return fail(v, NCSL_E_ATTEST_TCB,
                    "collateral: the QE's isvsvn %u reaches no level of the QE identity (%s)",
                    q->qe_report.isv_svn, c->qe_identity_name);
    }
    const ncsl__tcb_level *ql = &c->qe_identity.levels[qi];
    v->qe_tcb_status_id = ql->status;
    snprintf(v->qe_tcb_status, sizeof(v->qe_tcb_status), "%s",
             ncsl_attest_tcb_status_str(ql->status));
    add_advisories(v, ql->advisories);
    if (ql->status == NCSL_ATTEST_TCB_REVOKED) {
        return fail(v, NCSL_E_ATTEST_REVOKED,
                    "collateral: the QE's TCB level (isvsvn %u, tcbDate %s) is Revoked",
                    q->qe_report.isv_svn, ql->tcb_date);
    }

    /* (h) freshness. */
    if (v->collateral_expired) {
        char t[32];
        ncsl__attest_fmt_time(v->checked_at, t, sizeof(t));
        return fail(v, NCSL_E_ATTEST_COLLATERAL_EXPIRED, "collateral %s as of %s: %s%s%s",
                    fr.not_yet ? "not yet valid" : "expired", t, fr.first,
                    fr.others[0] ? "; also out of date: " : "", fr.others);
    }
    v->collateral_checked = true;
    return NCSL_OK;
}
