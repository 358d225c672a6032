/*
 * The request path's cheap ids and clocks (src/http/ids.c) and the receipt's JSON writer
 * (route_trust.c), each checked against the slow code it replaces: request ids are UUID v4s,
 * timestamps read like ncsl_time_rfc3339 and ncsl__trust_time_format, and a receipt comes out
 * byte for byte as json_dumps(ncsl_receipt_to_json(...), JSON_COMPACT | JSON_PRESERVE_ORDER).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "http_int.h"
#include "keys/trust_util.h"
#include "receipt/receipt.h"

static bool is_hex_lower(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static void test_request_ids_are_uuid_v4(void **state) {
    (void)state;
    /* More than one pool of random bytes: the refill path runs too. */
    enum { N = 300 };
    char(*ids)[NCSL_HTTP_ID_SIZE] = calloc(N, NCSL_HTTP_ID_SIZE);
    assert_non_null(ids);
    for (int i = 0; i < N; i++) {
        assert_int_equal(ncsl_uuid_v4(ids[i]), NCSL_OK);
        const char *id = ids[i];
        assert_int_equal(strlen(id), 36);
        for (int k = 0; k < 36; k++) {
            if (k == 8 || k == 13 || k == 18 || k == 23) {
                assert_int_equal(id[k], '-');
            } else {
                assert_true(is_hex_lower(id[k]));
            }
        }
        assert_int_equal(id[14], '4');           /* version 4 */
        assert_non_null(strchr("89ab", id[19])); /* variant 10xx */
        for (int j = 0; j < i; j++) {
            assert_string_not_equal(ids[j], id);
        }
    }
    free(ids);
}

static void check_time(uint64_t ms) {
    char want[40];
    char got[NCSL_HTTP_TS_SIZE];
    bool ok = ncsl__trust_time_format(ms, want, sizeof(want));
    size_t n = ncsl__http_time_format(ms, got);
    if (!ok) {
        assert_int_equal(n, 0);
        return;
    }
    assert_int_equal(n, strlen(want));
    assert_string_equal(got, want);
}

static void test_time_format_matches_the_receipts(void **state) {
    (void)state;
    static const uint64_t fixed[] = {
        0,
        999,
        1000,
        951782400000,              /* 2000-02-29 */
        951868799999,              /* its last millisecond */
        1704067199999,             /* 2023-12-31T23:59:59.999Z */
        1704067200000,             /* the next one: every field of the cache changes */
        UINT64_C(253402300799999), /* 9999-12-31T23:59:59.999Z */
        UINT64_C(253402300800000), /* past it: refused by both */
        UINT64_MAX,
    };
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        check_time(fixed[i]);
    }
    /* Runs within one second and across seconds, in both directions (the per-thread cache). */
    uint64_t base = UINT64_C(1732500000000);
    for (uint64_t d = 0; d < 5000; d += 7) {
        check_time(base + d);
        check_time(base - d);
    }
    srand(7);
    for (int i = 0; i < 2000; i++) {
        uint64_t ms = ((uint64_t)rand() << 31 ^ (uint64_t)rand()) % UINT64_C(253402300800000);
        check_time(ms);
    }
}

static void test_timestamp_is_now(void **state) {
    (void)state;
    char slow[40];
    char fast[NCSL_HTTP_TS_SIZE];
    for (int i = 0; i < 3; i++) {
        ncsl_time_rfc3339(slow, sizeof(slow));
        size_t n = ncsl__http_timestamp(fast);
        assert_int_equal(n, strlen(fast));
        assert_int_equal(n, strlen(slow));
        /* Same second (a clock tick between the two calls may change the second: retry). */
        if (memcmp(slow, fast, 19) == 0) {
            assert_int_equal(fast[19], '.');
            assert_int_equal(fast[23], 'Z');
            return;
        }
    }
    fail_msg("timestamps differ: %s vs %s", slow, fast);
}

static void test_u64_dec(void **state) {
    (void)state;
    static const uint64_t v[] = {0, 7, 10, 99, 100, 4294967296u, UINT64_MAX};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        char want[32];
        char got[NCSL_HTTP_U64_SIZE];
        snprintf(want, sizeof(want), "%llu", (unsigned long long)v[i]);
        assert_int_equal(ncsl__http_u64_dec(got, v[i]), strlen(want));
        assert_string_equal(got, want);
    }
}

/* Compares the receipt writer with jansson for one receipt; `fields_ok` false: both refuse. */
static void check_receipt(const char *execution_id, const char *function_id, const char *user_id,
                          uint64_t ts_ms, bool fields_ok) {
    ncsl_receipt rc;
    memset(&rc, 0, sizeof(rc));
    rc.execution_id = (char *)execution_id;
    rc.function_id = (char *)function_id;
    rc.user_id = (char *)user_id;
    rc.timestamp_ms = ts_ms;
    for (size_t i = 0; i < 32; i++) {
        rc.code_hash[i] = (uint8_t)i;
        rc.input_hash[i] = (uint8_t)(0xff - i);
        rc.output_hash[i] = (uint8_t)(i * 37);
    }
    for (size_t i = 0; i < sizeof(rc.signing_key); i++) {
        rc.signing_key[i] = (uint8_t)(i * 11 + 3);
    }
    for (size_t i = 0; i < sizeof(rc.signature); i++) {
        rc.signature[i] = (uint8_t)(0xa5 ^ i);
    }
    json_t *j = NULL;
    ncsl_err err;
    bool slow_ok = ncsl_receipt_to_json(&rc, &j, &err) == NCSL_OK;
    char *want = slow_ok ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);

    ncsl_buf b;
    ncsl_buf_init(&b, 0);
    ncsl_buf_append_str(&b, "prefix");
    bool fast_ok = ncsl__http_receipt_json(&b, &rc);
    assert_int_equal(fast_ok, fields_ok);
    assert_int_equal(slow_ok, fields_ok);
    if (fields_ok) {
        assert_non_null(want);
        assert_int_equal(strncmp(b.data, "prefix", 6), 0);
        assert_string_equal(b.data + 6, want);
    } else {
        assert_string_equal(b.data, "prefix"); /* nothing left behind */
    }
    free(want);
    ncsl_buf_cleanup(&b);
}

static void test_receipt_json_matches_jansson(void **state) {
    (void)state;
    const uint64_t now = UINT64_C(1732500000123);
    check_receipt("0f8fad5b-d9cb-469f-a165-70867728950e", "bench", "bench", now, true);
    check_receipt("id", NULL, NULL, 0, true); /* absent ids are "" */
    check_receipt("id", "", "", now, true);
    check_receipt("q\"uote\\back/slash", "tab\there\nnl\rcr\bbs\ffeed", "ctl\x01\x1f\x7f", now,
                  true);
    check_receipt("caf\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", now, true);
    check_receipt("id", "bad\xc3", "u", now, false);      /* cut UTF-8 */
    check_receipt("id", "f", "\xed\xa0\x80", now, false); /* a surrogate */
    check_receipt("id", "f", "\xc0\xaf", now, false);     /* overlong */
    check_receipt("id", "f", "u", UINT64_C(253402300799999), true);
    check_receipt("id", "f", "u", UINT64_C(253402300800000), false); /* past year 9999 */
    check_receipt(NULL, "f", "u", now, false);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_ids_are_uuid_v4),
        cmocka_unit_test(test_time_format_matches_the_receipts),
        cmocka_unit_test(test_timestamp_is_now),
        cmocka_unit_test(test_u64_dec),
        cmocka_unit_test(test_receipt_json_matches_jansson),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
