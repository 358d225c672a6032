/*
 * Crash safety: a child process writes to the store in a loop (secret puts, storage batches of
 * four keys, function versions) and reports each write on a pipe only after the store call
 * returned NCSL_OK. The parent kills it with SIGKILL at a random moment, reopens the store and
 * checks that every reported write is there and intact, that every storage batch is there
 * completely or not at all (also the one in flight when the child died), that every sealed
 * record still unseals, and that SQLite's own checks pass. ROUNDS rounds on one database, some
 * killed within the first milliseconds (while the child opens or migrates the database).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "store/store.h"
#include "store_test_util.h"

#define ROUNDS 12
#define ROUND_STRIDE 1000000 /* round r writes indices r * stride, r * stride + 1, ... */
#define BATCH_KEYS 3

/* ------------------------------------------------------------------------- what is written */

static void secret_value(long i, char *out, size_t size) {
    snprintf(out, size, "secret value number %ld, padded to look real: %08lx", i, i * 2654435761UL);
}

static void kv_key(long i, int part, char *out, size_t size) {
    snprintf(out, size, "batch/%ld/%c", i, 'a' + part);
}

static void kv_value(long i, int part, char *out, size_t size) {
    snprintf(out, size, "{\"batch\":%ld,\"part\":%d,\"pad\":\"%0*d\"}", i, part, 40 + part, 0);
}

static void fn_code(long i, char *out, size_t size) {
    snprintf(out, size, "function main(input) { return %ld; }", i);
}

/* ------------------------------------------------------------------------- the child */

/* Reports a line on the pipe: one write() of less than PIPE_BUF bytes is atomic, so a kill
 * never leaves half a line. */
