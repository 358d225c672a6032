/*
 * The call's event loop (src/js/js_loop.c) and gas metering: asynchronous host operations
 * completed from other threads (settled, rejected, cancelled at the deadline, completing after
 * the call ended), the wait hook, and gas that is deterministic and enforced.
 *
 * A test hook adds `startOp(ms, value, mode)` to every call: it starts an op that a new thread
 * completes after `ms` milliseconds; mode "ok" resolves with value, "fail" makes settle throw a
 * TypeError.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "js/js_int.h"

#define MIB ((size_t)1 << 20)

static atomic_int g_cancelled;
static atomic_int g_freed;
static atomic_int g_settled;
static atomic_int g_threads_done;
static atomic_int g_wait_begin;
static atomic_int g_wait_end;

typedef struct test_op {
    unsigned ms;
    double value;
    bool fail;
    atomic_bool cancel;
    ncsl__js_op *op;
} test_op;

static void *completer(void *arg) {
    test_op *t = arg;
    uint64_t until = ncsl_now_ns() + (uint64_t)t->ms * 1000000u;
    /* cancel makes the completing side finish early, as fetch does */
    while (!atomic_load(&t->cancel) && ncsl_now_ns() < until) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    ncsl__js_op_complete(t->op);
    atomic_fetch_add(&g_threads_done, 1);
    return NULL;
}

static int op_settle(JSContext *ctx, void *data, JSValueConst resolve, JSValueConst reject) {
    (void)reject;
    test_op *t = data;
    atomic_fetch_add(&g_settled, 1);
    if (t->fail) {
        JS_ThrowTypeError(ctx, "startOp: failed on purpose");
        return -1;
    }
    JSValue v = JS_NewFloat64(ctx, t->value);
    JSValue r = JS_Call(ctx, resolve, JS_UNDEFINED, 1, (JSValueConst *)&v);
    JS_FreeValue(ctx, v);
    JS_FreeValue(ctx, r);
    return 0;
}

static void op_cancel(void *data) {
    test_op *t = data;
    atomic_fetch_add(&g_cancelled, 1);
    atomic_store(&t->cancel, true);
}

static void op_free(void *data) {
    atomic_fetch_add(&g_freed, 1);
    free(data);
}

static const ncsl__js_op_type g_test_op_type = {
    .name = "startOp",
    .settle = op_settle,
    .cancel = op_cancel,
    .free_data = op_free,
};

static JSValue js_start_op(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    (void)this_val;
    (void)argc;
    uint32_t ms = 0;
    double value = 0;
    if (JS_ToUint32(ctx, &ms, argv[0]) < 0 || JS_ToFloat64(ctx, &value, argv[1]) < 0) {
        return JS_EXCEPTION;
    }
    const char *mode = JS_ToCString(ctx, argv[2]);
    if (!mode) {
        return JS_EXCEPTION;
    }
    test_op *t = calloc(1, sizeof(*t));
    t->ms = ms;
    t->value = value;
    t->fail = strcmp(mode, "fail") == 0;
    JS_FreeCString(ctx, mode);
    JSValue promise;
    t->op = ncsl__js_op_begin(ctx, &g_test_op_type, t, &promise);
    if (!t->op) {
        free(t);
        return JS_EXCEPTION;
    }
    pthread_t th;
    if (pthread_create(&th, NULL, completer, t) != 0) {
        abort(); /* test harness only */
    }
    pthread_detach(th);
    return promise;
}

static int test_hook(JSContext *ctx, JSValue global) {
    JSValue f = JS_NewCFunction(ctx, js_start_op, "startOp", 3);
    return JS_DefinePropertyValueStr(ctx, global, "startOp", f, JS_PROP_CONFIGURABLE);
}

static void wait_hook(void *user, bool begin) {
    (void)user;
    atomic_fetch_add(begin ? &g_wait_begin : &g_wait_end, 1);
}

