/* common: JSON string escaping (table-driven), buffer limits, status table, ids, log levels. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/common.h"

typedef struct esc_case {
    const char *in;
    size_t len;
    const char *out;
} esc_case;

static void test_json_escape(void **state) {
    (void)state;
    const esc_case cases[] = {
        {"", 0, "\"\""},
        {"abc", 3, "\"abc\""},
        {"a\"b\\c", 5, "\"a\\\"b\\\\c\""},
        {"\n\r\t\b\f", 5, "\"\\n\\r\\t\\b\\f\""},
        {"\x01\x1f", 2, "\"\\u0001\\u001f\""},
        {"a\0b", 3, "\"a\\u0000b\""},
        {"\xc3\xa9", 2, "\"\xc3\xa9\""},                 /* valid 2-byte UTF-8 kept */
        {"\xf0\x9f\x98\x80", 4, "\"\xf0\x9f\x98\x80\""}, /* valid 4-byte kept */
        {"\xff", 1, "\"\xef\xbf\xbd\""},                 /* invalid byte -> U+FFFD */
        {"\xc3", 1, "\"\xef\xbf\xbd\""},                 /* truncated sequence */
        {"\xc0\xaf", 2, "\"\xef\xbf\xbd\xef\xbf\xbd\""}, /* overlong */
        {"\xed\xa0\x80", 3, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""}, /* surrogate */
    };
    for (size_t i = 0; i < NCSL_ARRAY_LEN(cases); i++) {
        ncsl_buf b;
        ncsl_buf_init(&b, 0);
        ncsl_buf_append_json_string(&b, cases[i].in, cases[i].len);
        assert_false(b.oom);
        if (strcmp(b.data, cases[i].out) != 0) {
            fail_msg("case %zu: got %s want %s", i, b.data, cases[i].out);
        }
        ncsl_buf_cleanup(&b);
    }
}

static void test_buf_limit_and_growth(void **state) {
    (void)state;
    ncsl_buf b;
    ncsl_buf_init(&b, 10);
    ncsl_buf_append_str(&b, "12345");
    ncsl_buf_append_str(&b, "67890");
    assert_false(b.over_limit);
    ncsl_buf_append_str(&b, "x");
    assert_true(b.over_limit);
    assert_int_equal(b.len, 10);
    assert_string_equal(b.data, "1234567890");
    ncsl_buf_cleanup(&b);

    ncsl_buf_init(&b, 0);
    for (int i = 0; i < 10000; i++) {
        ncsl_buf_printf(&b, "%d,", i);
    }
    assert_false(b.oom);
    assert_int_equal(strncmp(b.data, "0,1,2,", 6), 0);
    size_t len = 0;
    char *s = ncsl_buf_steal(&b, &len);
    assert_int_equal(strlen(s), len);
    assert_null(b.data);
    free(s);
    ncsl_buf_cleanup(&b);
}

static void test_status_table(void **state) {
    (void)state;
    assert_string_equal(ncsl_status_code(NCSL_OK), "OK");
    assert_string_equal(ncsl_status_code(NCSL_E_JS_TIMEOUT), "TIMEOUT");
    assert_string_equal(ncsl_status_code(NCSL_E_JS_MEMORY), "MEMORY_LIMIT");
    assert_string_equal(ncsl_status_code(NCSL_E_JS_STACK), "STACK_OVERFLOW");
    assert_string_equal(ncsl_status_code(NCSL_E_JS_OUTPUT_TOO_LARGE), "OUTPUT_TOO_LARGE");
    assert_string_equal(ncsl_status_code(NCSL_E_JS_EXCEPTION), "EXECUTION_ERROR");
    assert_string_equal(ncsl_status_code(NCSL_E_BUSY), "SERVICE_UNAVAILABLE");
    assert_string_equal(ncsl_status_code(NCSL_E_INVALID_ARG), "VALIDATION_ERROR");
    assert_int_equal(ncsl_status_http(NCSL_E_BUSY), 503);
    assert_int_equal(ncsl_status_http(NCSL_E_PAYLOAD_TOO_LARGE), 413);
    assert_int_equal(ncsl_status_http(NCSL_E_INVALID_ARG), 400);
    assert_int_equal(ncsl_status_http((ncsl_status)99999), 500);
    assert_string_equal(ncsl_status_code((ncsl_status)99999), "INTERNAL_ERROR");
}

static void test_uuid_and_time(void **state) {
    (void)state;
    char a[37], b[37];
    assert_int_equal(ncsl_uuid_v4(a), NCSL_OK);
    assert_int_equal(ncsl_uuid_v4(b), NCSL_OK);
    assert_int_equal(strlen(a), 36);
    assert_string_not_equal(a, b);
    assert_int_equal(a[14], '4');
    assert_true(strchr("89ab", a[19]) != NULL);
    char ts[40];
    ncsl_time_rfc3339(ts, sizeof(ts));
    assert_int_equal(strlen(ts), 24);
    assert_int_equal(ts[23], 'Z');
    uint64_t t0 = ncsl_now_us();
    assert_true(ncsl_now_us() >= t0);
}

static void test_err_and_levels(void **state) {
    (void)state;
    ncsl_err err;
    assert_int_equal(ncsl_err_set(&err, NCSL_E_CONFIG, "Server.Listen", "bad %s", "port"),
                     NCSL_E_CONFIG);
    assert_string_equal(err.field, "Server.Listen");
    assert_string_equal(err.message, "bad port");
    assert_int_equal(ncsl_err_set(NULL, NCSL_E_IO, NULL, "x"), NCSL_E_IO);
    ncsl_err_clear(&err);
    assert_int_equal(err.code, NCSL_OK);
    assert_int_equal(ncsl_log_level_parse("DEBUG"), NCSL_LOG_LEVEL_DEBUG);
    assert_int_equal(ncsl_log_level_parse("warning"), NCSL_LOG_LEVEL_WARN);
    assert_int_equal(ncsl_log_level_parse("loud"), -1);
    assert_int_equal(ncsl_log_level_parse(NULL), -1);
}

typedef struct captured {
    int lines;
    char last[2048];
} captured;

static void capture_sink(void *user, ncsl_log_level level, const char *line, size_t len) {
    (void)level;
    captured *c = user;
    c->lines++;
    snprintf(c->last, sizeof(c->last), "%.*s", (int)len, line);
}

static void test_log_lines_are_json(void **state) {
    (void)state;
    captured c = {0};
    ncsl_log_set_sink(capture_sink, &c);
    ncsl_log_set_level(NCSL_LOG_LEVEL_INFO);
    NCSL_LOG_DEBUG("test", "hidden %d", 1);
    assert_int_equal(c.lines, 0);
    NCSL_LOG_WARN("test", "quote \" and newline \n here");
    assert_int_equal(c.lines, 1);
    assert_non_null(strstr(c.last, "\"level\":\"warn\""));
    assert_non_null(strstr(c.last, "quote \\\" and newline \\n here"));
    assert_null(strchr(c.last, '\n'));
    ncsl_log_set_sink(NULL, NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_escape),    cmocka_unit_test(test_buf_limit_and_growth),
        cmocka_unit_test(test_status_table),   cmocka_unit_test(test_uuid_and_time),
        cmocka_unit_test(test_err_and_levels), cmocka_unit_test(test_log_lines_are_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