static void report(int fd, const char *fmt, ...) {
    char line[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (write(fd, line, (size_t)n) != n) {
        _exit(3);
    }
}

/* Runs in the child: no cmocka here, failures are reported and end the process. With an empty
 * `user`, the child makes the user and the function itself (on a new database) and reports
 * their ids. */
static _Noreturn void child_main(const char *dir, const char *user_in, const char *fn_in,
                                 long start, int fd) {
    char user[NCSL_STORE_ID_SIZE], fn[NCSL_STORE_ID_SIZE];
    ncsl_tee_options to;
    ncsl_tee *tee = NULL;
    ncsl_store *s = NULL;
    ncsl_store_options so;
    ncsl_err err;
    ncsl_tee_options_default(&to);
    to.type = NCSL_TEE_SIMULATION;
    to.data_dir = dir;
    ncsl_log_set_level(NCSL_LOG_LEVEL_ERROR);
    if (ncsl_tee_open(&to, &tee, &err) != NCSL_OK) {
        report(fd, "E tee %s\n", err.code ? "failed" : "?");
        _exit(2);
    }
    ncsl_store_options_default(&so);
    so.data_dir = dir;
    if (ncsl_store_open(tee, &so, &s, &err) != NCSL_OK) {
        report(fd, "E open %d\n", (int)err.code);
        _exit(2);
    }
    report(fd, "O\n");
    snprintf(user, sizeof(user), "%s", user_in);
    snprintf(fn, sizeof(fn), "%s", fn_in);
    if (!user[0]) {
        ncsl_store_user u;
        ncsl_store_function f;
        const char *code = "function main() { return 0; }";
        ncsl_store_function_spec spec = {.name = "crash", .code = code, .code_len = strlen(code)};
        if (ncsl_store_user_create(s, "crash", &u, &err) != NCSL_OK) {
            report(fd, "E user %d\n", (int)err.code);
            _exit(2);
        }
        snprintf(user, sizeof(user), "%s", u.id);
        ncsl_store_user_cleanup(&u);
        if (ncsl_store_function_create(s, user, &spec, &f, &err) != NCSL_OK) {
            report(fd, "E function %d\n", (int)err.code);
            _exit(2);
        }
        snprintf(fn, sizeof(fn), "%s", f.id);
        ncsl_store_function_cleanup(&f);
        report(fd, "U %s %s\n", user, fn);
    }
    for (long i = start;; i++) {
        char name[32], value[128], keys[BATCH_KEYS][48], values[BATCH_KEYS][96], latest[32];
        snprintf(name, sizeof(name), "S%ld", i);
        secret_value(i, value, sizeof(value));
        if (ncsl_store_secret_put(s, user, name, value, strlen(value), 0, NULL, &err) != NCSL_OK) {
            report(fd, "E secret %d\n", (int)err.code);
            _exit(2);
        }
        report(fd, "S %ld\n", i);

        ncsl_store_kv_op ops[BATCH_KEYS + 1];
        for (int p = 0; p < BATCH_KEYS; p++) {
            kv_key(i, p, keys[p], sizeof(keys[p]));
            kv_value(i, p, values[p], sizeof(values[p]));
            ops[p] = (ncsl_store_kv_op){NCSL_STORE_KV_SET, keys[p], values[p], strlen(values[p])};
        }
        snprintf(latest, sizeof(latest), "%ld", i);
        ops[BATCH_KEYS] = (ncsl_store_kv_op){NCSL_STORE_KV_SET, "latest", latest, strlen(latest)};
        if (ncsl_store_kv_commit(s, user, fn, ops, BATCH_KEYS + 1, 0, &err) != NCSL_OK) {
            report(fd, "E commit %d\n", (int)err.code);
            _exit(2);
        }
        report(fd, "K %ld\n", i);

        if (i % 5 == 0) {
            char code[96];
            ncsl_store_function out;
            fn_code(i, code, sizeof(code));
            ncsl_store_function_spec spec = {.code = code, .code_len = strlen(code)};
            if (ncsl_store_function_update(s, user, fn, &spec, &out, &err) != NCSL_OK) {
                report(fd, "E update %d\n", (int)err.code);
                _exit(2);
            }
            report(fd, "F %ld %u\n", i, out.version);
            ncsl_store_function_cleanup(&out);
        }
    }
}

/* ------------------------------------------------------------------------- the parent */

typedef struct reported {
    long *secrets, *batches, *fn_index, *fn_version;
    size_t n_secrets, n_batches, n_fn, n_fn_version;
    bool opened;                   /* the child's store open returned */
    char user[NCSL_STORE_ID_SIZE]; /* set by a "U" line */
    char fn[NCSL_STORE_ID_SIZE];
} reported;

static void push(long **arr, size_t *n, size_t *cap, long v) {
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 256;
        *arr = realloc(*arr, *cap * sizeof(**arr));
        assert_non_null(*arr);
    }
    (*arr)[(*n)++] = v;
}

static void parse_reports(char *buf, reported *r) {
    size_t cs = 0, cb = 0, cf = 0, cv = 0;
    char *save = NULL;
    for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        long i = 0;
        unsigned v = 0;
        char u[64], f[64];
        if (line[0] == 'E') {
            fail_msg("the child failed: %s", line);
        } else if (strcmp(line, "O") == 0) {
            r->opened = true;
        } else if (sscanf(line, "U %63s %63s", u, f) == 2) {
            snprintf(r->user, sizeof(r->user), "%.36s", u);
            snprintf(r->fn, sizeof(r->fn), "%.36s", f);
        } else if (sscanf(line, "S %ld", &i) == 1) {
            push(&r->secrets, &r->n_secrets, &cs, i);
        } else if (sscanf(line, "K %ld", &i) == 1) {
            push(&r->batches, &r->n_batches, &cb, i);
        } else if (sscanf(line, "F %ld %u", &i, &v) == 2) {
            push(&r->fn_index, &r->n_fn, &cf, i);
            push(&r->fn_version, &r->n_fn_version, &cv, (long)v);
        } else {
            fail_msg("unexpected report line: %s", line);
        }
    }
}

