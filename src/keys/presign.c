/*
 * Receipt signing with the identity's P-256 key: ECDSA through OpenSSL's EC_KEY interface, and a
 * small pool of precomputed nonces that takes the expensive half of ECDSA off the caller's path.
 *
 * Why not EVP: each EVP_DigestSign call creates contexts, fetches SHA-256 and the ECDSA
 * implementation from the provider and DER-encodes the signature that we decode again: about 3 us
 * on top of 19 us of ECDSA (bench/receipt.c). ECDSA_do_sign on an EC_KEY made once per handle
 * has none of that, and ECDSA_sign_setup / ECDSA_do_sign_ex, which the pool needs, exist only in
 * that interface (OpenSSL 3 has no EVP equivalent). These functions are deprecated since OpenSSL
 * 3.0 but still built by default; this file alone uses them (OPENSSL_SUPPRESS_DEPRECATED below,
 * for EC_KEY_*, ECDSA_do_sign, ECDSA_sign_setup, ECDSA_do_sign_ex and EVP_PKEY_get1_EC_KEY only).
 *
 * The pool (docs/receipts.md, "Signing speed"). ECDSA's signature is (r, s) with
 *   k      a fresh secret nonce, uniformly random in [1, n-1],
 *   r      = x(k.G) mod n                       (one scalar multiplication: most of the cost),
 *   s      = k^-1 (H(m) + r.d) mod n            (a few modular multiplications: under 1 us).
 * (k^-1, r) do not depend on the message, so ECDSA_sign_setup can make them ahead of time and
 * ECDSA_do_sign_ex finishes a signature with them. This is safe exactly when each pair is used
 * for one signature at most and stays as secret as the key (two signatures with one k, or a
 * known k, give away d). So:
 *   - k comes from OpenSSL's random generator (BN_priv_rand_range inside ECDSA_sign_setup; in an
 *     enclave OpenSSL seeds it from RDRAND), never from a counter or from the message;
 *   - an entry leaves the pool under its lock, is used by that one signature and is wiped
 *     (BN_clear_free) right after, whether signing worked or not; nothing copies it;
 *   - the entries live in this process's heap, as the key does (inside the enclave in
 *     production), and are wiped when the handle is destroyed or the pool switched off;
 *   - a forked child never uses the pool it inherited (the parent would use the same entries).
 * Unlike the normal path (OpenSSL mixes the key and the message digest into k, which hedges a
 * weak generator), a pooled k is the generator's output alone: the identity key itself came
 * from the same generator, so this adds no new trust in it.
 * A signer never waits for the pool: when it is empty, or its lock is held at that instant, the
 * signature is made on the normal path. One background thread per key refills the pool when it
 * falls to half (at low CPU priority: SCHED_IDLE where the system has it), started by the first
 * signature, so processes that never sign run no thread.
 */
#define OPENSSL_SUPPRESS_DEPRECATED /* see above: EC_KEY and ECDSA_* only */

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "common/common.h"
#include "keys/keys_int.h"

#define PRESIGN_STACK_SIZE (256u * 1024u)

typedef struct presign_entry {
    BIGNUM *kinv; /* k^-1 mod n: a secret */
    BIGNUM *r;    /* x(k.G) mod n: public once in a signature; wiped with kinv all the same */
} presign_entry;

struct ncsl__keys_signer {
    EC_KEY *ec; /* the private key, a copy made once; shared read-only by every thread */
    EVP_MD *sha256;
    pthread_mutex_t mu; /* guards everything below except the atomics */
    pthread_cond_t wake;
    presign_entry *pool; /* [capacity]; entries [0, count) are ready */
    size_t capacity;
    size_t count;
    bool refill; /* the thread may add entries (false: paused, for tests) */
    bool stop;
    bool thread_running;
    pthread_t thread;
    unsigned long fork_gen; /* g_fork_gen at creation: a forked child never uses the pool */
    _Atomic bool enabled;   /* capacity > 0 */
    _Atomic bool started;   /* the thread was started, or starting it failed */
    _Atomic uint64_t used, fallbacks, made, made_cpu_ns;
};

