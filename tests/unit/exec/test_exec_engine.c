/* The engine: calls through the public API, the bounded queue, draining on destroy, and that a
 * failed call still returns its logs and error. Uses short deadlines to stay fast. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "exec/exec.h"

static const char *CANONICAL = "function main(input) { return { result: input.value * 2 }; }";

static ncsl_engine *engine_new(unsigned workers, unsigned queue, uint32_t timeout_ms) {
    ncsl_engine_options o;
    ncsl_engine_options_default(&o);
    o.workers = workers;
    o.queue_size = queue;
    o.timeout_ms = timeout_ms;
    o.memory_limit_bytes = (size_t)64 << 20;
    ncsl_engine *e = NULL;
    ncsl_err err;
    assert_int_equal(ncsl_engine_create(&o, &e, &err), NCSL_OK);
    return e;
}

static void test_defaults(void **state) {
    (void)state;
    ncsl_engine_options o;
    ncsl_engine_options_default(&o);
    assert_int_equal(o.memory_limit_bytes, (size_t)512 << 20);
    assert_int_equal(o.timeout_ms, 5000);
    assert_int_equal(o.queue_size, 256);
    assert_int_equal(o.workers, 0);
}

static void test_bad_options(void **state) {
    (void)state;
    ncsl_engine_options o;
    ncsl_engine *e = (ncsl_engine *)0x1;
    ncsl_err err;
    ncsl_engine_options_default(&o);
    o.memory_limit_bytes = 1000;
    assert_int_equal(ncsl_engine_create(&o, &e, &err), NCSL_E_INVALID_ARG);
    assert_null(e);
    assert_string_equal(err.field, "memory_limit_bytes");
    ncsl_engine_options_default(&o);
    o.timeout_ms = 0;
    assert_int_equal(ncsl_engine_create(&o, &e, &err), NCSL_E_INVALID_ARG);
    assert_string_equal(err.field, "timeout_ms");
    ncsl_engine_options_default(&o);
    o.stack_size_bytes = 1;
    assert_int_equal(ncsl_engine_create(&o, &e, &err), NCSL_E_INVALID_ARG);
    assert_string_equal(err.field, "stack_size_bytes");
    ncsl_engine_destroy(NULL); /* no-op */
}

static void test_seed_call(void **state) {
    (void)state;
    ncsl_engine *e = engine_new(2, 8, 2000);
    ncsl_result *r = NULL;
    ncsl_err err;
    assert_int_equal(ncsl_execute_javascript(e, CANONICAL, "{ \"value\": 42 }", "{}",
                                             "test-function", "test-user", &r, &err),
                     NCSL_OK);
    size_t len = 0;
    assert_string_equal(ncsl_result_json(r, &len), "{\"result\":84}");
    assert_int_equal(len, 13);
    assert_string_equal(ncsl_result_logs_json(r, NULL), "[]");
    assert_int_equal(strlen(ncsl_result_execution_id(r)), 36);
    assert_int_equal(ncsl_result_execution_id(r)[14], '4'); /* UUID v4 */
    assert_true(ncsl_result_memory_used_bytes(r) > 0);
    ncsl_result_destroy(r);

    /* secrets reach the function */
    assert_int_equal(ncsl_execute_javascript(e, "function main() { return SECRETS.K + '!'; }", NULL,
                                             "{\"K\":\"v\"}", NULL, NULL, &r, &err),
                     NCSL_OK);
    assert_string_equal(ncsl_result_json(r, NULL), "\"v!\"");
    ncsl_result_destroy(r);
    ncsl_engine_destroy(e);
}

static void test_failure_keeps_logs(void **state) {
    (void)state;
    ncsl_engine *e = engine_new(1, 4, 2000);
    ncsl_result *r = NULL;
    ncsl_err err;
    ncsl_status st = ncsl_execute_javascript(
        e, "function main() { console.log('before'); throw new TypeError('bad thing'); }", NULL,
        NULL, NULL, NULL, &r, &err);
    assert_int_equal(st, NCSL_E_JS_EXCEPTION);
    assert_non_null(r);
    assert_int_equal(ncsl_result_status(r), NCSL_E_JS_EXCEPTION);
    assert_null(ncsl_result_json(r, NULL));
    assert_string_equal(ncsl_result_error_name(r), "TypeError");
    assert_string_equal(ncsl_result_error_message(r), "bad thing");
    assert_non_null(strstr(ncsl_result_logs_json(r, NULL), "before"));
    assert_string_equal(ncsl_status_code(st), "EXECUTION_ERROR");
    assert_int_equal(ncsl_status_http(st), 422);
    ncsl_result_destroy(r);

    /* every JS failure keeps its result, the gas limit's too (logs, error, gas used) */
    ncsl_exec_request req = {
        .code = "function main() { console.log('spent'); for (;;) {} }",
        .gas_limit = 1000,
    };
    req.code_len = strlen(req.code);
    r = NULL;
    st = ncsl_engine_execute(e, &req, &r, &err);
    assert_int_equal(st, NCSL_E_JS_GAS);
    assert_non_null(r);
    assert_int_equal(ncsl_result_status(r), NCSL_E_JS_GAS);
    assert_non_null(strstr(ncsl_result_logs_json(r, NULL), "spent"));
    assert_true(ncsl_result_gas_used(r) > 1000);
    ncsl_result_destroy(r);
    ncsl_engine_destroy(e);
}

