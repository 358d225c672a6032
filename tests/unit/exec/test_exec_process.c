/*
 * The engine with process isolation: calls run in worker processes (this test program started
 * again as a worker, as ncsld is), give the same results as thread mode, reach storage in the
 * parent, get their secrets and Neo.keys; a worker that crashes, hangs or breaks the protocol
 * costs exactly its call (NCSL_E_INTERNAL), is reaped (no zombie) and replaced; the queue bound,
 * draining and descriptors behave as in thread mode.
 *
 * As a worker (argv[1] == NCSL_ENGINE_WORKER_FLAG) the program serves calls, or with
 * NCSL_TEST_EVIL_WORKER set in the environment misbehaves after its first JOB as named there.
 */
#include <dirent.h>
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

#include "../js/storage_double.h"
#include "exec/exec_int.h"
#include "keys/keys.h"

static ncsl_engine *engine_new(ncsl_isolation iso, unsigned workers, unsigned queue,
                               uint32_t timeout_ms) {
    ncsl_engine_options o;
    ncsl_engine_options_default(&o);
    o.workers = workers;
    o.queue_size = queue;
    o.timeout_ms = timeout_ms;
    o.memory_limit_bytes = (size_t)64 << 20;
    o.isolation = iso;
    ncsl_engine *e = NULL;
    ncsl_err err;
    ncsl_status st = ncsl_engine_create(&o, &e, &err);
    if (st != NCSL_OK) {
        print_error("engine: %s\n", err.message);
    }
    assert_int_equal(st, NCSL_OK);
    return e;
}

static ncsl_status run(ncsl_engine *e, const char *code, const char *input, ncsl_result **out,
                       ncsl_err *err) {
    ncsl_exec_request req = {.code = code,
                             .code_len = strlen(code),
                             .input_json = input,
                             .input_len = input ? strlen(input) : 0,
                             .user_id = "u1",
                             .function_id = "f1"};
    return ncsl_engine_execute(e, &req, out, err);
}

/* Children of this process that are zombies now. */
static unsigned zombies(void) {
    unsigned n = 0;
    DIR *d = opendir("/proc");
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        char path[300], buf[512];
        snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
        FILE *f = fopen(path, "r");
        if (!f) {
            continue;
        }
        size_t got = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[got] = '\0';
        char *rp = strrchr(buf, ')');
        char st = 0;
        long ppid = 0;
        if (rp && sscanf(rp + 1, " %c %ld", &st, &ppid) == 2 && ppid == (long)getpid() &&
            st == 'Z') {
            n++;
        }
    }
    closedir(d);
    return n;
}

static unsigned open_fds(void) {
    unsigned n = 0;
    DIR *d = opendir("/proc/self/fd");
    while (d && readdir(d)) {
        n++;
    }
    if (d) {
        closedir(d);
    }
    return n;
}

static void wait_workers(ncsl_engine *e, unsigned want) {
    ncsl_engine_stats s;
    for (int i = 0; i < 2000; i++) {
        ncsl_engine_get_stats(e, &s);
        if (s.workers == want) {
            return;
        }
        usleep(10000);
    }
    fail_msg("workers stayed at %u, want %u", s.workers, want);
}

