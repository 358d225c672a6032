/*
 * The strict helpers proof and receipt share (src/keys/trust_util.h): canonical timestamps,
 * strict base64 (RFC 4648 vectors), UTF-8 validation and the JSON field readers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "keys/trust_util.h"

static void test_time(void **unused) {
    char buf[32];
    uint64_t ms = 0;
    static const struct {
        uint64_t ms;
        const char *text;
    } vec[] = {
        {0, "1970-01-01T00:00:00.000Z"},
        {951782400000ull, "2000-02-29T00:00:00.000Z"}, /* leap day of a 400-year leap year */
        {1795532400123ull, "2026-11-24T15:00:00.123Z"},
        {4107542399999ull, "2100-02-28T23:59:59.999Z"}, /* 2100 is not a leap year */
        {4107542400000ull, "2100-03-01T00:00:00.000Z"},
        {NCSL__TRUST_TIME_MAX_MS, "9999-12-31T23:59:59.999Z"},
    };
    for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
        assert_true(ncsl__trust_time_format(vec[i].ms, buf, sizeof(buf)));
        assert_string_equal(buf, vec[i].text);
        assert_true(ncsl__trust_time_parse(vec[i].text, strlen(vec[i].text), &ms));
        assert_int_equal(ms, vec[i].ms);
    }
    assert_false(ncsl__trust_time_format(NCSL__TRUST_TIME_MAX_MS + 1, buf, sizeof(buf)));
    assert_false(ncsl__trust_time_format(0, buf, 24)); /* no room for the NUL */

    static const char *const bad[] = {
        "2026-11-24T15:00:00Z",          /* no fraction */
        "2026-11-24T15:00:00.12Z",       /* two digits */
        "2026-11-24T15:00:00.1234Z",     /* four */
        "2026-11-24t15:00:00.123Z",      /* lowercase t */
        "2026-11-24T15:00:00.123z",      /* lowercase z */
        "2026-11-24T15:00:00.123+00:00", /* an offset */
        "2026-11-24 15:00:00.123Z",      /* a space */
        "2001-02-29T00:00:00.000Z",      /* not a leap year */
        "2100-02-29T00:00:00.000Z",      /* not a leap year either */
        "2026-04-31T00:00:00.000Z",      /* April has 30 days */
        "2026-13-01T00:00:00.000Z",      /* month 13 */
        "2026-00-01T00:00:00.000Z",      /* month 0 */
        "2026-01-00T00:00:00.000Z",      /* day 0 */
        "2026-01-01T24:00:00.000Z",      /* hour 24 */
        "2026-01-01T23:60:00.000Z",      /* minute 60 */
        "2026-12-31T23:59:60.000Z",      /* leap second */
        "1969-12-31T23:59:59.999Z",      /* before the epoch */
        "+026-11-24T15:00:00.123Z",      /* a sign */
        "2026-11-24T15:00:0a.123Z",      /* a letter */
        "",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_false(ncsl__trust_time_parse(bad[i], strlen(bad[i]), &ms));
    }
    /* now is after 2020 and before 2200 */
    uint64_t now = ncsl__trust_now_ms();
    assert_true(now > 1577836800000ull && now < 7258118400000ull);
}

