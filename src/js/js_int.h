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

/* Bytecode cache (js_cache.c): per runtime, keyed by SHA-256 of the source. */
#define NCSL_JS_BC_CACHE_ENTRIES 64
#define NCSL_JS_BC_CACHE_MAX_BYTES ((size_t)8 << 20)

typedef struct ncsl__js_bc_entry {
    uint8_t hash[32];
    uint8_t *bc; /* malloc'd; NULL = free slot */
    size_t len;
    uint64_t last_used;
} ncsl__js_bc_entry;

typedef struct ncsl__js_bc_cache {
    ncsl__js_bc_entry entries[NCSL_JS_BC_CACHE_ENTRIES];
    size_t total_bytes;
    uint64_t tick;
    uint64_t hits;
    uint64_t misses;
} ncsl__js_bc_cache;

/* SHA-256 of the source. Returns 0, or -1 if the digest failed. */
int ncsl__js_code_hash(const char *code, size_t len, uint8_t out[32]);
void ncsl__js_bc_cache_cleanup(ncsl__js_bc_cache *c);
/* The entry for `hash`, borrowed until the next put or cleanup, or NULL. */
const ncsl__js_bc_entry *ncsl__js_bc_cache_get(ncsl__js_bc_cache *c, const uint8_t hash[32]);
/* Copies `bc` into the cache (evicting LRU entries); silently skips what does not fit. */
void ncsl__js_bc_cache_put(ncsl__js_bc_cache *c, const uint8_t hash[32], const uint8_t *bc,
                           size_t len);

/* The runtime handle (js.h). Its address is the JSRuntime's allocator opaque and runtime opaque,
 * so it stays fixed while JSRuntimes are recycled under it. */
struct ncsl_js_runtime {
    JSRuntime *rt;          /* owned; NULL after a failed recycle (re-created on next call) */
    JSContext *compile_ctx; /* owned; compile-only context, never runs code */
    uint8_t *main_bc;       /* malloc'd bytecode of the script `main` (looks the binding up) */
    size_t main_bc_len;
    uint64_t recycle_count;
    ncsl__js_bc_cache bc_cache; /* survives recycling: bytecode is not tied to a JSRuntime */
    size_t baseline_bytes;      /* heap right after creation: recycle when a call leaves more */
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
};

/* Guards of the built-ins that loop without polling (js_guard.c): values captured before user
 * code ran and handlers made on first use, owned, all JS_UNDEFINED until set. Freed by
 * ncsl__js_guard_cleanup before the context. */
#define NCSL__JS_GUARD_VALUES 16
typedef struct ncsl__js_guard {
    bool ready; /* values initialised */
    JSValue values[NCSL__JS_GUARD_VALUES];
} ncsl__js_guard;

/* Per-call state, reachable from the call context's opaque (JS_GetContextOpaque). */
typedef struct ncsl__js_call_state {
    ncsl_buf logs;         /* JSON array body being built: {"level":..,"message":..},... */
    size_t log_entries;    /* entries in `logs` */
    size_t log_bytes;      /* message bytes (+1 per entry) counted against max_log_bytes */
    size_t log_max_bytes;  /* the call's limit */
    uint64_t logs_dropped; /* message bytes dropped once the limit was reached */
    bool logs_truncated;
    ncsl__js_guard guard;
} ncsl__js_call_state;

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
