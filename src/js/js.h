/*
 * The JavaScript sandbox, for the other subsystems (exec). One ncsl_js_runtime per worker
 * thread (it owns a QuickJS-ng JSRuntime and is never shared between threads); every call runs
 * in a fresh JSContext built from allow-listed intrinsics only, with the call's limits.
 *
 * A call that breaks a limit leaves the runtime usable: the runtime recycles its JSRuntime
 * itself when a call ended above the baseline memory or broke a limit.
 */
#ifndef NCSL_JS_H
#define NCSL_JS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

typedef struct ncsl_js_runtime ncsl_js_runtime;

typedef struct ncsl_js_limits {
    size_t memory_bytes;     /* JS_SetMemoryLimit for the call */
    uint32_t timeout_ms;     /* wall-clock deadline (monotonic), pending promises included */
    size_t stack_bytes;      /* JS_SetMaxStackSize for the call */
    size_t max_output_bytes; /* serialized result */
    size_t max_log_bytes;    /* captured console output (messages, before JSON escaping) */
} ncsl_js_limits;

/* One call. All pointers borrowed for the duration of ncsl_js_run. */
typedef struct ncsl_js_call {
    const char *code; /* need not be NUL-terminated */
    size_t code_len;
    const char *input_json; /* JSON text; NULL = null */
    size_t input_len;
    const ncsl_secret *secrets; /* -> frozen global SECRETS (name -> string) */
    size_t secret_count;
    ncsl_js_limits limits;
} ncsl_js_call;

/* What a call produced. Caller-owned struct; free its contents with ncsl_js_outcome_cleanup. */
typedef struct ncsl_js_outcome {
    ncsl_status status; /* NCSL_OK or an NCSL_E_JS_* code */
    char *result_json;  /* malloc'd JSON text of the result (NCSL_OK only), else NULL */
    size_t result_len;
    char *logs_json; /* malloc'd JSON array [{"level":"log","message":"..."}...]; always set */
    size_t logs_len;
    char *error_name;    /* malloc'd, for failures: "TypeError", "TimeoutError"... else NULL */
    char *error_message; /* malloc'd, for failures, else NULL */
    char *error_stack;   /* malloc'd user-code stack for thrown errors, else NULL */
    uint64_t memory_used_bytes; /* peak JS heap during the call */
} ncsl_js_outcome;

/* Creates a runtime for the calling thread. Caller frees with
 * ncsl_js_runtime_destroy on the same thread. The first call in the process fixes glibc's mmap
 * threshold (mallopt M_MMAP_THRESHOLD, 128 KiB) so that freed call heaps leave the process. */
ncsl_status ncsl_js_runtime_create(ncsl_js_runtime **out, ncsl_err *err);
void ncsl_js_runtime_destroy(ncsl_js_runtime *rt); /* NULL does nothing */

/*
 * Runs `main(input)` of `call->code` in a fresh context. Returns NCSL_OK when main (or the
 * promise it returned) produced a JSON-serializable value; an NCSL_E_JS_* code when the function
 * failed (outcome filled: logs always, error fields where they apply, err->message a one-line
 * summary); another code (NCSL_E_NOMEM, NCSL_E_INTERNAL) when the host failed. `out` is always
 * initialised, whatever the status.
 */
ncsl_status ncsl_js_run(ncsl_js_runtime *rt, const ncsl_js_call *call, ncsl_js_outcome *out,
                        ncsl_err *err);
void ncsl_js_outcome_cleanup(ncsl_js_outcome *o);

/* How many times this runtime replaced its JSRuntime (for tests and metrics). */
uint64_t ncsl_js_runtime_recycle_count(const ncsl_js_runtime *rt);

#endif
