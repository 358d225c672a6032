/*
 * SGX DCAP v3 quote verification, steps 1-5 of REFERENCE.md section 3, in that order, then step 6
 * (collateral_verify.c) when the caller gives collateral. The first failing step decides the
 * verdict; its reason names the step.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>

#include "attest_int.h"

void ncsl_attest_quote_verify_opts_default(ncsl_quote_verify_opts *opts) {
    if (opts) {
        memset(opts, 0, sizeof(*opts));
    }
}

/* Records a failed step in the verdict and returns `st`. */
static ncsl_status reject(ncsl_quote_verdict *v, ncsl_attest_step step, ncsl_status st,
                          const char *fmt, ...) NCSL_PRINTF(4, 5);
static ncsl_status reject(ncsl_quote_verdict *v, ncsl_attest_step step, ncsl_status st,
                          const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
    va_end(ap);
    v->valid = false;
    v->failed_step = step;
    v->tee_kind = NCSL_ATTEST_TEE_NONE;
    return st;
}

/* Exactly one certificate from `pem` (borrowed). NULL on error. Caller frees with X509_free. */
static X509 *load_root(const char *pem, size_t len) {
    BIO *bio = NULL;
    X509 *cert = NULL;
    X509 *extra = NULL;
    if (!pem || len == 0 || len > INT_MAX) {
        goto out;
    }
    bio = BIO_new_mem_buf(pem, (int)len);
    if (!bio) {
        goto out;
    }
    cert = PEM_read_bio_X509(bio, NULL, NULL, (void *)"");
    if (cert) {
        extra = PEM_read_bio_X509(bio, NULL, NULL, (void *)"");
        if (extra) { /* a bundle: ambiguous about which root is pinned */
            X509_free(cert);
            cert = NULL;
        }
    }
out:
    X509_free(extra);
    BIO_free(bio);
    ERR_clear_error();
    return cert;
}

static void copy_fields(ncsl_quote_verdict *v, const ncsl_sgx_quote *q) {
    v->fields_present = true;
    v->version = q->version;
    v->att_key_type = q->att_key_type;
    v->tee_type = q->tee_type;
    v->qe_svn = q->qe_svn;
    v->pce_svn = q->pce_svn;
    v->debug = q->report.debug;
    memcpy(v->cpu_svn, q->report.cpu_svn, sizeof(v->cpu_svn));
    memcpy(v->attributes, q->report.attributes, sizeof(v->attributes));
    memcpy(v->mr_enclave, q->report.mr_enclave, sizeof(v->mr_enclave));
    memcpy(v->mr_signer, q->report.mr_signer, sizeof(v->mr_signer));
    v->isv_prod_id = q->report.isv_prod_id;
    v->isv_svn = q->report.isv_svn;
    memcpy(v->report_data, q->report.report_data, sizeof(v->report_data));
}

/* True when `cert` (borrowed, may be NULL) has the subject CN of a simulation root. */
static bool cert_is_sim_root(X509 *cert) {
    static const char cn[] = NCSL_ATTEST_SIM_ROOT_CN;
    X509_NAME *name = cert ? X509_get_subject_name(cert) : NULL;
    int i = name ? X509_NAME_get_index_by_NID(name, NID_commonName, -1) : -1;
    for (; i >= 0; i = X509_NAME_get_index_by_NID(name, NID_commonName, i)) {
        const ASN1_STRING *v = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
        if (v && ASN1_STRING_length(v) == (int)sizeof(cn) - 1 &&
            memcmp(ASN1_STRING_get0_data(v), cn, sizeof(cn) - 1) == 0) {
            return true;
        }
    }
    return false;
}

/* The qe_vendor_id NCSL's simulation backend writes (src/tee/sim/tee_sim.c). */
static const uint8_t g_sim_qe_vendor_id[16] = "NCSL-SIMULATION";

/* Step 3: SHA-256(attestation key || QE auth data) == QE report_data[0..32], [32..64] zero.
 * Returns 1 bound, 0 not bound, -1 internal failure. */
static int qe_binding_ok(const ncsl_sgx_quote *q) {
    int rc = -1;
    unsigned char md[32];
    unsigned int md_len = 0;
    static const uint8_t zeros[32] = {0};
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
        EVP_DigestUpdate(ctx, q->attestation_key, sizeof(q->attestation_key)) != 1 ||
        (q->qe_auth_data_len && EVP_DigestUpdate(ctx, q->qe_auth_data, q->qe_auth_data_len) != 1) ||
        EVP_DigestFinal_ex(ctx, md, &md_len) != 1 || md_len != sizeof(md)) {
        goto out;
    }
    rc = CRYPTO_memcmp(md, q->qe_report.report_data, 32) == 0 &&
                 CRYPTO_memcmp(zeros, q->qe_report.report_data + 32, 32) == 0
             ? 1
             : 0;