/* The same calls in both modes give the same status, result, logs, error and gas. */
static void test_same_as_threads(void **state) {
    (void)state;
    static const char *codes[] = {
        "function main(i) { return { r: i.value * 2 }; }",
        "async function main(i) { console.log('hi', i.value); await null; return [1, 'a']; }",
        "function main() { throw new TypeError('boom'); }",
        "function main() { return undefined; }",
        "function main() { return 1n; }",
        "function main() { let s = 0; for (let k = 0; k < 1000; k++) s += k; return s; }",
        "function main() { while (true) {} }",
        "function main() { const a = []; for (;;) a.push(new Array(100000).fill(1)); }",
        "not javascript (",
        "const x = 1;",
        "function main() { return Neo.keys.get('k1').publicKey; }",
    };
    ncsl_keys *keys = NULL;
    ncsl_err err;
    assert_int_equal(ncsl_keys_create_ephemeral(NULL, &keys, &err), NCSL_OK);
    ncsl_js_set_identity_keys(keys);
    ncsl_engine *et = engine_new(NCSL_ISOLATION_THREAD, 1, 8, 300);
    ncsl_engine *ep = engine_new(NCSL_ISOLATION_PROCESS, 1, 8, 300);
    ncsl_engine_stats s;
    ncsl_engine_get_stats(ep, &s);
    assert_true(s.process_isolation);
    assert_int_equal(s.workers, 1);
    for (size_t i = 0; i < NCSL_ARRAY_LEN(codes); i++) {
        ncsl_result *rt = NULL, *rp = NULL;
        ncsl_status st = run(et, codes[i], "{\"value\":21}", &rt, &err);
        ncsl_status sp = run(ep, codes[i], "{\"value\":21}", &rp, &err);
        if (st != sp) {
            fail_msg("code %zu: thread %d, process %d (%s)", i, st, sp, err.message);
        }
        assert_true((rt == NULL) == (rp == NULL));
        if (rt) {
            const char *jt = ncsl_result_json(rt, NULL), *jp = ncsl_result_json(rp, NULL);
            assert_true((jt == NULL) == (jp == NULL));
            if (jt) {
                assert_string_equal(jt, jp);
            }
            assert_string_equal(ncsl_result_logs_json(rt, NULL), ncsl_result_logs_json(rp, NULL));
            assert_string_equal(ncsl_result_error_name(rt), ncsl_result_error_name(rp));
            assert_string_equal(ncsl_result_error_message(rt), ncsl_result_error_message(rp));
            if (st != NCSL_E_JS_TIMEOUT && st != NCSL_E_JS_MEMORY) { /* where a limit cut in */
                assert_int_equal(ncsl_result_gas_used(rt), ncsl_result_gas_used(rp));
            }
            assert_true(ncsl_result_memory_used_bytes(rp) > 0);
        }
        ncsl_result_destroy(rt);
        ncsl_result_destroy(rp);
    }
    ncsl_engine_destroy(et);
    ncsl_engine_destroy(ep);
    ncsl_js_set_identity_keys(NULL);
    ncsl_keys_destroy(keys);
    assert_int_equal(zombies(), 0);
}

static void test_secrets_and_storage(void **state) {
    (void)state;
    mem_store m;
    mem_store_init(&m, 0, 0, 0);
    ncsl_engine *e = engine_new(NCSL_ISOLATION_PROCESS, 1, 8, 2000);
    const char *code = "async function main() {"
                       "  const n = (await storage.get('count')) ?? 0;"
                       "  await storage.set('count', n + 1);"
                       "  await storage.set('other', 'x');"
                       "  return { n: n + 1, keys: await storage.list(), secret: SECRETS.API_KEY,"
                       "           bin: SECRETS.BIN.length };"
                       "}";
    ncsl_secret secrets[] = {{.name = "API_KEY", .value = "s3cr3t", .value_len = 6},
                             {.name = "BIN", .value = "ab", .value_len = 2}};
    ncsl_exec_request req = {.code = code,
                             .code_len = strlen(code),
                             .secrets = secrets,
                             .secret_count = 2,
                             .storage = &m.hooks};
    for (int round = 1; round <= 3; round++) {
        ncsl_result *r = NULL;
        ncsl_err err;
        ncsl_status st = ncsl_engine_execute(e, &req, &r, &err);
        if (st != NCSL_OK) {
            fail_msg("round %d: %d %s", round, st, err.message);
        }
        char want[256];
        snprintf(want, sizeof(want),
                 "{\"n\":%d,\"keys\":[\"count\",\"other\"],\"secret\":\"s3cr3t\",\"bin\":2}",
                 round);
        assert_string_equal(ncsl_result_json(r, NULL), want);
        ncsl_result_destroy(r);
    }
    assert_int_equal(m.commit_calls, 3);
    assert_true(m.get_calls >= 3);
    assert_true(m.list_calls >= 3);
    /* a failing hook reaches the call as a JS error, the worker survives */
    m.fail_get = NCSL_E_STORE;
    snprintf(m.fail_message, sizeof(m.fail_message), "disk on fire");
    ncsl_result *r = NULL;
    ncsl_err err;
    assert_int_equal(ncsl_engine_execute(e, &req, &r, &err), NCSL_E_JS_EXCEPTION);
    assert_non_null(strstr(ncsl_result_error_message(r), "disk on fire"));
    ncsl_result_destroy(r);
    ncsl_engine_stats s;
    ncsl_engine_get_stats(e, &s);
    assert_int_equal(s.worker_failures, 0);
    ncsl_engine_destroy(e);
    mem_store_cleanup(&m);
}

