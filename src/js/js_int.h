/*
 * Internals of the JS sandbox shared by the files of src/js. Not for other subsystems: they use
 * js.h.
 *
 * Lifetime: an ncsl_js_runtime owns one JSRuntime (replaced on recycle) and one compile-only
 * context in it. Each ncsl_js_run creates a call context, points its opaque at a stack-allocated
 * ncsl__js_call_state and frees the context before returning, so a module may keep a pointer to
 * the call state only for the duration of a JS call into it.
 */
#ifndef NCSL_JS_INT_H
#define NCSL_JS_INT_H

#include <quickjs.h>

#include "js/js.h"

/* Bytecode cache (js_cache.c): one per process, shared by every runtime and thread, keyed by the
 * SHA-256 of the source. An entry is immutable; holders keep it alive with a reference. */
typedef struct ncsl__js_bc ncsl__js_bc;

/* SHA-256 of the source. Returns 0, or -1 if the digest failed. */
int ncsl__js_code_hash(const char *code, size_t len, uint8_t out[32]);
/* The entry for `hash` with a new reference (caller drops it with ncsl__js_bc_release), or NULL.
 * Counts a hit or a miss. Thread-safe. */
ncsl__js_bc *ncsl__js_bc_cache_get(const uint8_t hash[32]);
/* The entry's bytecode, valid while the caller holds its reference. */
const uint8_t *ncsl__js_bc_bytes(const ncsl__js_bc *e, size_t *len);
/* Drops a reference from ncsl__js_bc_cache_get. NULL does nothing. Thread-safe, lock-free. */
void ncsl__js_bc_release(ncsl__js_bc *e);
/* Copies `bc` (borrowed) into the cache, evicting least recently used entries; silently skips
 * what does not fit (over a quarter of the byte bound, or out of memory) and sources already
 * cached. Thread-safe. */
void ncsl__js_bc_cache_put(const uint8_t hash[32], const uint8_t *bc, size_t len);
/* Counts one compilation of a source (the `compiles` counter). */
void ncsl__js_bc_cache_note_compile(void);

/* The runtime handle (js.h). Its address is the JSRuntime's allocator opaque and runtime opaque,
 * so it stays fixed while JSRuntimes are recycled under it. */
struct ncsl_js_runtime {
    JSRuntime *rt;          /* owned; NULL after a failed recycle (re-created on next call) */
    JSContext *compile_ctx; /* owned; compile-only context, never runs code */
    uint8_t *main_bc;       /* malloc'd bytecode of the script `main` (looks the binding up) */
    size_t main_bc_len;
    uint64_t recycle_count;
    size_t baseline_bytes; /* heap right after creation: recycle when a call leaves more */
    /* allocator accounting (bytes as reported by malloc_usable_size) */
    size_t used_bytes;
    size_t peak_bytes;
    size_t limit_bytes;      /* 0 = no limit (outside calls) */
    size_t call_start_bytes; /* used_bytes when the call started: the limit counts from here,
                              * so garbage left by earlier calls (collected lazily) is not
                              * charged to this one */
    bool oom_hit;            /* the allocator refused an allocation during this call */
    /* deadline, read by the interrupt handler */
    uint64_t deadline_ns;         /* 0 = none */
    uint32_t alloc_polls;         /* allocations counted between deadline checks */
    size_t interrupt_grace_bytes; /* allocations allowed past the deadline (see allocator) */
    bool timed_out;               /* sticky for the call: every later poll interrupts again */
    /* gas of the call (see ncsl__js_gas_charge) */
    uint64_t gas_used;
    uint64_t gas_limit;
    bool gas_exceeded; /* sticky for the call, like timed_out */
    /* ncsl_js_runtime_set_wait_hooks */
    void (*wait_hook)(void *user, bool begin);
    void *wait_hook_user;
    size_t host_bytes; /* C memory held for the call outside the JS heap (the storage overlay),
                        * charged to the call's memory limit with the heap; 0 outside calls */
    /* the next call's context, built ahead while the worker was idle (ncsl_js_runtime_prepare):
     * no code has run in it; its call state holds what the build set up (the guard) */
    JSContext *spare_ctx;
    struct ncsl__js_call_state *spare_state;
    uint64_t spare_used; /* calls that found a spare context */
};

/* `in` with every 0 field replaced by ncsl_js_run's default; `in` may be `out`. */
void ncsl__js_limits_resolve(const ncsl_js_limits *in, ncsl_js_limits *out);