/* Fork detection, one-time process initialization: a child's pool would hold the parent's
 * entries, so pools of an older generation are never used. */
static pthread_once_t g_fork_once = PTHREAD_ONCE_INIT;
static _Atomic unsigned long g_fork_gen;

static void on_fork_child(void) {
    atomic_fetch_add(&g_fork_gen, 1);
}

static void fork_watch_init(void) {
    (void)pthread_atfork(NULL, NULL, on_fork_child);
}

static uint64_t thread_cpu_ns(void) {
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) {
        return 0;
    }
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void entry_wipe(presign_entry *e) {
    BN_clear_free(e->kinv);
    BN_clear_free(e->r);
    e->kinv = NULL;
    e->r = NULL;
}

/* Wipes every ready entry. Caller holds mu (or is the only user left). */
static void pool_clear(ncsl__keys_signer *s) {
    for (size_t i = 0; i < s->count; i++) {
        entry_wipe(&s->pool[i]);
    }
    s->count = 0;
}

static void *refill_main(void *arg) {
    ncsl__keys_signer *s = arg;
    (void)pthread_setname_np(pthread_self(), "ncsl-presign"); /* for top -H and debuggers */
#ifdef SCHED_IDLE
    /* Lowest priority: under full load the pool drains and signing takes the normal path,
     * which costs the same CPU, instead of this thread taking time from requests. */
    struct sched_param sp = {.sched_priority = 0};
    (void)pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp);
#endif
    BN_CTX *ctx = BN_CTX_secure_new();
    /* CPU time is counted per batch (wake to sleep), so it includes the locking and waking
     * and not twice a clock read per entry. */
    uint64_t t0 = thread_cpu_ns();
    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        if (!ctx || !s->refill || s->count >= s->capacity) {
            atomic_fetch_add_explicit(&s->made_cpu_ns, thread_cpu_ns() - t0, memory_order_relaxed);
            pthread_cond_wait(&s->wake, &s->mu);
            t0 = thread_cpu_ns();
            continue;
        }
        pthread_mutex_unlock(&s->mu);
        presign_entry e = {NULL, NULL};
        int ok = ECDSA_sign_setup(s->ec, ctx, &e.kinv, &e.r);
        ERR_clear_error();
        pthread_mutex_lock(&s->mu);
        if (ok != 1) {
            entry_wipe(&e);
            /* OpenSSL failed (out of memory, generator failure): stop refilling rather than
             * spin; signing goes on without the pool. */
            s->refill = false;
            continue;
        }
        if (s->stop || !s->refill || s->count >= s->capacity) {
            entry_wipe(&e);
            continue;
        }
        s->pool[s->count++] = e;
        atomic_fetch_add_explicit(&s->made, 1, memory_order_relaxed);
    }
    pthread_mutex_unlock(&s->mu);
    BN_CTX_free(ctx);
    ERR_clear_error();
    atomic_fetch_add_explicit(&s->made_cpu_ns, thread_cpu_ns() - t0, memory_order_relaxed);
    return NULL;
}

/* Starts the refill thread on the first signature with the pool on; never waits (a busy lock
 * means another thread is at it, or the next signature tries again). */
static void maybe_start(ncsl__keys_signer *s) {
    if (atomic_load_explicit(&s->started, memory_order_acquire) ||
        pthread_mutex_trylock(&s->mu) != 0) {
        return;
    }
    if (s->capacity > 0 && !s->thread_running && !s->stop) {
        pthread_attr_t attr;
        bool attr_ok = pthread_attr_init(&attr) == 0;
        if (attr_ok) {
            /* ECDSA_sign_setup needs little stack; in an enclave every stack byte is
             * enclave memory, so do not take the 8 MiB default. */
            (void)pthread_attr_setstacksize(&attr, PRESIGN_STACK_SIZE);
        }
        if (attr_ok && pthread_create(&s->thread, &attr, refill_main, s) == 0) {
            s->thread_running = true;
        } else {
            NCSL_LOG_WARN("keys", "cannot start the signing nonce thread: receipts are signed "
                                  "without precomputation");
        }
        if (attr_ok) {
            pthread_attr_destroy(&attr);
        }
        atomic_store_explicit(&s->started, true, memory_order_release);
    }
    pthread_mutex_unlock(&s->mu);
}

