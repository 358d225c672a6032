/* The JS unit tests' shared fixture (js_fixture.h). */
#include "js_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define MIB ((size_t)1 << 20)

int js_fixture_setup_rt(void **state) {
    ncsl_js_runtime *rt = NULL;
    if (ncsl_js_runtime_create(&rt, NULL) != NCSL_OK) {
        return -1;
    }
    *state = rt;
    return 0;
}

int js_fixture_teardown_rt(void **state) {
    ncsl_js_runtime_destroy(*state);
    return 0;
}

ncsl_status js_fixture_run(ncsl_js_runtime *rt, const char *code, const char *input,
                           const ncsl_js_limits *limits, ncsl_js_outcome *o) {
    ncsl_js_call call = {
        .code = code,
        .code_len = strlen(code),
        .input_json = input,
        .input_len = input ? strlen(input) : 0,
        .limits = *limits,
    };
    return ncsl_js_run(rt, &call, o, NULL);
}

ncsl_js_limits js_fixture_limits(void) {
    ncsl_js_limits l = {
        .memory_bytes = 64 * MIB,
        .timeout_ms = 20000,
        .stack_bytes = 512 * 1024,
        .max_output_bytes = 4 * MIB,
        .max_log_bytes = 4096,
    };
    return l;
}

json_t *js_fixture_result_json(ncsl_status st, ncsl_js_outcome *o) {
    if (st != NCSL_OK) {
        fprintf(stderr, "call failed: %d %s: %s\n%s\n", st, o->error_name ? o->error_name : "",
                o->error_message ? o->error_message : "", o->error_stack ? o->error_stack : "");
    }
    assert_int_equal(st, NCSL_OK);
    json_t *v = json_loadb(o->result_json, o->result_len, JSON_DECODE_ANY, NULL);
    assert_non_null(v);
    ncsl_js_outcome_cleanup(o);
    return v;
}
