/*
 * Receipt benchmark: microseconds to sign one receipt (copy the fields, encode, SHA-256, ECDSA
 * P-256, low-S) and to verify one (encode, key, ECDSA verify), each timed per operation; plus the
 * JSON paths an API uses (sign + render, parse + verify). Prints the median and the 10th/90th
 * percentiles of --runs timed operations after a warm-up.
 *
 * Signing is measured twice (docs/receipts.md, "Signing speed"):
 *   fresh  the precomputed-nonce pool switched off: every signature does the whole ECDSA;
 *   pool   the pool on (the default): the latency a request sees when a nonce is ready. Each
 *          round sleeps --pace-us (default 100) microseconds, as a server between requests,
 *          which leaves the low-priority background thread time to refill even when the other
 *          CPUs are busy; the pool's hit count is printed with it. (--pace-us 0: back to back,
 *          as this benchmark ran before the pool; the pool then drains when no CPU is idle.)
 * and the CPU each costs in total: process CPU time (every thread, so the background thread's
 * work counts) over --runs signatures spaced by the same sleep, less the same loop without
 * signing, divided by --runs. The background thread's own CPU per nonce (its clock) is printed
 * too. Verification is measured with the same key each time (the key cache hits, as for an
 * enclave checking its own receipts) and with a key not seen recently (imported each time).
 *
 *   build/release/bench/ncsl_bench_receipt [--runs N] [--pool both|on|off] [--pace-us N]
 */
#include "receipt/receipt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "bench_stats.h"
#include "common/common.h"
#include "crypto/crypto.h"
#include "keys/keys.h"
#include "keys/keys_int.h"

#define OTHER_KEYS 16           /* more than the verification key cache holds */
static long g_pace_ns = 100000; /* --pace-us */

typedef struct samples {
    double *sign, *verify, *sign_json, *verify_json;
} samples;

static void report(const char *name, double *v, int n) {
    bench_sort(v, (size_t)n);
    printf("%-34s %10.2f %10.2f %10.2f\n", name, v[n / 2], v[n / 10], v[n - 1 - n / 10]);
}

static bool fill_input(ncsl_receipt_input *in, int i, char *id, size_t id_size) {
    memset(in, 0, sizeof(*in));
    snprintf(id, id_size, "00000000-0000-4000-8000-%012d", i);
    in->execution_id = id;
    in->function_id = "price-oracle";
    in->user_id = "user-42";
    in->timestamp_ms = 1795532400123ull + (uint64_t)i;
    return ncsl_crypto_sha256("function main(input) { return input; }", 39, in->code_hash, NULL) ==
               NCSL_OK &&
           ncsl_crypto_sha256(id, strlen(id), in->input_hash, NULL) == NCSL_OK &&
           ncsl_crypto_sha256("{\"ok\":true}", 11, in->output_hash, NULL) == NCSL_OK;
}

static uint64_t process_cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void pace(void) {
    struct timespec ts = {g_pace_ns / 1000000000L, g_pace_ns % 1000000000L};
    if (g_pace_ns > 0) {
        nanosleep(&ts, NULL);
    }
}

static bool set_pool(ncsl_keys *keys, bool on) {
    ncsl_err err;
    if (ncsl__keys_presign_configure(keys, on ? NCSL__KEYS_PRESIGN_DEFAULT : 0, true, &err) !=
        NCSL_OK) {
        fprintf(stderr, "pool: %s\n", err.message);
        return false;
    }
    /* A full pool to start with (the thread starts with the first signature otherwise). */
    if (on && !ncsl__keys_presign_wait(keys, NCSL__KEYS_PRESIGN_DEFAULT, 10000)) {
        fprintf(stderr, "pool: not filled in 10 s\n");
        return false;
    }
    return true;
}