/*
 * The compile step of ncsl_js_run on its own (js_compile.c): arms `limits` on `js` as a call
 * does, takes `code` from the bytecode cache or compiles it in js's compile context and caches
 * it, then lifts the limits. NCSL_OK; NCSL_E_JS_SYNTAX with the SyntaxError's name, message and
 * stack in `o`; NCSL_E_JS_MEMORY, NCSL_E_JS_STACK or NCSL_E_JS_TIMEOUT when a limit broke while
 * compiling; NCSL_E_NOMEM. `o` is caller-owned (ncsl_js_outcome_cleanup); *cached tells whether
 * the bytecode came from the cache and *bc_len is its size (both on NCSL_OK).
 */
ncsl_status ncsl__js_runtime_compile(ncsl_js_runtime *js, const char *code, size_t len,
                                     const ncsl_js_limits *limits, ncsl_js_outcome *o, bool *cached,
                                     size_t *bc_len, ncsl_err *err);

/* Guards of the built-ins that loop without polling (js_guard.c): values captured before user
 * code ran and handlers made on first use, owned, all JS_UNDEFINED until set. Freed by
 * ncsl__js_guard_cleanup before the context. */
#define NCSL__JS_GUARD_VALUES 16
typedef struct ncsl__js_guard {
    bool ready; /* values initialised */
    JSValue values[NCSL__JS_GUARD_VALUES];
} ncsl__js_guard;

/* The call's `storage` (js_storage.c): writes are buffered here, one entry per key, and handed
 * to the caller only when the call succeeded. Lives in C memory (counted in host_bytes). */
typedef struct ncsl__js_storage_entry {
    char *key; /* malloc'd, NUL-terminated */
    size_t key_len;
    char *value; /* malloc'd JSON text + NUL for a pending set; NULL for a pending remove */
    size_t value_len;
    uint64_t stored_bytes; /* key + value bytes of the key in the store before the call, as far
                            * as known (fetched only when there is a quota) */
} ncsl__js_storage_entry;

typedef struct ncsl__js_storage {
    const ncsl_storage_hooks *hooks; /* borrowed; NULL: storage is unavailable in this call */
    ncsl__js_storage_entry *entries; /* malloc'd, sorted bytewise by key, one per key */
    size_t count;
    size_t cap;
    bool cleared;           /* clear() was called: stored keys are hidden, commit starts with it */
    bool usage_known;       /* base_usage was fetched */
    uint64_t base_usage;    /* hooks->usage, fetched at the first quota check */
    uint64_t stored_total;  /* sum of the entries' stored_bytes (0 once cleared) */
    uint64_t pending_total; /* sum of key + value bytes of the pending sets */
} ncsl__js_storage;

/* ------------------------------------------------------------------------- gas
 * Gas is work the call made the engine do, counted from deterministic events only (never time):
 * the same code with the same input uses the same gas on every run. One gas is roughly 10 us of
 * work on a current x86 core, so the default limit (1,000,000) is about 10 s of pure bytecode,
 * past the default deadline: by default the deadline stops runaway loops, and a lower
 * per-function gas limit bounds work deterministically. */
/* every QuickJS interrupt poll tick: 10,000 bytecode poll points (function calls and loop
 * iterations), about 20 us of a tight loop; microtasks and timer callbacks are counted here */
#define NCSL__JS_GAS_PER_TICK 2u
/* host work on data (encoding, hashing, copying into or out of the sandbox, bytes fetched): one
 * gas per started KiB, see ncsl__js_gas_bytes */
#define NCSL__JS_GAS_BYTES_PER_UNIT 1024u
/* fixed costs of host operations, on top of their bytes */
#define NCSL__JS_GAS_HOST_CALL 0u   /* any host function call (its JS side is counted in ticks) */
#define NCSL__JS_GAS_RANDOM 1u      /* a draw from the random generator */
#define NCSL__JS_GAS_KEY_DERIVE 10u /* deriving a key (Neo.keys.get, crypto.subtle.importKey) */
#define NCSL__JS_GAS_SIGN 5u        /* one ECDSA signature */
#define NCSL__JS_GAS_VERIFY 10u     /* one ECDSA verification */
#define NCSL__JS_GAS_FETCH 100u     /* one outbound request, on top of its bytes */
#define NCSL__JS_GAS_TIMER 0u       /* scheduling a timer or a microtask */