static void test_base64(void **unused) {
    static const struct {
        const char *plain;
        const char *b64;
    } vec[] = {{"", ""},
               {"f", "Zg=="},
               {"fo", "Zm8="},
               {"foo", "Zm9v"},
               {"foob", "Zm9vYg=="},
               {"fooba", "Zm9vYmE="},
               {"foobar", "Zm9vYmFy"}};
    for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
        size_t n = strlen(vec[i].plain);
        char *enc = ncsl__trust_base64_encode((const uint8_t *)vec[i].plain, n);
        assert_string_equal(enc, vec[i].b64);
        free(enc);
        uint8_t *dec = NULL;
        size_t dec_len = 99;
        assert_int_equal(
            ncsl__trust_base64_decode(vec[i].b64, strlen(vec[i].b64), &dec, &dec_len, NULL),
            NCSL_OK);
        assert_int_equal(dec_len, n);
        assert_memory_equal(dec, vec[i].plain, n);
        free(dec);
    }
    /* all 256 byte values round-trip, "+" and "/" included */
    uint8_t all[256];
    for (int i = 0; i < 256; i++) {
        all[i] = (uint8_t)i;
    }
    char *enc = ncsl__trust_base64_encode(all, sizeof(all));
    assert_non_null(strchr(enc, '+'));
    assert_non_null(strchr(enc, '/'));
    uint8_t *dec = NULL;
    size_t dec_len = 0;
    assert_int_equal(ncsl__trust_base64_decode(enc, strlen(enc), &dec, &dec_len, NULL), NCSL_OK);
    assert_int_equal(dec_len, 256);
    assert_memory_equal(dec, all, 256);
    free(dec);
    free(enc);

    static const char *const bad[] = {
        "Zg",       /* no padding */
        "Zg=",      /* short */
        "Zh==",     /* non-zero unused bits */
        "Zm9=",     /* non-zero unused bits */
        "Zm9v\n",   /* a line break */
        " Zm9v",    /* whitespace */
        "Zm-v",     /* URL-safe alphabet */
        "Zm_v",     /* URL-safe alphabet */
        "Zg==Zg==", /* padding in the middle */
        "=Zm9",     /* padding first */
        "Z===",     /* three pads */
        "====",     /* only padding */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        dec = (uint8_t *)bad; /* must be reset to NULL */
        ncsl_err err;
        assert_int_equal(ncsl__trust_base64_decode(bad[i], strlen(bad[i]), &dec, &dec_len, &err),
                         NCSL_E_INVALID_ARG);
        assert_null(dec);
        assert_int_equal(dec_len, 0);
    }
}

static void test_utf8(void **unused) {
    assert_true(ncsl__trust_utf8_valid("", 0));
    assert_true(ncsl__trust_utf8_valid("plain ascii", 11));
    assert_true(ncsl__trust_utf8_valid("caf\xC3\xA9", 5));       /* e-acute */
    assert_true(ncsl__trust_utf8_valid("\xE2\x82\xAC", 3));      /* euro sign */
    assert_true(ncsl__trust_utf8_valid("\xF0\x9F\x98\x80", 4));  /* emoji */
    assert_true(ncsl__trust_utf8_valid("\xF4\x8F\xBF\xBF", 4));  /* U+10FFFF */
    assert_false(ncsl__trust_utf8_valid("a\0b", 3));             /* NUL */
    assert_false(ncsl__trust_utf8_valid("\xC0\xAF", 2));         /* overlong '/' */
    assert_false(ncsl__trust_utf8_valid("\xE0\x80\xAF", 3));     /* overlong */
    assert_false(ncsl__trust_utf8_valid("\xF0\x80\x80\xAF", 4)); /* overlong */
    assert_false(ncsl__trust_utf8_valid("\xED\xA0\x80", 3));     /* surrogate */
    assert_false(ncsl__trust_utf8_valid("\xF4\x90\x80\x80", 4)); /* > U+10FFFF */
    assert_false(ncsl__trust_utf8_valid("\xC3", 1));             /* truncated */
    assert_false(ncsl__trust_utf8_valid("\xE2\x82", 2));         /* truncated */
    assert_false(ncsl__trust_utf8_valid("\x80", 1));             /* lone continuation */
    assert_false(ncsl__trust_utf8_valid("\xC3\x28", 2));         /* bad continuation */
    assert_false(ncsl__trust_utf8_valid("\xFF", 1));
}

