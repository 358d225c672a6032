/*
 * libncsl: run untrusted JavaScript functions in a fresh, sandboxed QuickJS-ng context per call.
 *
 * The public API is small: one engine handle (a pool of worker threads, each with its own
 * JSRuntime), one call to execute a function, one result handle, a status enum and a log sink.
 * Every type is opaque except the options structs and ncsl_err, which the caller owns.
 *
 * Ownership is stated on every function: "borrowed" means the library does not keep the pointer
 * past the call, "caller frees with X" means the returned object belongs to the caller.
 */
#ifndef NCSL_NCSL_H
#define NCSL_NCSL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define NCSL_API __attribute__((visibility("default")))
#define NCSL_NODISCARD __attribute__((warn_unused_result))
#else
#define NCSL_API
#define NCSL_NODISCARD
#endif

/* Status codes. Grouped by subsystem; codes are only ever added, never renumbered. */
typedef enum ncsl_status {
    NCSL_OK = 0,

    /* general */
    NCSL_E_INVALID_ARG = 100, /* a caller-supplied argument is wrong (see ncsl_err.field) */
    NCSL_E_NOMEM = 101,       /* the host process ran out of memory */
    NCSL_E_IO = 102,          /* a file or socket operation failed */
    NCSL_E_INTERNAL = 103,    /* a broken internal invariant; a bug */
    NCSL_E_BUSY = 104,        /* the work queue is full; retry later */
    NCSL_E_SHUTDOWN = 105,    /* the engine is shutting down */
    NCSL_E_NOT_FOUND = 106,
    NCSL_E_UNSUPPORTED = 107, /* not available in this build or on this machine */
    NCSL_E_PAYLOAD_TOO_LARGE = 108,

    /* configuration */
    NCSL_E_CONFIG = 200, /* a configuration file or setting is invalid (field names the key) */

    /* JavaScript execution: the function ran and failed */
    NCSL_E_JS_EXCEPTION = 300,        /* user code threw (or rejected); see the result's error */
    NCSL_E_JS_TIMEOUT = 301,          /* the deadline passed, or a promise never settled */
    NCSL_E_JS_MEMORY = 302,           /* the per-call memory limit was hit */
    NCSL_E_JS_STACK = 303,            /* the stack limit was hit */
    NCSL_E_JS_OUTPUT_TOO_LARGE = 304, /* the serialized result is over the output limit */
    NCSL_E_JS_SYNTAX = 305,           /* the code does not parse */
    NCSL_E_JS_NO_MAIN = 306,          /* the code defines no function `main` */
    NCSL_E_JS_BAD_RESULT = 307,       /* the result is not JSON-serializable (cyclic, BigInt...) */
    NCSL_E_JS_GAS = 308,              /* the call used more gas than its gas limit */

    /* attestation: a quote or its evidence was checked and rejected (see ncsl_err.message) */
    NCSL_E_ATTEST_MALFORMED = 400,   /* the quote's layout is wrong (a length, an offset, a type) */
    NCSL_E_ATTEST_UNSUPPORTED = 401, /* a quote version or key type this build does not verify */
    NCSL_E_ATTEST_SIGNATURE = 402,   /* a quote signature or the QE key binding does not verify */
    NCSL_E_ATTEST_CHAIN = 403,       /* the PCK certificate chain is invalid or not Intel's */
    NCSL_E_ATTEST_COLLATERAL = 404,  /* collateral missing, malformed, not Intel's, or another
                                        platform's (FMSPC, CRL issuer) */
    NCSL_E_ATTEST_COLLATERAL_EXPIRED = 405, /* collateral outside its validity window */
    NCSL_E_ATTEST_REVOKED = 406, /* a certificate, the TCB level or the QE's level is revoked */
    NCSL_E_ATTEST_TCB = 407,     /* no TCB level matches, or the QE is not the QE identity's */

    /* crypto and sealing: a cryptographic operation failed or sealed data was rejected */
    NCSL_E_CRYPTO = 500,         /* an OpenSSL operation or the random generator failed */
    NCSL_E_SEAL_MALFORMED = 501, /* not a sealed blob: too short, wrong magic, reserved bits set */
    NCSL_E_SEAL_VERSION = 502,   /* a sealed-blob version this build does not know */
    NCSL_E_SEAL_POLICY = 503,    /* a sealed blob names an unknown sealing policy */
    NCSL_E_SEAL_INTEGRITY = 504, /* a sealed blob failed authentication (tampered or moved) */

    /* TEE layer: the trusted execution environment or its on-disk state (see ncsl_err.message) */
    NCSL_E_TEE = 600,               /* a TEE operation (measure, quote, key) failed */
    NCSL_E_TEE_INSECURE_FILE = 601, /* a TEE state file has unsafe permissions, type or size */
    NCSL_E_TEE_STATE = 602,         /* the TEE's on-disk state is incomplete or corrupt */
    NCSL_E_TEE_UNAVAILABLE = 603,   /* the TEE's quoting service is not ready or stayed busy */

    /* enclave identity keys, attestation proofs and signed receipts (see ncsl_err.field) */
    NCSL_E_KEYS_STATE = 700,        /* the sealed identity key file is unreadable, tampered with,
                                       sealed by another enclave or installation, or corrupt */
    NCSL_E_KEY_INVALID = 701,       /* a public key is not a valid point in the right encoding */
    NCSL_E_SIGNATURE_INVALID = 702, /* a signature does not verify with the given key */
    NCSL_E_PROOF_MALFORMED = 710,   /* an attestation proof's JSON is wrong (field names it) */
    NCSL_E_PROOF_INVALID = 711,     /* a proof was checked and rejected (binding or policy) */
    NCSL_E_RECEIPT_MALFORMED = 720, /* a receipt's JSON is wrong (field names it) */
    NCSL_E_RECEIPT_INVALID = 721,   /* a receipt's signature or expected key does not match */

    /* sealed store: users, API keys, functions, secrets and storage (src/store) */
    NCSL_E_STORE = 800,           /* a database operation failed (I/O, disk full; the message has
                                     the backend's reason) */
    NCSL_E_STORE_INTEGRITY = 801, /* a stored record failed its integrity check: a sealed value
                                     was tampered with or moved to another record, or the file
                                     is corrupt (the message names the record) */
    NCSL_E_STORE_CONFLICT = 802,  /* the record exists already (field names what is taken) */
    NCSL_E_STORE_QUOTA = 803,     /* a count or size quota would be exceeded */
    NCSL_E_STORE_SCHEMA = 804,    /* not an NCSL database, written by a newer NCSL, or a
                                     migration failed (nothing of it applied) */
    NCSL_E_STORE_FOREIGN = 805,   /* the database was sealed by another installation, another
                                     enclave build (MRENCLAVE) or with another policy */
    NCSL_E_STORE_FULL = 806,      /* the disk (or quota) holding the database is full: the write
                                     was not applied; reads still work */
} ncsl_status;

