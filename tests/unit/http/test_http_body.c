/* The execute-javascript body parser and the Content-Type check, table-driven: accepted shapes
 * (the seed guide's string form and plain JSON values) and every rejection with its field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http/http.h"

typedef struct good_case {
    const char *body;
    const char *input_json; /* NULL: no input */
    size_t secret_count;
    const char *function_id;
} good_case;

static void test_parse_good(void **state) {
    (void)state;
    const good_case cases[] = {
        /* the seed guide's request, verbatim */
        {"{\"code\": \"function main(input) { return { result: input.value * 2 }; }\", "
         "\"input\": \"{ \\\"value\\\": 42 }\", \"secrets\": \"{}\", \"functionId\": "
         "\"test-function\", \"userId\": \"test-user\"}",
         "{ \"value\": 42 }", 0, "test-function"},
        {"{\"code\":\"x\",\"input\":{\"value\":42},\"secrets\":{\"K\":\"v\"}}", "{\"value\":42}", 1,
         NULL},
        {"{\"code\":\"x\",\"input\":[1,2]}", "[1,2]", 0, NULL},
        {"{\"code\":\"x\",\"input\":7}", "7", 0, NULL},
        {"{\"code\":\"x\",\"input\":null}", NULL, 0, NULL},
        {"{\"code\":\"x\"}", NULL, 0, NULL},
        {"{\"code\":\"x\",\"secrets\":\"{\\\"A\\\":\\\"1\\\",\\\"B\\\":\\\"2\\\"}\"}", NULL, 2,
         NULL},
        {"{\"code\":\"x\",\"future\":true}", NULL, 0, NULL}, /* unknown fields are ignored */
    };
    for (size_t i = 0; i < NCSL_ARRAY_LEN(cases); i++) {
        ncsl_http_exec_body b;
        ncsl_err err;
        ncsl_status st = ncsl_http_parse_execute(cases[i].body, strlen(cases[i].body), &b, &err);
        if (st != NCSL_OK) {
            fail_msg("case %zu: %s: %s", i, err.field, err.message);
        }
        if (cases[i].input_json) {
            assert_non_null(b.input_json);
            assert_int_equal(b.input_len, strlen(cases[i].input_json));
            assert_memory_equal(b.input_json, cases[i].input_json, b.input_len);
        } else if (b.input_json) {
            assert_string_equal(b.input_json, "null");
        }
        assert_int_equal(b.secret_count, cases[i].secret_count);
        if (cases[i].function_id) {
            assert_string_equal(b.function_id, cases[i].function_id);
        }
        ncsl_http_exec_body_cleanup(&b);
    }
}

typedef struct bad_case {
    const char *body;
    const char *field;
} bad_case;

static void test_parse_bad(void **state) {
    (void)state;
    const bad_case cases[] = {
        {"", "body"},
        {"{", "body"},
        {"[]", "body"},
        {"\"code\"", "body"},
        {"{\"code\":\"x\",\"code\":\"y\"}", "body"}, /* duplicate keys */
        {"{}", "code"},
        {"{\"code\":\"\"}", "code"},
        {"{\"code\":1}", "code"},
        {"{\"code\":null}", "code"},
        {"{\"code\":\"x\",\"input\":\"{not json\"}", "input"},
        {"{\"code\":\"x\",\"secrets\":[]}", "secrets"},
        {"{\"code\":\"x\",\"secrets\":\"[1]\"}", "secrets"},
        {"{\"code\":\"x\",\"secrets\":\"{bad\"}", "secrets"},
        {"{\"code\":\"x\",\"secrets\":{\"K\":5}}", "secrets.K"},
        {"{\"code\":\"x\",\"functionId\":5}", "functionId"},
        {"{\"code\":\"x\",\"userId\":{}}", "userId"},
    };
    for (size_t i = 0; i < NCSL_ARRAY_LEN(cases); i++) {
        ncsl_http_exec_body b;
        ncsl_err err;
        ncsl_status st = ncsl_http_parse_execute(cases[i].body, strlen(cases[i].body), &b, &err);
        if (st != NCSL_E_INVALID_ARG || strcmp(err.field, cases[i].field) != 0) {
            fail_msg("case %zu (%s): status %d field '%s' (%s), want field '%s'", i, cases[i].body,
                     st, err.field, err.message, cases[i].field);
        }
    }
}

static void test_secret_never_in_error(void **state) {
    (void)state;
    const char *body =
        "{\"code\":\"x\",\"secrets\":{\"K\":\"TOPSECRET-VALUE\",\"L\":[\"TOPSECRET\"]}}";
    ncsl_http_exec_body b;
    ncsl_err err;
    assert_int_equal(ncsl_http_parse_execute(body, strlen(body), &b, &err), NCSL_E_INVALID_ARG);
    assert_null(strstr(err.message, "TOPSECRET"));
    const char *broken = "{\"code\":\"x\",\"secrets\":{\"K\":\"TOPSECRET-VALUE\" oops}}";
    assert_int_equal(ncsl_http_parse_execute(broken, strlen(broken), &b, &err), NCSL_E_INVALID_ARG);
    assert_string_equal(err.field, "body");
    assert_null(strstr(err.message, "TOPSECRET"));
}

static void test_content_type(void **state) {
    (void)state;
    assert_true(ncsl_http_content_type_is_json("application/json"));
    assert_true(ncsl_http_content_type_is_json("application/json; charset=utf-8"));
    assert_true(ncsl_http_content_type_is_json("Application/JSON"));
    assert_false(ncsl_http_content_type_is_json("text/plain"));
    assert_false(ncsl_http_content_type_is_json("application/jsonx"));
    assert_false(ncsl_http_content_type_is_json(""));
    assert_false(ncsl_http_content_type_is_json(NULL));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_good),
        cmocka_unit_test(test_parse_bad),
        cmocka_unit_test(test_secret_never_in_error),
        cmocka_unit_test(test_content_type),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
