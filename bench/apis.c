/*
 * Per-API benchmark: what each platform API of docs/javascript.md costs inside a call, in
 * microseconds, measured in process on one runtime (fresh context per call, as in production).
 *
 * Two kinds of rows:
 *   call    a whole call whose main touches one API once (typeof X): the per-call price of that
 *           API being there and built on first use, against the `baseline` row (main returns 1)
 *   op      one operation, from a call that runs it LOOP times: (that call - the same loop with
 *           no operation) / LOOP. Async operations are awaited one by one.
 * Reports the median of REPS repetitions (after a warm-up) with min-max. The baseline runs first
 * and last: their difference is the drift of the machine during the run.
 *
 *   build/release/bench/ncsl_bench_apis [--reps N] [--filter SUBSTRING]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_stats.h"
#include "js/js.h"
#include "keys/keys.h"

#define LOOP 200

typedef struct bench_case {
    const char *kind; /* "call" or "op" */
    const char *name;
    const char *setup; /* statements before the loop (op), or the whole body (call) */
    const char *op;    /* one operation (op rows); may use `await` */
    int loop;          /* op rows: operations per call (0: LOOP) */
} bench_case;

static const bench_case g_cases[] = {
    {"call", "baseline", "", NULL, 0},
    {"call", "setTimeout present", "typeof setTimeout;", NULL, 0},
    {"call", "TextEncoder first use", "typeof TextEncoder;", NULL, 0},
    {"call", "URL first use", "typeof URL;", NULL, 0},
    {"call", "crypto first use", "typeof crypto;", NULL, 0},
    {"call", "Neo first use", "typeof Neo;", NULL, 0},
    {"call", "fetch first use", "typeof fetch;", NULL, 0},
    {"op", "TextEncoder.encode 64 B", "const te = new TextEncoder(); const s = 'x'.repeat(64);",
     "te.encode(s);", 0},
    {"op", "TextDecoder.decode 64 B",
     "const td = new TextDecoder(); const b = new TextEncoder().encode('x'.repeat(64));",
     "td.decode(b);", 0},
    {"op", "btoa+atob 64 B", "const s = 'x'.repeat(64);", "atob(btoa(s));", 0},
    {"op", "new URL", "", "new URL('https://api.example.com/v1/price?pair=NEO-USD#x');", 0},
    {"op", "URLSearchParams parse+get", "", "new URLSearchParams('a=1&b=two&c=%20x').get('c');", 0},
    {"op", "crypto.getRandomValues 32 B", "const b = new Uint8Array(32);",
     "crypto.getRandomValues(b);", 0},
    {"op", "crypto.randomUUID", "", "crypto.randomUUID();", 0},
    {"op", "crypto.sha256 1 KiB", "const b = new Uint8Array(1024);", "crypto.sha256(b);", 0},
    {"op", "subtle.digest SHA-256 1 KiB", "const b = new Uint8Array(1024);",
     "await crypto.subtle.digest('SHA-256', b);", 0},
    {"op", "subtle HMAC sign 64 B",
     "const k = await crypto.subtle.importKey('raw', new Uint8Array(32), {name: 'HMAC', hash: "
     "'SHA-256'}, false, ['sign']); const b = new Uint8Array(64);",
     "await crypto.subtle.sign('HMAC', k, b);", 0},
    {"op", "Neo.secureRandom(1000)", "", "Neo.secureRandom(1000);", 0},
    {"op", "Neo.address", "const pub = Neo.keys.get('bench').publicKey;", "Neo.address(pub);", 0},
    /* at most 64 names per call: 50 new names per call */
    {"op", "Neo.keys.get (new name)", "let i = 0;", "Neo.keys.get('k' + i++);", 50},
    {"op", "key.sign 32 B", "const k = Neo.keys.get('bench'); const b = new Uint8Array(32);",
     "k.sign(b);", 0},
    {"op", "key.verify 32 B",
     "const k = Neo.keys.get('bench'); const b = new Uint8Array(32); const s = k.sign(b);",
     "k.verify(b, s);", 0},
    {"op", "setTimeout 0 round trip", "", "await new Promise((r) => setTimeout(r, 0));", 0},
    {"call", "baseline (again, for drift)", "", NULL, 0},
};

/* Source of a call: `call` rows run setup once; `op` rows run it LOOP times (or not at all,
 * for the empty-loop reference). */