/* Details of a failure. Caller-owned; every function that takes one accepts NULL. */
typedef struct ncsl_err {
    ncsl_status code;
    char field[64];    /* the argument or setting at fault, "" when none */
    char message[512]; /* human-readable; never contains secrets, inputs or code */
} ncsl_err;

/* Static text for a status ("NCSL_E_JS_TIMEOUT" style is not used: these are API codes such as
 * "TIMEOUT", "MEMORY_LIMIT", "EXECUTION_ERROR", "VALIDATION_ERROR"). Never NULL. */
NCSL_API const char *ncsl_status_code(ncsl_status st);
/* Static English description of a status. Never NULL. */
NCSL_API const char *ncsl_status_str(ncsl_status st);
/* The HTTP status an API answers a status with (200 for NCSL_OK). */
NCSL_API int ncsl_status_http(ncsl_status st);

/* Version strings: NCSL's own and the QuickJS-ng it was built with. Static. */
NCSL_API const char *ncsl_version(void);
NCSL_API const char *ncsl_quickjs_version(void);

/* ----------------------------------------------------------------------------- logging */
typedef enum ncsl_log_level {
    NCSL_LOG_LEVEL_ERROR = 0,
    NCSL_LOG_LEVEL_WARN = 1,
    NCSL_LOG_LEVEL_INFO = 2,
    NCSL_LOG_LEVEL_DEBUG = 3,
} ncsl_log_level;