/* Gas units for processing `n` bytes (rounded up). */
static inline uint64_t ncsl__js_gas_bytes(uint64_t n) {
    return (n + NCSL__JS_GAS_BYTES_PER_UNIT - 1) / NCSL__JS_GAS_BYTES_PER_UNIT;
}

/* Charges `gas` to the call of `ctx`. Returns 0, or -1 when the call is now over its gas limit:
 * an uncatchable error is then pending and the host function must return JS_EXCEPTION (the call
 * ends with NCSL_E_JS_GAS; no more user code runs). Host functions charge BEFORE doing the work
 * (so a call cannot buy a large operation with the gas it has left). */
int ncsl__js_gas_charge(JSContext *ctx, uint64_t gas);

/* ------------------------------------------------------------------------- async host ops
 * An operation that a host function starts on the call's thread and that completes elsewhere
 * (fetch on the I/O thread). The call's event loop (js_loop.c) waits for it without holding a
 * CPU-bound worker slot, then settles its promise on the call's thread.
 *
 * Lifetime: ncsl__js_op_begin makes the op with two references, one for the call and one for
 * the completing side. The completing side calls ncsl__js_op_complete exactly once (from any
 * thread) and must not touch the op or `data` afterwards. The call's reference ends when the
 * settle callback has run, or when the call ends first: then `cancel` runs on the call's thread
 * (it must make the completing side finish soon; it must not free `data`). `free_data` runs once,
 * when both references are gone, on whichever thread dropped the last one.
 */
typedef struct ncsl__js_op ncsl__js_op;
typedef struct ncsl__js_op_type {
    const char *name; /* for errors and logs: "fetch" */
    /* On the call's thread, once the op completed: resolve or reject with the result (calls
     * one of the two functions, or returns -1 with a pending exception, which rejects). */
    int (*settle)(JSContext *ctx, void *data, JSValueConst resolve, JSValueConst reject);
    void (*cancel)(void *data); /* the call ended before the op completed; may be NULL */
    void (*free_data)(void *data);
} ncsl__js_op_type;

/* Starts an op of the call of `ctx`: *promise gets the promise the op settles (owned by the
 * caller, usually returned to JS). Returns the op (the completing side's reference), or NULL
 * with a pending exception (then free_data has NOT been called: the caller still owns data). */
ncsl__js_op *ncsl__js_op_begin(JSContext *ctx, const ncsl__js_op_type *type, void *data,
                               JSValue *promise);
/* The op finished (its result is in data): wakes the call. Any thread, exactly once. */
void ncsl__js_op_complete(ncsl__js_op *op);

/* Per-call state, reachable from the call context's opaque (JS_GetContextOpaque). */
typedef struct ncsl__js_loop ncsl__js_loop; /* js_loop.c: timers and pending ops */
typedef struct ncsl__js_call_state {
    ncsl_buf logs;         /* JSON array body being built: {"level":..,"message":..},... */
    size_t log_entries;    /* entries in `logs` */
    size_t log_bytes;      /* message bytes (+1 per entry) counted against max_log_bytes */
    size_t log_max_bytes;  /* the call's limit */
    uint64_t logs_dropped; /* message bytes dropped once the limit was reached */
    bool logs_truncated;
    ncsl__js_guard guard;
    ncsl__js_storage storage;
    const char *user_id;     /* borrowed from the call, never NULL ("" when none) */
    const char *function_id; /* borrowed from the call, never NULL ("" when none) */
    ncsl_js_runtime *js;     /* the runtime running the call */
    ncsl__js_loop *loop;     /* owned; created on first use (timers, ops) */
    /* fetch budget of the call (js_fetch.c) */
    uint32_t fetch_requests;   /* requests started */
    uint64_t fetch_bytes;      /* response bytes received */
    unsigned intrinsics_built; /* NCSL__JS_LAZY_BIT of each built-in group built so far */
} ncsl__js_call_state;