static void test_limits_in_worker(void **state) {
    (void)state;
    ncsl_engine *e = engine_new(NCSL_ISOLATION_PROCESS, 1, 8, 10000);
    ncsl_result *r = NULL;
    ncsl_err err;
    const char *loop = "function main() { while (true) {} }";
    ncsl_exec_request req = {.code = loop, .code_len = strlen(loop), .timeout_ms = 200};
    uint64_t t0 = ncsl_now_us();
    assert_int_equal(ncsl_engine_execute(e, &req, &r, &err), NCSL_E_JS_TIMEOUT);
    assert_true(ncsl_now_us() - t0 < 5000000u); /* the worker's deadline, not the hard bound */
    ncsl_result_destroy(r);
    /* the 64 MiB heap limit, with a deadline long enough for a loaded sanitizer build */
    assert_int_equal(
        run(e, "function main() { const a = []; for (;;) a.push(new Array(1e5).fill(1)); }", NULL,
            &r, &err),
        NCSL_E_JS_MEMORY);
    ncsl_result_destroy(r);
    assert_int_equal(run(e, "function main() { return 7; }", NULL, &r, &err), NCSL_OK);
    ncsl_result_destroy(r);
    ncsl_engine_stats s;
    ncsl_engine_get_stats(e, &s);
    assert_int_equal(s.worker_failures, 0);
    ncsl_engine_destroy(e);
}

/* ------------------------------------------------------------------------- worker failures */
typedef struct call_slot {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned done;
    ncsl_status st[16];
    bool has_result[16];
} call_slot;

typedef struct call_ctx {
    call_slot *slot;
    unsigned i;
} call_ctx;

static void on_done(void *user, ncsl_status st, ncsl_result *res, const ncsl_err *err) {
    call_ctx *c = user;
    pthread_mutex_lock(&c->slot->mu);
    c->slot->st[c->i] = st;
    c->slot->has_result[c->i] = res != NULL;
    c->slot->done++;
    pthread_cond_broadcast(&c->slot->cv);
    pthread_mutex_unlock(&c->slot->mu);
    ncsl_result_destroy(res);
}

