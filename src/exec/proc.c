/*
 * Process isolation (DESIGN.md section 7): worker processes, each running calls on its own
 * ncsl_js_runtime, so that a call that crashes the engine (a bug in QuickJS or in our bindings)
 * costs that worker and that call, never the daemon.
 *
 * Parent side (ncsl__proc_worker_*, driven by one supervisor thread per worker in engine.c): a
 * worker is the same executable started with posix_spawn (never fork: Occlum has none) as
 * `EXE --exec-worker 3`, descriptor 3 being its end of a socketpair; every other descriptor is
 * closed in the child. The parent sends INIT (the identity key Neo.keys derives from: over the
 * socket, never in argv or the environment; and the fetch policy in force, AllowedHosts
 * included, which the child installs so that fetch decides exactly as in thread mode), waits for
 * READY, then per call sends JOB, answers the storage reads the call makes (the hooks stay in
 * the parent, which has the database) and reads RESULT; storage writes come back in RESULT and
 * are committed by the engine as in thread mode. Everything the child sends is checked
 * (exec_int.h); a malformed or oversized frame, end of file, or no RESULT within a hard bound
 * above the call's timeout is a worker failure: the engine answers the call NCSL_E_INTERNAL,
 * kills (SIGKILL) and reaps (waitpid) the worker and starts another.
 *
 * Child side (ncsl_engine_worker_main): dies with the parent (PR_SET_PDEATHSIG, and end of file
 * on the socket), ignores SIGINT/SIGTERM (they are the daemon's: it drains, then closes the
 * socket), and serves one call at a time on a thread with the same stack as a worker thread.
 *
 * Threads of a worker process (docs/occlum.md counts them): its main thread, which waits for the
 * call thread; the call thread; and, from its first fetch on, the fetch I/O thread (src/fetch).
 * It never signs receipts, so its identity handle never starts the signing-nonce thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "exec/exec_int.h"
#ifdef NCSL_TEST_HOOKS
#include "js/js_test_hooks.h"
#endif

extern char **environ;

#define CHILD_FD 3
#define START_TIMEOUT_MS 30000u /* spawn to READY (an ASan build starts slowly) */
#define EXIT_GRACE_MS 5000u     /* a worker whose socket was closed exits by itself within it */
#define STORE_MAX_KEY 65536u    /* a storage key or prefix in a request (far above any limit) */

/* ------------------------------------------------------------------------- identity key */
/* The child needs the identity's private halves to derive Neo.keys keys: keys.h's hand-off
 * material, in INIT. Callers wipe `out` (ncsl_wipe) whatever the result. */
static ncsl_status identity_export(uint8_t out[NCSL__PROC_KEY_SIZE], bool *have, ncsl_err *err) {
    const ncsl_keys *keys = ncsl_js_get_identity_keys();
    size_t n = NCSL__PROC_KEY_SIZE;
    *have = false;
    if (!keys) {
        return NCSL_OK; /* no identity installed: Neo.keys is unavailable there too */
    }
    ncsl_status st = ncsl_keys_private_export(keys, out, &n, err);
    *have = st == NCSL_OK && n == NCSL__PROC_KEY_SIZE;
    return st;
}

/* ------------------------------------------------------------------------- parent side */
struct ncsl__proc_worker {
    pid_t pid;
    int fd;
    size_t max_payload; /* the largest frame accepted from this worker */
};

pid_t ncsl__proc_worker_pid(const ncsl__proc_worker *w) {
    return w ? w->pid : -1;
}

/* Sends one frame built by `encode` (called twice: to size, then to write). */
static ncsl_status send_frame(int fd, ncsl__proc_msg type, void (*encode)(ncsl__wr *, const void *),
                              const void *arg, uint64_t deadline_ns, ncsl_err *err) {
    ncsl__wr count = {0};
    encode(&count, arg);
    ncsl__wr w;
    uint8_t *f = ncsl__proc_frame_new(type, count.len, &w);
    if (!f) {
        return ncsl_err_set(err, count.len > UINT32_MAX ? NCSL_E_PAYLOAD_TOO_LARGE : NCSL_E_NOMEM,
                            NULL, "cannot build a %zu-byte frame", count.len);
    }
    encode(&w, arg);
    NCSL_ASSERT(w.len == NCSL__PROC_HEADER_SIZE + count.len);
    ncsl_status st = ncsl__proc_write(fd, f, w.len, deadline_ns, err);
    ncsl__proc_frame_free(f, w.len);
    return st;
}