/* Reads the child's reports until it dies (then the pipe reaches EOF). */
static char *read_all(int fd) {
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    for (;;) {
        if (len + 1024 > cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        assert_true(n >= 0);
        if (n == 0) {
            break;
        }
        len += (size_t)n;
    }
    buf[len] = '\0';
    return buf;
}

static long parse_batch_key(const char *key, int *part) {
    long i = 0;
    char c = 0;
    if (sscanf(key, "batch/%ld/%c", &i, &c) != 2 || c < 'a' || c >= 'a' + BATCH_KEYS) {
        fail_msg("unexpected storage key %s", key);
    }
    *part = c - 'a';
    return i;
}

/* Everything reported is there and intact; every batch is complete or absent. */
static void verify(ncsl_store *s, const char *user, const char *fn, const reported *r,
                   long *max_seen) {
    ncsl_err err;
    for (size_t k = 0; k < r->n_secrets; k++) {
        char name[32], want[128];
        uint8_t *v = NULL;
        size_t n = 0;
        snprintf(name, sizeof(name), "S%ld", r->secrets[k]);
        secret_value(r->secrets[k], want, sizeof(want));
        ncsl_status st = ncsl_store_secret_get(s, user, name, &v, &n, &err);
        if (st != NCSL_OK) {
            fail_msg("reported secret %s: %s", name, err.message);
        }
        assert_int_equal(n, strlen(want));
        assert_memory_equal(v, want, n);
        ncsl_store_value_free(v, n);
    }
    for (size_t k = 0; k < r->n_batches; k++) {
        for (int p = 0; p < BATCH_KEYS; p++) {
            char key[48], want[96];
            uint8_t *v = NULL;
            size_t n = 0;
            bool found = false;
            kv_key(r->batches[k], p, key, sizeof(key));
            kv_value(r->batches[k], p, want, sizeof(want));
            assert_int_equal(ncsl_store_kv_get(s, user, fn, key, &v, &n, &found, &err), NCSL_OK);
            if (!found) {
                fail_msg("reported storage key %s is missing", key);
            }
            assert_int_equal(n, strlen(want));
            assert_memory_equal(v, want, n);
            ncsl_store_value_free(v, n);
        }
    }
    for (size_t k = 0; k < r->n_fn; k++) {
        ncsl_store_function got;
        char want[96];
        fn_code(r->fn_index[k], want, sizeof(want));
        assert_int_equal(
            ncsl_store_function_get(s, user, fn, (uint32_t)r->fn_version[k], &got, &err), NCSL_OK);
        assert_string_equal(got.code, want);
        ncsl_store_function_cleanup(&got);
    }

    /* All storage unseals (kv_list opens every entry) and each batch is whole. */
    char **keys = NULL;
    size_t count = 0;
    assert_int_equal(ncsl_store_kv_list(s, user, fn, "batch/", &keys, &count, &err), NCSL_OK);
    assert_int_equal(count % BATCH_KEYS, 0);
    for (size_t k = 0; k < count; k += BATCH_KEYS) {
        int part0 = 0;
        long i0 = parse_batch_key(keys[k], &part0);
        assert_int_equal(part0, 0);
        for (int p = 1; p < BATCH_KEYS; p++) {
            int part = 0;
            assert_int_equal(parse_batch_key(keys[k + (size_t)p], &part), i0);
            assert_int_equal(part, p);
        }
        *max_seen = i0 > *max_seen ? i0 : *max_seen;
    }
    ncsl_store_kv_keys_free(keys, count);
    /* "latest" was written in the same batches: it names the newest complete one. */
    if (count > 0) {
        uint8_t *v = NULL;
        size_t n = 0;
        bool found = false;
        assert_int_equal(ncsl_store_kv_get(s, user, fn, "latest", &v, &n, &found, &err), NCSL_OK);
        assert_true(found);
        assert_int_equal(strtol((const char *)v, NULL, 10), *max_seen);
        ncsl_store_value_free(v, n);
    }

    /* Every secret unseals and holds its own value. */
    ncsl_secret *all = NULL;
    assert_int_equal(ncsl_store_secret_load(s, user, NULL, 0, &all, &count, &err), NCSL_OK);
    for (size_t k = 0; k < count; k++) {
        char want[128];
        secret_value(strtol(all[k].name + 1, NULL, 10), want, sizeof(want));
        assert_string_equal(all[k].value, want);
    }
    ncsl_store_secrets_free(all, count);
    assert_int_equal(ncsl_store_check(s, &err), NCSL_OK);
}

static void remove_db(const char *dir) {
    static const char *const names[] = {"ncsl.db", "ncsl.db-wal", "ncsl.db-shm"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char *p = ncsl_test_path(dir, names[i]);
        unlink(p);
        free(p);
    }
}

static void test_kill_during_writes(void **unused) {
    char *dir = ncsl_test_tmpdir_make("ncsl-store-crash");
    char user[NCSL_STORE_ID_SIZE] = "", fn[NCSL_STORE_ID_SIZE] = "";
    ncsl_tee *tee = ncsl_test_open_sim_tee(dir);
    ncsl_store *s = NULL;

    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    size_t total_reported = 0;
    int killed_before_open = 0, fresh_rounds = 0;
    for (int round = 0; round < ROUNDS; round++) {
        /* Every third round starts without a database: the child creates and migrates it and
         * makes its user and function, so the kill can land in any of that. The others
         * continue on the database the rounds before left. */
        bool fresh = round % 3 == 0;
        int delay_ms = fresh ? 2 + rand() % 80 : 20 + rand() % 180;
        if (fresh) {
            remove_db(dir);
            user[0] = fn[0] = '\0';
            fresh_rounds++;
        }
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            child_main(dir, user, fn, (long)round * ROUND_STRIDE, fds[1]);
        }
        close(fds[1]);
        struct timespec ts = {delay_ms / 1000, (long)(delay_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        assert_int_equal(kill(pid, SIGKILL), 0);
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        char *out = read_all(fds[0]);
        close(fds[0]);
        if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)) {
            fail_msg("the child ended on its own (status %d): %s", status, out);
        }

        reported r;
        memset(&r, 0, sizeof(r));
        parse_reports(out, &r);
        killed_before_open += !r.opened;
        if (r.user[0]) {
            memcpy(user, r.user, sizeof(user));
            memcpy(fn, r.fn, sizeof(fn));
        }
        /* Whatever state the kill left, the database opens and checks clean. */
        s = stu_open_store(tee, dir, NULL);
        assert_int_equal(ncsl_store_check(s, NULL), NCSL_OK);
        if (user[0]) {
            long max_seen = -1;
            verify(s, user, fn, &r, &max_seen);
        } else {
            assert_int_equal(r.n_secrets + r.n_batches, 0);
            stu_user(s, "crash", user); /* for the rounds that continue on this database */
            stu_function(s, user, "crash", "function main() { return 0; }", fn);
        }
        ncsl_store_close(s);
        fprintf(stderr,
                "round %2d%s: killed after %3d ms (%s); reported %zu secrets, %zu batches, %zu "
                "versions; all present and intact\n",
                round, fresh ? " (new db)" : "         ", delay_ms,
                !r.opened             ? "before open returned"
                : r.user[0] || !fresh ? "writing"
                                      : "setup",
                r.n_secrets, r.n_batches, r.n_fn);
        total_reported += r.n_secrets + r.n_batches + r.n_fn;
        free(r.secrets);
        free(r.batches);
        free(r.fn_index);
        free(r.fn_version);
        free(out);
    }
    fprintf(stderr,
            "%d rounds (%d on a new database), %d killed before the store opened, %zu "
            "writes reported and verified\n",
            ROUNDS, fresh_rounds, killed_before_open, total_reported);
    /* The kills must have landed among writes, not only before them (a loaded machine writes
     * slower, hence the low bar; a quiet one reports about 200). */
    assert_true(total_reported > 20);

    ncsl_tee_close(tee);
    ncsl_test_tmpdir_remove(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill_during_writes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