/* A sink receives one complete JSON object per line (no trailing newline). `line` is borrowed.
 * It may be called from any thread, concurrently; it must be thread-safe. */
typedef void (*ncsl_log_sink_fn)(void *user, ncsl_log_level level, const char *line, size_t len);

/* Install the process-wide log sink (NULL: the default, which writes to stderr). Not
 * thread-safe against concurrent logging: call it once at start-up. */
NCSL_API void ncsl_log_set_sink(ncsl_log_sink_fn sink, void *user);
NCSL_API void ncsl_log_set_level(ncsl_log_level level);
/* Parses "error", "warn", "info", "debug" (case-insensitive). Returns -1 when unknown. */
NCSL_API int ncsl_log_level_parse(const char *name);

/* ----------------------------------------------------------------------------- engine */
typedef struct ncsl_engine ncsl_engine;
typedef struct ncsl_result ncsl_result;

/* Where calls run (DESIGN.md section 7). */
typedef enum ncsl_isolation {
    NCSL_ISOLATION_THREAD = 0,  /* worker threads of this process (the default) */
    NCSL_ISOLATION_PROCESS = 1, /* worker processes started with posix_spawn: a call that crashes
                                 * the engine costs one worker and that call, never the caller */
} ncsl_isolation;

typedef struct ncsl_engine_options {
    unsigned workers;          /* worker threads, each with its own JSRuntime; 0 = CPU count
                                * (process isolation: worker processes) */
    unsigned max_workers;      /* workers in all, counting those added while calls wait for
                                * fetch or timers (see engine.c); 0 = 64; at least `workers` */
    unsigned queue_size;       /* calls that may wait for a worker before NCSL_E_BUSY */
    size_t memory_limit_bytes; /* JS heap per call */
    uint32_t timeout_ms;       /* wall-clock deadline per call (also bounds pending promises) */
    size_t stack_size_bytes;   /* JS stack per call */
    size_t max_output_bytes;   /* serialized result */
    size_t max_log_bytes;      /* captured console output, per call */
    size_t max_code_bytes;     /* function source */
    size_t max_input_bytes;    /* input JSON text */
    uint64_t gas_limit;        /* gas per call (docs/javascript.md, "Gas"); 0 = 1,000,000 */
    ncsl_isolation isolation;  /* NCSL_ISOLATION_THREAD by default */
    /* NCSL_ISOLATION_PROCESS: the program started (posix_spawn, never fork) as a worker with
     * the arguments NCSL_ENGINE_WORKER_FLAG and a descriptor number; its main() must hand them
     * to ncsl_engine_worker_main. NULL: this program (/proc/self/exe). Copied by create. */
    const char *worker_executable;
} ncsl_engine_options;

/* Fills `opts` with the defaults (512 MiB, 5000 ms, 1 MiB stack, 1 MiB output, 64 KiB logs,
 * 1 MiB code, 1 MiB input, 1,000,000 gas, CPU-count workers, queue 256). `opts` is borrowed. */
NCSL_API void ncsl_engine_options_default(ncsl_engine_options *opts);

/* Starts the worker threads (process isolation: the worker processes, each supervised by a
 * thread). `opts` is copied (NULL: defaults). On success the caller frees *out with
 * ncsl_engine_destroy. */
NCSL_API NCSL_NODISCARD ncsl_status ncsl_engine_create(const ncsl_engine_options *opts,
                                                       ncsl_engine **out, ncsl_err *err);
/* Stops accepting calls, lets queued and running calls finish, joins the workers and frees the
 * engine. NULL does nothing. */
NCSL_API void ncsl_engine_destroy(ncsl_engine *engine);

