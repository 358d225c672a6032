/*
 * The signing key's pool of precomputed ECDSA nonces (src/keys/presign.c): signatures from the
 * pool and from the normal path verify; 5,000 signatures from 4 threads at once all verify and
 * all have distinct r (no nonce used twice); an empty or paused pool falls back to the normal
 * path without waiting; switching the pool off; destroying a key while its thread is busy; a
 * forked child never uses the pool it inherited. (The node interop test checks both paths'
 * signatures with an independent implementation: tests/interop/neo_interop.js.)
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "keys/keys.h"
#include "keys/keys_int.h"

#define THREADS 4
#define PER_THREAD 1250 /* 5,000 signatures in all */
#define FILL_WAIT_MS 60000

static ncsl_keys *new_key(void) {
    ncsl_keys *k = NULL;
    ncsl_err err;
    assert_int_equal(ncsl_keys_create_ephemeral(NULL, &k, &err), NCSL_OK);
    return k;
}

static ncsl_keys_presign_stats stats(const ncsl_keys *k) {
    ncsl_keys_presign_stats s;
    ncsl_keys_presign_stats_get(k, &s);
    return s;
}

/* Signs `msg` and checks the signature: verifies, low S, and a changed message fails. */
static void sign_and_check(const ncsl_keys *k, const char *msg, uint8_t sig[64]) {
    uint8_t pub[NCSL_KEYS_P256_PUB_SIZE];
    ncsl_err err;
    ncsl_keys_signing_pub_compressed(k, pub);
    assert_int_equal(ncsl_keys_sign(k, msg, strlen(msg), sig, &err), NCSL_OK);
    assert_int_equal(ncsl_keys_p256_verify(pub, msg, strlen(msg), sig, &err), NCSL_OK);
    assert_true(ncsl__keys_cmp32(sig + 32, ncsl__keys_p256_half_order) <= 0);
    assert_int_equal(ncsl_keys_p256_verify(pub, msg, strlen(msg) - 1, sig, &err),
                     NCSL_E_SIGNATURE_INVALID);
}

static void test_pool_then_fresh(void **unused) {
    ncsl_keys *k = new_key();
    ncsl_err err;
    uint8_t sig[64];
    ncsl_keys_presign_stats s0 = stats(k);
    assert_int_equal(s0.capacity, NCSL__KEYS_PRESIGN_DEFAULT);
    assert_false(s0.running); /* no thread before the first signature */

    /* The first signature starts the thread and cannot wait for it: the normal path. */
    sign_and_check(k, "first", sig);
    assert_true(ncsl__keys_presign_wait(k, NCSL__KEYS_PRESIGN_DEFAULT, FILL_WAIT_MS));
    ncsl_keys_presign_stats s1 = stats(k);
    assert_true(s1.running);
    assert_true(s1.made >= NCSL__KEYS_PRESIGN_DEFAULT);
    assert_true(s1.made_cpu_ns > 0);

    /* A full pool and a sleeping thread (it wakes at half): these come from the pool. */
    for (unsigned i = 0; i < NCSL__KEYS_PRESIGN_DEFAULT / 2 - 1; i++) {
        char msg[32];
        snprintf(msg, sizeof(msg), "pooled %u", i);
        sign_and_check(k, msg, sig);
    }
    ncsl_keys_presign_stats s2 = stats(k);
    /* Each pooled signature took one entry (a signature may rarely find the lock busy, as the
     * thread goes to sleep, and take the normal path: it never waits). */
    uint64_t pooled = s2.used - s1.used;
    assert_int_equal(pooled + (s2.fallbacks - s1.fallbacks), NCSL__KEYS_PRESIGN_DEFAULT / 2 - 1);
    assert_true(pooled >= NCSL__KEYS_PRESIGN_DEFAULT / 4);
    assert_int_equal(s2.available, NCSL__KEYS_PRESIGN_DEFAULT - pooled);
    assert_int_equal(s2.made, s1.made);

    /* Off: the pool is wiped and every signature takes the normal path. */
    assert_int_equal(ncsl__keys_presign_configure(k, 0, true, &err), NCSL_OK);
    assert_int_equal(stats(k).available, 0);
    for (int i = 0; i < 5; i++) {
        sign_and_check(k, "fresh path", sig);
    }
    ncsl_keys_presign_stats s3 = stats(k);
    assert_int_equal(s3.used, s2.used);
    assert_int_equal(s3.fallbacks - s2.fallbacks, 5);
    assert_int_equal(ncsl__keys_presign_configure(k, NCSL__KEYS_PRESIGN_MAX + 1, true, &err),
                     NCSL_E_INVALID_ARG);
    ncsl_keys_destroy(k);
}

