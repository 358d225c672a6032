/*
 * The counters behind GET /metrics and their Prometheus text exposition (format 0.0.4).
 *
 * Cost on the request path: one relaxed atomic add per counter, no lock, no allocation. The
 * label values come from fixed tables only (route templates of the route table, the API's error
 * codes, a list of HTTP statuses), never from what a client sent: the number of series is
 * bounded whatever the traffic, and no user id, function id or path ever becomes a label.
 *
 * A scrape reads each atomic once; counters of one request may be seen in different scrapes
 * (a request counted in ncsl_http_requests_total before its execution is): monitoring only.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "http_int.h"

/* ------------------------------------------------------------------------- label tables */
/* HTTP statuses counted one by one; 0 is a request that got no answer (the client left). Any
 * other status lands in the last slot, labelled "other". */
static const int kStatuses[] = {200, 201, 400, 401, 403, 404, 405, 408, 409,
                                413, 415, 422, 429, 500, 501, 503, 507, 0};
_Static_assert(NCSL_ARRAY_LEN(kStatuses) + 1 <= NCSL_HTTP_METRIC_STATUSES,
               "NCSL_HTTP_METRIC_STATUSES too small");
#define STATUS_OTHER (NCSL_ARRAY_LEN(kStatuses))

/* API codes (ncsl_status_code) an execution may end with. The first kAlwaysCodes are shown even
 * at zero (what a dashboard plots); the others once they happen. Unknown codes: "OTHER". */
static const char *const kCodes[] = {
    "OK",
    "EXECUTION_ERROR",
    "TIMEOUT",
    "MEMORY_LIMIT",
    "STACK_OVERFLOW",
    "OUTPUT_TOO_LARGE",
    "GAS_LIMIT_EXCEEDED",
    "SYNTAX_ERROR",
    "VALIDATION_ERROR",
    "PAYLOAD_TOO_LARGE",
    "QUOTA_EXCEEDED",
    "INSUFFICIENT_STORAGE",
    "INTEGRITY_ERROR",
    "SERVICE_UNAVAILABLE",
    "INTERNAL_ERROR",
    "NOT_FOUND",
    "UNSUPPORTED",
    "CONFIG_ERROR",
    "ATTESTATION_FAILED",
    "TEE_ERROR",
    "SIGNATURE_INVALID",
    "RECEIPT_INVALID",
    "CONFLICT",
};
static const size_t kAlwaysCodes = 15;
_Static_assert(NCSL_ARRAY_LEN(kCodes) + 1 <= NCSL_HTTP_METRIC_CODES,
               "NCSL_HTTP_METRIC_CODES too small");
#define CODE_OTHER (NCSL_ARRAY_LEN(kCodes))

/* Execution duration buckets: 0.1 ms .. 10 s (upper bounds in microseconds and as printed). */
static const uint64_t kBucketUs[] = {100,     250,     500,     1000,    2500,   5000,
                                     10000,   25000,   50000,   100000,  250000, 500000,
                                     1000000, 2500000, 5000000, 10000000};
static const char *const kBucketLe[] = {"0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005",
                                        "0.01",   "0.025",   "0.05",   "0.1",   "0.25",   "0.5",
                                        "1",      "2.5",     "5",      "10",    "+Inf"};
_Static_assert(NCSL_ARRAY_LEN(kBucketUs) + 1 == NCSL_HTTP_METRIC_BUCKETS, "bucket bounds");
_Static_assert(NCSL_ARRAY_LEN(kBucketLe) == NCSL_HTTP_METRIC_BUCKETS, "bucket labels");

static const char *const kStoreKinds[STORE_ERR_KINDS] = {"full", "integrity", "other"};

/* The heap window packs (minute << 40) | bytes: 40 bits hold 1 TiB, 24 bits of minute wrap
 * after 31 years, long after any comparison of two adjacent minutes could be confused. */
#define HEAP_BYTES_BITS 40
#define HEAP_BYTES_MASK ((UINT64_C(1) << HEAP_BYTES_BITS) - 1)
#define HEAP_MINUTE_MASK ((UINT64_C(1) << (64 - HEAP_BYTES_BITS)) - 1)

