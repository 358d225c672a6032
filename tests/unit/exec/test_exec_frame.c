/* The worker protocol of process isolation (exec_int.h): INIT, JOB and RESULT round trips, every
 * truncation and random corruption of a valid payload, semantic checks of INIT and RESULT, and
 * frame headers read from a real socket (bad type, reserved bytes, oversize, short, end of
 * file). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "exec/exec_int.h"

/* The payload (no header) of an encoder run. Caller frees. */
typedef void (*encode_fn)(ncsl__wr *w, const void *arg);

static uint8_t *encode(encode_fn fn, const void *arg, size_t *len) {
    ncsl__wr count = {0};
    fn(&count, arg);
    uint8_t *p = malloc(count.len ? count.len : 1);
    assert_non_null(p);
    ncsl__wr w = {.data = p};
    fn(&w, arg);
    assert_int_equal(w.len, count.len);
    *len = w.len;
    return p;
}

static void enc_job(ncsl__wr *w, const void *arg) {
    ncsl__proc_job_encode(w, arg);
}

typedef struct res_arg {
    ncsl_status st;
    ncsl_err err;
    ncsl_js_outcome o;
} res_arg;

static void enc_result(ncsl__wr *w, const void *arg) {
    const res_arg *r = arg;
    ncsl__proc_result_encode(w, r->st, &r->err, &r->o);
}

static const ncsl_secret g_secrets[] = {
    {.name = "API_KEY", .value = "s3cr3t", .value_len = 6},
    {.name = "BIN", .value = "a\0b", .value_len = 3},
};

static ncsl_storage_hooks g_hooks = {.max_key_bytes = 10, .max_value_bytes = 20, .quota_bytes = 30};

static ncsl_js_call sample_call(void) {
    ncsl_js_call c = {
        .code = "function main(i) { return i; }",
        .code_len = 30,
        .input_json = "{\"v\":1}",
        .input_len = 7,
        .secrets = g_secrets,
        .secret_count = 2,
        .limits = {.memory_bytes = 1 << 20,
                   .timeout_ms = 250,
                   .stack_bytes = 1 << 18,
                   .max_output_bytes = 100,
                   .max_log_bytes = 200,
                   .gas_limit = 300},
        .storage = &g_hooks,
        .user_id = "user-1",
        .function_id = "fn-1",
    };
    return c;
}

static void test_job_round_trip(void **state) {
    (void)state;
    ncsl_js_call c = sample_call();
    size_t len = 0;
    uint8_t *p = encode(enc_job, &c, &len);
    ncsl__proc_job j;
    ncsl_err err;
    assert_int_equal(ncsl__proc_job_decode(p, len, &j, &err), NCSL_OK);
    assert_int_equal(j.code_len, 30);
    assert_memory_equal(j.code, c.code, 30);
    assert_int_equal(j.input_len, 7);
    assert_string_equal(j.input, "{\"v\":1}");
    assert_int_equal(j.secret_count, 2);
    assert_string_equal(j.secrets[0].name, "API_KEY");
    assert_int_equal(j.secrets[1].value_len, 3);
    assert_memory_equal(j.secrets[1].value, "a\0b", 3);
    assert_string_equal(j.user_id, "user-1");
    assert_string_equal(j.function_id, "fn-1");
    assert_int_equal(j.limits.timeout_ms, 250);
    assert_int_equal(j.limits.gas_limit, 300);
    assert_true(j.has_storage);
    assert_int_equal(j.max_key_bytes, 10);
    assert_int_equal(j.quota_bytes, 30);
    ncsl__proc_job_cleanup(&j);

    /* no input, no secrets, no storage */
    c.input_json = NULL;
    c.secret_count = 0;
    c.storage = NULL;
    free(p);
    p = encode(enc_job, &c, &len);
    assert_int_equal(ncsl__proc_job_decode(p, len, &j, &err), NCSL_OK);
    assert_null(j.input);
    assert_null(j.secrets);
    assert_false(j.has_storage);
    ncsl__proc_job_cleanup(&j);
    free(p);
}

