/*
 * What the JS unit tests share: a cmocka group fixture that gives each test a runtime in *state,
 * and one call of a source with given limits.
 */
#ifndef NCSL_TEST_JS_FIXTURE_H
#define NCSL_TEST_JS_FIXTURE_H

#include "js/js.h"

/* cmocka setup/teardown: *state is an ncsl_js_runtime (setup returns -1 when it cannot make it). */
int js_fixture_setup_rt(void **state);
int js_fixture_teardown_rt(void **state);

/* Runs main(input) of `code` (NUL-terminated; input NULL = null) with `limits` on `rt`. */
ncsl_status js_fixture_run(ncsl_js_runtime *rt, const char *code, const char *input,
                           const ncsl_js_limits *limits, ncsl_js_outcome *o);

#endif
