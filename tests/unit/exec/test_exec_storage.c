/*
 * Storage through the engine (src/exec/engine.c): a call's writes reach the store's commit hook
 * once, in order, only when main() succeeded; a failed call (exception, timeout, memory limit,
 * hook failure) commits nothing; a failed commit turns the call into that error with its logs
 * kept and its result dropped. The store is the in-memory double of tests/unit/js.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../js/storage_double.h"
#include "exec/exec.h"

static ncsl_engine *engine_new(void) {
    ncsl_engine_options o;
    ncsl_engine_options_default(&o);
    o.workers = 1;
    o.queue_size = 4;
    o.timeout_ms = 1500; /* the loops below end here; normal calls need room on loaded runs */
    o.memory_limit_bytes = (size_t)32 << 20;
    ncsl_engine *e = NULL;
    assert_int_equal(ncsl_engine_create(&o, &e, NULL), NCSL_OK);
    return e;
}

static void seed(mem_store *m) {
    mem_store_put(m, "a", "1");
    mem_store_put(m, "b", "{\"x\":2}");
}

static ncsl_status exec(ncsl_engine *e, mem_store *m, const char *code, ncsl_result **r,
                        ncsl_err *err) {
    ncsl_exec_request req = {
        .code = code,
        .code_len = strlen(code),
        .function_id = "f",
        .user_id = "u",
        .storage = m ? &m->hooks : NULL,
    };
    return ncsl_engine_execute(e, &req, r, err);
}

/* The store still holds exactly the seed. */
static void assert_store_unchanged(const mem_store *m) {
    assert_int_equal(m->count, 2);
    assert_string_equal(mem_store_value(m, "a"), "1");
    assert_string_equal(mem_store_value(m, "b"), "{\"x\":2}");
}

static void test_commit_on_success(void **state) {
    (void)state;
    ncsl_engine *e = engine_new();
    mem_store m;
    mem_store_init(&m, 0, 0, 0);
    seed(&m);
    ncsl_result *r = NULL;
    ncsl_err err;
    assert_int_equal(exec(e, &m,
                          "async function main() { const n = await storage.get('a'); "
                          "await storage.set('a', n + 1); await storage.remove('b'); "
                          "await storage.set('c', { t: [1] }); return storage.list(); }",
                          &r, &err),
                     NCSL_OK);
    assert_string_equal(ncsl_result_json(r, NULL), "[\"a\",\"c\"]");
    ncsl_result_destroy(r);
    assert_int_equal(m.commit_calls, 1);
    assert_string_equal(m.last_batch, "SET a=2;REMOVE b;SET c={\"t\":[1]}");
    assert_int_equal(m.count, 2);
    assert_string_equal(mem_store_value(&m, "a"), "2");
    assert_string_equal(mem_store_value(&m, "c"), "{\"t\":[1]}");

    /* the next call reads what the last one committed; reads alone commit nothing */
    assert_int_equal(exec(e, &m, "async function main() { return storage.get('a'); }", &r, &err),
                     NCSL_OK);
    assert_string_equal(ncsl_result_json(r, NULL), "2");
    ncsl_result_destroy(r);
    assert_int_equal(m.commit_calls, 1);

    /* clear first, then what survives of the later writes */
    assert_int_equal(exec(e, &m,
                          "async function main() { await storage.set('x', 1); "
                          "await storage.clear(); await storage.set('y', 2); }",
                          &r, &err),
                     NCSL_OK);
    ncsl_result_destroy(r);
    assert_int_equal(m.commit_calls, 2);
    assert_string_equal(m.last_batch, "CLEAR;SET y=2");
    assert_int_equal(m.count, 1);
    assert_string_equal(mem_store_value(&m, "y"), "2");
    mem_store_cleanup(&m);
    ncsl_engine_destroy(e);
}

/* Every way main can fail: nothing reaches the store. */
static void test_failed_call_commits_nothing(void **state) {
    (void)state;
    static const struct {
        const char *code;
        ncsl_status status;
    } cases[] = {
        {"async function main() { await storage.set('a', 2); throw new Error('x'); }",
         NCSL_E_JS_EXCEPTION},
        {"function main() { storage.set('a', 2); storage.clear(); return Promise.reject(1); }",
         NCSL_E_JS_EXCEPTION},
        {"async function main() { await storage.set('a', 2); for (;;) {} }", NCSL_E_JS_TIMEOUT},
        {"async function main() { await storage.set('a', 2); await new Promise(() => {}); }",
         NCSL_E_JS_TIMEOUT},
        {"async function main() { await storage.clear(); const a = []; "
         "for (;;) a.push(new Array(1e5).fill(1)); }",
         NCSL_E_JS_MEMORY},
        {"async function main() { await storage.set('a', 2); return 1n; }", NCSL_E_JS_BAD_RESULT},
        {"async function main() { await storage.set('a', 2); return 'x'.repeat(2 << 20); }",
         NCSL_E_JS_OUTPUT_TOO_LARGE},
        {"async function main() { await storage.set('a', 2); return storage.get('zz'); }",
         NCSL_E_JS_EXCEPTION}, /* the get hook fails (integrity) */
    };
    ncsl_engine *e = engine_new();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        print_message("case %zu\n", i);
        mem_store m;
        mem_store_init(&m, 0, 0, 0);
        seed(&m);
        if (i == sizeof(cases) / sizeof(cases[0]) - 1) {
            m.fail_get = NCSL_E_STORE_INTEGRITY;
        }
        ncsl_result *r = NULL;
        ncsl_err err;
        assert_int_equal(exec(e, &m, cases[i].code, &r, &err), cases[i].status);
        assert_non_null(r);
        assert_null(ncsl_result_json(r, NULL));
        ncsl_result_destroy(r);
        assert_int_equal(m.commit_calls, 0);
        assert_store_unchanged(&m);
        mem_store_cleanup(&m);
    }
    ncsl_engine_destroy(e);
}

