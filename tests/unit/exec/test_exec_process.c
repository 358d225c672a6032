/*
 * The engine with process isolation: calls run in worker processes (this test program started
 * again as a worker, as ncsld is), give the same results as thread mode, reach storage in the
 * parent, get their secrets and Neo.keys, fetch under the daemon's policy (a server this test
 * runs on 127.0.0.1; refusals word for word as in thread mode); a worker that crashes, hangs or
 * breaks the protocol
 * costs exactly its call (NCSL_E_INTERNAL), is reaped (no zombie) and replaced; the queue bound,
 * draining and descriptors behave as in thread mode.
 *
 * As a worker (argv[1] == NCSL_ENGINE_WORKER_FLAG) the program serves calls, or with
 * NCSL_TEST_EVIL_WORKER set in the environment misbehaves after its first JOB as named there.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
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

#include "../js/storage_double.h"
#include "exec/exec_int.h"
#include "fetch/fetch.h"
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

/* ------------------------------------------------------------------------- fetch */
/* An HTTP/1.0 server on 127.0.0.1 (ephemeral port): answers every request with its path as a
 * JSON string; stops when told, and by itself after 60 s whatever happens to the test. */
typedef struct upstream {
    int fd;
    unsigned port;
    volatile bool stop;
    unsigned served;
    pthread_t th;
} upstream;

static void *upstream_main(void *arg) {
    upstream *u = arg;
    uint64_t end = ncsl_now_us() + 60000000u;
    while (!u->stop && ncsl_now_us() < end) {
        struct pollfd pfd = {.fd = u->fd, .events = POLLIN};
        if (poll(&pfd, 1, 50) <= 0) {
            continue;
        }
        int c = accept(u->fd, NULL, NULL);
        if (c < 0) {
            continue;
        }
        char req[4096];
        size_t have = 0;
        while (have < sizeof(req) - 1) {
            struct pollfd cp = {.fd = c, .events = POLLIN};
            if (poll(&cp, 1, 2000) <= 0) {
                break;
            }
            ssize_t n = recv(c, req + have, sizeof(req) - 1 - have, 0);
            if (n <= 0) {
                break;
            }
            have += (size_t)n;
            req[have] = '\0';
            if (strstr(req, "\r\n\r\n")) {
                break;
            }
        }
        req[have] = '\0';
        char path[256] = "";
        if (sscanf(req, "GET %255s ", path) == 1) {
            char body[300], resp[512];
            int bn = snprintf(body, sizeof(body), "\"%s\"", path);
            int rn = snprintf(resp, sizeof(resp),
                              "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n"
                              "Content-Length: %d\r\nX-Upstream: yes\r\n\r\n%s",
                              bn, body);
            if (send(c, resp, (size_t)rn, MSG_NOSIGNAL) == rn) {
                u->served++;
            }
        }
        close(c);
    }
    return NULL;
}

static void upstream_start(upstream *u) {
    memset(u, 0, sizeof(*u));
    u->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(u->fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    assert_int_equal(bind(u->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(u->fd, 16), 0);
    assert_int_equal(getsockname(u->fd, (struct sockaddr *)&a, &al), 0);
    u->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&u->th, NULL, upstream_main, u), 0);
}

static void upstream_stop(upstream *u) {
    u->stop = true;
    pthread_join(u->th, NULL);
    close(u->fd);
}

static void fetch_policy(const char *const *hosts, size_t n, bool private_ok) {
    ncsl_fetch_policy p;
    ncsl_fetch_policy_default(&p);
    p.allowed_hosts = hosts;
    p.allowed_host_count = n;
    p.allow_private_networks = private_ok;
    p.max_requests_per_call = 3;
    p.timeout_ms = 5000;
    ncsl_err err;
    assert_int_equal(ncsl_fetch_configure(&p, &err), NCSL_OK);
}

/* fetch(url) in `e`: the result JSON ({ok, status, body, upstream} or {ok: false, name, message})
 * into out. */
static void fetch_in(ncsl_engine *e, const char *url, char *out, size_t size) {
    static const char *code =
        "async function main(i) {"
        "  try {"
        "    const r = await fetch(i.url);"
        "    return { ok: true, status: r.status, body: await r.json(),"
        "             upstream: r.headers.get('x-upstream') };"
        "  } catch (e) { return { ok: false, name: e.name, message: e.message }; }"
        "}";
    char input[512];
    snprintf(input, sizeof(input), "{\"url\":\"%s\"}", url);
    ncsl_result *r = NULL;
    ncsl_err err;
    ncsl_status st = run(e, code, input, &r, &err);
    if (st != NCSL_OK) {
        fail_msg("fetch %s: %d %s", url, st, err.message);
    }
    snprintf(out, size, "%s", ncsl_result_json(r, NULL));
    ncsl_result_destroy(r);
}