/* Process isolation: a program that may be started as a worker calls this first thing in main()
 * when argv[1] is NCSL_ENGINE_WORKER_FLAG, and returns what it returns (0 when the engine closed
 * the worker's socket, non-zero on a protocol or start-up failure). It serves calls on the
 * descriptor named by argv[2] until the engine closes it or dies. */
#define NCSL_ENGINE_WORKER_FLAG "--exec-worker"
NCSL_API int ncsl_engine_worker_main(int argc, char **argv);

/* One secret passed to a call: name and value are borrowed for the duration of the submit. */
typedef struct ncsl_secret {
    const char *name;
    const char *value;
    size_t value_len;
} ncsl_secret;

/*
 * Persistent storage behind the JS `storage` global of one call (a deployed function's key-value
 * data). The engine never talks to a database: the embedder (ncsld) supplies these hooks. During
 * the call, reads go to get/list/usage (through the call's own pending writes first); writes are
 * buffered in the call and handed to commit, as one batch, only after main() succeeded, so a
 * failed call applies nothing. Every hook runs on the worker thread of the call; `user` and the
 * struct must stay valid until the done callback has returned. Values are JSON text.
 */
typedef enum ncsl_storage_write_type {
    NCSL_STORAGE_SET = 1,    /* key = value */
    NCSL_STORAGE_REMOVE = 2, /* delete key (absent: nothing happens) */
    NCSL_STORAGE_CLEAR = 3,  /* delete every key */
} ncsl_storage_write_type;

typedef struct ncsl_storage_write {
    ncsl_storage_write_type type;
    const char *key;   /* SET, REMOVE: NUL-terminated (keys never hold NUL) */
    const char *value; /* SET: JSON text, value_len bytes */
    size_t value_len;
} ncsl_storage_write;

typedef struct ncsl_storage_hooks {
    void *user;
    /* The stored JSON text of `key`: *found false when absent. On NCSL_OK with *found, *value is
     * a new buffer the engine frees with free_value(*value, *value_len). */
    ncsl_status (*get)(void *user, const char *key, char **value, size_t *value_len, bool *found,
                       ncsl_err *err);
    /* The stored keys starting with `prefix` ("" for all), sorted bytewise: *keys is a new array
     * the engine frees with free_keys(*keys, *count). */
    ncsl_status (*list)(void *user, const char *prefix, char ***keys, size_t *count, ncsl_err *err);
    /* Bytes (keys + values) stored now, counted against quota_bytes. */
    ncsl_status (*usage)(void *user, uint64_t *bytes, ncsl_err *err);
    /* Applies `writes` (in order) atomically, all or none; NCSL_E_STORE_QUOTA when the result
     * would be over quota_bytes. Called at most once, only when main() succeeded and wrote. */
    ncsl_status (*commit)(void *user, const ncsl_storage_write *writes, size_t count,
                          ncsl_err *err);
    void (*free_value)(char *value, size_t len);
    void (*free_keys)(char **keys, size_t count);
    size_t max_key_bytes;   /* a key's UTF-8 length, 1..this */
    size_t max_value_bytes; /* a value's JSON text */
    uint64_t quota_bytes;   /* keys + values of the function; 0: no quota */
} ncsl_storage_hooks;

/* One call. Every pointer is borrowed: the engine copies what it needs before submit returns. */
typedef struct ncsl_exec_request {
    const char *code; /* source defining `main`; required */
    size_t code_len;
    const char *input_json; /* JSON text of the input; NULL means `null` */
    size_t input_len;
    const ncsl_secret *secrets; /* becomes the frozen global SECRETS */
    size_t secret_count;
    const char *function_id;   /* NULL or "" allowed */
    const char *user_id;       /* NULL or "" allowed */
    uint32_t timeout_ms;       /* 0 = engine default; larger than the default is clamped */
    size_t memory_limit_bytes; /* 0 = engine default; larger than the default is clamped */
    uint64_t gas_limit;        /* 0 = engine default; larger than the default is clamped */
    /* The call's `storage`; NULL: calling any storage method throws (no deployed function).
     * Unlike the other fields this is NOT copied: it must outlive the call (see above). */
    const ncsl_storage_hooks *storage;
} ncsl_exec_request;