#ifdef NCSL_TEST_HOOKS
static void test_crash_costs_one_call(void **state) {
    (void)state;
    setenv("NCSL_TEST_CRASH_HOOK", "1", 1);
    unsigned fds0 = open_fds();
    ncsl_engine *e = engine_new(NCSL_ISOLATION_PROCESS, 2, 32, 5000);
    /* 10 calls at once, the fourth crashes its worker */
    call_slot slot = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    call_ctx ctx[10];
    for (unsigned i = 0; i < 10; i++) {
        const char *code = i == 3 ? "function main() { ncslTest.crash(); }"
                                  : "async function main() { await null; return 1; }";
        ncsl_exec_request req = {.code = code, .code_len = strlen(code)};
        ctx[i] = (call_ctx){.slot = &slot, .i = i};
        ncsl_err err;
        assert_int_equal(ncsl_engine_submit(e, &req, on_done, &ctx[i], &err), NCSL_OK);
    }
    pthread_mutex_lock(&slot.mu);
    while (slot.done < 10) {
        pthread_cond_wait(&slot.cv, &slot.mu);
    }
    pthread_mutex_unlock(&slot.mu);
    for (unsigned i = 0; i < 10; i++) {
        if (i == 3) {
            assert_int_equal(slot.st[i], NCSL_E_INTERNAL);
            assert_false(slot.has_result[i]);
            assert_int_equal(ncsl_status_http(slot.st[i]), 500);
            assert_string_equal(ncsl_status_code(slot.st[i]), "INTERNAL_ERROR");
        } else {
            assert_int_equal(slot.st[i], NCSL_OK);
        }
    }
    ncsl_engine_stats s;
    ncsl_engine_get_stats(e, &s);
    assert_int_equal(s.worker_failures, 1);
    assert_int_equal(s.completed, 10);
    wait_workers(e, 2); /* the replacement is up */
    ncsl_engine_get_stats(e, &s);
    assert_int_equal(s.worker_restarts, 1);
    assert_int_equal(zombies(), 0);
    /* the next calls succeed */
    for (int i = 0; i < 4; i++) {
        ncsl_result *r = NULL;
        ncsl_err err;
        assert_int_equal(run(e, "function main(i) { return i; }", "[3]", &r, &err), NCSL_OK);
        assert_string_equal(ncsl_result_json(r, NULL), "[3]");
        ncsl_result_destroy(r);
    }
    /* and a second crash is the same again */
    ncsl_result *r = NULL;
    ncsl_err err;
    assert_int_equal(run(e, "function main() { ncslTest.crash(); }", NULL, &r, &err),
                     NCSL_E_INTERNAL);
    assert_null(r);
    wait_workers(e, 2);
    ncsl_engine_destroy(e);
    assert_int_equal(zombies(), 0);
    assert_int_equal(open_fds(), fds0); /* no descriptor of a dead worker left behind */
    unsetenv("NCSL_TEST_CRASH_HOOK");
}

/* A worker stuck in C (no JS deadline can end it) is killed at the hard bound. */
static void test_hang_hits_hard_bound(void **state) {
    (void)state;
    setenv("NCSL_TEST_CRASH_HOOK", "1", 1);
    ncsl_engine *e = engine_new(NCSL_ISOLATION_PROCESS, 1, 8, 100);
    ncsl_result *r = NULL;
    ncsl_err err;
    uint64_t t0 = ncsl_now_us();
    assert_int_equal(run(e, "function main() { ncslTest.hang(); }", NULL, &r, &err),
                     NCSL_E_INTERNAL);
    uint64_t took = ncsl_now_us() - t0;
    assert_true(took >= 100000u);
    assert_true(took < 30000000u);
    wait_workers(e, 1);
    assert_int_equal(run(e, "function main() { return 2; }", NULL, &r, &err), NCSL_OK);
    ncsl_result_destroy(r);
    ncsl_engine_destroy(e);
    assert_int_equal(zombies(), 0);
    unsetenv("NCSL_TEST_CRASH_HOOK");
}
#endif

/* Workers that break the protocol after their first JOB (see evil_worker). */
static void test_evil_workers(void **state) {
    (void)state;
    static const char *modes[] = {"garbage",   "oversize", "badtype",
                                  "truncated", "exit",     "badresult"};
    unsigned fds0 = open_fds();
    for (size_t i = 0; i < NCSL_ARRAY_LEN(modes); i++) {
        setenv("NCSL_TEST_EVIL_WORKER", modes[i], 1);
        ncsl_engine *e = engine_new(NCSL_ISOLATION_PROCESS, 1, 8, 1000);
        ncsl_result *r = NULL;
        ncsl_err err;
        ncsl_status st = run(e, "function main() { return 1; }", NULL, &r, &err);
        if (st != NCSL_E_INTERNAL) {
            fail_msg("mode %s: %d", modes[i], st);
        }
        assert_null(r);
        ncsl_engine_stats s;
        ncsl_engine_get_stats(e, &s);
        assert_int_equal(s.worker_failures, 1);
        wait_workers(e, 1); /* replaced (by another of the same kind) */
        ncsl_engine_destroy(e);
        assert_int_equal(zombies(), 0);
    }
    unsetenv("NCSL_TEST_EVIL_WORKER");
    assert_int_equal(open_fds(), fds0);
    /* a program that is not a worker at all: the engine does not start */
    ncsl_engine_options o;
    ncsl_engine_options_default(&o);
    o.workers = 1;
    o.isolation = NCSL_ISOLATION_PROCESS;
    o.worker_executable = "/bin/true";
    ncsl_engine *e = NULL;
    ncsl_err err;
    assert_int_equal(ncsl_engine_create(&o, &e, &err), NCSL_E_INTERNAL);
    assert_null(e);
    assert_int_equal(zombies(), 0);
}