static void encode_init(ncsl__wr *w, const void *arg) {
    ncsl__proc_init_encode(w, arg);
}

/* Waits up to `ms` for the worker to exit; true when reaped (status in *status). */
static bool reap_within(pid_t pid, unsigned ms, int *status) {
    for (unsigned waited = 0;; waited += 5) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid || (r < 0 && errno == ECHILD)) {
            return true;
        }
        if (r < 0 && errno != EINTR) {
            return true; /* not our child any more: nothing left to reap */
        }
        if (waited >= ms) {
            return false;
        }
        struct timespec ts = {0, 5 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static void describe_exit(int status, char *out, size_t size) {
    if (WIFSIGNALED(status)) {
        snprintf(out, size, "killed by signal %d", WTERMSIG(status));
    } else if (WIFEXITED(status)) {
        snprintf(out, size, "exited with status %d", WEXITSTATUS(status));
    } else {
        snprintf(out, size, "ended (status %#x)", (unsigned)status);
    }
}

void ncsl__proc_worker_stop(ncsl__proc_worker *w, bool failed, unsigned index) {
    if (!w) {
        return;
    }
    if (w->fd >= 0) {
        close(w->fd); /* end of file: a healthy worker exits by itself */
    }
    if (w->pid > 0) {
        int status = 0;
        /* A failed worker may still be writing its crash report: a moment, then SIGKILL. */
        if (!reap_within(w->pid, failed ? 500u : EXIT_GRACE_MS, &status)) {
            kill(w->pid, SIGKILL);
            while (waitpid(w->pid, &status, 0) < 0 && errno == EINTR) {
            }
        }
        char how[64];
        describe_exit(status, how, sizeof(how));
        if (failed) {
            NCSL_LOG_WARN("exec", "worker process %u (pid %ld) %s", index, (long)w->pid, how);
        } else {
            NCSL_LOG_DEBUG("exec", "worker process %u (pid %ld) %s", index, (long)w->pid, how);
        }
    }
    free(w);
}

ncsl_status ncsl__proc_worker_start(const char *exe, size_t stack_bytes, size_t max_payload,
                                    unsigned index, ncsl__proc_worker **out, ncsl_err *err) {
    ncsl_status st = NCSL_OK;
    int sv[2] = {-1, -1};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    bool fa_ok = false;
    bool attr_ok = false;
    uint8_t key[NCSL__PROC_KEY_SIZE];
    bool have_key = false;
    ncsl_fetch_policy fetch = {0};
    uint8_t *payload = NULL;
    size_t plen = 0;
    *out = NULL;

    ncsl__proc_worker *w = calloc(1, sizeof(*w));
    if (!w) {
        return ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
    }
    w->fd = -1;
    w->max_payload = max_payload;
    /* CLOEXEC: no other process the daemon starts meanwhile inherits either end. */
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        st = ncsl_err_set(err, NCSL_E_IO, "workers", "socketpair: %s", strerror(errno));
        goto out;
    }
    if (sv[1] == CHILD_FD) { /* dup2 onto itself would keep FD_CLOEXEC */
        int moved = fcntl(sv[1], F_DUPFD_CLOEXEC, CHILD_FD + 1);
        if (moved < 0) {
            st = ncsl_err_set(err, NCSL_E_IO, "workers", "fcntl: %s", strerror(errno));
            goto out;
        }
        close(sv[1]);
        sv[1] = moved;
    }
    if (posix_spawn_file_actions_init(&fa) != 0) {
        st = ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
        goto out;
    }
    fa_ok = true;
    int rc = posix_spawn_file_actions_adddup2(&fa, sv[1], CHILD_FD);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    if (rc == 0) {
        rc = posix_spawn_file_actions_addclosefrom_np(&fa, CHILD_FD + 1);
    }
#endif
    if (rc == 0) {
        rc = posix_spawnattr_init(&attr);
        attr_ok = rc == 0;
    }
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    if (rc == 0) {
        rc = posix_spawnattr_setsigmask(&attr, &mask);
    }
    if (rc == 0) {
        rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
    }
    if (rc != 0) {
        st = ncsl_err_set(err, NCSL_E_INTERNAL, "workers", "posix_spawn set-up: %s", strerror(rc));
        goto out;
    }
    char fd_arg[16];
    snprintf(fd_arg, sizeof(fd_arg), "%d", CHILD_FD);
    char *argv[] = {(char *)exe, (char *)NCSL_ENGINE_WORKER_FLAG, fd_arg, NULL};
    pid_t pid = -1;
    rc = posix_spawn(&pid, exe, &fa, &attr, argv, environ);
    if (rc != 0) {
        st = ncsl_err_set(err, NCSL_E_IO, "workers", "cannot start worker process %s: %s", exe,
                          strerror(rc));
        goto out;
    }
    w->pid = pid;
    close(sv[1]);
    sv[1] = -1;
    w->fd = sv[0];
    sv[0] = -1;
    int fl = fcntl(w->fd, F_GETFL);
    if (fl < 0 || fcntl(w->fd, F_SETFL, fl | O_NONBLOCK) != 0) {
        st = ncsl_err_set(err, NCSL_E_IO, "workers", "fcntl: %s", strerror(errno));
        goto out;
    }

    uint64_t deadline = ncsl_now_ns() + (uint64_t)START_TIMEOUT_MS * 1000000u;
    /* A worker without the identity or with a partial allow-list would answer differently from
     * thread mode: better not to start it. */
    if ((st = identity_export(key, &have_key, err)) != NCSL_OK ||
        (st = ncsl_fetch_policy_copy(&fetch, err)) != NCSL_OK) {
        goto out;
    }
    ncsl__proc_init m = {.log_level = (uint32_t)g_ncsl_log_level,
                         .stack_bytes = stack_bytes,
                         .key = have_key ? key : NULL,
                         .fetch = fetch};
    st = send_frame(w->fd, NCSL__MSG_INIT, encode_init, &m, deadline, err);
    if (st != NCSL_OK) {
        goto out;
    }
    uint8_t type = 0;
    st = ncsl__proc_read_frame(w->fd, 64, deadline, &type, &payload, &plen, err);
    if (st != NCSL_OK) {
        char why[sizeof(err->message)];
        snprintf(why, sizeof(why), "%s", err ? err->message : "");
        st = ncsl_err_set(err, NCSL_E_INTERNAL, "workers", "worker process %u did not start: %s",
                          index, why);
        goto out;
    }
    ncsl__rd r = {.p = payload, .len = plen};
    uint32_t version = ncsl__rd_u32(&r);
    if (type != NCSL__MSG_READY || !ncsl__rd_done(&r) || version != NCSL__PROC_VERSION) {
        st = ncsl_err_set(err, NCSL_E_INTERNAL, "workers",
                          "worker process %u answered its start with a malformed frame", index);
        goto out;
    }
    NCSL_LOG_DEBUG("exec", "worker process %u started (pid %ld)", index, (long)w->pid);

out:
    ncsl_wipe(key, sizeof(key));
    ncsl_fetch_policy_cleanup(&fetch);
    ncsl__proc_frame_free(payload, plen);
    if (attr_ok) {
        posix_spawnattr_destroy(&attr);
    }
    if (fa_ok) {
        posix_spawn_file_actions_destroy(&fa);
    }
    if (sv[0] >= 0) {
        close(sv[0]);
    }
    if (sv[1] >= 0) {
        close(sv[1]);
    }
    if (st != NCSL_OK) {
        ncsl__proc_worker_stop(w, true, index);
        return st;
    }
    *out = w;
    return NCSL_OK;
}