/* Every strict prefix, and the payload with one byte more, is malformed; random corruption
 * decodes or is rejected, never crashes (the sanitizer build checks the reads). */
static void test_job_malformed(void **state) {
    (void)state;
    ncsl_js_call c = sample_call();
    size_t len = 0;
    uint8_t *p = encode(enc_job, &c, &len);
    ncsl__proc_job j;
    ncsl_err err;
    for (size_t n = 0; n < len; n++) {
        uint8_t *cut = malloc(n ? n : 1); /* exact size: ASan catches a read past it */
        memcpy(cut, p, n);
        assert_int_equal(ncsl__proc_job_decode(cut, n, &j, &err), NCSL_E_INVALID_ARG);
        free(cut);
    }
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, p, len);
    longer[len] = 0;
    assert_int_equal(ncsl__proc_job_decode(longer, len + 1, &j, &err), NCSL_E_INVALID_ARG);
    free(longer);
    /* a secret count the payload cannot hold */
    uint8_t big[64] = {0};
    big[0] = 1;   /* code length 1 */
    big[4] = 'x'; /* code */
    big[5] = 0;   /* no input */
    memset(big + 6, 0xff, 4);
    assert_int_equal(ncsl__proc_job_decode(big, sizeof(big), &j, &err), NCSL_E_INVALID_ARG);
    /* a NUL inside a secret's name */
    ncsl_secret bad = {.name = "A", .value = "v", .value_len = 1};
    c.secrets = &bad;
    c.secret_count = 1;
    free(p);
    p = encode(enc_job, &c, &len);
    uint8_t *at = memmem(p, len, "\x01\0\0\0A", 5);
    assert_non_null(at);
    at[4] = '\0';
    assert_int_equal(ncsl__proc_job_decode(p, len, &j, &err), NCSL_E_INVALID_ARG);
    free(p);

    srand(1234);
    c = sample_call();
    p = encode(enc_job, &c, &len);
    for (int i = 0; i < 20000; i++) {
        uint8_t *m = malloc(len);
        memcpy(m, p, len);
        int flips = 1 + rand() % 4;
        for (int k = 0; k < flips; k++) {
            m[(size_t)rand() % len] = (uint8_t)rand();
        }
        size_t n = (size_t)rand() % (len + 1);
        if (ncsl__proc_job_decode(m, n, &j, &err) == NCSL_OK) {
            ncsl__proc_job_cleanup(&j);
        }
        free(m);
    }
    free(p);
}

static void sample_result(res_arg *r, ncsl_storage_write *writes) {
    memset(r, 0, sizeof(*r));
    r->st = NCSL_OK;
    r->o.status = NCSL_OK;
    r->o.result_json = (char *)"{\"a\":1}";
    r->o.result_len = 7;
    r->o.logs_json = (char *)"[{\"level\":\"log\",\"message\":\"hi\"}]";
    r->o.logs_len = strlen(r->o.logs_json);
    r->o.memory_used_bytes = 1234;
    r->o.gas_used = 56;
    writes[0] = (ncsl_storage_write){.type = NCSL_STORAGE_CLEAR};
    writes[1] =
        (ncsl_storage_write){.type = NCSL_STORAGE_SET, .key = "k", .value = "1", .value_len = 1};
    writes[2] = (ncsl_storage_write){.type = NCSL_STORAGE_REMOVE, .key = "gone"};
    r->o.storage_writes = writes;
    r->o.storage_write_count = 3;
}

static ncsl_status decode_result(const uint8_t *p, size_t len, ncsl_js_outcome *o,
                                 ncsl_status *st) {
    ncsl_err call_err, err;
    uint8_t *copy = malloc(len ? len : 1);
    memcpy(copy, p, len);
    ncsl_status s = ncsl__proc_result_decode(copy, len, st, &call_err, o, &err);
    free(copy);
    return s;
}