static void test_json_readers(void **unused) {
    json_error_t jerr;
    json_t *j = json_loads("{\"s\":\"abc\",\"h\":\"00ff\",\"H\":\"00FF\",\"i\":7,\"f\":1.5,"
                           "\"b\":true,\"n\":null,\"z\":\"a\\u0000b\",\"e\":\"\"}",
                           JSON_ALLOW_NUL, &jerr);
    assert_non_null(j);
    ncsl_err err;
    const char *s = NULL;
    size_t n = 0;
    const ncsl_status bad = NCSL_E_RECEIPT_MALFORMED;
    assert_int_equal(ncsl__trust_json_string(j, "s", 1, 3, &s, &n, bad, &err), NCSL_OK);
    assert_int_equal(n, 3);
    assert_int_equal(ncsl__trust_json_string(j, "s", 4, 9, &s, &n, bad, &err), bad);
    assert_string_equal(err.field, "s");
    assert_int_equal(ncsl__trust_json_string(j, "missing", 0, 9, &s, &n, bad, &err), bad);
    assert_string_equal(err.field, "missing");
    assert_non_null(strstr(err.message, "missing"));
    assert_int_equal(ncsl__trust_json_string(j, "i", 0, 9, &s, &n, bad, &err), bad);
    assert_int_equal(ncsl__trust_json_string(j, "z", 0, 9, &s, &n, bad, &err), bad);
    assert_non_null(strstr(err.message, "NUL"));

    uint8_t out[4];
    size_t got = 0;
    assert_int_equal(ncsl__trust_json_hex(j, "h", out, 2, bad, &err), NCSL_OK);
    assert_int_equal(out[0], 0x00);
    assert_int_equal(out[1], 0xFF);
    assert_int_equal(ncsl__trust_json_hex(j, "H", out, 2, bad, &err), bad); /* uppercase */
    assert_string_equal(err.field, "H");
    assert_int_equal(ncsl__trust_json_hex(j, "h", out, 3, bad, &err), bad); /* length */
    assert_non_null(strstr(err.message, "3 bytes"));
    assert_int_equal(ncsl__trust_json_hex_var(j, "h", out, 4, &got, bad, &err), NCSL_OK);
    assert_int_equal(got, 2);
    assert_int_equal(ncsl__trust_json_hex_var(j, "e", out, 4, &got, bad, &err), NCSL_OK);
    assert_int_equal(got, 0);
    assert_int_equal(ncsl__trust_json_hex_var(j, "h", out, 1, &got, bad, &err), bad);
    assert_int_equal(ncsl__trust_json_hex_var(j, "s", out, 4, &got, bad, &err), bad); /* odd */

    long long i = 0;
    assert_int_equal(ncsl__trust_json_int(j, "i", 0, 10, &i, bad, &err), NCSL_OK);
    assert_int_equal(i, 7);
    assert_int_equal(ncsl__trust_json_int(j, "i", 8, 10, &i, bad, &err), bad);
    assert_int_equal(ncsl__trust_json_int(j, "f", 0, 10, &i, bad, &err), bad);
    assert_int_equal(ncsl__trust_json_int(j, "b", 0, 10, &i, bad, &err), bad);
    bool b = false;
    assert_int_equal(ncsl__trust_json_bool(j, "b", &b, bad, &err), NCSL_OK);
    assert_true(b);
    assert_int_equal(ncsl__trust_json_bool(j, "n", &b, bad, &err), bad);
    assert_int_equal(ncsl__trust_json_bool(j, "i", &b, bad, &err), bad);

    static const char *const all[] = {"s", "h", "H", "i", "f", "b", "n", "z", "e"};
    assert_int_equal(ncsl__trust_json_only_keys(j, all, 9, bad, &err), NCSL_OK);
    assert_int_equal(ncsl__trust_json_only_keys(j, all, 8, bad, &err), bad);
    assert_string_equal(err.field, "e");
    json_t *arr = json_array();
    assert_int_equal(ncsl__trust_json_only_keys(arr, all, 9, bad, &err), bad);
    json_decref(arr);

    json_t *o = json_object();
    uint8_t bytes[3] = {0xAB, 0x01, 0xFF};
    assert_true(ncsl__trust_json_set_hex(o, "x", bytes, 3));
    assert_string_equal(json_string_value(json_object_get(o, "x")), "ab01ff");
    json_decref(o);
    json_decref(j);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time),
        cmocka_unit_test(test_base64),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_json_readers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