static void reset_counters(void) {
    atomic_store(&g_cancelled, 0);
    atomic_store(&g_freed, 0);
    atomic_store(&g_settled, 0);
    atomic_store(&g_threads_done, 0);
    atomic_store(&g_wait_begin, 0);
    atomic_store(&g_wait_end, 0);
}

/* Waits (bounded) until `n` completer threads have finished. */
static void await_threads(int n) {
    for (int i = 0; i < 5000 && atomic_load(&g_threads_done) < n; i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(atomic_load(&g_threads_done), n);
}

static ncsl_status run(ncsl_js_runtime *rt, const char *code, const char *input, uint32_t timeout,
                       uint64_t gas_limit, ncsl_js_outcome *o) {
    ncsl_js_call call = {
        .code = code,
        .code_len = strlen(code),
        .input_json = input,
        .input_len = input ? strlen(input) : 0,
        .limits = {.memory_bytes = 64 * MIB, .timeout_ms = timeout, .gas_limit = gas_limit},
    };
    ncsl_err err;
    return ncsl_js_run(rt, &call, o, &err);
}

static int setup(void **state) {
    ncsl__js_platform_set_test_hook(test_hook);
    ncsl_js_runtime *rt = NULL;
    if (ncsl_js_runtime_create(&rt, NULL) != NCSL_OK) {
        return -1;
    }
    ncsl_js_runtime_set_wait_hooks(rt, wait_hook, NULL);
    *state = rt;
    return 0;
}

static int teardown(void **state) {
    ncsl_js_runtime_destroy(*state);
    ncsl__js_platform_set_test_hook(NULL);
    return 0;
}

/* Three ops completed by three threads, awaited together; each is freed once. */
static void test_ops_settle(void **state) {
    ncsl_js_runtime *rt = *state;
    reset_counters();
    ncsl_js_outcome o;
    const char *code = "async function main() {"
                       "  const r = await Promise.all([startOp(30, 1, 'ok'), startOp(10, 2, 'ok'),"
                       "                               startOp(20, 3, 'ok')]);"
                       "  return r; }";
    assert_int_equal(run(rt, code, NULL, 3000, 0, &o), NCSL_OK);
    assert_string_equal(o.result_json, "[1,2,3]");
    ncsl_js_outcome_cleanup(&o);
    await_threads(3);
    assert_int_equal(atomic_load(&g_settled), 3);
    assert_int_equal(atomic_load(&g_freed), 3);
    assert_int_equal(atomic_load(&g_cancelled), 0);
    /* the call waited (no busy loop) and told the hook both ways */
    assert_true(atomic_load(&g_wait_begin) >= 1);
    assert_int_equal(atomic_load(&g_wait_begin), atomic_load(&g_wait_end));
}

/* settle throwing rejects the op's promise: user code can catch it. */
static void test_op_settle_rejects(void **state) {
    ncsl_js_runtime *rt = *state;
    reset_counters();
    ncsl_js_outcome o;
    const char *code = "async function main() {"
                       "  try { await startOp(5, 1, 'fail'); return 'no'; }"
                       "  catch (e) { return e.name + ': ' + e.message; } }";
    assert_int_equal(run(rt, code, NULL, 3000, 0, &o), NCSL_OK);
    assert_string_equal(o.result_json, "\"TypeError: startOp: failed on purpose\"");
    ncsl_js_outcome_cleanup(&o);
    await_threads(1);
    assert_int_equal(atomic_load(&g_freed), 1);
}

/* An op still pending at the deadline is cancelled; it completes later and is freed once. */
static void test_op_cancelled_at_deadline(void **state) {
    ncsl_js_runtime *rt = *state;
    reset_counters();
    ncsl_js_outcome o;
    const char *code = "async function main() { return await startOp(60000, 1, 'ok'); }";
    uint64_t t0 = ncsl_now_ns();
    assert_int_equal(run(rt, code, NULL, 100, 0, &o), NCSL_E_JS_TIMEOUT);
    ncsl_js_outcome_cleanup(&o);
    await_threads(1); /* cancel ended the 60 s wait early */
    assert_true(ncsl_now_ns() - t0 < 30000000000ull);
    assert_int_equal(atomic_load(&g_cancelled), 1);
    assert_int_equal(atomic_load(&g_settled), 0);
    assert_int_equal(atomic_load(&g_freed), 1);
}

/* A sync main returns while ops are pending: they are cancelled, the result stands. */
static void test_op_dropped_when_main_returns(void **state) {
    ncsl_js_runtime *rt = *state;
    reset_counters();
    ncsl_js_outcome o;
    const char *code = "function main() { startOp(50, 1, 'ok'); startOp(50, 2, 'ok'); return 7; }";
    assert_int_equal(run(rt, code, NULL, 3000, 0, &o), NCSL_OK);
    assert_string_equal(o.result_json, "7");
    ncsl_js_outcome_cleanup(&o);
    await_threads(2);
    assert_int_equal(atomic_load(&g_cancelled), 2);
    assert_int_equal(atomic_load(&g_freed), 2);
    /* the runtime is fine afterwards */
    assert_int_equal(run(rt, "function main() { return 1; }", NULL, 3000, 0, &o), NCSL_OK);
    ncsl_js_outcome_cleanup(&o);
}

/* Gas: the same code and input give the same gas, compiled or cached, in any runtime; more
 * work costs more; the limit ends the call and cannot be caught. */
static void test_gas(void **state) {
    ncsl_js_runtime *rt = *state;
    const char *code = "function main(n) { let s = 0; for (let i = 0; i < n; i++) s += i % 7;"
                       "  return s; }";
    ncsl_js_outcome o;
    uint64_t gas[3];
    for (int i = 0; i < 3; i++) {
        ncsl_js_runtime *r2 = NULL;
        assert_int_equal(ncsl_js_runtime_create(&r2, NULL), NCSL_OK);
        ncsl_js_runtime *use = i == 2 ? r2 : rt;
        assert_int_equal(run(use, code, "300000", 5000, 0, &o), NCSL_OK);
        gas[i] = o.gas_used;
        ncsl_js_outcome_cleanup(&o);
        ncsl_js_runtime_destroy(r2);
    }
    assert_true(gas[0] > 50);
    assert_int_equal(gas[0], gas[1]);
    assert_int_equal(gas[0], gas[2]);
    assert_int_equal(run(rt, code, "3000000", 5000, 0, &o), NCSL_OK);
    assert_true(o.gas_used > gas[0] * 5);
    ncsl_js_outcome_cleanup(&o);

    const char *catcher = "function main() { for (;;) { try { for (;;) {} } catch (e) {} } }";
    assert_int_equal(run(rt, catcher, NULL, 5000, 2000, &o), NCSL_E_JS_GAS);
    assert_string_equal(o.error_name, "GasLimitError");
    assert_non_null(strstr(o.error_message, "gas limit of 2000"));
    assert_true(o.gas_used > 2000 && o.gas_used < 2100);
    ncsl_js_outcome_cleanup(&o);
    /* failed calls report their gas too; the runtime stays healthy */
    assert_int_equal(run(rt, "function main() { throw new Error('x'); }", NULL, 5000, 0, &o),
                     NCSL_E_JS_EXCEPTION);
    assert_true(o.gas_used > 0);
    ncsl_js_outcome_cleanup(&o);
    assert_int_equal(run(rt, "function main() { return 2; }", NULL, 5000, 0, &o), NCSL_OK);
    ncsl_js_outcome_cleanup(&o);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ops_settle),
        cmocka_unit_test(test_op_settle_rejects),
        cmocka_unit_test(test_op_cancelled_at_deadline),
        cmocka_unit_test(test_op_dropped_when_main_returns),
        cmocka_unit_test(test_gas),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
