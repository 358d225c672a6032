/*
 * In-process benchmark: microseconds per call of the canonical function with a fresh JS context
 * per call, without HTTP. Paths:
 *   sandbox  ncsl_js_run on one runtime in this thread (context creation, bytecode from the
 *            shared cache, input parse, main, result serialization)
 *   prepared the same call with its context built ahead (ncsl_js_runtime_prepare between calls,
 *            as an idle worker does): us/call is the call's own time (the request's critical
 *            path); the "total" column adds the preparation (CPU per call when nothing is idle)
 *   +receipt prepared, then the receipt a response carries: SHA-256 of code, input and output
 *            and an ECDSA P-256 signature (precomputed nonces when the pool has one)
 *   engine   ncsl_engine_execute through the worker pool (adds the queue and thread hand-off)
 *   process  ncsl_engine_execute with process isolation: the same call in a worker process
 *            (adds encoding the call and its result, and two socket round trips)
 *   compile  ncsl_js_compile with the bytecode cache emptied before each call: what deploying
 *            a function costs (a temporary runtime, the parse, the cache insert); the two paths
 *            above load bytecode from the cache after their first call
 * Reports the median of REPS repetitions of CALLS calls (after a warm-up), with min-max, and the
 * peak JS heap of one call (for compile: the size of the bytecode).
 *
 *   build/release/bench/ncsl_bench_inproc [--calls N] [--reps N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_stats.h"
#include "crypto/crypto.h"
#include "exec/exec.h"
#include "js/js.h"
#include "keys/keys.h"
#include "receipt/receipt.h"

static const char *CODE = "function main(input) { return { result: input.value * 2 }; }";
static const char *INPUT = "{\"value\": 42}";
static const char *EXPECT = "{\"result\":84}";

enum { SANDBOX, PREPARED, RECEIPT };

/* The receipt of one call, as ncsld makes it (src/http/route_trust.c). */
static int sign_receipt(ncsl_keys *keys, const char *result, size_t result_len) {
    ncsl_receipt_input in;
    memset(&in, 0, sizeof(in));
    in.execution_id = "00000000-0000-4000-8000-000000000000";
    in.function_id = "bench";
    in.user_id = "bench";
    ncsl_receipt rc;
    ncsl_err err;
    int ok = ncsl_crypto_sha256(CODE, strlen(CODE), in.code_hash, &err) == NCSL_OK &&
             ncsl_crypto_sha256(INPUT, strlen(INPUT), in.input_hash, &err) == NCSL_OK &&
             ncsl_crypto_sha256(result, result_len, in.output_hash, &err) == NCSL_OK &&
             ncsl_receipt_sign(keys, &in, &rc, &err) == NCSL_OK;
    if (ok) {
        ncsl_receipt_cleanup(&rc);
    }
    return ok ? 0 : -1;
}

/* *us_per_call: the timed part of each call; *total_us: the same plus the preparation. */
static int run_sandbox(int mode, ncsl_keys *keys, int calls, double *us_per_call, double *total_us,
                       uint64_t *heap) {
    ncsl_js_runtime *rt = NULL;
    ncsl_err err;
    if (ncsl_js_runtime_create(&rt, &err) != NCSL_OK) {
        fprintf(stderr, "runtime: %s\n", err.message);
        return -1;
    }
    ncsl_engine_options o;
    ncsl_engine_options_default(&o);
    ncsl_js_call call = {
        .code = CODE,
        .code_len = strlen(CODE),
        .input_json = INPUT,
        .input_len = strlen(INPUT),
        .limits = {.memory_bytes = o.memory_limit_bytes,
                   .timeout_ms = o.timeout_ms,
                   .stack_bytes = o.stack_size_bytes,
                   .max_output_bytes = o.max_output_bytes,
                   .max_log_bytes = o.max_log_bytes},
    };
    uint64_t timed = 0, prep = 0;
    for (int i = 0; i < calls; i++) {
        if (mode != SANDBOX) {
            uint64_t p0 = ncsl_now_ns();
            ncsl_js_runtime_prepare(rt);
            prep += ncsl_now_ns() - p0;
        }
        uint64_t t0 = ncsl_now_ns();
        ncsl_js_outcome out;
        if (ncsl_js_run(rt, &call, &out, &err) != NCSL_OK || strcmp(out.result_json, EXPECT) != 0 ||
            (mode == RECEIPT && sign_receipt(keys, out.result_json, out.result_len) < 0)) {
            fprintf(stderr, "sandbox call failed: %s\n", err.message);
            ncsl_js_outcome_cleanup(&out);
            ncsl_js_runtime_destroy(rt);
            return -1;
        }
        timed += ncsl_now_ns() - t0;
        *heap = out.memory_used_bytes;
        ncsl_js_outcome_cleanup(&out);
    }
    *us_per_call = (double)timed / 1000.0 / calls;
    *total_us = (double)(timed + prep) / 1000.0 / calls;
    ncsl_js_runtime_destroy(rt);
    return 0;
}