/* A commit that fails (a concurrent call took the quota, the disk failed) fails the call. */
static void test_commit_failure(void **state) {
    (void)state;
    static const struct {
        ncsl_status status;
        const char *message;
        const char *name;
        int http;
    } cases[] = {
        {NCSL_E_STORE_QUOTA, "the function's storage would exceed its quota of 100 bytes",
         "QuotaExceededError", 413},
        {NCSL_E_STORE, "database is locked", "StorageError", 500},
    };
    ncsl_engine *e = engine_new();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        mem_store m;
        mem_store_init(&m, 0, 0, 0);
        seed(&m);
        m.fail_commit = cases[i].status;
        snprintf(m.fail_message, sizeof(m.fail_message), "%s", cases[i].message);
        ncsl_result *r = NULL;
        ncsl_err err;
        assert_int_equal(exec(e, &m,
                              "async function main() { console.log('before'); "
                              "await storage.set('a', 5); return { ok: true }; }",
                              &r, &err),
                         cases[i].status);
        assert_int_equal(err.code, cases[i].status);
        assert_string_equal(err.message, cases[i].message);
        assert_int_equal(ncsl_status_http(cases[i].status), cases[i].http);
        assert_non_null(r); /* the logs stay */
        assert_int_equal(ncsl_result_status(r), cases[i].status);
        assert_null(ncsl_result_json(r, NULL)); /* the result goes */
        assert_non_null(strstr(ncsl_result_logs_json(r, NULL), "\"message\":\"before\""));
        assert_string_equal(ncsl_result_error_name(r), cases[i].name);
        assert_string_equal(ncsl_result_error_message(r), cases[i].message);
        ncsl_result_destroy(r);
        assert_int_equal(m.commit_calls, 1);
        assert_string_equal(m.last_batch, "SET a=5");
        assert_store_unchanged(&m);
        mem_store_cleanup(&m);
    }
    ncsl_engine_destroy(e);
}

/* Two calls race for the quota: the call's own check passed, the store's check at commit time
 * refuses, and the call fails with the store's answer. */
static void test_commit_quota_race(void **state) {
    (void)state;
    ncsl_engine *e = engine_new();
    mem_store m;
    mem_store_init(&m, 40, 0, 0);
    seed(&m); /* 10 bytes */
    /* the call sees 10 bytes used and adds 26 (36 <= 40); a concurrent call lands 12 bytes */
    m.race_key = "other";
    m.race_value = "1234567";
    ncsl_result *r = NULL;
    ncsl_err err;
    assert_int_equal(exec(e, &m,
                          "async function main() { await storage.set('n', 'x'.repeat(23)); "
                          "return 1; }",
                          &r, &err),
                     NCSL_E_STORE_QUOTA);
    assert_int_equal(m.commit_calls, 1);
    assert_string_equal(ncsl_result_error_name(r), "QuotaExceededError");
    assert_non_null(strstr(ncsl_result_error_message(r), "over its quota"));
    assert_null(ncsl_result_json(r, NULL));
    ncsl_result_destroy(r);
    assert_int_equal(m.count, 3);
    assert_null(mem_store_value(&m, "n"));
    mem_store_cleanup(&m);
    ncsl_engine_destroy(e);
}

static void test_no_storage(void **state) {
    (void)state;
    ncsl_engine *e = engine_new();
    ncsl_result *r = NULL;
    ncsl_err err;
    assert_int_equal(ncsl_execute_javascript(e,
                                             "async function main() { try { await "
                                             "storage.set('a', 1); } catch (e) { return "
                                             "e.message; } }",
                                             NULL, NULL, "f", "u", &r, &err),
                     NCSL_OK);
    assert_string_equal(ncsl_result_json(r, NULL),
                        "\"storage is available only to deployed functions (POST "
                        "/api/v1/functions/{id}/invoke)\"");
    ncsl_result_destroy(r);

    /* incomplete hooks are refused before anything runs */
    mem_store m;
    mem_store_init(&m, 0, 0, 0);
    m.hooks.commit = NULL;
    assert_int_equal(exec(e, &m, "function main() { return 1; }", &r, &err), NCSL_E_INVALID_ARG);
    assert_null(r);
    assert_string_equal(err.field, "storage");
    mem_store_cleanup(&m);
    ncsl_engine_destroy(e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commit_on_success),
        cmocka_unit_test(test_failed_call_commits_nothing),
        cmocka_unit_test(test_commit_failure),
        cmocka_unit_test(test_commit_quota_race),
        cmocka_unit_test(test_no_storage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