static void test_result_round_trip(void **state) {
    (void)state;
    res_arg r;
    ncsl_storage_write writes[3];
    sample_result(&r, writes);
    size_t len = 0;
    uint8_t *p = encode(enc_result, &r, &len);
    ncsl_js_outcome o;
    ncsl_status st = NCSL_E_INTERNAL;
    assert_int_equal(decode_result(p, len, &o, &st), NCSL_OK);
    assert_int_equal(st, NCSL_OK);
    assert_string_equal(o.result_json, "{\"a\":1}");
    assert_int_equal(o.logs_len, r.o.logs_len);
    assert_int_equal(o.memory_used_bytes, 1234);
    assert_int_equal(o.gas_used, 56);
    assert_int_equal(o.storage_write_count, 3);
    assert_int_equal(o.storage_writes[0].type, NCSL_STORAGE_CLEAR);
    assert_null(o.storage_writes[0].key);
    assert_string_equal(o.storage_writes[1].key, "k");
    assert_int_equal(o.storage_writes[1].value_len, 1);
    assert_null(o.storage_writes[2].value);
    ncsl_js_outcome_cleanup(&o);
    free(p);

    /* a JS failure: error fields, no result */
    memset(&r, 0, sizeof(r));
    r.st = NCSL_E_JS_EXCEPTION;
    r.o.status = NCSL_E_JS_EXCEPTION;
    r.o.error_name = (char *)"TypeError";
    r.o.error_message = (char *)"boom";
    r.o.error_stack = (char *)"at main";
    snprintf(r.err.message, sizeof(r.err.message), "TypeError: boom");
    p = encode(enc_result, &r, &len);
    ncsl_err call_err, err;
    assert_int_equal(ncsl__proc_result_decode(p, len, &st, &call_err, &o, &err), NCSL_OK);
    assert_int_equal(st, NCSL_E_JS_EXCEPTION);
    assert_string_equal(call_err.message, "TypeError: boom");
    assert_string_equal(o.error_name, "TypeError");
    assert_null(o.result_json);
    assert_null(o.logs_json);
    ncsl_js_outcome_cleanup(&o);
    free(p);
}

static void test_result_malformed(void **state) {
    (void)state;
    res_arg r;
    ncsl_storage_write writes[3];
    sample_result(&r, writes);
    size_t len = 0;
    uint8_t *p = encode(enc_result, &r, &len);
    ncsl_js_outcome o;
    ncsl_status st;
    for (size_t n = 0; n < len; n++) {
        assert_int_equal(decode_result(p, n, &o, &st), NCSL_E_INVALID_ARG);
        assert_null(o.result_json); /* nothing left behind */
    }
    free(p);

    /* semantic checks: a result with a failure status, writes with a failure, unknown statuses,
     * a SET without value, a CLEAR with a key, an unknown write type */
    struct {
        ncsl_status st;
        ncsl_storage_write_type type;
        const char *key;
        const char *value;
    } cases[] = {
        {NCSL_E_JS_EXCEPTION, NCSL_STORAGE_SET, "k", "1"},
        {(ncsl_status)12345, NCSL_STORAGE_SET, "k", "1"},
        {NCSL_E_STORE, NCSL_STORAGE_SET, "k", "1"},
        {NCSL_OK, NCSL_STORAGE_SET, "k", NULL},
        {NCSL_OK, NCSL_STORAGE_CLEAR, "k", NULL},
        {NCSL_OK, NCSL_STORAGE_REMOVE, NULL, NULL},
        {NCSL_OK, (ncsl_storage_write_type)9, "k", "1"},
    };
    for (size_t i = 0; i < NCSL_ARRAY_LEN(cases); i++) {
        sample_result(&r, writes);
        r.st = cases[i].st;
        writes[1] = (ncsl_storage_write){.type = cases[i].type,
                                         .key = cases[i].key,
                                         .value = cases[i].value,
                                         .value_len = cases[i].value ? 1 : 0};
        p = encode(enc_result, &r, &len);
        if (decode_result(p, len, &o, &st) != NCSL_E_INVALID_ARG) {
            print_error("case %zu decoded\n", i);
            fail();
        }
        free(p);
    }

    srand(99);
    sample_result(&r, writes);
    p = encode(enc_result, &r, &len);
    for (int i = 0; i < 20000; i++) {
        uint8_t *m = malloc(len);
        memcpy(m, p, len);
        int flips = 1 + rand() % 4;
        for (int k = 0; k < flips; k++) {
            m[(size_t)rand() % len] = (uint8_t)rand();
        }
        size_t n = (size_t)rand() % (len + 1);
        if (decode_result(m, n, &o, &st) == NCSL_OK) {
            ncsl_js_outcome_cleanup(&o);
        }
        free(m);
    }
    free(p);
}