/* ------------------------------------------------------------------------- built-ins */
/* The built-in groups a call context builds on first use (js_intrinsics.c). */
enum {
    NCSL__JS_LAZY_TYPED_ARRAYS, /* ArrayBuffer, the typed arrays, DataView, Atomics */
    NCSL__JS_LAZY_MAP_SET,      /* Map, Set, WeakMap, WeakSet */
    NCSL__JS_LAZY_DATE,
    NCSL__JS_LAZY_WEAK_REF,      /* WeakRef, FinalizationRegistry */
    NCSL__JS_LAZY_DOM_EXCEPTION, /* DOMException, atob, btoa */
    NCSL__JS_LAZY_GROUP_COUNT
};
#define NCSL__JS_LAZY_BIT(g) (1u << (g))
/* The built-ins every call context gets at once (also used to read the groups' names). */
int ncsl__js_add_eager_intrinsics(JSContext *ctx);
/* Installs the lazy globals of every group; after the context opaque is set. 0 or -1. */
int ncsl__js_intrinsics_init(JSContext *ctx, JSValue global);
/* Builds the groups in `groups` (NCSL__JS_LAZY_BIT mask) not built yet. 0 or -1 (exception). */
int ncsl__js_intrinsics_ensure(JSContext *ctx, unsigned groups);
/* JS_NewArrayBufferCopy, JS_NewUint8ArrayCopy, JS_NewTypedArray and JS_ThrowDOMException, with
 * their group built first: host functions must use these. */
JSValue ncsl__js_new_array_buffer_copy(JSContext *ctx, const uint8_t *buf, size_t len);
JSValue ncsl__js_new_uint8_array_copy(JSContext *ctx, const uint8_t *buf, size_t len);
JSValue ncsl__js_new_typed_array(JSContext *ctx, int argc, JSValueConst *argv,
                                 JSTypedArrayEnum type);