out:
    EVP_MD_CTX_free(ctx);
    return rc;
}

/* Step 5. `chain` is leaf, intermediate, root from the quote (borrowed); `pinned` is the trust
 * anchor (borrowed). Fills the verdict's reason on failure. */
static ncsl_status check_chain(ncsl_quote_verdict *v, STACK_OF(X509) * chain, X509 *pinned,
                               int64_t at) {
    ncsl_status st = NCSL_OK;
    X509_STORE *store = NULL;
    X509_STORE_CTX *sctx = NULL;
    STACK_OF(X509) *untrusted = NULL;
    X509 *leaf = sk_X509_value(chain, 0);
    X509 *inter = sk_X509_value(chain, 1);
    X509 *qroot = sk_X509_value(chain, 2);

    store = X509_STORE_new();
    sctx = X509_STORE_CTX_new();
    untrusted = sk_X509_new_null();
    if (!store || !sctx || !untrusted || X509_STORE_add_cert(store, pinned) != 1 ||
        !sk_X509_push(untrusted, inter) || X509_STORE_CTX_init(sctx, store, leaf, untrusted) != 1) {
        st = reject(v, NCSL_ATTEST_STEP_SETUP, NCSL_E_NOMEM, "PCK chain: out of memory");
        goto out;
    }
    /* Only the pinned root is trusted; the quote's own root is not offered to the builder. */
    X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(sctx);
    X509_VERIFY_PARAM_set_time(param, (time_t)at);
    X509_VERIFY_PARAM_set_depth(param, 2);
    if (X509_verify_cert(sctx) != 1) {
        int e = X509_STORE_CTX_get_error(sctx);
        st = reject(v, NCSL_ATTEST_STEP_PCK_CHAIN, NCSL_E_ATTEST_CHAIN,
                    "PCK chain: %s (certificate depth %d)", X509_verify_cert_error_string(e),
                    X509_STORE_CTX_get_error_depth(sctx));
        goto out;
    }
    STACK_OF(X509) *built = X509_STORE_CTX_get0_chain(sctx);
    if (!built || sk_X509_num(built) != 3 || X509_cmp(sk_X509_value(built, 1), inter) != 0 ||
        X509_cmp(sk_X509_value(built, 2), pinned) != 0) {
        st = reject(v, NCSL_ATTEST_STEP_PCK_CHAIN, NCSL_E_ATTEST_CHAIN,
                    "PCK chain: the verified path is not leaf, intermediate CA, pinned root");
        goto out;
    }
    /* The root the quote carries must be the pinned root: same subject, same public key
     * (possibly another issue of the certificate, e.g. the 2033 one), and self-signed. */
    EVP_PKEY *qkey = X509_get0_pubkey(qroot);
    EVP_PKEY *pkey = X509_get0_pubkey(pinned);
    if (X509_NAME_cmp(X509_get_subject_name(qroot), X509_get_subject_name(pinned)) != 0) {
        st = reject(v, NCSL_ATTEST_STEP_PCK_CHAIN, NCSL_E_ATTEST_CHAIN,
                    "PCK chain: the quote's root CA has another subject than the pinned root");
        goto out;
    }
    if (!qkey || !pkey || EVP_PKEY_eq(qkey, pkey) != 1) {
        st = reject(v, NCSL_ATTEST_STEP_PCK_CHAIN, NCSL_E_ATTEST_CHAIN,
                    "PCK chain: the quote's root CA has another public key than the pinned root");
        goto out;
    }
    if (X509_verify(qroot, pkey) != 1) {
        st = reject(v, NCSL_ATTEST_STEP_PCK_CHAIN, NCSL_E_ATTEST_CHAIN,
                    "PCK chain: the quote's root CA certificate signature does not verify");
        goto out;
    }
out:
    sk_X509_free(untrusted); /* the certificates belong to `chain` */
    X509_STORE_CTX_free(sctx);
    X509_STORE_free(store);
    ERR_clear_error();
    return st;
}