/* ------------------------------------------------------------------------- frame I/O */
static void header(uint8_t h[8], uint32_t len, uint8_t type, uint8_t reserved) {
    for (int i = 0; i < 4; i++) {
        h[i] = (uint8_t)(len >> (8 * i));
    }
    h[4] = type;
    h[5] = reserved;
    h[6] = 0;
    h[7] = 0;
}

/* Writes `bytes` into one end of a fresh socketpair, optionally closes it, and reads a frame
 * from the other end with a 200 ms deadline. */
static ncsl_status read_from(const void *bytes, size_t n, bool close_after, size_t max,
                             uint8_t *type, size_t *len) {
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(write(sv[1], bytes, n), (ssize_t)n);
    if (close_after) {
        close(sv[1]);
    }
    uint8_t *payload = NULL;
    ncsl_err err;
    uint64_t deadline = ncsl_now_ns() + 200u * 1000000u;
    ncsl_status st = ncsl__proc_read_frame(sv[0], max, deadline, type, &payload, len, &err);
    if (st == NCSL_OK) {
        ncsl__proc_frame_free(payload, *len);
    } else {
        assert_null(payload);
    }
    close(sv[0]);
    if (!close_after) {
        close(sv[1]);
    }
    return st;
}

/* ------------------------------------------------------------------------- INIT */
static void enc_init(ncsl__wr *w, const void *arg) {
    ncsl__proc_init_encode(w, arg);
}

static const char *const g_hosts[] = {"127.0.0.1", "*.example.com:443", "[::1]:8080"};
static uint8_t g_key[NCSL__PROC_KEY_SIZE];

static ncsl__proc_init sample_init(void) {
    for (size_t i = 0; i < sizeof(g_key); i++) {
        g_key[i] = (uint8_t)(i * 7 + 1);
    }
    ncsl__proc_init m = {.log_level = NCSL_LOG_LEVEL_INFO, .stack_bytes = 1u << 20, .key = g_key};
    ncsl_fetch_policy_default(&m.fetch);
    m.fetch.allowed_hosts = g_hosts;
    m.fetch.allowed_host_count = NCSL_ARRAY_LEN(g_hosts);
    m.fetch.allow_private_networks = true;
    m.fetch.max_requests_per_call = 3;
    m.fetch.max_response_bytes = 12345;
    m.fetch.max_request_bytes = 678;
    m.fetch.timeout_ms = 2500;
    m.fetch.max_concurrent = 9;
    return m;
}

/* Decodes a copy of exactly `len` bytes (ASan sees any read past them). */
static ncsl_status decode_init(const uint8_t *p, size_t len) {
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    if (len) {
        memcpy(copy, p, len);
    }
    ncsl__proc_init m;
    ncsl_err err;
    ncsl_status st = ncsl__proc_init_decode(copy, len, &m, &err);
    if (st == NCSL_OK) { /* the key points into the payload */
        assert_true(!m.key || (m.key >= copy && m.key + NCSL__PROC_KEY_SIZE <= copy + len));
    } else {
        assert_null(m.fetch.allowed_hosts);
        assert_int_equal(m.fetch.allowed_host_count, 0);
    }
    ncsl_fetch_policy_cleanup(&m.fetch);
    free(copy);
    return st;
}