static void test_bad_requests(void **state) {
    (void)state;
    ncsl_engine_options o;
    ncsl_engine_options_default(&o);
    o.workers = 1;
    o.max_code_bytes = 100;
    o.max_input_bytes = 10;
    ncsl_engine *e = NULL;
    ncsl_err err;
    assert_int_equal(ncsl_engine_create(&o, &e, &err), NCSL_OK);
    ncsl_result *r = NULL;
    ncsl_exec_request req = {.code = "", .code_len = 0};
    assert_int_equal(ncsl_engine_execute(e, &req, &r, &err), NCSL_E_INVALID_ARG);
    assert_string_equal(err.field, "code");
    char big[200];
    memset(big, ' ', sizeof(big));
    req.code = big;
    req.code_len = sizeof(big);
    assert_int_equal(ncsl_engine_execute(e, &req, &r, &err), NCSL_E_PAYLOAD_TOO_LARGE);
    assert_string_equal(err.field, "code");
    req.code = CANONICAL;
    req.code_len = strlen(CANONICAL);
    req.input_json = "{\"value\": 42000000}";
    req.input_len = strlen(req.input_json);
    assert_int_equal(ncsl_engine_execute(e, &req, &r, &err), NCSL_E_PAYLOAD_TOO_LARGE);
    assert_string_equal(err.field, "input");
    assert_null(r);
    assert_int_equal(ncsl_execute_javascript(e, CANONICAL, "{}", "[1]", NULL, NULL, &r, &err),
                     NCSL_E_INVALID_ARG);
    assert_string_equal(err.field, "secrets");
    ncsl_engine_destroy(e);
}

typedef struct counter {
    pthread_mutex_t mu;
    int done;
    int ok;
    int timeouts;
} counter;

static void count_done(void *user, ncsl_status st, ncsl_result *r, const ncsl_err *err) {
    (void)err;
    counter *c = user;
    pthread_mutex_lock(&c->mu);
    c->done++;
    c->ok += st == NCSL_OK;
    c->timeouts += st == NCSL_E_JS_TIMEOUT;
    pthread_mutex_unlock(&c->mu);
    ncsl_result_destroy(r);
}

static void test_queue_bounded_and_drain(void **state) {
    (void)state;
    ncsl_engine *e = engine_new(1, 2, 300);
    counter c = {.mu = PTHREAD_MUTEX_INITIALIZER};
    const char *spin = "function main() { while (true) {} }";
    ncsl_exec_request req = {.code = spin, .code_len = strlen(spin)};
    ncsl_err err;
    int accepted = 0, busy = 0;
    /* 1 running + 2 queued fit; the rest must be refused, not queued without bound */
    for (int i = 0; i < 10; i++) {
        ncsl_status st = ncsl_engine_submit(e, &req, count_done, &c, &err);
        if (st == NCSL_OK) {
            accepted++;
        } else {
            assert_int_equal(st, NCSL_E_BUSY);
            assert_string_equal(ncsl_status_code(st), "SERVICE_UNAVAILABLE");
            busy++;
        }
        if (i == 0) {
            usleep(50 * 1000); /* let the worker take the first job */
        }
    }
    assert_true(accepted >= 3 && accepted <= 4);
    assert_int_equal(accepted + busy, 10);
    ncsl_engine_stats stats;
    ncsl_engine_get_stats(e, &stats);
    assert_int_equal(stats.rejected_busy, (uint64_t)busy);
    assert_int_equal(stats.queue_capacity, 2);
    /* destroy drains: every accepted call gets its answer (here: a timeout) */
    ncsl_engine_destroy(e);
    assert_int_equal(c.done, accepted);
    assert_int_equal(c.timeouts, accepted);
}

static void *concurrent_caller(void *arg) {
    ncsl_engine *e = arg;
    for (int i = 0; i < 50; i++) {
        ncsl_result *r = NULL;
        ncsl_err err;
        char input[64];
        snprintf(input, sizeof(input), "{\"value\": %d}", i);
        if (ncsl_execute_javascript(e, CANONICAL, input, NULL, NULL, NULL, &r, &err) != NCSL_OK) {
            return (void *)1;
        }
        char want[64];
        snprintf(want, sizeof(want), "{\"result\":%d}", i * 2);
        int bad = strcmp(ncsl_result_json(r, NULL), want) != 0;
        ncsl_result_destroy(r);
        if (bad) {
            return (void *)1;
        }
    }
    return NULL;
}