static void encode_job(ncsl__wr *w, const void *arg) {
    ncsl__proc_job_encode(w, arg);
}

/* An ANSWER under construction: status and message, then the request's fields. */
typedef struct answer {
    ncsl_status st;
    const ncsl_err *err;
    ncsl__proc_msg req;
    bool found;
    const char *value;
    size_t value_len;
    char **keys;
    size_t key_count;
    uint64_t usage;
} answer;

static void encode_answer(ncsl__wr *w, const void *arg) {
    const answer *a = arg;
    ncsl__wr_u32(w, (uint32_t)a->st);
    const char *field = a->st != NCSL_OK && a->err ? a->err->field : "";
    const char *msg = a->st != NCSL_OK && a->err ? a->err->message : "";
    ncsl__wr_bytes(w, field, strnlen(field, sizeof(a->err->field)));
    ncsl__wr_bytes(w, msg, strnlen(msg, sizeof(a->err->message)));
    if (a->st != NCSL_OK) {
        return;
    }
    if (a->req == NCSL__MSG_GET) {
        ncsl__wr_u8(w, a->found ? 1 : 0);
        ncsl__wr_bytes(w, a->found ? a->value : "", a->found ? a->value_len : 0);
    } else if (a->req == NCSL__MSG_LIST) {
        ncsl__wr_u32(w, (uint32_t)a->key_count);
        for (size_t i = 0; i < a->key_count; i++) {
            ncsl__wr_bytes(w, a->keys[i], strlen(a->keys[i]));
        }
    } else {
        ncsl__wr_u64(w, a->usage);
    }
}