static void test_init_round_trip(void **state) {
    (void)state;
    ncsl__proc_init in = sample_init();
    size_t len = 0;
    uint8_t *p = encode(enc_init, &in, &len);
    assert_true(len <= NCSL__PROC_INIT_MAX);
    ncsl__proc_init m;
    ncsl_err err;
    assert_int_equal(ncsl__proc_init_decode(p, len, &m, &err), NCSL_OK);
    assert_int_equal(m.log_level, NCSL_LOG_LEVEL_INFO);
    assert_int_equal(m.stack_bytes, 1u << 20);
    assert_non_null(m.key);
    assert_memory_equal(m.key, g_key, sizeof(g_key));
    assert_true(m.fetch.allow_private_networks);
    assert_int_equal(m.fetch.max_requests_per_call, 3);
    assert_int_equal(m.fetch.max_response_bytes, 12345);
    assert_int_equal(m.fetch.max_request_bytes, 678);
    assert_int_equal(m.fetch.timeout_ms, 2500);
    assert_int_equal(m.fetch.max_concurrent, 9);
    assert_int_equal(m.fetch.allowed_host_count, NCSL_ARRAY_LEN(g_hosts));
    for (size_t i = 0; i < NCSL_ARRAY_LEN(g_hosts); i++) {
        assert_string_equal(m.fetch.allowed_hosts[i], g_hosts[i]);
    }
    /* what the child installs is what the parent has */
    assert_int_equal(ncsl_fetch_configure(&m.fetch, &err), NCSL_OK);
    ncsl_fetch_policy_cleanup(&m.fetch);
    ncsl_fetch_policy back;
    assert_int_equal(ncsl_fetch_policy_copy(&back, &err), NCSL_OK);
    assert_int_equal(back.allowed_host_count, NCSL_ARRAY_LEN(g_hosts));
    for (size_t i = 0; i < NCSL_ARRAY_LEN(g_hosts); i++) {
        assert_string_equal(back.allowed_hosts[i], g_hosts[i]);
    }
    assert_int_equal(back.max_concurrent, 9);
    ncsl_fetch_policy_cleanup(&back);
    assert_int_equal(ncsl_fetch_configure(NULL, &err), NCSL_OK);
    free(p);

    /* no key, no host (the defaults: fetch off) */
    in.key = NULL;
    ncsl_fetch_policy_default(&in.fetch);
    p = encode(enc_init, &in, &len);
    assert_int_equal(ncsl__proc_init_decode(p, len, &m, &err), NCSL_OK);
    assert_null(m.key);
    assert_null(m.fetch.allowed_hosts);
    assert_int_equal(m.fetch.allowed_host_count, 0);
    ncsl_fetch_policy_cleanup(&m.fetch);
    free(p);

    /* the most INIT can hold fits its bound */
    static char longest[NCSL_FETCH_MAX_HOST_PATTERN + 1];
    memset(longest, 'a', NCSL_FETCH_MAX_HOST_PATTERN);
    const char *many[NCSL_FETCH_MAX_HOSTS];
    for (size_t i = 0; i < NCSL_FETCH_MAX_HOSTS; i++) {
        many[i] = longest;
    }
    in = sample_init();
    in.fetch.allowed_hosts = many;
    in.fetch.allowed_host_count = NCSL_FETCH_MAX_HOSTS;
    p = encode(enc_init, &in, &len);
    assert_int_equal(len, NCSL__PROC_INIT_MAX);
    assert_int_equal(decode_init(p, len), NCSL_OK);
    free(p);
}

/* Overwrites the bytes at `at` (a field found by its value) in a fresh encoding and decodes. */
static ncsl_status init_with(const ncsl__proc_init *in, size_t at, const void *v, size_t n) {
    size_t len = 0;
    uint8_t *p = encode(enc_init, in, &len);
    assert_true(at + n <= len);
    memcpy(p + at, v, n);
    ncsl_status st = decode_init(p, len);
    free(p);
    return st;
}