static void test_concurrent_callers(void **state) {
    (void)state;
    ncsl_engine *e = engine_new(2, 64, 2000);
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_create(&t[i], NULL, concurrent_caller, e), 0);
    }
    for (int i = 0; i < 4; i++) {
        void *ret = NULL;
        pthread_join(t[i], &ret);
        assert_null(ret);
    }
    ncsl_engine_stats stats;
    ncsl_engine_get_stats(e, &stats);
    assert_int_equal(stats.completed, 200);
    assert_int_equal(stats.workers, 2);
    ncsl_engine_destroy(e);
}

static void test_per_call_limits_clamped(void **state) {
    (void)state;
    ncsl_engine *e = engine_new(1, 4, 300);
    const char *spin = "function main() { while (true) {} }";
    /* asking for more time than the engine allows is clamped to the engine's deadline */
    ncsl_exec_request req = {.code = spin, .code_len = strlen(spin), .timeout_ms = 60000};
    ncsl_result *r = NULL;
    ncsl_err err;
    assert_int_equal(ncsl_engine_execute(e, &req, &r, &err), NCSL_E_JS_TIMEOUT);
    assert_true(ncsl_result_execution_time_us(r) < 2000000);
    ncsl_result_destroy(r);
    ncsl_engine_destroy(e);
}

/* Calls that wait (here for a 1 s timer; fetch works the same way) lend their CPU slot: 16 of
 * them on 2 workers finish together in about 1 s, not in 8 rounds of 1 s; the workers added
 * for them stay within max_workers. With max_workers = workers nothing is added and the calls
 * still all succeed (in rounds). */
typedef struct waiter_arg {
    ncsl_engine *e;
    int index;
    int ok;
} waiter_arg;

static void *waiter(void *arg) {
    waiter_arg *w = arg;
    char input[32];
    snprintf(input, sizeof(input), "%d", w->index);
    ncsl_result *r = NULL;
    ncsl_err err;
    const char *code = "async function main(i) {"
                       "  await new Promise((resolve) => setTimeout(resolve, 1000));"
                       "  return i * 10; }";
    if (ncsl_execute_javascript(w->e, code, input, NULL, NULL, NULL, &r, &err) == NCSL_OK) {
        char want[32];
        snprintf(want, sizeof(want), "%d", w->index * 10);
        w->ok = strcmp(ncsl_result_json(r, NULL), want) == 0;
    }
    ncsl_result_destroy(r);
    return NULL;
}

static uint64_t run_waiters(ncsl_engine *e, int n) {
    pthread_t t[16];
    waiter_arg a[16];
    uint64_t t0 = ncsl_now_ns();
    for (int i = 0; i < n; i++) {
        a[i] = (waiter_arg){.e = e, .index = i};
        assert_int_equal(pthread_create(&t[i], NULL, waiter, &a[i]), 0);
    }
    for (int i = 0; i < n; i++) {
        pthread_join(t[i], NULL);
        assert_true(a[i].ok);
    }
    return (ncsl_now_ns() - t0) / 1000000u;
}

static void test_waiting_calls_lend_workers(void **state) {
    (void)state;
    ncsl_engine_options o;
    ncsl_engine_options_default(&o);
    o.workers = 2;
    o.max_workers = 20;
    o.memory_limit_bytes = (size_t)64 << 20;
    ncsl_engine *e = NULL;
    assert_int_equal(ncsl_engine_create(&o, &e, NULL), NCSL_OK);
    uint64_t ms = run_waiters(e, 16);
    print_message("16 waiting calls on 2 workers: %llu ms\n", (unsigned long long)ms);
    assert_true(ms < 4000); /* 8 rounds of 1 s if the waits held the workers */
    ncsl_engine_stats st;
    ncsl_engine_get_stats(e, &st);
    assert_true(st.workers_added >= 8);
    assert_true(st.workers <= 20);
    assert_int_equal(st.waiting_workers, 0);
    assert_int_equal(st.busy_workers, 0);
    ncsl_engine_destroy(e);

    o.max_workers = 2;
    assert_int_equal(ncsl_engine_create(&o, &e, NULL), NCSL_OK);
    run_waiters(e, 4);
    ncsl_engine_get_stats(e, &st);
    assert_int_equal(st.workers, 2);
    assert_int_equal(st.workers_added, 0);
    ncsl_engine_destroy(e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_seed_call),
        cmocka_unit_test(test_failure_keeps_logs),
        cmocka_unit_test(test_bad_requests),
        cmocka_unit_test(test_queue_bounded_and_drain),
        cmocka_unit_test(test_concurrent_callers),
        cmocka_unit_test(test_per_call_limits_clamped),
        cmocka_unit_test(test_waiting_calls_lend_workers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
