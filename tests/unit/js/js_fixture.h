/*
 * What the JS unit tests share: a cmocka group fixture that gives each test a runtime in *state,
 * and one call of a source with given limits.
 */
#ifndef NCSL_TEST_JS_FIXTURE_H
#define NCSL_TEST_JS_FIXTURE_H

#include <jansson.h>

#include "js/js.h"

/* cmocka setup/teardown: *state is an ncsl_js_runtime (setup returns -1 when it cannot make it). */
int js_fixture_setup_rt(void **state);
int js_fixture_teardown_rt(void **state);

/* The limits the JS unit tests run with: 64 MiB heap, 20 s, 512 KiB stack, 4 MiB output,
 * 4 KiB of logs, the default gas limit. Tests change the fields they need. */
ncsl_js_limits js_fixture_limits(void);

/* The result of a call that must have succeeded (`st` and `o` from ncsl_js_run), parsed; prints
 * the error and fails the test otherwise. Cleans `o` up; free the value with json_decref. */
json_t *js_fixture_result_json(ncsl_status st, ncsl_js_outcome *o);

/* Runs main(input) of `code` (NUL-terminated; input NULL = null) with `limits` on `rt`. */
ncsl_status js_fixture_run(ncsl_js_runtime *rt, const char *code, const char *input,
                           const ncsl_js_limits *limits, ncsl_js_outcome *o);

#endif