/* Takes one entry, or returns false (empty or busy). Never blocks. */
static bool pool_take(ncsl__keys_signer *s, presign_entry *out) {
    bool took = false, low = false;
    if (pthread_mutex_trylock(&s->mu) != 0) {
        return false;
    }
    if (s->count > 0) {
        *out = s->pool[--s->count];
        s->pool[s->count].kinv = NULL;
        s->pool[s->count].r = NULL;
        took = true;
    }
    low = s->refill && s->count <= s->capacity / 2;
    pthread_mutex_unlock(&s->mu);
    if (low) {
        /* The thread sleeps only with a full pool, so this wakes it once per half pool; while
         * it works there is no waiter and glibc returns without a system call. */
        pthread_cond_signal(&s->wake);
    }
    return took;
}

ncsl_status ncsl__keys_signer_create(EVP_PKEY *key, ncsl__keys_signer **out, ncsl_err *err) {
    ncsl__keys_signer *s = calloc(1, sizeof(*s));
    *out = NULL;
    pthread_once(&g_fork_once, fork_watch_init);
    if (!s) {
        return ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
    }
    s->capacity = NCSL__KEYS_PRESIGN_DEFAULT;
    s->refill = true;
    atomic_store(&s->enabled, true);
    s->pool = calloc(NCSL__KEYS_PRESIGN_MAX, sizeof(*s->pool));
    s->ec = EVP_PKEY_get1_EC_KEY(key);
    s->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (pthread_mutex_init(&s->mu, NULL) != 0) {
        free(s->pool);
        EC_KEY_free(s->ec);
        EVP_MD_free(s->sha256);
        free(s);
        ERR_clear_error();
        return ncsl_err_set(err, NCSL_E_NOMEM, NULL, "cannot create a mutex");
    }
    if (pthread_cond_init(&s->wake, NULL) != 0) {
        pthread_mutex_destroy(&s->mu);
        free(s->pool);
        EC_KEY_free(s->ec);
        EVP_MD_free(s->sha256);
        free(s);
        ERR_clear_error();
        return ncsl_err_set(err, NCSL_E_NOMEM, NULL, "cannot create a condition variable");
    }
    if (!s->pool || !s->ec || !s->sha256) {
        ncsl__keys_signer_destroy(s);
        ERR_clear_error();
        return ncsl_err_set(err, NCSL_E_CRYPTO, NULL, "cannot set up the P-256 signer");
    }
    s->fork_gen = atomic_load(&g_fork_gen);
    *out = s;
    return NCSL_OK;
}

void ncsl__keys_signer_destroy(ncsl__keys_signer *s) {
    if (!s) {
        return;
    }
    if (s->fork_gen == atomic_load(&g_fork_gen)) {
        pthread_mutex_lock(&s->mu);
        s->stop = true;
        pthread_mutex_unlock(&s->mu);
        pthread_cond_broadcast(&s->wake);
        if (s->thread_running) {
            pthread_join(s->thread, NULL);
        }
        pool_clear(s);
        pthread_cond_destroy(&s->wake);
        pthread_mutex_destroy(&s->mu);
    } else {
        /* A forked child: the thread does not exist here and the lock may be held forever by
         * it. Wipe the entries without the lock (this memory is the child's alone). */
        pool_clear(s);
    }
    free(s->pool);
    EC_KEY_free(s->ec); /* clears the private scalar */
    EVP_MD_free(s->sha256);
    ncsl_wipe(s, sizeof(*s));
    free(s);
}