/* Sign, verify, render and parse + verify, --runs times after 200 warm-up rounds. */
static bool run_latency(ncsl_keys *keys, int runs, samples *s) {
    ncsl_err err;
    for (int i = -200; i < runs; i++) {
        char id[64];
        ncsl_receipt_input in;
        ncsl_receipt r;
        json_t *j = NULL;
        if (!fill_input(&in, i < 0 ? -i : i, id, sizeof(id))) {
            fprintf(stderr, "sha256 failed\n");
            return false;
        }
        uint64_t t0 = ncsl_now_ns();
        ncsl_status st = ncsl_receipt_sign(keys, &in, &r, &err);
        uint64_t t1 = ncsl_now_ns();
        if (st != NCSL_OK) {
            fprintf(stderr, "sign: %s\n", err.message);
            return false;
        }
        st = ncsl_receipt_verify(&r, NULL, &err);
        uint64_t t2 = ncsl_now_ns();
        if (st != NCSL_OK) {
            fprintf(stderr, "verify: %s\n", err.message);
            ncsl_receipt_cleanup(&r);
            return false;
        }
        st = ncsl_receipt_to_json(&r, &j, &err);
        uint64_t t3 = ncsl_now_ns();
        ncsl_receipt_cleanup(&r);
        if (st != NCSL_OK) {
            fprintf(stderr, "json: %s\n", err.message);
            return false;
        }
        st = ncsl_receipt_verify_json(j, NULL, NULL, &err);
        uint64_t t4 = ncsl_now_ns();
        json_decref(j);
        if (st != NCSL_OK) {
            fprintf(stderr, "verify json: %s\n", err.message);
            return false;
        }
        pace(); /* as between requests: time for the thread without taking another CPU */
        if (i >= 0) {
            s->sign[i] = (double)(t1 - t0) / 1000.0;
            s->verify[i] = (double)(t2 - t1) / 1000.0;
            s->sign_json[i] = (double)(t3 - t0 - (t2 - t1)) / 1000.0;
            s->verify_json[i] = (double)(t4 - t3) / 1000.0;
        }
    }
    return true;
}

/* Process CPU microseconds per signature: `runs` paced signatures less `runs` paces. With the
 * pool on (full at the start), the nonces used but not yet replaced at the end are charged at
 * the thread's measured CPU per nonce, so all of its work for these signatures counts. */
static bool cpu_per_sign(ncsl_keys *keys, int runs, double *out) {
    ncsl_err err;
    char id[64];
    ncsl_receipt_input in;
    ncsl_receipt r;
    ncsl_keys_presign_stats a, b;
    if (!fill_input(&in, 1, id, sizeof(id))) {
        return false;
    }
    uint64_t c0 = process_cpu_ns();
    for (int i = 0; i < runs; i++) {
        pace();
    }
    uint64_t idle = process_cpu_ns() - c0;
    ncsl_keys_presign_stats_get(keys, &a);
    c0 = process_cpu_ns();
    for (int i = 0; i < runs; i++) {
        if (ncsl_receipt_sign(keys, &in, &r, &err) != NCSL_OK) {
            fprintf(stderr, "sign: %s\n", err.message);
            return false;
        }
        ncsl_receipt_cleanup(&r);
        pace();
    }
    uint64_t used = process_cpu_ns() - c0;
    ncsl_keys_presign_stats_get(keys, &b);
    if (b.capacity > 0 && b.made > a.made) {
        double per_nonce = (double)(b.made_cpu_ns - a.made_cpu_ns) / (double)(b.made - a.made);
        used += (uint64_t)(per_nonce * (double)(b.capacity - b.available));
    }
    *out = used > idle ? (double)(used - idle) / 1000.0 / runs : 0.0;
    return true;
}

/* Verification with a key imported each time: receipts of OTHER_KEYS keys, round robin. */
static bool run_verify_uncached(int runs, double *v) {
    ncsl_keys *k[OTHER_KEYS] = {0};
    ncsl_receipt r[OTHER_KEYS];
    ncsl_err err;
    bool ok = false;
    memset(r, 0, sizeof(r));
    for (int i = 0; i < OTHER_KEYS; i++) {
        char id[64];
        ncsl_receipt_input in;
        if (ncsl_keys_create_ephemeral(NULL, &k[i], &err) != NCSL_OK ||
            ncsl__keys_presign_configure(k[i], 0, false, &err) != NCSL_OK ||
            !fill_input(&in, i, id, sizeof(id)) ||
            ncsl_receipt_sign(k[i], &in, &r[i], &err) != NCSL_OK) {
            fprintf(stderr, "other keys: %s\n", err.message);
            goto out;
        }
    }
    for (int i = -OTHER_KEYS; i < runs; i++) {
        uint64_t t0 = ncsl_now_ns();
        ncsl_status st = ncsl_receipt_verify(&r[(i + OTHER_KEYS) % OTHER_KEYS], NULL, &err);
        uint64_t t1 = ncsl_now_ns();
        if (st != NCSL_OK) {
            fprintf(stderr, "verify: %s\n", err.message);
            goto out;
        }
        if (i >= 0) {
            v[i] = (double)(t1 - t0) / 1000.0;
        }
    }
    ok = true;
out:
    for (int i = 0; i < OTHER_KEYS; i++) {
        ncsl_receipt_cleanup(&r[i]);
        ncsl_keys_destroy(k[i]);
    }
    return ok;
}

static void print_stats(const char *what, const ncsl_keys_presign_stats *a,
                        const ncsl_keys_presign_stats *b) {
    printf("  %s: %llu signatures with a precomputed nonce, %llu on the normal path\n", what,
           (unsigned long long)(b->used - a->used),
           (unsigned long long)(b->fallbacks - a->fallbacks));
}