static void test_init_malformed(void **state) {
    (void)state;
    ncsl__proc_init in = sample_init();
    size_t len = 0;
    uint8_t *p = encode(enc_init, &in, &len);
    for (size_t n = 0; n < len; n++) {
        assert_int_equal(decode_init(p, n), NCSL_E_INVALID_ARG);
    }
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, p, len);
    longer[len] = 0;
    assert_int_equal(decode_init(longer, len + 1), NCSL_E_INVALID_ARG);
    free(longer);

    /* offsets of the fixed fields: version 0, level 4, stack 8, key flag 16, key 17 (length) */
    const size_t key_off = 17;
    const size_t pol_off = key_off + 4 + NCSL__PROC_KEY_SIZE;
    const size_t count_off = pol_off + 1 + 4 + 8 + 8 + 4 + 4;
    uint8_t u32[4];
    memcpy(u32, p + count_off, 4);
    assert_int_equal(u32[0], NCSL_ARRAY_LEN(g_hosts)); /* the layout is as assumed */
    assert_int_equal(p[pol_off], 1);

    uint8_t v = NCSL__PROC_VERSION - 1;
    assert_int_equal(init_with(&in, 0, &v, 1), NCSL_E_INVALID_ARG); /* another version */
    v = NCSL_LOG_LEVEL_DEBUG + 1;
    assert_int_equal(init_with(&in, 4, &v, 1), NCSL_E_INVALID_ARG); /* log level */
    static const uint8_t zero8[8] = {0};
    assert_int_equal(init_with(&in, 8, zero8, 8), NCSL_E_INVALID_ARG); /* stack 0 */
    uint8_t big[8] = {1, 0, 0, 4, 0, 0, 0, 0};                         /* 64 MiB + 1 */
    assert_int_equal(init_with(&in, 8, big, 8), NCSL_E_INVALID_ARG);
    v = 2;
    assert_int_equal(init_with(&in, 16, &v, 1), NCSL_E_INVALID_ARG); /* key flag */
    uint8_t klen[4] = {NCSL__PROC_KEY_SIZE - 1, 0, 0, 0};
    assert_int_equal(init_with(&in, key_off, klen, 4), NCSL_E_INVALID_ARG); /* short key */
    v = 2;
    assert_int_equal(init_with(&in, pol_off, &v, 1), NCSL_E_INVALID_ARG); /* private flag */
    uint8_t cnt[4] = {NCSL_FETCH_MAX_HOSTS + 1, 0, 0, 0};
    assert_int_equal(init_with(&in, count_off, cnt, 4), NCSL_E_INVALID_ARG); /* too many */
    cnt[0] = 0xff;
    cnt[3] = 0xff;
    assert_int_equal(init_with(&in, count_off, cnt, 4), NCSL_E_INVALID_ARG);
    cnt[0] = NCSL_ARRAY_LEN(g_hosts) + 1;
    cnt[3] = 0;
    assert_int_equal(init_with(&in, count_off, cnt, 4), NCSL_E_INVALID_ARG); /* more than sent */
    cnt[0] = NCSL_ARRAY_LEN(g_hosts) - 1;
    assert_int_equal(init_with(&in, count_off, cnt, 4), NCSL_E_INVALID_ARG); /* bytes left */
    /* a NUL inside a pattern; an empty pattern; one over NCSL_FETCH_MAX_HOST_PATTERN */
    uint8_t *at = memmem(p, len, "127.0.0.1", 9);
    assert_non_null(at);
    v = 0;
    assert_int_equal(init_with(&in, (size_t)(at - p) + 3, &v, 1), NCSL_E_INVALID_ARG);
    const char *empty[] = {"127.0.0.1", ""};
    ncsl__proc_init e = in;
    e.fetch.allowed_hosts = empty;
    e.fetch.allowed_host_count = 2;
    free(p);
    p = encode(enc_init, &e, &len);
    assert_int_equal(decode_init(p, len), NCSL_E_INVALID_ARG);
    free(p);
    static char over[NCSL_FETCH_MAX_HOST_PATTERN + 2];
    memset(over, 'a', NCSL_FETCH_MAX_HOST_PATTERN + 1);
    const char *too_long[] = {over};
    e.fetch.allowed_hosts = too_long;
    e.fetch.allowed_host_count = 1;
    p = encode(enc_init, &e, &len);
    assert_int_equal(decode_init(p, len), NCSL_E_INVALID_ARG);
    free(p);

    /* random corruption: never a crash, a leak or a read past the payload */
    srand(4321);
    p = encode(enc_init, &in, &len);
    for (int i = 0; i < 20000; i++) {
        uint8_t *m = malloc(len);
        memcpy(m, p, len);
        int flips = 1 + rand() % 4;
        for (int k = 0; k < flips; k++) {
            m[(size_t)rand() % len] = (uint8_t)rand();
        }
        size_t n = (size_t)rand() % (len + 1);
        (void)decode_init(m, n);
        free(m);
    }
    free(p);
}