/*
 * Called once per submitted call, on a worker thread. `st` is NCSL_OK when main() succeeded, an
 * NCSL_E_JS_* code when the function failed (then `result` still carries logs and the error), the
 * commit's status (NCSL_E_STORE_QUOTA, NCSL_E_STORE...) when main() succeeded but committing its
 * storage writes failed (then `result` carries logs and the error, no value), or another code
 * when the call could not run (then `result` is NULL). The callback takes ownership
 * of `result` (free with ncsl_result_destroy); `err` is borrowed for the call's duration.
 */
typedef void (*ncsl_exec_done_fn)(void *user, ncsl_status st, ncsl_result *result,
                                  const ncsl_err *err);

/* Queues a call. Returns NCSL_E_BUSY when the queue is full (the callback is then not called),
 * NCSL_E_SHUTDOWN while the engine stops, NCSL_E_INVALID_ARG for a bad request. */
NCSL_API NCSL_NODISCARD ncsl_status ncsl_engine_submit(ncsl_engine *engine,
                                                       const ncsl_exec_request *req,
                                                       ncsl_exec_done_fn done, void *user,
                                                       ncsl_err *err);

/* Runs a call and waits for it. Same status semantics as the callback. Whenever the callback
 * would get a result (NCSL_OK, NCSL_E_JS_*, a failed storage commit), *out is set and the caller
 * frees it with ncsl_result_destroy. */
NCSL_API NCSL_NODISCARD ncsl_status ncsl_engine_execute(ncsl_engine *engine,
                                                        const ncsl_exec_request *req,
                                                        ncsl_result **out, ncsl_err *err);

/*
 * The seed service's ExecuteJavaScriptAsync(code, input, secrets, functionId, userId) as one
 * call: `input_json` is JSON text (NULL: null); `secrets_json` is a JSON object of name -> string
 * (NULL: none). Waits for the result. Same ownership as ncsl_engine_execute.
 */
NCSL_API NCSL_NODISCARD ncsl_status ncsl_execute_javascript(
    ncsl_engine *engine, const char *code, const char *input_json, const char *secrets_json,
    const char *function_id, const char *user_id, ncsl_result **out, ncsl_err *err);

/* ----------------------------------------------------------------------------- results */
NCSL_API void ncsl_result_destroy(ncsl_result *r); /* NULL does nothing */
NCSL_API ncsl_status ncsl_result_status(const ncsl_result *r);
/* JSON text of main()'s value (`null` for undefined); NULL unless the call succeeded.
 * Borrowed from `r`. NUL-terminated; *len (may be NULL) gets its length. */
NCSL_API const char *ncsl_result_json(const ncsl_result *r, size_t *len);
/* JSON array of captured console lines: [{"level":"log","message":"..."}, ...]. Always set. */
NCSL_API const char *ncsl_result_logs_json(const ncsl_result *r, size_t *len);
/* For NCSL_E_JS_* results: the JS error's name ("TypeError"), message and user-code stack; ""
 * when not applicable. Borrowed from `r`. */
NCSL_API const char *ncsl_result_error_name(const ncsl_result *r);
NCSL_API const char *ncsl_result_error_message(const ncsl_result *r);
NCSL_API const char *ncsl_result_error_stack(const ncsl_result *r);
/* A UUID v4 naming this execution. Borrowed from `r`. */
NCSL_API const char *ncsl_result_execution_id(const ncsl_result *r);
NCSL_API uint64_t ncsl_result_execution_time_us(const ncsl_result *r);
/* Peak JS heap used by the call, in bytes. */
NCSL_API uint64_t ncsl_result_memory_used_bytes(const ncsl_result *r);
/* Gas the call used (docs/javascript.md, "Gas"): deterministic for the same code and input. */
NCSL_API uint64_t ncsl_result_gas_used(const ncsl_result *r);

#ifdef __cplusplus
}
#endif
#endif /* NCSL_NCSL_H */
