/*
 * The JavaScript sandbox, for the other subsystems (exec). One ncsl_js_runtime per worker
 * thread (it owns a QuickJS-ng JSRuntime and is never shared between threads); every call runs
 * in a fresh JSContext built from allow-listed intrinsics only, with the call's limits.
 *
 * A call that breaks a limit leaves the runtime usable: the runtime recycles its JSRuntime
 * itself when a call ended above the baseline memory or broke a limit.
 *
 * Bytecode is shared: every runtime and ncsl_js_compile (deploy time, any thread) use one
 * process-wide cache keyed by the SHA-256 of the source, so a source compiles once per process.
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
    uint64_t gas_limit;      /* gas (docs/javascript.md, "Gas"); past it the call ends with
                              * NCSL_E_JS_GAS; 0 = NCSL_JS_DEFAULT_GAS_LIMIT */
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
    /* -> global `storage` (js_storage.c): read through these hooks, writes buffered in the call;
     * NULL: every storage method rejects (no deployed function). get, list and usage may be
     * called during the call; commit never is (see ncsl_js_outcome.storage_writes). */
    const ncsl_storage_hooks *storage;
    /* who runs what (NULL or "" allowed): Neo.keys derives the call's keys from these */
    const char *user_id;
    const char *function_id;
} ncsl_js_call;

#define NCSL_JS_DEFAULT_GAS_LIMIT 1000000u

/* At most this many distinct keys may be written (set or removed) by one call. */
#define NCSL_JS_STORAGE_MAX_PENDING_KEYS 10000u
/* Used when ncsl_storage_hooks.max_key_bytes / max_value_bytes is 0. */
#define NCSL_JS_STORAGE_DEFAULT_MAX_KEY_BYTES 1024u
#define NCSL_JS_STORAGE_DEFAULT_MAX_VALUE_BYTES ((size_t)1 << 20)

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
    uint64_t gas_used;          /* gas the call used (whatever the status), see gas_limit */
    /* NCSL_OK only: the call's storage writes for ncsl_storage_hooks.commit, in order (a CLEAR
     * first when the call cleared, then one SET or REMOVE per key); NULL and 0 when it wrote
     * nothing or failed. Owned by the outcome, keys and values included. */
    ncsl_storage_write *storage_writes;
    size_t storage_write_count;
} ncsl_js_outcome;

/* Frees a storage write array of an outcome (values wiped first). NULL does nothing. */
void ncsl_js_storage_writes_free(ncsl_storage_write *writes, size_t count);

/* Creates a runtime for the calling thread. Caller frees with
 * ncsl_js_runtime_destroy on the same thread. The first call in the process fixes glibc's mmap
 * threshold (mallopt M_MMAP_THRESHOLD, 128 KiB) so that freed call heaps leave the process. */
ncsl_status ncsl_js_runtime_create(ncsl_js_runtime **out, ncsl_err *err);
void ncsl_js_runtime_destroy(ncsl_js_runtime *rt); /* NULL does nothing */
/* Idle-time work, outside any call, on the runtime's thread: collects the garbage that earlier
 * calls left (when there is enough of it) and builds the next call's context ahead (the
 * built-ins, console, storage, platform APIs and guards: everything but the call's SECRETS), so
 * that the next ncsl_js_run skips that work. No code runs in the context before that call takes
 * it, and each spare context serves exactly one call. Cheap when already prepared. */
void ncsl_js_runtime_prepare(ncsl_js_runtime *rt);
/* How many calls so far took a context built by ncsl_js_runtime_prepare (tests, stats). */
uint64_t ncsl_js_runtime_spare_used(const ncsl_js_runtime *rt);

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

/* Installs a hook called on the runtime's thread with begin=true right before a call blocks
 * waiting for its asynchronous work (fetch, timers) and with begin=false right after, so that a
 * thread pool can run other calls meanwhile. NULL removes it. */
void ncsl_js_runtime_set_wait_hooks(ncsl_js_runtime *rt, void (*hook)(void *user, bool begin),
                                    void *user);

/* ------------------------------------------------------------------------- identity keys */
struct ncsl_keys;

/*
 * Installs the enclave identity keys that JavaScript's Neo.keys derives its keys from
 * (keys.h, ncsl_keys_derive_p256), for every runtime of the process. `keys` is borrowed: it must
 * stay alive until it is replaced or removed (NULL) and no call runs any more. Called once at
 * start (ncsld after loading its keys; `ncsl run`). Without keys, Neo.keys.get throws.
 * Thread-safe (calls that already started may still use the previous keys).
 */