static void test_frame_io(void **state) {
    (void)state;
    uint8_t buf[8 + 4];
    uint8_t type = 0;
    size_t len = 0;
    /* a good frame */
    header(buf, 4, NCSL__MSG_READY, 0);
    memcpy(buf + 8, "\x01\0\0\0", 4);
    assert_int_equal(read_from(buf, 12, true, 64, &type, &len), NCSL_OK);
    assert_int_equal(type, NCSL__MSG_READY);
    assert_int_equal(len, 4);
    /* an empty payload */
    header(buf, 0, NCSL__MSG_USAGE, 0);
    assert_int_equal(read_from(buf, 8, true, 64, &type, &len), NCSL_OK);
    assert_int_equal(len, 0);
    /* unknown types, reserved bytes */
    header(buf, 0, 0, 0);
    assert_int_equal(read_from(buf, 8, true, 64, &type, &len), NCSL_E_INVALID_ARG);
    header(buf, 0, NCSL__MSG_RESULT + 1, 0);
    assert_int_equal(read_from(buf, 8, true, 64, &type, &len), NCSL_E_INVALID_ARG);
    header(buf, 0, NCSL__MSG_READY, 1);
    assert_int_equal(read_from(buf, 8, true, 64, &type, &len), NCSL_E_INVALID_ARG);
    /* over the bound: refused from the header, before any payload is read or allocated */
    header(buf, 65, NCSL__MSG_RESULT, 0);
    assert_int_equal(read_from(buf, 8, false, 64, &type, &len), NCSL_E_PAYLOAD_TOO_LARGE);
    header(buf, UINT32_MAX, NCSL__MSG_RESULT, 0);
    assert_int_equal(read_from(buf, 8, false, 1 << 20, &type, &len), NCSL_E_PAYLOAD_TOO_LARGE);
    /* a huge announced frame within the bound whose bytes never come: end of file, or the
     * deadline, and only what arrived was buffered */
    header(buf, (uint32_t)1 << 30, NCSL__MSG_RESULT, 0);
    assert_int_equal(read_from(buf, 12, true, (size_t)1 << 31, &type, &len), NCSL_E_IO);
    assert_int_equal(read_from(buf, 12, false, (size_t)1 << 31, &type, &len), NCSL_E_IO);
    /* half a header, then end of file; nothing at all (clean end); nothing within the deadline */
    assert_int_equal(read_from(buf, 5, true, 64, &type, &len), NCSL_E_IO);
    assert_int_equal(read_from(buf, 0, true, 64, &type, &len), NCSL_E_SHUTDOWN);
    uint64_t t0 = ncsl_now_ns();
    assert_int_equal(read_from(buf, 0, false, 64, &type, &len), NCSL_E_IO);
    assert_true(ncsl_now_ns() - t0 < 2000u * 1000000u);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_job_round_trip),    cmocka_unit_test(test_job_malformed),
        cmocka_unit_test(test_result_round_trip), cmocka_unit_test(test_result_malformed),
        cmocka_unit_test(test_frame_io),          cmocka_unit_test(test_init_round_trip),
        cmocka_unit_test(test_init_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
