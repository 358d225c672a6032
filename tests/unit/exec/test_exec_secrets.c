/* Parsing of the per-call `secrets` object: accepted shapes and every rejection, table-driven. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "exec/exec.h"

typedef struct bad_case {
    const char *json;
    const char *field;
    const char *message_part;
} bad_case;

static void test_parse_good(void **state) {
    (void)state;
    ncsl_secret *s = NULL;
    size_t n = 0;
    ncsl_err err;
    const char *json = "{\"API_KEY\":\"k-123\",\"wallet.key\":\"\",\"uni\":\"\\u00e9\\u0000x\"}";
    assert_int_equal(ncsl_secrets_parse_json(json, strlen(json), &s, &n, &err), NCSL_OK);
    assert_int_equal(n, 3);
    assert_string_equal(s[0].name, "API_KEY");
    assert_int_equal(s[0].value_len, 5);
    assert_memory_equal(s[0].value, "k-123", 5);
    assert_int_equal(s[1].value_len, 0);
    /* an embedded NUL survives: lengths, not C strings */
    assert_int_equal(s[2].value_len, 4);
    assert_memory_equal(s[2].value, "\xc3\xa9\0x", 4);
    ncsl_secrets_free(s, n);

    assert_int_equal(ncsl_secrets_parse_json("{}", 2, &s, &n, &err), NCSL_OK);
    assert_int_equal(n, 0);
    ncsl_secrets_free(s, n);
}

static void test_parse_bad(void **state) {
    (void)state;
    static char big_value[6000];
    static char many[4096];
    memset(big_value, 0, sizeof(big_value));
    strcpy(big_value, "{\"K\":\"");
    memset(big_value + 6, 'a', 4097);
    strcat(big_value, "\"}");
    strcpy(many, "{");
    for (int i = 0; i < 101; i++) {
        char one[32];
        snprintf(one, sizeof(one), "%s\"k%d\":\"v\"", i ? "," : "", i);
        strcat(many, one);
    }
    strcat(many, "}");
    const bad_case cases[] = {
        {"", "secrets", "not valid JSON"},
        {"{", "secrets", "not valid JSON"},
        {"[]", "secrets", "JSON object"},
        {"\"x\"", "secrets", "JSON object"},
        {"{\"A\":1}", "secrets.A", "must be strings"},
        {"{\"A\":null}", "secrets.A", "must be strings"},
        {"{\"A\":{\"b\":\"c\"}}", "secrets.A", "must be strings"},
        {"{\"\":\"v\"}", "secrets", "names are"},
        {"{\"a b\":\"v\"}", "secrets", "names are"},
        {"{\"A\":\"1\",\"A\":\"2\"}", "secrets", "not valid JSON"},
        {big_value, "secrets.K", "at most 4096 bytes"},
        {many, "secrets", "at most 100"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ncsl_secret *s = (ncsl_secret *)0x1;
        size_t n = 99;
        ncsl_err err;
        ncsl_status st =
            ncsl_secrets_parse_json(cases[i].json, strlen(cases[i].json), &s, &n, &err);
        assert_int_equal(st, NCSL_E_INVALID_ARG);
        assert_null(s);
        assert_int_equal(n, 0);
        assert_string_equal(err.field, cases[i].field);
        if (!strstr(err.message, cases[i].message_part)) {
            fail_msg("case %zu: message '%s' lacks '%s'", i, err.message, cases[i].message_part);
        }
        /* a secret value never appears in an error */
        assert_null(strstr(err.message, "aaaa"));
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_good),
        cmocka_unit_test(test_parse_bad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