static void test_empty_pool_falls_back(void **unused) {
    ncsl_keys *k = new_key();
    ncsl_err err;
    uint8_t sig[64];
    assert_int_equal(ncsl__keys_presign_configure(k, 4, true, &err), NCSL_OK);
    assert_true(ncsl__keys_presign_wait(k, 4, FILL_WAIT_MS));
    /* Paused: the 4 ready entries are used once each, then the pool stays empty. */
    assert_int_equal(ncsl__keys_presign_configure(k, 4, false, &err), NCSL_OK);
    ncsl_keys_presign_stats s0 = stats(k);
    assert_int_equal(s0.available, 4);
    int n = 0;
    for (; stats(k).available > 0 && n < 100; n++) {
        char msg[32];
        snprintf(msg, sizeof(msg), "drain %d", n);
        sign_and_check(k, msg, sig);
    }
    for (int i = 0; i < 6; i++, n++) {
        sign_and_check(k, "empty", sig);
    }
    ncsl_keys_presign_stats s1 = stats(k);
    assert_int_equal(s1.used - s0.used, 4); /* each entry exactly once */
    assert_int_equal(s1.fallbacks - s0.fallbacks, n - 4);
    assert_int_equal(s1.available, 0);
    assert_int_equal(s1.made, s0.made);
    /* Resumed: it fills again. */
    assert_int_equal(ncsl__keys_presign_configure(k, 4, true, &err), NCSL_OK);
    assert_true(ncsl__keys_presign_wait(k, 4, FILL_WAIT_MS));
    sign_and_check(k, "refilled", sig);
    assert_int_equal(stats(k).used - s1.used, 1);
    ncsl_keys_destroy(k);
}

typedef struct worker {
    const ncsl_keys *k;
    int id;
    uint8_t (*sigs)[64]; /* [PER_THREAD] */
    int failures;
} worker;

static void *sign_many(void *arg) {
    worker *w = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        char msg[48];
        snprintf(msg, sizeof(msg), "thread %d receipt %d", w->id, i);
        if (ncsl_keys_sign(w->k, msg, strlen(msg), w->sigs[i], NULL) != NCSL_OK) {
            w->failures++;
        }
    }
    return NULL;
}

static int cmp_r(const void *a, const void *b) {
    return memcmp(a, b, 32);
}

