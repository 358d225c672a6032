/*
 * Execution engine: a bounded queue in front of a pool of worker threads, each owning one
 * ncsl_js_runtime. Implements the public ncsl_engine_* / ncsl_result_* API of ncsl/ncsl.h.
 * Other subsystems (http, cli) use the public API; this header exposes only the few internals
 * the daemon needs for health and metrics.
 */
#ifndef NCSL_EXEC_H
#define NCSL_EXEC_H

#include "common/common.h"

typedef struct ncsl_engine_stats {
    unsigned workers;
    unsigned busy_workers;
    unsigned waiting_workers; /* busy, but their call waits for fetch or timers */
    unsigned max_workers;
    uint64_t workers_added; /* started beyond `workers` for waiting calls */
    unsigned queued;
    unsigned queue_capacity;
    uint64_t completed;
    uint64_t rejected_busy;
    /* process isolation (`workers` then counts the worker processes running now) */
    bool process_isolation;
    uint64_t worker_restarts; /* replacement worker processes started */
    uint64_t worker_failures; /* worker processes lost during a call (each cost that call) */
} ncsl_engine_stats;

void ncsl_engine_get_stats(ncsl_engine *engine, ncsl_engine_stats *out);

/* Parses a JSON object of name -> string into a secrets array (for ncsl_execute_javascript, the
 * CLI and the daemon). On success the caller frees with ncsl_secrets_free (which wipes values).
 * Errors name the field ("secrets" or "secrets.NAME"). */
ncsl_status ncsl_secrets_parse_json(const char *json, size_t len, ncsl_secret **out, size_t *count,
                                    ncsl_err *err);
void ncsl_secrets_free(ncsl_secret *secrets, size_t count);

/* Makes jansson wipe every block it frees (parsed bodies hold secrets). Process-wide, idempotent,
 * thread-safe; called by ncsl_engine_create and before any JSON that may hold secrets is parsed. */
void ncsl_json_use_wiping_allocator(void);

#endif