static void test_busy_and_drain(void **state) {
    (void)state;
    ncsl_engine *e = engine_new(NCSL_ISOLATION_PROCESS, 1, 2, 5000);
    call_slot slot = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    call_ctx ctx[4];
    const char *slow = "function main() { const t = Date.now(); while (Date.now() - t < 300) {} "
                       "return 1; }";
    ncsl_exec_request req = {.code = slow, .code_len = strlen(slow)};
    unsigned accepted = 0, busy = 0;
    for (unsigned i = 0; i < 4; i++) {
        ctx[i] = (call_ctx){.slot = &slot, .i = i};
        ncsl_err err;
        ncsl_status st = ncsl_engine_submit(e, &req, on_done, &ctx[i], &err);
        if (st == NCSL_OK) {
            accepted++;
        } else {
            assert_int_equal(st, NCSL_E_BUSY);
            busy++;
        }
        if (i == 0) {
            usleep(100000); /* the first call is running: the queue holds 2 more */
        }
    }
    assert_int_equal(accepted, 3);
    assert_int_equal(busy, 1);
    ncsl_engine_destroy(e); /* drains: every accepted call is answered */
    assert_int_equal(slot.done, 3);
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(slot.st[i], NCSL_OK);
    }
    assert_int_equal(zombies(), 0);
}

/* ------------------------------------------------------------------------- worker side */
static int evil_worker(const char *mode) {
    int fd = 3;
    uint8_t type = 0;
    uint8_t *p = NULL;
    size_t len = 0;
    if (ncsl__proc_read_frame(fd, 1 << 20, 0, &type, &p, &len, NULL) != NCSL_OK) {
        return 1;
    }
    ncsl__proc_frame_free(p, len);
    uint8_t ready[12] = {4, 0, 0, 0, NCSL__MSG_READY, 0, 0, 0, NCSL__PROC_VERSION, 0, 0, 0};
    if (write(fd, ready, sizeof(ready)) != (ssize_t)sizeof(ready)) {
        return 1;
    }
    if (ncsl__proc_read_frame(fd, UINT32_MAX, 0, &type, &p, &len, NULL) != NCSL_OK) {
        return 1;
    }
    ncsl__proc_frame_free(p, len);
    uint8_t h[8] = {0, 0, 0, 0, NCSL__MSG_RESULT, 0, 0, 0};
    if (strcmp(mode, "garbage") == 0) {
        memset(h, 0xA5, sizeof(h));
    } else if (strcmp(mode, "oversize") == 0) {
        memset(h, 0xff, 4); /* 4 GiB announced */
    } else if (strcmp(mode, "badtype") == 0) {
        h[4] = NCSL__MSG_JOB;
    } else if (strcmp(mode, "truncated") == 0) {
        h[0] = 100; /* 100 bytes announced, 3 sent, then end of file */
    } else if (strcmp(mode, "badresult") == 0) {
        h[0] = 2; /* a RESULT too short to hold its fields */
    } else {
        return 3; /* "exit": die mid-call */
    }
    if (write(fd, h, sizeof(h)) != (ssize_t)sizeof(h) || write(fd, "abc", 3) != 3) {
        return 1;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], NCSL_ENGINE_WORKER_FLAG) == 0) {
        const char *evil = getenv("NCSL_TEST_EVIL_WORKER");
        return evil ? evil_worker(evil) : ncsl_engine_worker_main(argc, argv);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_as_threads),      cmocka_unit_test(test_secrets_and_storage),
        cmocka_unit_test(test_limits_in_worker),
#ifdef NCSL_TEST_HOOKS
        cmocka_unit_test(test_crash_costs_one_call), cmocka_unit_test(test_hang_hits_hard_bound),
#endif
        cmocka_unit_test(test_evil_workers),         cmocka_unit_test(test_busy_and_drain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
