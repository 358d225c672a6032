/*
 * `ncsl verify-quote QUOTE.bin`: verifies a raw SGX DCAP v3 quote with the library's verifier
 * (src/attest) and prints its verdict as one JSON object. Genuine quotes chain to the pinned
 * Intel SGX Root CA; simulation quotes pass only with --allow-simulation, against one
 * installation's simulation root, and are reported as "simulation", never as hardware. With
 * --collateral DIR the verifier also checks Intel's collateral (TCB info, QE identity, CRLs) and
 * the verdict reports the platform's TCB status. The options are cli_trust.c's, shared with
 * `ncsl verify` and `ncsl verify-receipt`.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli_trust.h"
#include "common/common.h"
#include "keys/trust_util.h"

#define QUOTE_MAX ((size_t)1 << 20)

static void vq_usage(FILE *f) {
    fprintf(f,
            "usage: ncsl verify-quote [options] QUOTE.bin\n"
            "\n"
            "Verifies an Intel SGX DCAP v3 ECDSA quote ('-' reads it from stdin): the layout, the\n"
            "enclave report's signature by the attestation key, the Quoting Enclave's binding of\n"
            "that key, the QE report's signature by the PCK certificate, and the PCK chain to the\n"
            "pinned Intel SGX Root CA; with --collateral also the TCB level and revocation.\n"
            "Prints a JSON verdict with the enclave's identity (mrEnclave, mrSigner, isvProdId,\n"
            "isvSvn, debug, reportData) and, with --collateral, the TCB status.\n"
            "\n"
            "options:\n");
    ncsl_cli_verify_usage(f, false);
    fprintf(f,
            "  -h, --help             show this help and exit\n"
            "\n"
            "Exit status: 0 the quote is valid; 1 it is not (the verdict says which check failed\n"
            "and why) or it could not be read; 2 bad usage.\n");
}

static const char *step_name(ncsl_attest_step s) {
    switch (s) {
    case NCSL_ATTEST_STEP_NONE:
        return NULL;
    case NCSL_ATTEST_STEP_PARSE:
        return "parse";
    case NCSL_ATTEST_STEP_VERSION:
        return "version";
    case NCSL_ATTEST_STEP_ISV_SIGNATURE:
        return "isv-report-signature";
    case NCSL_ATTEST_STEP_QE_BINDING:
        return "qe-report-data-binding";
    case NCSL_ATTEST_STEP_QE_SIGNATURE:
        return "qe-report-signature";
    case NCSL_ATTEST_STEP_PCK_CHAIN:
        return "pck-certificate-chain";
    case NCSL_ATTEST_STEP_COLLATERAL:
        return "collateral";
    case NCSL_ATTEST_STEP_SETUP:
        return "setup";
    }
    return "other";
}

static json_t *verdict_json(const ncsl_quote_verdict *v) {
    json_t *o = json_object();
    if (!o) {
        return NULL;
    }
    const char *kind = v->tee_kind == NCSL_ATTEST_TEE_SGX_HARDWARE ? "sgx"
                       : v->tee_kind == NCSL_ATTEST_TEE_SIMULATION ? "simulation"
                                                                   : NULL;
    const char *step = step_name(v->failed_step);
    char at[32] = "";
    time_t t = (time_t)v->checked_at;
    struct tm tm;
    if (gmtime_r(&t, &tm)) {
        strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    json_object_set_new(o, "valid", json_boolean(v->valid));
    json_object_set_new(o, "reason", json_string(v->valid ? "" : v->reason));
    json_object_set_new(o, "failedStep", step ? json_string(step) : json_null());
    json_object_set_new(o, "teeType", kind ? json_string(kind) : json_null());
    json_object_set_new(o, "note", json_string(v->note));
    json_object_set_new(o, "checkedAt", json_string(at));
    json_object_set_new(o, "collateralChecked", json_boolean(v->collateral_checked));
    if (v->fields_present) {
        json_object_set_new(o, "version", json_integer(v->version));
        json_object_set_new(o, "attestationKeyType", json_integer(v->att_key_type));
        json_object_set_new(o, "qeSvn", json_integer(v->qe_svn));
        json_object_set_new(o, "pceSvn", json_integer(v->pce_svn));
        json_object_set_new(o, "debug", json_boolean(v->debug));
        (void)ncsl__trust_json_set_hex(o, "mrEnclave", v->mr_enclave, sizeof(v->mr_enclave));
        (void)ncsl__trust_json_set_hex(o, "mrSigner", v->mr_signer, sizeof(v->mr_signer));
        json_object_set_new(o, "isvProdId", json_integer(v->isv_prod_id));
        json_object_set_new(o, "isvSvn", json_integer(v->isv_svn));
        (void)ncsl__trust_json_set_hex(o, "cpuSvn", v->cpu_svn, sizeof(v->cpu_svn));
        (void)ncsl__trust_json_set_hex(o, "attributes", v->attributes, sizeof(v->attributes));
        (void)ncsl__trust_json_set_hex(o, "reportData", v->report_data, sizeof(v->report_data));
        if (v->has_fmspc) {
            (void)ncsl__trust_json_set_hex(o, "fmspc", v->fmspc, sizeof(v->fmspc));
        } else {
            json_object_set_new(o, "fmspc", json_null());
        }
    }
    return o;
}

int ncsl_cli_cmd_verify_quote(int argc, char **argv) {
    ncsl_cli_verify_args a;
    memset(&a, 0, sizeof(a));
    ncsl_cli_opt opts[NCSL_CLI_VERIFY_PROOF_OPTS];
    size_t nopts = ncsl_cli_verify_opts(&a, false, opts);
    const char *file = NULL;
    int rc = ncsl_cli_parse_one_file("verify-quote", argc, argv, opts, nopts, vq_usage, "QUOTE.bin",
                                     &file);
    if (rc >= 0) {
        return rc;
    }
    ncsl_cli_verify_ctx ctx;
    memset(&ctx, 0, sizeof(ctx));
    ncsl_proof_verify_opts po;
    if (!ncsl_cli_verify_check("verify-quote", &a, &ctx, &po)) {
        return NCSL_CLI_EXIT_USAGE;
    }

    int exit_code = NCSL_CLI_EXIT_FAIL;
    json_t *o = NULL;
    size_t qlen = 0;
    uint8_t *quote = (uint8_t *)ncsl_cli_read_file(file, QUOTE_MAX, &qlen);
    if (!quote) {
        ncsl_cli_errorf("cannot read %s: %s", file,
                        errno == EFBIG ? "larger than 1 MiB, not a quote" : strerror(errno));
        goto out;
    }
    if (!ncsl_cli_verify_load("verify-quote", &a, &ctx, &po)) {
        goto out;
    }
    ncsl_quote_verdict v;
    ncsl_err err;
    ncsl_err_clear(&err);
    ncsl_status st = ncsl_attest_quote_verify(quote, qlen, &po.quote, &v, &err);
    if (st == NCSL_E_INVALID_ARG || st == NCSL_E_NOMEM) {
        ncsl_cli_errorf("verify-quote: the quote could not be judged: %s", err.message);
        goto out;
    }
    o = verdict_json(&v);
    if (!o || !ncsl_cli_verdict_amend(o, "reason", &v, &a)) {
        ncsl_cli_errorf("verify-quote: out of memory");
        goto out;
    }
    if (ncsl_cli_print_json(o) && st == NCSL_OK && v.valid) {
        exit_code = NCSL_CLI_EXIT_OK;
    }
out:
    json_decref(o);
    free(quote);
    ncsl_cli_verify_cleanup(&ctx);
    return exit_code;
}