/* Answers one storage read of the running call through the job's hooks (on this thread, as in
 * thread mode). NCSL_OK once answered; anything else is a worker failure. */
static ncsl_status serve_storage(ncsl__proc_worker *w, const ncsl_storage_hooks *h, uint8_t type,
                                 const uint8_t *p, size_t len, uint64_t deadline, ncsl_err *err) {
    if (!h) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, NULL,
                            "the worker asked for storage in a call without storage");
    }
    ncsl__rd r = {.p = p, .len = len};
    bool oom = false;
    char *key = type == NCSL__MSG_USAGE ? NULL : ncsl__rd_str(&r, STORE_MAX_KEY, &oom);
    if (oom) {
        return ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
    }
    if (!ncsl__rd_done(&r)) {
        free(key);
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, NULL, "malformed storage request");
    }
    ncsl_err herr;
    ncsl_err_clear(&herr);
    answer a = {.req = (ncsl__proc_msg)type, .err = &herr};
    char *value = NULL;
    size_t value_len = 0;
    if (type == NCSL__MSG_GET) {
        a.st = h->get(h->user, key, &value, &value_len, &a.found, &herr);
        a.found = a.st == NCSL_OK && a.found && value;
        a.value = value;
        a.value_len = value_len;
    } else if (type == NCSL__MSG_LIST) {
        a.st = h->list(h->user, key, &a.keys, &a.key_count, &herr);
    } else {
        a.st = h->usage(h->user, &a.usage, &herr);
    }
    herr.field[sizeof(herr.field) - 1] = '\0';
    herr.message[sizeof(herr.message) - 1] = '\0';
    ncsl_status st = send_frame(w->fd, NCSL__MSG_ANSWER, encode_answer, &a, deadline, err);
    if (value) {
        h->free_value(value, value_len);
    }
    if (a.keys) {
        h->free_keys(a.keys, a.key_count);
    }
    free(key);
    return st;
}