ncsl_status ncsl_attest_quote_verify(const uint8_t *buf, size_t len,
                                     const ncsl_quote_verify_opts *opts, ncsl_quote_verdict *out,
                                     ncsl_err *err) {
    ncsl_status st = NCSL_OK;
    X509 *pinned = NULL;
    X509 *sim_pinned = NULL;
    EVP_PKEY *att_key = NULL;
    STACK_OF(X509) *chain = NULL;
    ncsl_quote_verify_opts defaults;
    ncsl_sgx_quote q;
    ncsl_err perr;
    const char *field = NULL;

    if (!out) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "out", "no output verdict");
    }
    memset(out, 0, sizeof(*out));
    if (!opts) {
        ncsl_attest_quote_verify_opts_default(&defaults);
        opts = &defaults;
    }
    out->checked_at = opts->at_time ? opts->at_time : (int64_t)time(NULL);
    if (!buf) {
        field = "buf";
        st = reject(out, NCSL_ATTEST_STEP_SETUP, NCSL_E_INVALID_ARG, "no quote buffer");
        goto out;
    }
    if (opts->root_pem) {
        pinned = load_root(opts->root_pem, opts->root_pem_len);
    } else {
        size_t n = 0;
        const char *pem = ncsl_attest_intel_root_ca_pem(&n);
        pinned = load_root(pem, n);
    }
    if (!pinned) {
        field = "root_pem";
        st = reject(out, NCSL_ATTEST_STEP_SETUP, NCSL_E_INVALID_ARG,
                    "the pinned root is not exactly one PEM certificate");
        goto out;
    }

    if (opts->allow_simulation && opts->simulation_root_pem) {
        sim_pinned = load_root(opts->simulation_root_pem, opts->simulation_root_pem_len);
        if (!sim_pinned) {
            field = "simulation_root_pem";
            st = reject(out, NCSL_ATTEST_STEP_SETUP, NCSL_E_INVALID_ARG,
                        "the pinned simulation root is not exactly one PEM certificate");
            goto out;
        }
    }

    /* Layout. */
    st = ncsl_attest_quote_parse(buf, len, &q, &perr);
    if (st != NCSL_OK) {
        field = "quote";
        st = reject(out, NCSL_ATTEST_STEP_PARSE, st, "quote layout: %s", perr.message);
        goto out;
    }
    copy_fields(out, &q);

    /* (1) version and key type. */
    if (q.version != 3) {
        st = reject(out, NCSL_ATTEST_STEP_VERSION, NCSL_E_ATTEST_UNSUPPORTED,
                    "quote version %u is not supported (only 3)", (unsigned)q.version);
        goto out;
    }
    if (q.att_key_type != 2) {
        st = reject(out, NCSL_ATTEST_STEP_VERSION, NCSL_E_ATTEST_UNSUPPORTED,
                    "attestation key type %u is not supported (only 2, ECDSA-256 P-256)",
                    (unsigned)q.att_key_type);
        goto out;
    }

    /* (2) ISV report signature by the attestation key. */
    att_key = ncsl__attest_p256_from_raw(q.attestation_key);
    if (!att_key) {
        st = reject(out, NCSL_ATTEST_STEP_ISV_SIGNATURE, NCSL_E_ATTEST_SIGNATURE,
                    "attestation key is not a valid P-256 point");
        goto out;
    }
    int rc = ncsl__attest_ecdsa_verify_raw(att_key, q.signed_data, NCSL_SGX_QUOTE_SIGNED_SIZE,
                                           q.isv_signature);
    if (rc < 0) {
        st = reject(out, NCSL_ATTEST_STEP_SETUP, NCSL_E_NOMEM, "out of memory (ISV signature)");
        goto out;
    }
    if (rc == 0) {
        st = reject(out, NCSL_ATTEST_STEP_ISV_SIGNATURE, NCSL_E_ATTEST_SIGNATURE,
                    "ISV report signature does not verify with the attestation key");
        goto out;
    }

    /* (3) the QE report binds the attestation key and QE auth data. */
    rc = qe_binding_ok(&q);
    if (rc < 0) {
        st = reject(out, NCSL_ATTEST_STEP_SETUP, NCSL_E_NOMEM, "out of memory (QE binding)");
        goto out;
    }
    if (rc == 0) {
        st = reject(out, NCSL_ATTEST_STEP_QE_BINDING, NCSL_E_ATTEST_SIGNATURE,
                    "QE report data does not bind the attestation key and QE auth data");
        goto out;
    }

    /* (4) QE report signature by the PCK leaf key. */
    char why[160];
    if (!ncsl__attest_pem_chain_parse(q.pem_chain, q.pem_chain_len, &chain, why, sizeof(why))) {
        st = reject(out, NCSL_ATTEST_STEP_QE_SIGNATURE, NCSL_E_ATTEST_CHAIN, "PCK chain: %s", why);
        goto out;
    }
    EVP_PKEY *leaf_key = X509_get0_pubkey(sk_X509_value(chain, 0));
    if (!ncsl__attest_pkey_is_p256(leaf_key)) {
        st = reject(out, NCSL_ATTEST_STEP_QE_SIGNATURE, NCSL_E_ATTEST_CHAIN,
                    "PCK leaf certificate key is not an ECDSA P-256 key");
        goto out;
    }
    rc = ncsl__attest_ecdsa_verify_raw(leaf_key, q.qe_report_raw, NCSL_SGX_REPORT_BODY_SIZE,
                                       q.qe_report_signature);
    if (rc < 0) {
        st = reject(out, NCSL_ATTEST_STEP_SETUP, NCSL_E_NOMEM, "out of memory (QE signature)");
        goto out;
    }
    if (rc == 0) {
        st = reject(out, NCSL_ATTEST_STEP_QE_SIGNATURE, NCSL_E_ATTEST_SIGNATURE,
                    "QE report signature does not verify with the PCK leaf key");
        goto out;
    }

    /* (5) the PCK chain to the pinned root, as of checked_at. A simulation quote (its root, the
     * pinned root or its QE vendor id says so) is never judged against the hardware root: it
     * can only pass as simulation, explicitly allowed, against the pinned simulation root. */
    bool sim_quote = cert_is_sim_root(sk_X509_value(chain, 2)) || cert_is_sim_root(pinned) ||
                     memcmp(q.qe_vendor_id, g_sim_qe_vendor_id, sizeof(g_sim_qe_vendor_id)) == 0;
    if (!sim_quote) {
        st = check_chain(out, chain, pinned, out->checked_at);
        if (st == NCSL_OK) {
            goto hardware;
        }
        /* Not a simulation quote: a simulation root cannot rescue it (check_chain requires the
         * quote's root to have the pinned root's subject, and this one is not a sim root). */
        goto out;
    }
    if (!opts->allow_simulation) {
        st = reject(out, NCSL_ATTEST_STEP_PCK_CHAIN, NCSL_E_ATTEST_CHAIN,
                    "simulation quote (its PCK chain ends in \"%s\"): simulation is not allowed; "
                    "set allow_simulation and pin that installation's simulation root to accept "
                    "it as simulation",
                    NCSL_ATTEST_SIM_ROOT_CN);
        goto out;
    }
    if (!sim_pinned) {
        st = reject(out, NCSL_ATTEST_STEP_PCK_CHAIN, NCSL_E_ATTEST_CHAIN,
                    "simulation quote: allow_simulation is set but no simulation root is pinned "
                    "(simulation_root_pem)");
        goto out;
    }
    st = check_chain(out, chain, sim_pinned, out->checked_at);
    if (st != NCSL_OK) {
        if (st == NCSL_E_ATTEST_CHAIN) {
            char inner[sizeof(out->reason)];
            snprintf(inner, sizeof(inner), "%s", out->reason);
            reject(out, NCSL_ATTEST_STEP_PCK_CHAIN, st,
                   "simulation quote does not chain to the pinned simulation root (another "
                   "installation's?): %s",
                   inner);
        }
        goto out;
    }
    out->valid = true;
    out->failed_step = NCSL_ATTEST_STEP_NONE;
    out->reason[0] = '\0';
    out->tee_kind = NCSL_ATTEST_TEE_SIMULATION;
    out->collateral_checked = false;
    snprintf(out->note, sizeof(out->note), "simulation quote (allowed explicitly)");
    goto out;

hardware:

    /* (7) reported: FMSPC, when the leaf carries it. */
    out->has_fmspc = ncsl__attest_pck_fmspc(sk_X509_value(chain, 0), out->fmspc);

    /* (6) collateral, at the same time and against the same root as the chain. */
    if (opts->collateral) {
        st = ncsl__attest_collateral_check(out, opts->collateral, chain, pinned, &q);
        if (st != NCSL_OK) {
            field = "collateral";
            goto out;
        }
    }
    out->valid = true;
    out->failed_step = NCSL_ATTEST_STEP_NONE;
    out->reason[0] = '\0';
    out->tee_kind = NCSL_ATTEST_TEE_SGX_HARDWARE;
    out->collateral_checked = opts->collateral != NULL;

out:
    sk_X509_pop_free(chain, X509_free);
    EVP_PKEY_free(att_key);
    X509_free(sim_pinned);
    X509_free(pinned);
    ERR_clear_error();
    if (st != NCSL_OK) {
        ncsl_err_set(err, st, field, "%s", out->reason);
    }
    return st;
}