static void test_many_threads_distinct_nonces(void **unused) {
    ncsl_keys *k = new_key();
    uint8_t pub[NCSL_KEYS_P256_PUB_SIZE];
    uint8_t(*sigs)[64] = calloc(THREADS * PER_THREAD, 64);
    uint8_t(*rs)[64] = calloc(THREADS * PER_THREAD, 64);
    pthread_t t[THREADS];
    worker w[THREADS];
    ncsl_err err;
    assert_non_null(sigs);
    assert_non_null(rs);
    ncsl_keys_signing_pub_compressed(k, pub);
    uint8_t warm[64];
    sign_and_check(k, "start the thread", warm);
    assert_true(ncsl__keys_presign_wait(k, NCSL__KEYS_PRESIGN_DEFAULT, FILL_WAIT_MS));
    ncsl_keys_presign_stats s0 = stats(k);

    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker){k, i, sigs + (size_t)i * PER_THREAD, 0};
        assert_int_equal(pthread_create(&t[i], NULL, sign_many, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(w[i].failures, 0);
    }
    ncsl_keys_presign_stats s1 = stats(k);
    /* Every signature went one way or the other; the full pool served at least its contents
     * unless the lock was busy at that instant. */
    assert_int_equal((s1.used - s0.used) + (s1.fallbacks - s0.fallbacks), THREADS * PER_THREAD);
    assert_true(s1.used > s0.used);
    printf("# %llu signatures with a precomputed nonce, %llu on the normal path\n",
           (unsigned long long)(s1.used - s0.used),
           (unsigned long long)(s1.fallbacks - s0.fallbacks));

    for (int i = 0; i < THREADS; i++) {
        for (int j = 0; j < PER_THREAD; j++) {
            char msg[48];
            snprintf(msg, sizeof(msg), "thread %d receipt %d", i, j);
            assert_int_equal(ncsl_keys_p256_verify(pub, msg, strlen(msg), w[i].sigs[j], &err),
                             NCSL_OK);
        }
    }
    memcpy(rs, sigs, (size_t)THREADS * PER_THREAD * 64);
    qsort(rs, THREADS * PER_THREAD, 64, cmp_r);
    for (int i = 1; i < THREADS * PER_THREAD; i++) {
        assert_true(memcmp(rs[i - 1], rs[i], 32) != 0);
    }
    free(rs);
    free(sigs);
    ncsl_keys_destroy(k);
}

static void test_destroy_while_busy(void **unused) {
    ncsl_err err;
    for (int i = 0; i < 8; i++) {
        ncsl_keys *k = new_key();
        uint8_t sig[64];
        /* A large pool keeps the thread computing when the key goes away. */
        assert_int_equal(ncsl__keys_presign_configure(k, NCSL__KEYS_PRESIGN_MAX, true, &err),
                         NCSL_OK);
        sign_and_check(k, "busy", sig);
        if (i % 2) {
            assert_true(ncsl__keys_presign_wait(k, 2, FILL_WAIT_MS));
        }
        ncsl_keys_destroy(k);
    }
    /* And a key that never signed has no thread to stop. */
    ncsl_keys_destroy(new_key());
}

static void test_fork_child_skips_pool(void **unused) {
    ncsl_keys *k = new_key();
    uint8_t sig[64];
    sign_and_check(k, "parent", sig);
    assert_true(ncsl__keys_presign_wait(k, NCSL__KEYS_PRESIGN_DEFAULT, FILL_WAIT_MS));
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* The child holds a copy of the parent's entries: using one would sign with a nonce
         * the parent also uses. */
        ncsl_keys_presign_stats a = stats(k);
        uint8_t pub[NCSL_KEYS_P256_PUB_SIZE];
        uint8_t csig[64];
        ncsl_keys_signing_pub_compressed(k, pub);
        bool ok = true;
        for (int i = 0; i < 4 && ok; i++) {
            ok = ncsl_keys_sign(k, "child", 5, csig, NULL) == NCSL_OK &&
                 ncsl_keys_p256_verify(pub, "child", 5, csig, NULL) == NCSL_OK;
        }
        ncsl_keys_presign_stats b = stats(k);
        ok = ok && b.used == a.used && b.fallbacks - a.fallbacks == 4;
        ncsl_keys_destroy(k);
        /* The verdict goes through the pipe and the child ends with SIGKILL: an exit would run
         * valgrind's leak check on what the parent's threads own, which fork left behind. */
        char verdict = ok ? 'y' : 'n';
        ssize_t wr = write(fds[1], &verdict, 1);
        (void)wr;
        raise(SIGKILL);
        _exit(1);
    }
    close(fds[1]);
    char verdict = 0;
    assert_int_equal(read(fds[0], &verdict, 1), 1);
    close(fds[0]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_int_equal(verdict, 'y');
    sign_and_check(k, "parent again", sig);
    ncsl_keys_destroy(k);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pool_then_fresh),
        cmocka_unit_test(test_empty_pool_falls_back),
        cmocka_unit_test(test_many_threads_distinct_nonces),
        cmocka_unit_test(test_destroy_while_busy),
        cmocka_unit_test(test_fork_child_skips_pool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