ncsl_status ncsl__proc_worker_run(ncsl__proc_worker *w, const ncsl_js_call *call, uint64_t hard_ms,
                                  ncsl_status *st, ncsl_js_outcome *out, ncsl_err *call_err,
                                  ncsl_err *err) {
    memset(out, 0, sizeof(*out));
    uint64_t deadline = ncsl_now_ns() + hard_ms * 1000000u;
    ncsl_status rs = send_frame(w->fd, NCSL__MSG_JOB, encode_job, call, deadline, err);
    while (rs == NCSL_OK) {
        uint8_t type = 0;
        uint8_t *p = NULL;
        size_t len = 0;
        rs = ncsl__proc_read_frame(w->fd, w->max_payload, deadline, &type, &p, &len, err);
        if (rs != NCSL_OK) {
            break;
        }
        if (type == NCSL__MSG_RESULT) {
            rs = ncsl__proc_result_decode(p, len, st, call_err, out, err);
            ncsl__proc_frame_free(p, len);
            return rs;
        }
        if (type == NCSL__MSG_GET || type == NCSL__MSG_LIST || type == NCSL__MSG_USAGE) {
            /* the time the parent's store takes does not count against the worker */
            uint64_t t0 = ncsl_now_ns();
            rs = serve_storage(w, call->storage, type, p, len, deadline, err);
            deadline += ncsl_now_ns() - t0;
        } else {
            rs = ncsl_err_set(err, NCSL_E_INVALID_ARG, NULL,
                              "unexpected frame type %u during a call", type);
        }
        ncsl__proc_frame_free(p, len);
    }
    if (rs == NCSL_E_SHUTDOWN) {
        rs = ncsl_err_set(err, NCSL_E_IO, NULL, "the worker process closed its socket");
    }
    return rs;
}

/* ------------------------------------------------------------------------- child side */
typedef struct child {
    int fd;
    bool broken; /* the socket failed: finish the call, then exit */
    ncsl_js_runtime *rt;
    int rc;
} child;

/* Sends a storage request and reads the parent's ANSWER into a reader (payload in *buf). */
static ncsl_status child_ask(child *c, ncsl__proc_msg type, const char *key, uint8_t **buf,
                             size_t *len, ncsl__rd *r, ncsl_err *err) {
    ncsl__wr count = {0};
    if (key) {
        ncsl__wr_bytes(&count, key, strlen(key));
    }
    ncsl__wr w;
    uint8_t *f = c->broken ? NULL : ncsl__proc_frame_new(type, count.len, &w);
    ncsl_status st = NCSL_OK;
    if (!f) {
        st = c->broken ? NCSL_E_IO : NCSL_E_NOMEM;
    } else {
        if (key) {
            ncsl__wr_bytes(&w, key, strlen(key));
        }
        st = ncsl__proc_write(c->fd, f, w.len, 0, NULL);
        ncsl__proc_frame_free(f, w.len);
    }
    uint8_t t = 0;
    if (st == NCSL_OK) {
        st = ncsl__proc_read_frame(c->fd, UINT32_MAX, 0, &t, buf, len, NULL);
    }
    if (st == NCSL_OK && t != NCSL__MSG_ANSWER) {
        st = NCSL_E_IO;
    }
    if (st != NCSL_OK) {
        c->broken = st != NCSL_E_NOMEM;
        return ncsl_err_set(err, st == NCSL_E_NOMEM ? st : NCSL_E_STORE, NULL,
                            "storage is unavailable (the worker lost its engine)");
    }
    *r = (ncsl__rd){.p = *buf, .len = *len};
    uint32_t s = ncsl__rd_u32(r);
    size_t n = 0;
    const uint8_t *field = ncsl__rd_bytes(r, &n, 63);
    char fbuf[64] = "";
    if (field) {
        memcpy(fbuf, field, n);
        fbuf[n] = '\0';
    }
    const uint8_t *msg = ncsl__rd_bytes(r, &n, 511);
    if (r->bad) {
        c->broken = true;
        return ncsl_err_set(err, NCSL_E_STORE, NULL, "malformed storage answer");
    }
    if (s != NCSL_OK) {
        return ncsl_err_set(err, s ? (ncsl_status)s : NCSL_E_STORE, fbuf[0] ? fbuf : NULL, "%.*s",
                            (int)n, msg ? (const char *)msg : "");
    }
    return NCSL_OK;
}

