/* The JS unit tests' shared fixture (js_fixture.h). */
#include "js_fixture.h"

#include <string.h>

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