void ncsl_js_set_identity_keys(const struct ncsl_keys *keys);
/* The keys installed now (borrowed; NULL when none): the engine hands them to worker processes
 * (process isolation). Thread-safe. */
const struct ncsl_keys *ncsl_js_get_identity_keys(void);
/* Keys that Neo.keys.get derived in this process (a name asked twice in one call counts once):
 * lets a tool say that ephemeral keys were used. Thread-safe. */
uint64_t ncsl_js_identity_key_derivations(void);

/* How many times this runtime replaced its JSRuntime (for tests and metrics). */
uint64_t ncsl_js_runtime_recycle_count(const ncsl_js_runtime *rt);

/* ------------------------------------------------------------------------- deploy compile */
/* What ncsl_js_compile found. Caller-owned, filled whatever the status. */
typedef struct ncsl_js_compile_info {
    uint8_t code_hash[32]; /* SHA-256 of the source: the bytecode cache's key */
    size_t bytecode_bytes; /* size of the bytecode (NCSL_OK), else 0 */
    bool cached;           /* NCSL_OK: the bytecode was in the cache already (nothing compiled) */
    uint32_t line, column; /* NCSL_E_JS_SYNTAX: 1-based position of the error (column in
                            * Unicode characters from the start of the line); else 0 */
    uint64_t compile_us;   /* wall time of the call */
} ncsl_js_compile_info;

/*
 * Syntax-checks `code` (`len` bytes, need not be NUL-terminated; borrowed) and compiles it to
 * bytecode exactly as ncsl_js_run does (same wrapper, flags and intrinsics: what passes here
 * compiles there), then puts the bytecode in the process-wide cache so that the first
 * ncsl_js_run of the same source does not compile. A source already in the cache is not compiled
 * again (info->cached). Thread-safe, callable from any thread (it uses a temporary runtime of its
 * own, never a worker's); `limits` (borrowed; NULL or 0 fields = the ncsl_js_run defaults) bounds
 * the compiler's memory, time and stack (clamped to what the calling thread's stack has left).
 * Only memory_bytes, timeout_ms and stack_bytes are used.
 *
 * Returns NCSL_OK; NCSL_E_JS_SYNTAX with err->field "code", err->message
 * "SyntaxError: <what> (line L, column C)" and the position in *info; NCSL_E_JS_MEMORY,
 * NCSL_E_JS_STACK (nesting too deep) or NCSL_E_JS_TIMEOUT with err->field "code" when the
 * compiler broke a limit (the code can never run under these limits); NCSL_E_INVALID_ARG;
 * NCSL_E_NOMEM. err->message may quote a token of the code: return it to the code's owner, never
 * log it. Does not check that the code defines `main` (that is decided by running it).
 */
ncsl_status ncsl_js_compile(const char *code, size_t len, const ncsl_js_limits *limits,
                            ncsl_js_compile_info *info, ncsl_err *err);

/* ------------------------------------------------------------------------- bytecode cache */
/* Counters of the process-wide bytecode cache, for metrics. */
typedef struct ncsl_js_bc_cache_stats {
    uint64_t entries;     /* sources cached now */
    uint64_t bytes;       /* memory they hold: bytecode plus a small header per entry */
    uint64_t max_entries; /* the bounds in force */
    uint64_t max_bytes;
    uint64_t hits;      /* lookups that found the bytecode (ncsl_js_run and ncsl_js_compile) */
    uint64_t misses;    /* lookups that did not */
    uint64_t compiles;  /* sources compiled, failures included */
    uint64_t evictions; /* entries dropped to respect the bounds */
} ncsl_js_bc_cache_stats;

/* A consistent snapshot of the counters (since process start). NULL does nothing. */
void ncsl_js_bc_cache_get_stats(ncsl_js_bc_cache_stats *out);
/* Sets the bounds (0 = default: 1024 entries, 32 MiB; entries at most 2^20) and evicts down to
 * them. One entry may use at most a quarter of max_bytes; larger bytecode is never cached. */
void ncsl_js_bc_cache_configure(size_t max_entries, size_t max_bytes);
/* Drops every entry (the counters stay); entries in use are freed by their last holder. */
void ncsl_js_bc_cache_clear(void);

#endif