static int run_compile(int calls, double *us_per_call, uint64_t *bytecode) {
    uint64_t total = 0;
    for (int i = 0; i < calls; i++) {
        ncsl_js_compile_info info;
        ncsl_err err;
        ncsl_js_bc_cache_clear();
        uint64_t t0 = ncsl_now_ns();
        if (ncsl_js_compile(CODE, strlen(CODE), NULL, &info, &err) != NCSL_OK || info.cached) {
            fprintf(stderr, "compile failed: %s\n", err.message);
            return -1;
        }
        total += ncsl_now_ns() - t0;
        *bytecode = info.bytecode_bytes;
    }
    *us_per_call = (double)total / 1000.0 / calls;
    return 0;
}

static int run_engine(ncsl_engine *e, int calls, double *us_per_call, uint64_t *heap) {
    ncsl_exec_request req = {.code = CODE,
                             .code_len = strlen(CODE),
                             .input_json = INPUT,
                             .input_len = strlen(INPUT),
                             .function_id = "bench",
                             .user_id = "bench"};
    uint64_t t0 = ncsl_now_ns();
    for (int i = 0; i < calls; i++) {
        ncsl_result *r = NULL;
        ncsl_err err;
        if (ncsl_engine_execute(e, &req, &r, &err) != NCSL_OK ||
            strcmp(ncsl_result_json(r, NULL), EXPECT) != 0) {
            fprintf(stderr, "engine call failed: %s\n", err.message);
            ncsl_result_destroy(r);
            return -1;
        }
        *heap = ncsl_result_memory_used_bytes(r);
        ncsl_result_destroy(r);
    }
    *us_per_call = (double)(ncsl_now_ns() - t0) / 1000.0 / calls;
    return 0;
}

int main(int argc, char **argv) {
    /* a worker process of the "process" path: this program started again by the engine */
    if (argc > 1 && strcmp(argv[1], NCSL_ENGINE_WORKER_FLAG) == 0) {
        return ncsl_engine_worker_main(argc, argv);
    }
    int calls = 20000, reps = 5;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--calls") == 0 && i + 1 < argc) {
            calls = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
            reps = atoi(argv[++i]);
        } else {
            fprintf(stderr, "usage: %s [--calls N] [--reps N]\n", argv[0]);
            return 2;
        }
    }
    if (calls < 1 || reps < 1 || reps > 100) {
        fprintf(stderr, "--calls must be >= 1 and --reps 1..100\n");
        return 2;
    }
    ncsl_engine_options o;
    ncsl_engine_options_default(&o);
    o.workers = 1;
    ncsl_engine *e = NULL;
    ncsl_err err;
    if (ncsl_engine_create(&o, &e, &err) != NCSL_OK) {
        fprintf(stderr, "engine: %s\n", err.message);
        return 1;
    }
    ncsl_engine *pe = NULL;
    o.isolation = NCSL_ISOLATION_PROCESS;
    if (ncsl_engine_create(&o, &pe, &err) != NCSL_OK) {
        fprintf(stderr, "process engine: %s\n", err.message);
        ncsl_engine_destroy(e);
        return 1;
    }
    ncsl_keys *keys = NULL;
    if (ncsl_keys_create_ephemeral(NULL, &keys, &err) != NCSL_OK) {
        fprintf(stderr, "keys: %s\n", err.message);
        ncsl_engine_destroy(pe);
        ncsl_engine_destroy(e);
        return 1;
    }
    printf("ncsl %s, QuickJS-ng %s; %d calls x %d reps per path, median [min-max]\n",
           ncsl_version(), ncsl_quickjs_version(), calls, reps);
    printf("%-10s %12s %22s %12s %14s\n", "path", "us/call", "[min-max]", "total us",
           "heap B/call");
    const char *names[] = {"sandbox", "prepared", "+receipt", "engine", "process", "compile"};
    int rc = 0;
    for (int p = 0; p < 6 && rc == 0; p++) {
        double v[100], tot[100];
        uint64_t heap = 0; /* for compile: bytecode bytes */
        double warm, warm_tot;
        int n = p == 5 ? (calls + 9) / 10 : calls;   /* a tenth as many: each empties the cache */
        for (int r = -1; r < reps && rc == 0; r++) { /* r = -1: warm-up */
            int m = r < 0 ? (p == 5 ? 20 : 200) : n;
            double *us = r < 0 ? &warm : &v[r];
            double *t = r < 0 ? &warm_tot : &tot[r];
            *t = -1;
            rc = p <= 2   ? run_sandbox(p, keys, m, us, t, &heap)
                 : p == 3 ? run_engine(e, m, us, &heap)
                 : p == 4 ? run_engine(pe, m, us, &heap)
                          : run_compile(m, us, &heap);
        }
        if (rc == 0) {
            bench_sort(v, (size_t)reps);
            bench_sort(tot, (size_t)reps);
            char total[32] = "-";
            if (tot[reps / 2] >= 0) {
                snprintf(total, sizeof(total), "%.2f", tot[reps / 2]);
            }
            printf("%-10s %12.2f %10.2f-%-10.2f %12s %14llu\n", names[p], v[reps / 2], v[0],
                   v[reps - 1], total, (unsigned long long)heap);
        }
    }
    ncsl_keys_destroy(keys);
    ncsl_engine_destroy(pe);
    ncsl_engine_destroy(e);
    return rc == 0 ? 0 : 1;
}