static ncsl_status child_get(void *user, const char *key, char **value, size_t *value_len,
                             bool *found, ncsl_err *err) {
    child *c = user;
    uint8_t *buf = NULL;
    size_t len = 0;
    ncsl__rd r;
    *value = NULL;
    *value_len = 0;
    *found = false;
    ncsl_status st = child_ask(c, NCSL__MSG_GET, key, &buf, &len, &r, err);
    if (st == NCSL_OK) {
        uint8_t f = ncsl__rd_u8(&r);
        size_t n = 0;
        const uint8_t *v = ncsl__rd_bytes(&r, &n, SIZE_MAX);
        if (f > 1 || !ncsl__rd_done(&r)) {
            c->broken = true;
            st = ncsl_err_set(err, NCSL_E_STORE, NULL, "malformed storage answer");
        } else if (f) {
            *value = ncsl_strndup(n ? (const char *)v : "", n);
            *value_len = n;
            *found = true;
            if (!*value) {
                *found = false;
                st = ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
            }
        }
    }
    ncsl__proc_frame_free(buf, len);
    return st;
}

static void child_free_keys(char **keys, size_t count) {
    for (size_t i = 0; keys && i < count; i++) {
        free(keys[i]);
    }
    free(keys);
}

static ncsl_status child_list(void *user, const char *prefix, char ***keys, size_t *count,
                              ncsl_err *err) {
    child *c = user;
    uint8_t *buf = NULL;
    size_t len = 0;
    ncsl__rd r;
    *keys = NULL;
    *count = 0;
    ncsl_status st = child_ask(c, NCSL__MSG_LIST, prefix, &buf, &len, &r, err);
    if (st == NCSL_OK) {
        uint32_t n = ncsl__rd_u32(&r);
        char **k =
            n <= (len - (r.off < len ? r.off : len)) / 4 ? calloc(n ? n : 1, sizeof(*k)) : NULL;
        bool oom = false;
        size_t got = 0;
        for (; k && got < n && !r.bad && !oom; got++) {
            k[got] = ncsl__rd_str(&r, SIZE_MAX, &oom);
            if (!k[got]) {
                break;
            }
        }
        if (!k || oom) {
            child_free_keys(k, n);
            st = ncsl_err_set(err, r.bad || !k ? NCSL_E_STORE : NCSL_E_NOMEM, NULL,
                              !k ? "malformed storage answer" : "out of memory");
            c->broken |= !oom;
        } else if (!ncsl__rd_done(&r) || got != n) {
            child_free_keys(k, n);
            c->broken = true;
            st = ncsl_err_set(err, NCSL_E_STORE, NULL, "malformed storage answer");
        } else {
            *keys = k;
            *count = n;
        }
    }
    ncsl__proc_frame_free(buf, len);
    return st;
}

static ncsl_status child_usage(void *user, uint64_t *bytes, ncsl_err *err) {
    child *c = user;
    uint8_t *buf = NULL;
    size_t len = 0;
    ncsl__rd r;
    *bytes = 0;
    ncsl_status st = child_ask(c, NCSL__MSG_USAGE, NULL, &buf, &len, &r, err);
    if (st == NCSL_OK) {
        *bytes = ncsl__rd_u64(&r);
        if (!ncsl__rd_done(&r)) {
            c->broken = true;
            st = ncsl_err_set(err, NCSL_E_STORE, NULL, "malformed storage answer");
        }
    }
    ncsl__proc_frame_free(buf, len);
    return st;
}

static ncsl_status child_commit(void *user, const ncsl_storage_write *writes, size_t count,
                                ncsl_err *err) {
    /* never called: the engine commits in the parent (js.h) */
    return ncsl_err_set(err, NCSL_E_INTERNAL, NULL, "commit in a worker process");
}

static void child_free_value(char *value, size_t len) {
    if (value) {
        ncsl_wipe(value, len);
        free(value);
    }
}

typedef struct result_msg {
    ncsl_status st;
    const ncsl_err *err;
    const ncsl_js_outcome *o;
} result_msg;

static void encode_result(ncsl__wr *w, const void *arg) {
    const result_msg *m = arg;
    ncsl__proc_result_encode(w, m->st, m->err, m->o);
}