static char *make_code(const bench_case *c, bool with_op) {
    size_t n = strlen(c->setup) + (c->op ? strlen(c->op) : 0) + 256;
    char *code = malloc(n);
    if (!code) {
        return NULL;
    }
    if (!c->op) {
        snprintf(code, n, "async function main() { %s return 1; }", c->setup);
    } else {
        snprintf(code, n,
                 "async function main() { %s for (let n = 0; n < %d; n++) { %s } return 1; }",
                 c->setup, c->loop ? c->loop : LOOP, with_op ? c->op : "");
    }
    return code;
}

/* Microseconds per call of `code`, `calls` calls. -1 on failure (printed). */
static double time_calls(ncsl_js_runtime *rt, const char *code, int calls) {
    ncsl_js_call call = {
        .code = code,
        .code_len = strlen(code),
        .user_id = "bench-user",
        .function_id = "bench-fn",
    };
    uint64_t t0 = ncsl_now_ns();
    for (int i = 0; i < calls; i++) {
        ncsl_js_outcome out;
        ncsl_err err;
        if (ncsl_js_run(rt, &call, &out, &err) != NCSL_OK) {
            fprintf(stderr, "call failed: %s: %s\n  code: %s\n",
                    out.error_name ? out.error_name : "", err.message, code);
            ncsl_js_outcome_cleanup(&out);
            return -1;
        }
        ncsl_js_outcome_cleanup(&out);
    }
    return (double)(ncsl_now_ns() - t0) / 1000.0 / calls;
}

static double median(double *v, int n, double *lo, double *hi) {
    bench_sort(v, (size_t)n);
    *lo = v[0];
    *hi = v[n - 1];
    return v[n / 2];
}

int main(int argc, char **argv) {
    int reps = 5;
    const char *filter = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
            reps = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--filter") == 0 && i + 1 < argc) {
            filter = argv[++i];
        } else {
            fprintf(stderr, "usage: %s [--reps N] [--filter SUBSTRING]\n", argv[0]);
            return 2;
        }
    }
    if (reps < 1 || reps > 100) {
        fprintf(stderr, "--reps must be 1..100\n");
        return 2;
    }
    ncsl_keys *keys = NULL;
    ncsl_err err;
    if (ncsl_keys_create_ephemeral(NULL, &keys, &err) != NCSL_OK) {
        fprintf(stderr, "keys: %s\n", err.message);
        return 1;
    }
    ncsl_js_set_identity_keys(keys);
    ncsl_js_runtime *rt = NULL;
    if (ncsl_js_runtime_create(&rt, &err) != NCSL_OK) {
        fprintf(stderr, "runtime: %s\n", err.message);
        return 1;
    }
    printf("ncsl %s, QuickJS-ng %s; median of %d reps [min-max]; op rows: per operation, from "
           "calls running it %d times, less the empty loop\n",
           ncsl_version(), ncsl_quickjs_version(), reps, LOOP);
    printf("%-5s %-30s %10s %22s\n", "kind", "what", "us", "[min-max]");
    int rc = 0;
    for (size_t i = 0; i < sizeof(g_cases) / sizeof(g_cases[0]) && rc == 0; i++) {
        const bench_case *c = &g_cases[i];
        if (filter && !strstr(c->name, filter) && strncmp(c->name, "baseline", 8) != 0) {
            continue;
        }
        char *with = make_code(c, true);
        char *without = c->op ? make_code(c, false) : NULL;
        int calls = c->op ? 20 : 5000;
        double v[100], lo, hi;
        if (!with || (c->op && !without) || time_calls(rt, with, calls / 10 + 1) < 0 ||
            (without && time_calls(rt, without, calls / 10 + 1) < 0)) {
            rc = 1;
        }
        for (int r = 0; r < reps && rc == 0; r++) {
            double a = time_calls(rt, with, calls);
            double b = without ? time_calls(rt, without, calls) : 0;
            if (a < 0 || b < 0) {
                rc = 1;
                break;
            }
            v[r] = without ? (a - b) / (c->loop ? c->loop : LOOP) : a;
        }
        if (rc == 0) {
            double m = median(v, reps, &lo, &hi);
            printf("%-5s %-30s %10.2f %10.2f-%-10.2f\n", c->kind, c->name, m, lo, hi);
        }
        free(with);
        free(without);
    }
    ncsl_js_runtime_destroy(rt);
    ncsl_js_set_identity_keys(NULL);
    ncsl_keys_destroy(keys);
    return rc;
}