JSValue ncsl__js_throw_dom_exception(JSContext *ctx, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ------------------------------------------------------------------------- event loop */
/* Adds setTimeout, clearTimeout, setInterval, clearInterval and queueMicrotask (js_loop.c). */
int ncsl__js_loop_init(JSContext *ctx, JSValue global);

typedef enum ncsl__js_loop_step {
    NCSL__JS_LOOP_RAN,       /* ran a job, settled ops or fired a timer */
    NCSL__JS_LOOP_WAITED,    /* nothing to run: waited for an op, a timer or the deadline */
    NCSL__JS_LOOP_IDLE,      /* nothing to run and nothing to wait for */
    NCSL__JS_LOOP_EXCEPTION, /* what ran threw: the exception is pending in the call context */
} ncsl__js_loop_step;

/* One turn of the call's event loop (see js_loop.c); waits at most until deadline_ns. */
ncsl__js_loop_step ncsl__js_loop_step_once(JSContext *ctx, uint64_t deadline_ns);
/* Drops the call's timers and cancels its pending ops; before the context is freed. */
void ncsl__js_loop_destroy(JSContext *ctx, ncsl__js_call_state *st);
/* Calls the runtime's wait hooks (ncsl_js_runtime_set_wait_hooks) around a blocking wait. */
void ncsl__js_loop_wait_hooks_call(ncsl_js_runtime *js, bool begin);

/* Adds the platform APIs (js_platform.c: encoding, URL, crypto, Neo, fetch, timers) to `global`.
 * Each module adds its globals; what is costly to build is built on first use. Returns 0 or -1
 * with a pending JS exception. */
int ncsl__js_platform_init(JSContext *ctx, JSValue global);

/* TextEncoder, TextDecoder (js_encoding.c) and URL, URLSearchParams (js_url.c): lazy globals,
 * built on first access. Return 0 or -1 with a pending JS exception. */
int ncsl__js_encoding_init(JSContext *ctx, JSValue global);
/* UTF-8 decode without BOM (WHATWG Encoding; js_encoding.c, the TextDecoder's decoder): in[0..n)
 * with every maximal invalid subpart replaced by U+FFFD, written as UTF-8 to `out` (NULL: only
 * counted); *olen gets its size, at most 3 * n. */
void ncsl__js_utf8_decode_replace(const uint8_t *in, size_t n, uint8_t *out, size_t *olen);
int ncsl__js_url_init(JSContext *ctx, JSValue global);
/* fetch (autoinit) and the lazy global Headers (js_fetch.c, over src/fetch). Returns 0 or -1
 * with a pending JS exception. */
int ncsl__js_fetch_init(JSContext *ctx, JSValue global);
/* Tests only: `hook` (NULL: none) runs last in ncsl__js_platform_init of every call, to add
 * host functions that exercise internal APIs (the async ops). Process-wide; set it before any
 * call runs. */
void ncsl__js_platform_set_test_hook(int (*hook)(JSContext *ctx, JSValue global));

/* ------------------------------------------------------------------------- crypto, Neo */
/* Add the globals `crypto` (js_crypto.c) and `Neo` (js_neo.c) to `global` as autoinit
 * properties (built on first access). Return 0 or -1 with a pending JS exception. */
int ncsl_js_crypto_init(JSContext *ctx, JSValue global);
int ncsl_js_neo_init(JSContext *ctx, JSValue global);

/* The bytes of a JS value (js_crypto.c): an ArrayBuffer, a typed array or a DataView, and with
 * `strings` also a string (as UTF-8, lone surrogates as U+FFFD). `data` points into JS memory:
 * valid until JS code runs or the value is freed; release with ncsl__js_bytes_release. */
typedef struct ncsl__js_bytes {
    const uint8_t *data; /* never NULL (len 0: a static empty string) */
    size_t len;
    const char *str; /* JS C string to free, or NULL */
    uint8_t *fixed;  /* js_malloc'd copy of a string with lone surrogates replaced, or NULL */
} ncsl__js_bytes;

/* Fills *b from `v`, or throws a TypeError "<what> must be ..." and returns -1 (`what` names the
 * argument: "crypto.subtle.digest: data"). A DataView's getters may run JS. */
int ncsl__js_bytes_get(JSContext *ctx, JSValueConst v, bool strings, const char *what,
                       ncsl__js_bytes *b);
void ncsl__js_bytes_release(JSContext *ctx, ncsl__js_bytes *b);

/* Adds `console` (log/info/warn/error/debug) to `global`, capturing into the call state found in
 * the context opaque. Returns 0 or -1 with a pending JS exception. */
int ncsl_js_console_init(JSContext *ctx, JSValue global);

/* Replaces, in the call context, the built-ins that QuickJS runs as unpolled loops over an
 * object's length (Array.prototype.join and others, see js_guard.c) with guarded wrappers. Must
 * run before user code. Returns 0 or -1 with a pending JS exception; either way
 * ncsl__js_guard_cleanup must be called before the context is freed. */
int ncsl__js_guard_init(JSContext *ctx, JSValue global);
void ncsl__js_guard_cleanup(JSContext *ctx);

/* Adds the frozen `SECRETS` object to `global`. `secrets` is borrowed; values are copied into
 * JS strings. Returns 0 or -1 with a pending JS exception. */
int ncsl_js_secrets_init(JSContext *ctx, JSValue global, const ncsl_secret *secrets, size_t count);

/* Adds the frozen `storage` object to `global`; its methods use the storage state of the call
 * state in the context opaque. Returns 0 or -1 with a pending JS exception. */
int ncsl_js_storage_init(JSContext *ctx, JSValue global);
/* Moves the pending writes of `s` into a new array in commit order (a CLEAR first when the call
 * cleared, then one SET or REMOVE per key, bytewise key order); *writes NULL and *count 0 when
 * the call wrote nothing. The caller frees with ncsl_js_storage_writes_free. NCSL_E_NOMEM. */
ncsl_status ncsl__js_storage_take(ncsl__js_storage *s, ncsl_storage_write **writes, size_t *count,
                                  ncsl_err *err);
/* Frees (values wiped) what is left in `s`. */
void ncsl__js_storage_cleanup(ncsl__js_storage *s);

/*
 * Converts any JS value to display text for logs and error messages, without trusting it:
 * strings as is, plain values via JSON.stringify, others via toString, and a fixed placeholder
 * when conversion throws a catchable error. Appends at most `max` bytes to `out` (sets *truncated
 * when cut; may be NULL). Returns -1 only when the conversion hit an uncatchable condition
 * (deadline, out of memory): the JS exception is then left pending for the caller to propagate.
 */
int ncsl__js_value_to_text(JSContext *ctx, JSValueConst v, ncsl_buf *out, size_t max,
                           bool *truncated);

/* Whether the call broke the deadline or the memory limit: exceptions must then propagate and
 * no more user code may run. */
bool ncsl__js_call_is_doomed(JSContext *ctx);

/* Finishes the logs array of `st` into malloc'd JSON text (caller frees with free()). Appends the
 * truncation marker when needed. Returns NULL when the host is out of memory. */
char *ncsl__js_logs_finish(ncsl__js_call_state *st, size_t *len);

#endif
