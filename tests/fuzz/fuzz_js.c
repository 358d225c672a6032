/*
 * Fuzz target `js`: fuzzer-made JavaScript source through the sandbox (ncsl_js_run), with small
 * limits so that hostile programs (loops, memory and stack bombs, huge results) end quickly.
 * Source without a `main` is fine: it ends as NCSL_E_JS_NO_MAIN or NCSL_E_JS_SYNTAX.
 *
 * One runtime for the process (LLVMFuzzerInitialize), as one ncsld worker reuses its runtime for
 * every call: a call must never leave it unusable for the next one. The release QuickJS-ng is
 * not instrumented, so coverage comes from our bindings (src/js).
 */
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "js/js.h"

static ncsl_js_runtime *g_rt;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    ncsl_fuzz_quiet_logs();
    ncsl_err err;
    if (ncsl_js_runtime_create(&g_rt, &err) != NCSL_OK) {
        fprintf(stderr, "fuzz_js: ncsl_js_runtime_create: %s\n", err.message);
        abort();
    }
    return 0;
}

static int is_js_failure(ncsl_status st) {
    return st >= NCSL_E_JS_EXCEPTION && st <= NCSL_E_JS_BAD_RESULT;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char input[] = "{\"value\":42,\"list\":[1,\"two\",null],\"nested\":{\"ok\":true}}";
    static const ncsl_secret secrets[] = {
        {"API_KEY", "s3cr3t", 6},
        {"EMPTY", "", 0},
    };
    ncsl_js_call call = {
        .code = (const char *)data,
        .code_len = size,
        .input_json = input,
        .input_len = sizeof(input) - 1,
        .secrets = secrets,
        .secret_count = NCSL_ARRAY_LEN(secrets),
        .limits =
            {
                .memory_bytes = 8u * 1024u * 1024u,
                .timeout_ms = 50,
                .stack_bytes = 256u * 1024u,
                .max_output_bytes = 64u * 1024u,
                .max_log_bytes = 4u * 1024u,
            },
    };
    ncsl_js_outcome out;
    ncsl_err err;
    ncsl_status st = ncsl_js_run(g_rt, &call, &out, &err);
    if (st == NCSL_OK) {
        NCSL_FUZZ_CHECK(out.status == NCSL_OK && out.result_json != NULL);
        NCSL_FUZZ_CHECK(out.result_len <= call.limits.max_output_bytes);
        NCSL_FUZZ_CHECK(strlen(out.result_json) == out.result_len);
    }
    if (st == NCSL_OK || is_js_failure(st)) {
        NCSL_FUZZ_CHECK(out.logs_json != NULL && out.logs_json[0] == '[');
        NCSL_FUZZ_CHECK(strlen(out.logs_json) == out.logs_len);
    }
    /* A host failure (out of memory in the host, a broken invariant) is a finding. */
    NCSL_FUZZ_CHECK(st == NCSL_OK || is_js_failure(st) || st == NCSL_E_NOMEM);
    ncsl_js_outcome_cleanup(&out);
    return 0;
}
