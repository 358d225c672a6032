/*
 * Fuzz target `quote`: the SGX DCAP v3 quote parser and verifier (src/attest) on untrusted quote
 * bytes, with the built-in Intel root and a fixed time (2026-11-24T00:00:00Z) so that results do
 * not change with the clock. After a successful parse, every borrowed pointer must lie inside
 * the input.
 */
#include <stdint.h>

#include "attest/attest.h"
#include "fuzz.h"

#define FUZZ_QUOTE_AT_TIME INT64_C(1795478400) /* 2026-11-24T00:00:00Z */

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    ncsl_fuzz_quiet_logs();
    return 0;
}

/* True when [p, p + n) lies inside [buf, buf + len). */
static int inside(const uint8_t *buf, size_t len, const void *p, size_t n) {
    const uint8_t *q = p;
    return q >= buf && n <= len && (size_t)(q - buf) <= len - n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ncsl_sgx_quote q;
    ncsl_err err;
    if (ncsl_attest_quote_parse(data, size, &q, &err) == NCSL_OK) {
        NCSL_FUZZ_CHECK(size >= NCSL_SGX_QUOTE_MIN_SIZE);
        NCSL_FUZZ_CHECK(inside(data, size, q.signed_data, NCSL_SGX_QUOTE_SIGNED_SIZE));
        NCSL_FUZZ_CHECK(inside(data, size, q.qe_report_raw, NCSL_SGX_REPORT_BODY_SIZE));
        NCSL_FUZZ_CHECK(q.qe_auth_data_len == 0 ||
                        inside(data, size, q.qe_auth_data, q.qe_auth_data_len));
        NCSL_FUZZ_CHECK(q.cert_data_type == NCSL_SGX_CERT_TYPE_PCK_CHAIN);
        NCSL_FUZZ_CHECK(q.pem_chain_len == 0 || inside(data, size, q.pem_chain, q.pem_chain_len));
    }

    ncsl_quote_verify_opts opts;
    ncsl_attest_quote_verify_opts_default(&opts);
    opts.at_time = FUZZ_QUOTE_AT_TIME;
    ncsl_quote_verdict v;
    ncsl_status st = ncsl_attest_quote_verify(data, size, &opts, &v, &err);
    NCSL_FUZZ_CHECK((st == NCSL_OK) == v.valid);
    NCSL_FUZZ_CHECK(v.valid == (v.failed_step == NCSL_ATTEST_STEP_NONE));
    NCSL_FUZZ_CHECK(st != NCSL_E_INVALID_ARG); /* the options are fine: the quote is judged */
    return 0;
}