int main(int argc, char **argv) {
    int runs = 5001;
    const char *mode = "both";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
            runs = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--pool") == 0 && i + 1 < argc) {
            mode = argv[++i];
        } else if (strcmp(argv[i], "--pace-us") == 0 && i + 1 < argc) {
            g_pace_ns = atol(argv[++i]) * 1000L;
        } else {
            fprintf(stderr, "usage: %s [--runs N] [--pool both|on|off] [--pace-us N]\n", argv[0]);
            return 2;
        }
    }
    bool fresh = strcmp(mode, "both") == 0 || strcmp(mode, "off") == 0;
    bool pooled = strcmp(mode, "both") == 0 || strcmp(mode, "on") == 0;
    if (runs < 10 || runs > 1000000 || (!fresh && !pooled) || g_pace_ns < 0 ||
        g_pace_ns > 1000000000L) {
        fprintf(stderr,
                "--runs must be 10..1000000, --pool both, on or off, --pace-us 0..1000000\n");
        return 2;
    }
    ncsl_keys *keys = NULL;
    ncsl_err err;
    if (ncsl_keys_create_ephemeral(NULL, &keys, &err) != NCSL_OK) {
        fprintf(stderr, "keys: %s\n", err.message);
        return 1;
    }
    samples f = {0}, p = {0};
    double *uncached = calloc((size_t)runs, sizeof(double));
    double cpu_fresh = 0, cpu_pool = 0;
    ncsl_keys_presign_stats s0, s1, s2, s3;
    int rc = 1;
    double **all[] = {&f.sign, &f.verify, &f.sign_json, &f.verify_json,
                      &p.sign, &p.verify, &p.sign_json, &p.verify_json};
    for (size_t i = 0; i < NCSL_ARRAY_LEN(all); i++) {
        *all[i] = calloc((size_t)runs, sizeof(double));
        if (!*all[i]) {
            goto oom;
        }
    }
    if (!uncached) {
        goto oom;
    }
    if (fresh && (!set_pool(keys, false) || !run_latency(keys, runs, &f) ||
                  !cpu_per_sign(keys, runs, &cpu_fresh))) {
        goto out;
    }
    if (pooled) {
        if (!set_pool(keys, true)) {
            goto out;
        }
        ncsl_keys_presign_stats_get(keys, &s0);
        if (!run_latency(keys, runs, &p)) {
            goto out;
        }
        ncsl_keys_presign_stats_get(keys, &s1);
        if (!set_pool(keys, true)) {
            goto out;
        }
        ncsl_keys_presign_stats_get(keys, &s2);
        if (!cpu_per_sign(keys, runs, &cpu_pool)) {
            goto out;
        }
        ncsl_keys_presign_stats_get(keys, &s3);
    }
    if (!run_verify_uncached(runs, uncached)) {
        goto out;
    }
    printf("ncsl %s, %s; %d timed operations each, %ld us apart; microseconds (wall clock per "
           "operation)\n",
           ncsl_version(), OpenSSL_version(OPENSSL_VERSION), runs, g_pace_ns / 1000);
    printf("%-34s %10s %10s %10s\n", "operation", "median", "p10", "p90");
    if (fresh) {
        report("sign (fresh path)", f.sign, runs);
    }
    if (pooled) {
        report("sign (pool: critical path)", p.sign, runs);
    }
    samples *v = fresh ? &f : &p;
    report("verify (same key: cached)", v->verify, runs);
    report("verify (key not cached)", uncached, runs);
    if (fresh) {
        report("sign + to JSON (fresh path)", f.sign_json, runs);
    }
    if (pooled) {
        report("sign + to JSON (pool)", p.sign_json, runs);
    }
    report("verify from JSON (cached key)", v->verify_json, runs);
    printf("\nCPU microseconds per signature (process CPU time, all threads):\n");
    if (fresh) {
        printf("  fresh path:                      %8.2f\n", cpu_fresh);
    }
    if (pooled) {
        printf("  pool (critical path + thread):   %8.2f\n", cpu_pool);
        uint64_t made = s3.made - s0.made;
        printf("  background CPU per nonce:        %8.2f  (thread clock, %llu nonces)\n",
               made ? (double)(s3.made_cpu_ns - s0.made_cpu_ns) / 1000.0 / (double)made : 0.0,
               (unsigned long long)made);
        print_stats("latency run", &s0, &s1);
        print_stats("CPU run", &s2, &s3);
    }
    rc = 0;
    goto out;
oom:
    fprintf(stderr, "out of memory\n");
out:
    for (size_t i = 0; i < NCSL_ARRAY_LEN(all); i++) {
        free(*all[i]);
    }
    free(uncached);
    ncsl_keys_destroy(keys);
    return rc;
}