/* ------------------------------------------------------------------------- counting */
void ncsl__http_metrics_init(http_metrics *m) {
    memset(m, 0, sizeof(*m));
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    m->start_unix_ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static size_t status_slot(int status) {
    for (size_t i = 0; i < NCSL_ARRAY_LEN(kStatuses); i++) {
        if (kStatuses[i] == status) {
            return i;
        }
    }
    return STATUS_OTHER;
}

void ncsl__http_metrics_request(http_metrics *m, const http_route *route, int status) {
    size_t count = 0;
    const http_route *routes = ncsl__http_routes(&count);
    size_t idx = route ? (size_t)(route - routes) : count;
    if (idx > count) {
        idx = count; /* not one of ours: a bug, counted as unmatched rather than out of bounds */
    }
    ncsl__http_metrics_inc(&m->requests[idx][status_slot(status)]);
}

static size_t code_slot(const char *code) {
    for (size_t i = 0; i < NCSL_ARRAY_LEN(kCodes); i++) {
        if (strcmp(kCodes[i], code) == 0) {
            return i;
        }
    }
    return CODE_OTHER;
}

static void heap_observe(http_metrics *m, uint64_t bytes, uint64_t now_unix_ms) {
    uint64_t minute = (now_unix_ms / 60000u) & HEAP_MINUTE_MASK;
    _Atomic uint64_t *slot = &m->heap_peak[minute & 1u];
    if (bytes > HEAP_BYTES_MASK) {
        bytes = HEAP_BYTES_MASK;
    }
    uint64_t cur = atomic_load_explicit(slot, memory_order_relaxed);
    for (;;) {
        bool same = (cur >> HEAP_BYTES_BITS) == minute;
        if (same && (cur & HEAP_BYTES_MASK) >= bytes) {
            return;
        }
        /* A slot of an older minute starts over with this call's peak. */
        uint64_t want = (minute << HEAP_BYTES_BITS) | bytes;
        if (atomic_compare_exchange_weak_explicit(slot, &cur, want, memory_order_relaxed,
                                                  memory_order_relaxed)) {
            return;
        }
    }
}

void ncsl__http_metrics_execution(http_metrics *m, ncsl_status st, uint64_t duration_us,
                                  uint64_t heap_bytes, uint64_t now_unix_ms) {
    ncsl__http_metrics_inc(&m->executions[code_slot(ncsl_status_code(st))]);
    if (duration_us != UINT64_MAX) {
        size_t b = 0;
        while (b < NCSL_ARRAY_LEN(kBucketUs) && duration_us > kBucketUs[b]) {
            b++;
        }
        ncsl__http_metrics_inc(&m->duration_buckets[b]);
        atomic_fetch_add_explicit(&m->duration_sum_us, duration_us, memory_order_relaxed);
        ncsl__http_metrics_inc(&m->duration_count);
    }
    if (heap_bytes > 0) {
        heap_observe(m, heap_bytes, now_unix_ms);
    }
}

void ncsl__http_metrics_store_status(http_metrics *m, ncsl_status st) {
    switch (st) {
    case NCSL_E_STORE_FULL:
        ncsl__http_metrics_inc(&m->store_errors[STORE_ERR_FULL]);
        break;
    case NCSL_E_STORE_INTEGRITY:
        ncsl__http_metrics_inc(&m->store_errors[STORE_ERR_INTEGRITY]);
        break;
    case NCSL_E_STORE:
    case NCSL_E_STORE_SCHEMA:
    case NCSL_E_STORE_FOREIGN:
        ncsl__http_metrics_inc(&m->store_errors[STORE_ERR_OTHER]);
        break;
    default: /* NOT_FOUND, CONFLICT, QUOTA and the rest are answers, not failures */
        break;
    }
}

/* ------------------------------------------------------------------------- exposition */
static uint64_t load(const _Atomic uint64_t *v) {
    return atomic_load_explicit(v, memory_order_relaxed);
}

static void header(ncsl_buf *b, const char *name, const char *type, const char *help) {
    ncsl_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value: backslash, double quote and newline escaped, as the format wants. */
static void label_value(ncsl_buf *b, const char *v) {
    for (const char *p = v ? v : ""; *p; p++) {
        if (*p == '\\' || *p == '"') {
            char esc[2] = {'\\', *p};
            ncsl_buf_append(b, esc, 2);
        } else if (*p == '\n') {
            ncsl_buf_append_str(b, "\\n");
        } else {
            ncsl_buf_append(b, p, 1);
        }
    }
}

static void gauge(ncsl_buf *b, const char *name, const char *help, uint64_t v) {
    header(b, name, "gauge", help);
    ncsl_buf_printf(b, "%s %llu\n", name, (unsigned long long)v);
}

static void counter(ncsl_buf *b, const char *name, const char *help, uint64_t v) {
    header(b, name, "counter", help);
    ncsl_buf_printf(b, "%s %llu\n", name, (unsigned long long)v);
}

static void render_requests(const http_metrics *m, const http_metrics_env *env, ncsl_buf *b) {
    header(b, "ncsl_http_requests_total", "counter",
           "HTTP requests answered, by route template, method and status code (code \"none\": "
           "the client left before an answer; route \"unmatched\": no route, 404 or 405).");
    size_t n = env->route_count <= NCSL_HTTP_MAX_ROUTES ? env->route_count : NCSL_HTTP_MAX_ROUTES;
    for (size_t i = 0; i <= n; i++) {
        for (size_t s = 0; s < NCSL_HTTP_METRIC_STATUSES; s++) {
            uint64_t v = load(&m->requests[i][s]);
            if (v == 0) {
                continue; /* series appear once used: 28 routes x 19 codes of zeros is noise */
            }
            ncsl_buf_append_str(b, "ncsl_http_requests_total{method=\"");
            label_value(b, i < n ? env->routes[i].method : "any");
            ncsl_buf_append_str(b, "\",route=\"");
            label_value(b, i < n ? env->routes[i].path : "unmatched");
            if (s < STATUS_OTHER && kStatuses[s] != 0) {
                ncsl_buf_printf(b, "\",code=\"%d\"} %llu\n", kStatuses[s], (unsigned long long)v);
            } else {
                ncsl_buf_printf(b, "\",code=\"%s\"} %llu\n", s < STATUS_OTHER ? "none" : "other",
                                (unsigned long long)v);
            }
        }
    }
}

static void render_executions(const http_metrics *m, ncsl_buf *b) {
    header(b, "ncsl_executions_total", "counter",
           "JavaScript calls (execute-javascript and invoke) by final outcome: the API code of "
           "the answer, OK for success; calls refused before running count too.");
    for (size_t i = 0; i <= CODE_OTHER; i++) {
        uint64_t v = load(&m->executions[i]);
        if (v == 0 && i >= kAlwaysCodes) {
            continue;
        }
        ncsl_buf_printf(b, "ncsl_executions_total{code=\"%s\"} %llu\n",
                        i < CODE_OTHER ? kCodes[i] : "OTHER", (unsigned long long)v);
    }
    header(b, "ncsl_execution_duration_seconds", "histogram",
           "Time from handing a call to the engine to its answer (queue wait, run, storage "
           "commit), for every call the engine accepted.");
    uint64_t cumulative = 0;
    for (size_t i = 0; i < NCSL_HTTP_METRIC_BUCKETS; i++) {
        cumulative += load(&m->duration_buckets[i]);
        ncsl_buf_printf(b, "ncsl_execution_duration_seconds_bucket{le=\"%s\"} %llu\n", kBucketLe[i],
                        (unsigned long long)cumulative);
    }
    uint64_t sum = load(&m->duration_sum_us);
    ncsl_buf_printf(b, "ncsl_execution_duration_seconds_sum %llu.%06llu\n",
                    (unsigned long long)(sum / 1000000u), (unsigned long long)(sum % 1000000u));
    /* The +Inf bucket and _count must agree: print the cumulative total, not a second read. */
    ncsl_buf_printf(b, "ncsl_execution_duration_seconds_count %llu\n",
                    (unsigned long long)cumulative);
}

static uint64_t heap_recent(const http_metrics *m, uint64_t now_unix_ms) {
    uint64_t minute = (now_unix_ms / 60000u) & HEAP_MINUTE_MASK;
    uint64_t prev = (minute - 1u) & HEAP_MINUTE_MASK;
    uint64_t peak = 0;
    for (size_t i = 0; i < 2; i++) {
        uint64_t v = load(&m->heap_peak[i]);
        uint64_t at = v >> HEAP_BYTES_BITS;
        if ((at == minute || at == prev) && (v & HEAP_BYTES_MASK) > peak) {
            peak = v & HEAP_BYTES_MASK;
        }
    }
    return peak;
}

void ncsl__http_metrics_render(const http_metrics *m, const http_metrics_env *env, ncsl_buf *b) {
    header(b, "ncsl_build_info", "gauge",
           "Always 1; the labels name the NCSL and QuickJS-ng versions and the TEE backend.");
    ncsl_buf_append_str(b, "ncsl_build_info{version=\"");
    label_value(b, env->version);
    ncsl_buf_append_str(b, "\",quickjs=\"");
    label_value(b, env->quickjs);
    ncsl_buf_append_str(b, "\",tee=\"");
    label_value(b, env->tee);
    ncsl_buf_append_str(b, "\"} 1\n");
    header(b, "ncsl_start_time_seconds", "gauge",
           "When the HTTP server started, in seconds since the Unix epoch.");
    ncsl_buf_printf(b, "ncsl_start_time_seconds %llu.%03llu\n",
                    (unsigned long long)(m->start_unix_ms / 1000u),
                    (unsigned long long)(m->start_unix_ms % 1000u));
    uint64_t up_ms = env->now_unix_ms > m->start_unix_ms ? env->now_unix_ms - m->start_unix_ms : 0;
    header(b, "ncsl_uptime_seconds", "gauge", "Seconds since the HTTP server started.");
    ncsl_buf_printf(b, "ncsl_uptime_seconds %llu.%03llu\n", (unsigned long long)(up_ms / 1000u),
                    (unsigned long long)(up_ms % 1000u));
    gauge(b, "ncsl_ready", "1 when GET /readyz answers 200 (keys, store, engine), else 0.",
          env->ready ? 1 : 0);

    render_executions(m, b);
    gauge(b, "ncsl_engine_workers", "JavaScript worker threads running now.", env->workers);
    gauge(b, "ncsl_engine_max_workers",
          "Most worker threads the engine may run (extra ones lend the CPU of waiting calls).",
          env->max_workers);
    gauge(b, "ncsl_engine_busy_workers", "Workers running a call now.", env->busy_workers);
    gauge(b, "ncsl_engine_waiting_workers",
          "Busy workers whose call waits for fetch or timers (not using the CPU).",
          env->waiting_workers);
    gauge(b, "ncsl_engine_queue_depth", "Calls waiting in the queue for a worker.", env->queued);
    gauge(b, "ncsl_engine_queue_capacity", "Calls the queue holds before refusing (503).",
          env->queue_capacity);
    counter(b, "ncsl_engine_rejected_total", "Calls refused because the queue was full (503).",
            env->rejected_busy);
    gauge(b, "ncsl_js_heap_bytes",
          "Largest JS heap peak of a single call among the calls that finished in the current "
          "and the previous minute (a per-call peak, not a sum over workers); 0 when none did.",
          heap_recent(m, env->now_unix_ms));
    gauge(b, "ncsl_js_heap_limit_bytes", "The per-call JS heap limit (JavaScript.MaxMemoryMB).",
          env->heap_limit_bytes);

    counter(b, "ncsl_bytecode_cache_hits_total", "Bytecode cache lookups that found compiled code.",
            env->bc_hits);
    counter(b, "ncsl_bytecode_cache_misses_total", "Bytecode cache lookups that had to compile.",
            env->bc_misses);
    counter(b, "ncsl_bytecode_cache_evictions_total",
            "Bytecode cache entries dropped to respect its bounds.", env->bc_evictions);
    gauge(b, "ncsl_bytecode_cache_entries", "Sources whose bytecode is cached now.",
          env->bc_entries);
    gauge(b, "ncsl_bytecode_cache_bytes", "Memory the cached bytecode holds.", env->bc_bytes);
    gauge(b, "ncsl_fetch_requests_in_flight", "fetch() requests of running calls in flight.",
          env->fetch_in_flight);

    counter(b, "ncsl_receipts_signed_total", "Execution receipts signed (successes and failures).",
            load(&m->receipts_signed));
    counter(b, "ncsl_receipt_sign_errors_total",
            "Executions whose receipt could not be signed (the answer went without one).",
            load(&m->receipt_failures));
    counter(b, "ncsl_attestation_proofs_total", "Attestation proofs served.", load(&m->proofs));
    counter(b, "ncsl_rate_limited_total", "Requests refused by the per-user rate limit (429).",
            load(&m->rate_limited));
    header(b, "ncsl_store_errors_total", "counter",
           "Database operations that failed, by kind: full (disk full, 507), integrity (a "
           "sealed record failed its check), other (I/O, schema).");
    for (size_t i = 0; i < STORE_ERR_KINDS; i++) {
        ncsl_buf_printf(b, "ncsl_store_errors_total{kind=\"%s\"} %llu\n", kStoreKinds[i],
                        (unsigned long long)load(&m->store_errors[i]));
    }
    gauge(b, "ncsl_http_requests_in_flight", "HTTP requests received and not yet answered.",
          env->http_in_flight);
    render_requests(m, env, b);
}