/* Runs one JOB frame and sends its RESULT. false: stop serving (c->rc says why). */
static bool child_run(child *c, const uint8_t *p, size_t len) {
    ncsl__proc_job job;
    ncsl_err err;
    ncsl_err_clear(&err);
    ncsl_status st = ncsl__proc_job_decode(p, len, &job, &err);
    if (st != NCSL_OK) {
        NCSL_LOG_ERROR("exec", "worker: %s", err.message);
        c->rc = 2;
        return false;
    }
    ncsl_storage_hooks hooks = {
        .user = c,
        .get = child_get,
        .list = child_list,
        .usage = child_usage,
        .commit = child_commit,
        .free_value = child_free_value,
        .free_keys = child_free_keys,
        .max_key_bytes = job.max_key_bytes,
        .max_value_bytes = job.max_value_bytes,
        .quota_bytes = job.quota_bytes,
    };
    ncsl_js_call call = {
        .code = job.code,
        .code_len = job.code_len,
        .input_json = job.input,
        .input_len = job.input_len,
        .secrets = job.secrets,
        .secret_count = job.secret_count,
        .limits = job.limits,
        .storage = job.has_storage ? &hooks : NULL,
        .user_id = job.user_id,
        .function_id = job.function_id,
    };
    ncsl_js_outcome out;
    st = ncsl_js_run(c->rt, &call, &out, &err);
    ncsl__proc_job_cleanup(&job); /* secrets wiped before the answer leaves */
    bool ok = !c->broken;
    if (ok) {
        result_msg m = {.st = st, .err = &err, .o = &out};
        ok = send_frame(c->fd, NCSL__MSG_RESULT, encode_result, &m, 0, NULL) == NCSL_OK;
    }
    ncsl_js_outcome_cleanup(&out);
    if (!ok) {
        c->rc = 1;
    }
    return ok;
}

static void *child_serve(void *arg) {
    child *c = arg;
    ncsl_err err;
    if (ncsl_js_runtime_create(&c->rt, &err) != NCSL_OK) {
        NCSL_LOG_ERROR("exec", "worker: cannot create a JS runtime: %s", err.message);
        c->rc = 1;
        return NULL;
    }
    ncsl__wr count = {0};
    ncsl__wr_u32(&count, NCSL__PROC_VERSION);
    ncsl__wr w;
    uint8_t *f = ncsl__proc_frame_new(NCSL__MSG_READY, count.len, &w);
    if (!f) {
        c->rc = 1;
        goto out;
    }
    ncsl__wr_u32(&w, NCSL__PROC_VERSION);
    ncsl_status st = ncsl__proc_write(c->fd, f, w.len, 0, NULL);
    ncsl__proc_frame_free(f, w.len);
    if (st != NCSL_OK) {
        c->rc = 1;
        goto out;
    }
    for (;;) {
        uint8_t type = 0;
        uint8_t *p = NULL;
        size_t len = 0;
        /* the engine sends the next job only after this one's result: build its context now */
        ncsl_js_runtime_prepare(c->rt);
        st = ncsl__proc_read_frame(c->fd, UINT32_MAX, 0, &type, &p, &len, &err);
        if (st == NCSL_E_SHUTDOWN) {
            break; /* the engine closed the socket: done */
        }
        if (st != NCSL_OK || type != NCSL__MSG_JOB) {
            NCSL_LOG_ERROR("exec", "worker: %s",
                           st != NCSL_OK ? err.message : "unexpected frame type");
            ncsl__proc_frame_free(p, len);
            c->rc = 2;
            break;
        }
        bool more = child_run(c, p, len);
        ncsl__proc_frame_free(p, len);
        if (!more) {
            break;
        }
    }
out:
    ncsl_js_runtime_destroy(c->rt);
    c->rt = NULL;
    return NULL;
}

/* Closes every descriptor above `fd` (those posix_spawn could not close for us). */
static void close_above(int fd) {
#ifdef SYS_close_range
    if (syscall(SYS_close_range, (unsigned)fd + 1, ~0u, 0) == 0) {
        return;
    }
#endif
    for (int i = fd + 1; i < 1024; i++) {
        close(i);
    }
}

static size_t child_stack_size(size_t js_stack) {
    size_t s = js_stack * 2 + ((size_t)4 << 20);
#ifdef NCSL_SANITIZE
    s *= 2;
#endif
    return s < ((size_t)8 << 20) ? ((size_t)8 << 20) : s;
}