/* The daemon's policy reaches the workers: a fetch to the test's server works in process mode
 * and gives what thread mode gives; refusals (host not allowed, private address, fetch off) are
 * the same TypeErrors, word for word. */
static void test_fetch_in_worker(void **state) {
    (void)state;
    upstream u;
    upstream_start(&u);
    char base[64], url[128], t[1024], p[1024];
    snprintf(base, sizeof(base), "http://127.0.0.1:%u", u.port);
    static const char *const local[] = {"127.0.0.1"};
    fetch_policy(local, 1, true);
    ncsl_engine *et = engine_new(NCSL_ISOLATION_THREAD, 1, 8, 8000);
    ncsl_engine *ep = engine_new(NCSL_ISOLATION_PROCESS, 1, 8, 8000);
    snprintf(url, sizeof(url), "%s/price?x=1", base);
    fetch_in(ep, url, p, sizeof(p));
    assert_string_equal(p, "{\"ok\":true,\"status\":200,\"body\":\"/price?x=1\","
                           "\"upstream\":\"yes\"}");
    fetch_in(et, url, t, sizeof(t));
    assert_string_equal(t, p);
    assert_int_equal(u.served, 2);
    /* a host not in AllowedHosts, a literal address not in it: refused before any I/O */
    static const char *const refused[] = {"http://evil.example.com/steal", "http://127.0.0.2:1/",
                                          "ftp://127.0.0.1/"};
    for (size_t i = 0; i < NCSL_ARRAY_LEN(refused); i++) {
        fetch_in(et, refused[i], t, sizeof(t));
        fetch_in(ep, refused[i], p, sizeof(p));
        assert_non_null(strstr(t, "\"ok\":false,\"name\":\"TypeError\""));
        assert_string_equal(p, t);
    }
    assert_non_null(strstr(p, "fetch: ")); /* the last one names why */
    fetch_in(ep, "http://evil.example.com/steal", p, sizeof(p));
    assert_non_null(strstr(p, "host 'evil.example.com' (port 80) is not in Fetch.AllowedHosts"));
    /* MaxRequestsPerCall (3) holds in the worker as in a thread */
    static const char *many = "async function main(i) { let n = 0; try {"
                              "  for (;;) { await (await fetch(i.url)).text(); n++; } }"
                              "  catch (e) { return [n, e.message]; } }";
    char input[256];
    snprintf(input, sizeof(input), "{\"url\":\"%s/n\"}", base);
    ncsl_result *rt = NULL, *rp = NULL;
    ncsl_err err;
    assert_int_equal(run(et, many, input, &rt, &err), NCSL_OK);
    assert_int_equal(run(ep, many, input, &rp, &err), NCSL_OK);
    assert_string_equal(ncsl_result_json(rp, NULL), ncsl_result_json(rt, NULL));
    assert_non_null(strstr(ncsl_result_json(rp, NULL), "[3,"));
    ncsl_result_destroy(rt);
    ncsl_result_destroy(rp);
    ncsl_engine_destroy(ep);
    ncsl_engine_destroy(et);

    /* workers started under another policy follow it: loopback refused without
     * AllowPrivateNetworks, and everything refused with fetch off (the default) */
    fetch_policy(local, 1, false);
    et = engine_new(NCSL_ISOLATION_THREAD, 1, 8, 8000);
    ep = engine_new(NCSL_ISOLATION_PROCESS, 1, 8, 8000);
    unsigned served = u.served;
    fetch_in(et, url, t, sizeof(t));
    fetch_in(ep, url, p, sizeof(p));
    assert_string_equal(p, t);
    assert_non_null(strstr(p, "loopback"));
    assert_non_null(strstr(p, "Fetch.AllowPrivateNetworks"));
    ncsl_engine_destroy(ep);
    ncsl_engine_destroy(et);
    assert_int_equal(ncsl_fetch_configure(NULL, NULL), NCSL_OK);
    et = engine_new(NCSL_ISOLATION_THREAD, 1, 8, 8000);
    ep = engine_new(NCSL_ISOLATION_PROCESS, 1, 8, 8000);
    fetch_in(et, url, t, sizeof(t));
    fetch_in(ep, url, p, sizeof(p));
    assert_string_equal(p, t);
    assert_non_null(strstr(p, "Fetch.AllowedHosts"));
    assert_int_equal(u.served, served); /* none of the refused ones reached the server */
    ncsl_engine_destroy(ep);
    ncsl_engine_destroy(et);
    ncsl_fetch_shutdown();
    upstream_stop(&u);
    assert_int_equal(zombies(), 0);
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
        cmocka_unit_test(test_limits_in_worker),     cmocka_unit_test(test_fetch_in_worker),
#ifdef NCSL_TEST_HOOKS
        cmocka_unit_test(test_crash_costs_one_call), cmocka_unit_test(test_hang_hits_hard_bound),
#endif
        cmocka_unit_test(test_evil_workers),         cmocka_unit_test(test_busy_and_drain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