ncsl_status ncsl__keys_signer_sign(ncsl__keys_signer *s, const void *msg, size_t len,
                                   uint8_t sig[NCSL_KEYS_P256_SIG_SIZE], ncsl_err *err) {
    static const uint8_t empty[1] = {0};
    ncsl_status st = NCSL_OK;
    uint8_t h[32];
    unsigned h_len = 0;
    presign_entry e = {NULL, NULL};
    ECDSA_SIG *es = NULL;

    if (EVP_Digest(msg ? msg : empty, len, h, &h_len, s->sha256, NULL) != 1 || h_len != 32) {
        st = ncsl_err_set(err, NCSL_E_CRYPTO, NULL, "SHA-256 failed");
        goto out;
    }
    bool pooled = false;
    if (atomic_load_explicit(&s->enabled, memory_order_relaxed) &&
        s->fork_gen == atomic_load_explicit(&g_fork_gen, memory_order_relaxed)) {
        maybe_start(s);
        pooled = pool_take(s, &e);
    }
    if (pooled) {
        atomic_fetch_add_explicit(&s->used, 1, memory_order_relaxed);
        es = ECDSA_do_sign_ex(h, 32, e.kinv, e.r, s->ec);
        entry_wipe(&e); /* used once, whatever the outcome */
    } else {
        atomic_fetch_add_explicit(&s->fallbacks, 1, memory_order_relaxed);
    }
    if (!es) {
        /* The normal path: OpenSSL draws k itself (hedged with the key and the digest). Also
         * taken when a precomputed pair gave s == 0 (probability about 2^-256). */
        es = ECDSA_do_sign(h, 32, s->ec);
    }
    if (!es) {
        st = ncsl_err_set(err, NCSL_E_CRYPTO, NULL, "ECDSA signing failed");
        goto out;
    }
    st = ncsl__keys_sig_to_raw(es, sig, err);
out:
    if (st != NCSL_OK) {
        memset(sig, 0, NCSL_KEYS_P256_SIG_SIZE);
    }
    ECDSA_SIG_free(es);
    ERR_clear_error();
    return st;
}

ncsl_status ncsl__keys_signer_configure(ncsl__keys_signer *s, size_t capacity, bool refill,
                                        ncsl_err *err) {
    if (capacity > NCSL__KEYS_PRESIGN_MAX) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "capacity", "at most %u precomputed nonces",
                            NCSL__KEYS_PRESIGN_MAX);
    }
    pthread_mutex_lock(&s->mu);
    while (s->count > capacity) {
        entry_wipe(&s->pool[--s->count]);
    }
    s->capacity = capacity;
    s->refill = refill && capacity > 0;
    atomic_store(&s->enabled, capacity > 0);
    pthread_mutex_unlock(&s->mu);
    pthread_cond_broadcast(&s->wake);
    if (capacity > 0 && s->fork_gen == atomic_load(&g_fork_gen)) {
        maybe_start(s);
    }
    return NCSL_OK;
}

bool ncsl__keys_signer_wait(ncsl__keys_signer *s, size_t n, int timeout_ms) {
    for (int waited = 0;; waited++) {
        pthread_mutex_lock(&s->mu);
        size_t c = s->count;
        pthread_mutex_unlock(&s->mu);
        if (c >= n) {
            return true;
        }
        if (waited >= timeout_ms) {
            return false;
        }
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
}

void ncsl__keys_signer_stats(ncsl__keys_signer *s, ncsl_keys_presign_stats *out) {
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&s->mu);
    out->available = s->count;
    out->capacity = s->capacity;
    out->running = s->thread_running;
    pthread_mutex_unlock(&s->mu);
    out->used = atomic_load(&s->used);
    out->fallbacks = atomic_load(&s->fallbacks);
    out->made = atomic_load(&s->made);
    out->made_cpu_ns = atomic_load(&s->made_cpu_ns);
}