int ncsl_engine_worker_main(int argc, char **argv) {
    if (argc != 3 || strcmp(argv[1], NCSL_ENGINE_WORKER_FLAG) != 0) {
        fprintf(stderr, "%s is started by the engine only\n", NCSL_ENGINE_WORKER_FLAG);
        return 2;
    }
    char *end = NULL;
    long fd = strtol(argv[2], &end, 10);
    if (!*argv[2] || *end || fd < 0 || fd > 1023) {
        fprintf(stderr, "%s: bad descriptor\n", NCSL_ENGINE_WORKER_FLAG);
        return 2;
    }
    /* Die with the thread that started us; if it died already, the socket is at end of file. */
    (void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    signal(SIGPIPE, SIG_IGN);
    close_above((int)fd);
    ncsl_json_use_wiping_allocator();

    int rc = 0;
    ncsl_keys *keys = NULL;
    uint8_t *p = NULL;
    size_t len = 0;
    uint8_t type = 0;
    ncsl_err err;
    ncsl_err_clear(&err);
    child c = {.fd = (int)fd};
    ncsl__proc_init init;
    memset(&init, 0, sizeof(init));
    bool fetch_on = false;
    uint64_t deadline = ncsl_now_ns() + (uint64_t)START_TIMEOUT_MS * 1000000u;
    if (ncsl__proc_read_frame(c.fd, NCSL__PROC_INIT_MAX, deadline, &type, &p, &len, &err) !=
            NCSL_OK ||
        type != NCSL__MSG_INIT) {
        rc = 2;
        goto out;
    }
    if (ncsl__proc_init_decode(p, len, &init, &err) != NCSL_OK) {
        NCSL_LOG_ERROR("exec", "worker: %s", err.message);
        rc = 2;
        goto out;
    }
    ncsl_log_set_level((ncsl_log_level)init.log_level);
    if (init.key &&
        ncsl_keys_private_import(init.key, NCSL__PROC_KEY_SIZE, &keys, &err) != NCSL_OK) {
        NCSL_LOG_ERROR("exec", "worker: cannot install the identity keys: %s", err.message);
        rc = 1;
        goto out;
    }
    /* The same policy as the daemon's: the same refusals, limits and messages. */
    if (ncsl_fetch_configure(&init.fetch, &err) != NCSL_OK) {
        NCSL_LOG_ERROR("exec", "worker: cannot install the fetch policy: %s: %s", err.field,
                       err.message);
        rc = 2;
        goto out;
    }
    fetch_on = true;
    ncsl_fetch_policy_cleanup(&init.fetch);
    init.key = NULL;
    ncsl__proc_frame_free(p, len); /* wipes the key */
    p = NULL;
    ncsl_js_set_identity_keys(keys);
#ifdef NCSL_TEST_HOOKS
    const char *hooks = getenv("NCSL_TEST_CRASH_HOOK");
    if (hooks && strcmp(hooks, "1") == 0) {
        ncsl_js_test_hooks_install();
    }
#endif
    /* The JS stack limit is checked against the real stack: run calls on a thread sized like a
     * worker thread's (the largest limit a call may have), not on the main thread. */
    pthread_attr_t attr;
    pthread_t th;
    if (pthread_attr_init(&attr) != 0) {
        rc = 1;
        goto out;
    }
    pthread_attr_setstacksize(&attr, child_stack_size((size_t)init.stack_bytes));
    int prc = pthread_create(&th, &attr, child_serve, &c);
    pthread_attr_destroy(&attr);
    if (prc != 0) {
        NCSL_LOG_ERROR("exec", "worker: cannot start its thread: %s", strerror(prc));
        rc = 1;
        goto out;
    }
    pthread_join(th, NULL);
    rc = c.rc;
out:
    if (fetch_on) {
        ncsl_fetch_shutdown(); /* no call runs any more: join the I/O thread if it started */
    }
    ncsl_fetch_policy_cleanup(&init.fetch);
    ncsl__proc_frame_free(p, len);
    ncsl_js_set_identity_keys(NULL);
    ncsl_keys_destroy(keys);
    close(c.fd);
    return rc;
}
