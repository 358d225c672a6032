/*
 * The sandbox runtime: one JSRuntime per ncsl_js_runtime (one per worker thread), a fresh
 * context per call built from allow-listed intrinsics, per-call limits, and the classification
 * of every way a call can end.
 *
 * Code is compiled in a compile-only context (the only one with the Eval intrinsic, which the
 * parser needs), serialized to bytecode and loaded into the call context, which has no Eval: in
 * user code `eval(...)` and `new Function(...)` throw TypeError "eval is not supported". So the
 * code that runs is exactly the code that was hashed.
 *
 * Limits:
 * - memory: our allocator (JS_NewRuntime2) refuses allocations past the call's limit and records
 *   it, so a caught out-of-memory error is still reported as NCSL_E_JS_MEMORY; from then on it
 *   refuses every allocation and the interrupt handler ends the call, as after the deadline.
 *   JS_SetMemoryLimit is set a little higher as a backstop (its accounting differs from
 *   malloc_usable_size). A call that held a lot gives the memory back to the system when it ends
 *   (release_free_memory).
 * - time: the interrupt handler compares the monotonic clock with the deadline; once hit it keeps
 *   interrupting (uncatchable), so no user code runs after the deadline. QuickJS polls it from
 *   the bytecode loop and from regexp backtracking; js_guard.c makes the built-ins that loop
 *   without polling run on proxies, whose traps are calls (polled).
 * - stack: JS_SetMaxStackSize; QuickJS throws RangeError "Maximum call stack size exceeded".
 */
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "js_int.h"

#if defined(NCSL_SANITIZE)
/* from the sanitizer runtime (sanitizer/allocator_interface.h, which gcc does not install) */
void __sanitizer_purge_allocator(void);
#endif

#define FILENAME "function.js"
#define MAX_ERR_NAME_BYTES 128
#define MAX_ERR_MESSAGE_BYTES 4096
#define MAX_ERR_STACK_BYTES 16384
/* a call may leave this much more heap than the fresh runtime had before we collect (and, if
 * still above, recycle) */
#define RECYCLE_SLACK_BYTES ((size_t)4 << 20)
/* QuickJS collects when its heap grows past a threshold that it resets to 1.5x the live heap;
 * with our tiny live heap that meant a full GC every few calls. Each call gets this headroom. */
#define GC_HEADROOM_BYTES ((size_t)2 << 20)
/* what QuickJS may allocate to throw "interrupted" once the deadline has passed */
#define INTERRUPT_GRACE_BYTES ((size_t)256 << 10)
/* glibc's default mmap threshold, made fixed (see malloc_setup) */
#define MMAP_THRESHOLD_BYTES (128 << 10)
/* idle time (ncsl_js_runtime_prepare) collects once earlier calls left this much garbage */
#define IDLE_GC_BYTES ((size_t)256 << 10)
/* a call that ends with this much garbage behind it collects: each context leaves about 50 KB
 * of cycles, so this is a GC every ten calls or so, a pause of a few hundred microseconds (a GC
 * only at RECYCLE_SLACK_BYTES paused one call in ninety for milliseconds: the p99) */
#define GC_AFTER_BYTES ((size_t)512 << 10)
/* a call whose heap peaked this much above its start gives free memory back when it ends */
#define TRIM_AFTER_BYTES ((size_t)8 << 20)

#define DEFAULT_MEMORY_BYTES ((size_t)512 << 20)
#define DEFAULT_TIMEOUT_MS 5000u
#define DEFAULT_STACK_BYTES ((size_t)1 << 20)
#define DEFAULT_OUTPUT_BYTES ((size_t)1 << 20)
#define DEFAULT_LOG_BYTES ((size_t)64 << 10)
#define DEFAULT_GAS_LIMIT ((uint64_t)NCSL_JS_DEFAULT_GAS_LIMIT)

static const char g_stack_overflow_msg[] = "Maximum call stack size exceeded";

/* ------------------------------------------------------------------------- allocator */
/* Counts every byte the JSRuntime holds (malloc_usable_size), keeps the call's peak and
 * enforces the call's limit, recording a refusal in oom_hit. */
static bool alloc_allowed(ncsl_js_runtime *js, size_t old_size, size_t new_size) {
    if (!js->deadline_ns || new_size <= old_size) {
        return true; /* outside a call (freeing, recycling), or not growing */
    }
    /* once a limit broke (deadline or memory) nothing is allocated, except a small grace
     * granted each time the interrupt handler fires: QuickJS must still build the uncatchable
     * "interrupted" error that ends the call. Without this, user code could catch the
     * out-of-memory error and go on allocating between two interrupt polls, which with heavy
     * native allocations (a 1 MiB typed array per iteration) can last until the deadline. */
    if (js->timed_out || js->oom_hit) {
        size_t grow = new_size - old_size;
        if (grow > js->interrupt_grace_bytes) {
            return false;
        }
        js->interrupt_grace_bytes -= grow;
        return true;
    }
    /* QuickJS polls the interrupt handler only every 10,000 branches or calls, so a loop of
     * heavy native calls (Array(1e5).fill(), repeat...) can run far past the deadline between
     * polls; allocations are a second, cheap place to notice it (every 32nd one). */
    if ((++js->alloc_polls & 31) == 0 && ncsl_now_ns() >= js->deadline_ns) {
        js->timed_out = true;
        return false;
    }
    if (js->limit_bytes && js->used_bytes - old_size + new_size + js->host_bytes >
                               js->call_start_bytes + js->limit_bytes) {
        js->oom_hit = true;
        return false;
    }
    return true;
}

static void alloc_account(ncsl_js_runtime *js, size_t old_size, size_t new_size) {
    js->used_bytes = js->used_bytes - old_size + new_size;
    if (js->used_bytes > js->peak_bytes) {
        js->peak_bytes = js->used_bytes;
    }
}

static void *js_alloc_calloc(void *opaque, size_t count, size_t size) {
    ncsl_js_runtime *js = opaque;
    if (size && count > SIZE_MAX / size) {
        return NULL;
    }
    if (!alloc_allowed(js, 0, count * size)) {
        return NULL;
    }
    void *p = calloc(count, size);
    if (p) {
        alloc_account(js, 0, malloc_usable_size(p));
    }
    return p;
}

static void *js_alloc_malloc(void *opaque, size_t size) {
    ncsl_js_runtime *js = opaque;
    if (!alloc_allowed(js, 0, size)) {
        return NULL;
    }
    void *p = malloc(size);
    if (p) {
        alloc_account(js, 0, malloc_usable_size(p));
    }
    return p;
}

static void js_alloc_free(void *opaque, void *ptr) {
    ncsl_js_runtime *js = opaque;
    if (ptr) {
        alloc_account(js, malloc_usable_size(ptr), 0);
        free(ptr);
    }
}

static void *js_alloc_realloc(void *opaque, void *ptr, size_t size) {
    ncsl_js_runtime *js = opaque;
    size_t old_size = ptr ? malloc_usable_size(ptr) : 0;
    if (size == 0) {
        js_alloc_free(opaque, ptr);
        return NULL;
    }
    if (!alloc_allowed(js, old_size, size)) {
        return NULL;
    }
    void *p = realloc(ptr, size);
    if (p) {
        alloc_account(js, old_size, malloc_usable_size(p));
    }
    return p;
}

static size_t js_alloc_usable_size(const void *ptr) {
    return malloc_usable_size((void *)ptr);
}

static const JSMallocFunctions g_malloc_funcs = {
    .js_calloc = js_alloc_calloc,
    .js_malloc = js_alloc_malloc,
    .js_free = js_alloc_free,
    .js_realloc = js_alloc_realloc,
    .js_malloc_usable_size = js_alloc_usable_size,
};

/* ------------------------------------------------------------------------- deadline */
/* Whether the call must end now: the deadline passed, the memory limit broke or the gas ran
 * out. Sticky: once true, every later poll says so again (uncatchable for user code). */
static bool call_must_end(ncsl_js_runtime *js) {
    /* a broken memory limit ends the call too: user code that caught the out-of-memory error
     * must not go on (looping until the deadline, reported as TIMEOUT) */
    if ((js->oom_hit || js->gas_exceeded) && js->deadline_ns) {
        js->interrupt_grace_bytes = INTERRUPT_GRACE_BYTES;
        return true;
    }
    if (js->timed_out || (js->deadline_ns && ncsl_now_ns() >= js->deadline_ns)) {
        js->timed_out = true;
        js->interrupt_grace_bytes = INTERRUPT_GRACE_BYTES; /* for the error QuickJS now throws */
        return true;
    }
    return false;
}

/* QuickJS calls this every 10,000 poll points of bytecode: each call is one gas tick. */
static int js_interrupt_handler(JSRuntime *rt, void *opaque) {
    (void)rt;
    ncsl_js_runtime *js = opaque;
    if (js->deadline_ns) {
        js->gas_used += NCSL__JS_GAS_PER_TICK;
        if (js->gas_used > js->gas_limit) {
            js->gas_exceeded = true;
        }
    }
    return call_must_end(js) ? 1 : 0;
}

int ncsl__js_gas_charge(JSContext *ctx, uint64_t gas) {
    ncsl_js_runtime *js = JS_GetRuntimeOpaque(JS_GetRuntime(ctx));
    if (!js->deadline_ns) {
        return 0; /* outside a call */
    }
    js->gas_used = gas > UINT64_MAX - js->gas_used ? UINT64_MAX : js->gas_used + gas;
    if (js->gas_used > js->gas_limit) {
        js->gas_exceeded = true;
    }
    if (call_must_end(js)) {
        JS_ThrowInternalError(ctx, "interrupted");
        JSValue exc = JS_GetException(ctx);
        JS_SetUncatchableError(ctx, exc);
        JS_Throw(ctx, exc);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------- malloc */
/* glibc raises its mmap threshold (up to 32 MiB) each time a large mmapped block is freed, and
 * its trim threshold with it; from then on a call's large arrays and strings come from the
 * worker's arena instead, and the arena's free top is neither unmapped nor trimmed, so every
 * worker keeps its largest call heap resident. A fixed threshold keeps large blocks mmapped
 * (unmapped on free) and arena tops trimmed. Once per process. */
static pthread_once_t g_malloc_once = PTHREAD_ONCE_INIT;
static void malloc_setup(void) {
#if defined(__GLIBC__) && !defined(NCSL_SANITIZE)
    mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES);
#endif
}

/* Gives the allocator's free pages back to the system. A big call heap is freed as many small
 * blocks spread over the worker's malloc arena, and live blocks (the runtime's, other threads')
 * pin the arena's top, so without this every worker would keep its largest call heap resident
 * for ever: up to the memory limit per worker, after one memory bomb each. */
static void release_free_memory(void) {
#if defined(NCSL_SANITIZE)
    __sanitizer_purge_allocator();
#elif defined(__GLIBC__)
    malloc_trim(0);
#endif
}

/* ------------------------------------------------------------------------- runtime */
static void spare_free(ncsl_js_runtime *js);
static int context_build(JSContext *ctx);

static void runtime_teardown(ncsl_js_runtime *js) {
    spare_free(js);
    free(js->main_bc);
    js->main_bc = NULL;
    js->main_bc_len = 0;
    if (js->compile_ctx) {
        JS_FreeContext(js->compile_ctx);
        js->compile_ctx = NULL;
    }
    if (js->rt) {
        JS_FreeRuntime(js->rt);
        js->rt = NULL;
    }
}

/* Creates the JSRuntime, the compile context and the bytecode of the `main` lookup script. */
static ncsl_status runtime_setup(ncsl_js_runtime *js, ncsl_err *err) {
    ncsl_status st = NCSL_OK;
    JSValue fn = JS_UNDEFINED;
    uint8_t *bc = NULL;

    js->limit_bytes = 0;
    js->deadline_ns = 0;
    js->rt = JS_NewRuntime2(&g_malloc_funcs, js);
    if (!js->rt) {
        st = ncsl_err_set(err, NCSL_E_NOMEM, NULL, "cannot create a JS runtime");
        goto out;
    }
    JS_SetRuntimeOpaque(js->rt, js);
    JS_SetInterruptHandler(js->rt, js_interrupt_handler, js);
    JS_SetCanBlock(js->rt, false); /* Atomics.wait would sleep past the deadline */
    js->compile_ctx = JS_NewContextRaw(js->rt);
    if (!js->compile_ctx) {
        st = ncsl_err_set(err, NCSL_E_NOMEM, NULL, "cannot create the JS compile context");
        goto out;
    }
    JS_AddIntrinsicEval(js->compile_ctx);
    JS_AddIntrinsicRegExpCompiler(js->compile_ctx);
    /* a global script whose value is the `main` binding, lexical (`const main`) or not */
    static const char lookup[] = "main";
    fn = JS_Eval(js->compile_ctx, lookup, sizeof(lookup) - 1, "<main>",
                 JS_EVAL_TYPE_GLOBAL | JS_EVAL_FLAG_COMPILE_ONLY);
    if (JS_IsException(fn)) {
        JS_FreeValue(js->compile_ctx, JS_GetException(js->compile_ctx));
        st = ncsl_err_set(err, NCSL_E_NOMEM, NULL, "cannot compile the main lookup");
        goto out;
    }
    size_t len = 0;
    bc = JS_WriteObject(js->compile_ctx, &len, fn, JS_WRITE_OBJ_BYTECODE);
    js->main_bc = bc ? malloc(len) : NULL;
    if (!js->main_bc) {
        JS_FreeValue(js->compile_ctx, JS_GetException(js->compile_ctx));
        st = ncsl_err_set(err, NCSL_E_NOMEM, NULL, "cannot serialize the main lookup");
        goto out;
    }
    memcpy(js->main_bc, bc, len);
    js->main_bc_len = len;
    JS_RunGC(js->rt);
    js->baseline_bytes = js->used_bytes;
out:
    if (bc) {
        js_free(js->compile_ctx, bc);
    }
    if (js->compile_ctx) {
        JS_FreeValue(js->compile_ctx, fn);
    }
    if (st != NCSL_OK) {
        runtime_teardown(js);
    }
    return st;
}

ncsl_status ncsl_js_runtime_create(ncsl_js_runtime **out, ncsl_err *err) {
    ncsl_status st = NCSL_OK;
    ncsl_js_runtime *js = NULL;

    if (!out) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "out", "out is NULL");
    }
    *out = NULL;
    pthread_once(&g_malloc_once, malloc_setup);
    js = calloc(1, sizeof(*js));
    if (!js) {
        st = ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
        goto out;
    }
    st = runtime_setup(js, err);
    if (st != NCSL_OK) {
        goto out;
    }
    *out = js;
    js = NULL;
out:
    free(js);
    return st;
}

void ncsl_js_runtime_destroy(ncsl_js_runtime *js) {
    if (!js) {
        return;
    }
    runtime_teardown(js);
    free(js);
}

void ncsl_js_runtime_set_wait_hooks(ncsl_js_runtime *js, void (*hook)(void *user, bool begin),
                                    void *user) {
    js->wait_hook = hook;
    js->wait_hook_user = user;
}

static void spare_free(ncsl_js_runtime *js) {
    if (js->spare_ctx) {
        JS_SetContextOpaque(js->spare_ctx, js->spare_state);
        ncsl__js_guard_cleanup(js->spare_ctx);
        JS_FreeContext(js->spare_ctx);
        js->spare_ctx = NULL;
    }
    free(js->spare_state);
    js->spare_state = NULL;
}

void ncsl_js_runtime_prepare(ncsl_js_runtime *js) {
    if (!js || js->spare_ctx || js->deadline_ns) {
        return; /* prepared already, or inside a call */
    }
    ncsl_err err;
    if (!js->rt && runtime_setup(js, &err) != NCSL_OK) {
        return; /* the next call retries and reports */
    }
    /* the garbage of earlier contexts, collected now rather than in a later call */
    if (js->used_bytes > js->baseline_bytes + IDLE_GC_BYTES) {
        JS_RunGC(js->rt);
    }
    js->spare_state = calloc(1, sizeof(*js->spare_state));
    js->spare_ctx = js->spare_state ? JS_NewContextRaw(js->rt) : NULL;
    if (!js->spare_ctx) {
        free(js->spare_state);
        js->spare_state = NULL;
        return;
    }
    js->spare_state->js = js;
    JS_SetContextOpaque(js->spare_ctx, js->spare_state);
    if (context_build(js->spare_ctx) < 0) {
        JS_FreeValue(js->spare_ctx, JS_GetException(js->spare_ctx));
        spare_free(js);
        return;
    }
    JS_SetContextOpaque(js->spare_ctx, NULL); /* until a call takes it */
}

uint64_t ncsl_js_runtime_spare_used(const ncsl_js_runtime *js) {
    return js ? js->spare_used : 0;
}

void ncsl__js_loop_wait_hooks_call(ncsl_js_runtime *js, bool begin) {
    if (js && js->wait_hook) {
        js->wait_hook(js->wait_hook_user, begin);
    }
}

uint64_t ncsl_js_runtime_recycle_count(const ncsl_js_runtime *js) {
    return js ? js->recycle_count : 0;
}

/* ------------------------------------------------------------------------- errors */
/* C copies of a thrown value's name, message and stack (malloc'd, bounded). */
typedef struct js_error_info {
    char *name;
    char *message;
    char *stack;
} js_error_info;

static void error_info_cleanup(js_error_info *e) {
    free(e->name);
    free(e->message);
    free(e->stack);
    memset(e, 0, sizeof(*e));
}

/* Text of property `prop` of `obj` (a getter may run user code: the deadline applies), or NULL
 * when absent, not convertible or `only_string` and not a string. */
static char *error_prop_text(JSContext *ctx, JSValueConst obj, const char *prop, size_t max,
                             bool only_string) {
    char *res = NULL;
    ncsl_buf b;
    ncsl_buf_init(&b, 0);
    JSValue v = JS_GetPropertyStr(ctx, obj, prop);
    if (JS_IsException(v)) {
        JS_FreeValue(ctx, JS_GetException(ctx));
        goto out;
    }
    if (JS_IsUndefined(v) || (only_string && !JS_IsString(v))) {
        goto out;
    }
    if (ncsl__js_value_to_text(ctx, v, &b, max, NULL) < 0) {
        JS_FreeValue(ctx, JS_GetException(ctx));
        goto out;
    }
    if (!b.oom) {
        res = ncsl_buf_steal(&b, NULL);
    }
out:
    JS_FreeValue(ctx, v);
    ncsl_buf_cleanup(&b);
    return res;
}

/* Fills `e` from a thrown value. Never leaves an exception pending. */
static void error_info_from_value(JSContext *ctx, JSValueConst exc, js_error_info *e) {
    if (JS_IsError(exc)) {
        e->name = error_prop_text(ctx, exc, "name", MAX_ERR_NAME_BYTES, false);
        e->message = error_prop_text(ctx, exc, "message", MAX_ERR_MESSAGE_BYTES, false);
        e->stack = error_prop_text(ctx, exc, "stack", MAX_ERR_STACK_BYTES, true);
    } else {
        /* throw "x", throw {a: 1}: name "Error", message made from the value */
        ncsl_buf b;
        ncsl_buf_init(&b, 0);
        if (ncsl__js_value_to_text(ctx, exc, &b, MAX_ERR_MESSAGE_BYTES, NULL) < 0) {
            JS_FreeValue(ctx, JS_GetException(ctx));
        }
        e->message = b.oom ? NULL : ncsl_buf_steal(&b, NULL);
        ncsl_buf_cleanup(&b);
    }
    if (!e->name || !e->name[0]) {
        free(e->name);
        e->name = ncsl_strdup("Error");
    }
    if (!e->message) {
        e->message = ncsl_strdup("");
    }
}

static bool error_is_stack_overflow(const js_error_info *e) {
    return e->name && e->message && strcmp(e->name, "RangeError") == 0 &&
           strcmp(e->message, g_stack_overflow_msg) == 0;
}

static bool error_is_out_of_memory(const js_error_info *e) {
    return e->name && e->message && strcmp(e->name, "InternalError") == 0 &&
           strcmp(e->message, "out of memory") == 0;
}

/* Per-call bookkeeping for ncsl_js_run. */
typedef struct js_call {
    ncsl_js_runtime *js;
    JSContext *ctx;
    const ncsl_js_limits *limits;
    ncsl_js_outcome *out;
    ncsl_err *err;
    bool stack_hit;
} js_call;

static ncsl_status set_failure(js_call *c, ncsl_status st, const char *name, const char *message,
                               const char *stack) {
    ncsl_js_outcome *o = c->out;
    free(o->error_name);
    free(o->error_message);
    free(o->error_stack);
    o->error_name = ncsl_strdup(name);
    o->error_message = ncsl_strdup(message);
    o->error_stack = stack && stack[0] ? ncsl_strdup(stack) : NULL;
    o->status = st;
    return st;
}

/* A failure decided by a limit flag: no user code is consulted. */
static ncsl_status limit_failure(js_call *c) {
    char msg[160];
    if (c->js->gas_exceeded && !c->js->timed_out) {
        snprintf(msg, sizeof(msg), "execution used more than its gas limit of %llu",
                 (unsigned long long)c->limits->gas_limit);
        ncsl_err_set(c->err, NCSL_E_JS_GAS, NULL, "%s", msg);
        return set_failure(c, NCSL_E_JS_GAS, "GasLimitError", msg, NULL);
    }
    if (c->js->timed_out) {
        snprintf(msg, sizeof(msg), "execution exceeded the %u ms deadline",
                 (unsigned)c->limits->timeout_ms);
        ncsl_err_set(c->err, NCSL_E_JS_TIMEOUT, NULL, "%s", msg);
        return set_failure(c, NCSL_E_JS_TIMEOUT, "TimeoutError", msg, NULL);
    }
    snprintf(msg, sizeof(msg), "execution exceeded the memory limit of %zu bytes",
             c->limits->memory_bytes);
    ncsl_err_set(c->err, NCSL_E_JS_MEMORY, NULL, "%s", msg);
    return set_failure(c, NCSL_E_JS_MEMORY, "MemoryLimitError", msg, NULL);
}

/*
 * Classifies the pending exception of `ctx` (taken and freed here). Limit flags win over the
 * value; then an uncaught out-of-memory or stack overflow error; else `user_status` with the
 * error's name, message and stack.
 */
static ncsl_status fail_with_exception(js_call *c, JSContext *ctx, ncsl_status user_status) {
    ncsl_status st;
    js_error_info e = {0};
    JSValue exc = JS_GetException(ctx);

    if (c->js->timed_out || c->js->oom_hit || c->js->gas_exceeded || JS_IsUncatchableError(exc)) {
        if (!c->js->timed_out && !c->js->oom_hit && !c->js->gas_exceeded) {
            c->js->timed_out = true; /* "interrupted" comes only from the deadline */
        }
        st = limit_failure(c);
        goto out;
    }
    error_info_from_value(ctx, exc, &e);
    if (c->js->timed_out || c->js->oom_hit || c->js->gas_exceeded || error_is_out_of_memory(&e)) {
        if (!c->js->timed_out && !c->js->gas_exceeded) {
            c->js->oom_hit = true; /* QuickJS's own limit (the backstop) fired */
        }
        st = limit_failure(c);
        goto out;
    }
    if (error_is_stack_overflow(&e)) {
        c->stack_hit = true;
        ncsl_err_set(c->err, NCSL_E_JS_STACK, NULL, "the stack limit of %zu bytes was hit",
                     c->limits->stack_bytes);
        st = set_failure(c, NCSL_E_JS_STACK, e.name, e.message, e.stack);
        goto out;
    }
    switch (user_status) {
    case NCSL_E_JS_SYNTAX:
        ncsl_err_set(c->err, user_status, NULL, "the code does not parse");
        break;
    case NCSL_E_JS_BAD_RESULT:
        ncsl_err_set(c->err, user_status, NULL, "the result is not JSON-serializable");
        break;
    default:
        ncsl_err_set(c->err, user_status, NULL, "the function threw an uncaught exception");
        break;
    }
    st = set_failure(c, user_status, e.name, e.message, e.stack);
out:
    error_info_cleanup(&e);
    JS_FreeValue(ctx, exc);
    return st;
}

/* Syntax errors: the message gets the location from the stack ("at function.js:3:5"). */
static ncsl_status fail_syntax(js_call *c) {
    JSContext *cc = c->js->compile_ctx;
    ncsl_status st = fail_with_exception(c, cc, NCSL_E_JS_SYNTAX);
    ncsl_js_outcome *o = c->out;
    if (st != NCSL_E_JS_SYNTAX || !o->error_stack || !o->error_message) {
        return st;
    }
    const char *at = strstr(o->error_stack, FILENAME ":");
    if (at) {
        size_t n = strcspn(at, ")\n");
        size_t mlen = strlen(o->error_message);
        char *m = malloc(mlen + n + 4);
        if (m) {
            snprintf(m, mlen + n + 4, "%s (%.*s)", o->error_message, (int)n, at);
            free(o->error_message);
            o->error_message = m;
            ncsl_err_set(c->err, st, NULL, "the code does not parse (%.*s)", (int)n, at);
        }
    }
    return st;
}

/* ------------------------------------------------------------------------- call */
/* Everything a call context gets that does not depend on the call: the lazy built-ins,
 * console, storage, the platform APIs and the guards (in the call state set as the context
 * opaque). ncsl_js_runtime_prepare does this ahead of the call. 0 or -1 (exception pending). */
static int context_build(JSContext *ctx) {
    if (ncsl__js_add_eager_intrinsics(ctx) < 0) {
        return -1;
    }
    JSValue global = JS_GetGlobalObject(ctx);
    int r = ncsl__js_intrinsics_init(ctx, global) < 0 || ncsl_js_console_init(ctx, global) < 0 ||
                    ncsl_js_storage_init(ctx, global) < 0 ||
                    ncsl__js_platform_init(ctx, global) < 0 || ncsl__js_guard_init(ctx, global) < 0
                ? -1
                : 0;
    JS_FreeValue(ctx, global);
    return r;
}

/* Runs the call's event loop (jobs, completed host operations, timers) until `promise`
 * settles. Returns NCSL_OK when settled. */
static ncsl_status await_promise(js_call *c, JSValueConst promise) {
    while (JS_PromiseState(c->ctx, promise) == JS_PROMISE_PENDING) {
        if (call_must_end(c->js)) {
            return limit_failure(c);
        }
        switch (ncsl__js_loop_step_once(c->ctx, c->js->deadline_ns)) {
        case NCSL__JS_LOOP_RAN:
        case NCSL__JS_LOOP_WAITED:
            break;
        case NCSL__JS_LOOP_EXCEPTION:
            return fail_with_exception(c, c->ctx, NCSL_E_JS_EXCEPTION);
        case NCSL__JS_LOOP_IDLE: {
            const char *msg = "the promise returned by main never settled (nothing left to run)";
            ncsl_err_set(c->err, NCSL_E_JS_TIMEOUT, NULL, "%s", msg);
            return set_failure(c, NCSL_E_JS_TIMEOUT, "TimeoutError", msg, NULL);
        }
        }
    }
    return NCSL_OK;
}

/* Length in UTF-16 units of a string value, or -1 if unknown. */
static int64_t string_length(JSContext *ctx, JSValueConst str) {
    int64_t n = -1;
    JSValue lv = JS_GetPropertyStr(ctx, str, "length");
    if (JS_ToInt64(ctx, &n, lv) < 0) {
        JS_FreeValue(ctx, JS_GetException(ctx));
        n = -1;
    }
    JS_FreeValue(ctx, lv);
    return n;
}

/* Serializes `val` into out->result_json with JSON.stringify semantics. */
static ncsl_status serialize_result(js_call *c, JSValueConst val) {
    JSContext *ctx = c->ctx;
    ncsl_status st = NCSL_OK;
    JSValue str = JS_UNDEFINED;
    const char *s = NULL;
    size_t max = c->limits->max_output_bytes;
    size_t len = 0;
    bool too_large = false;

    /* a string result: its JSON is at least length + 2 bytes; refuse before copying it */
    if (JS_IsString(val) && string_length(ctx, val) >= 0 &&
        (uint64_t)string_length(ctx, val) + 2 > max) {
        too_large = true;
        goto out;
    }
    str = JS_JSONStringify(ctx, val, JS_UNDEFINED, JS_UNDEFINED);
    if (JS_IsException(str)) {
        st = fail_with_exception(c, ctx, NCSL_E_JS_BAD_RESULT);
        goto out;
    }
    if (c->js->timed_out || c->js->oom_hit || c->js->gas_exceeded) {
        st = limit_failure(c);
        goto out;
    }
    if (!JS_IsString(str)) {
        /* undefined, a function, a symbol: JSON.stringify gives undefined */
        c->out->result_json = ncsl_strdup("null");
        c->out->result_len = 4;
        goto out;
    }
    /* each UTF-16 unit is at least one UTF-8 byte: check before the UTF-8 copy */
    if (string_length(ctx, str) >= 0 && (uint64_t)string_length(ctx, str) > max) {
        too_large = true;
        goto out;
    }
    s = JS_ToCStringLen(ctx, &len, str);
    if (!s) {
        st = fail_with_exception(c, ctx, NCSL_E_JS_BAD_RESULT);
        goto out;
    }
    if (len > max) {
        too_large = true;
        goto out;
    }
    c->out->result_json = ncsl_strndup(s, len);
    if (!c->out->result_json) {
        st = ncsl_err_set(c->err, NCSL_E_NOMEM, NULL, "out of memory");
        goto out;
    }
    c->out->result_len = len;
    c->js->gas_used += ncsl__js_gas_bytes(len); /* serializing it */
out:
    if (too_large) {
        ncsl_err_set(c->err, NCSL_E_JS_OUTPUT_TOO_LARGE, NULL,
                     "the result is larger than the limit of %zu bytes", max);
        st = set_failure(c, NCSL_E_JS_OUTPUT_TOO_LARGE, "OutputTooLargeError",
                         "the serialized result is larger than the output limit", NULL);
    }
    if (s) {
        JS_FreeCString(ctx, s);
    }
    JS_FreeValue(ctx, str);
    return st;
}

static void limits_resolve(const ncsl_js_limits *in, ncsl_js_limits *l) {
    *l = *in;
    l->memory_bytes = l->memory_bytes ? l->memory_bytes : DEFAULT_MEMORY_BYTES;
    l->timeout_ms = l->timeout_ms ? l->timeout_ms : DEFAULT_TIMEOUT_MS;
    l->stack_bytes = l->stack_bytes ? l->stack_bytes : DEFAULT_STACK_BYTES;
    l->max_output_bytes = l->max_output_bytes ? l->max_output_bytes : DEFAULT_OUTPUT_BYTES;
    l->max_log_bytes = l->max_log_bytes ? l->max_log_bytes : DEFAULT_LOG_BYTES;
    l->gas_limit = l->gas_limit ? l->gas_limit : DEFAULT_GAS_LIMIT;
}

void ncsl__js_limits_resolve(const ncsl_js_limits *in, ncsl_js_limits *out) {
    limits_resolve(in, out);
}

/* The body of a call, in the fresh context c->ctx. */
static ncsl_status run_in_context(js_call *c, const ncsl_js_call *call, const uint8_t *bc,
                                  size_t bc_len) {
    JSContext *ctx = c->ctx;
    ncsl_status st = NCSL_OK;
    JSValue global = JS_UNDEFINED, input = JS_NULL, fn = JS_UNDEFINED, ret = JS_UNDEFINED;
    JSValue main_fn = JS_UNDEFINED, value = JS_UNDEFINED;
    char *input_copy = NULL;

    global = JS_GetGlobalObject(ctx);
    if (ncsl_js_secrets_init(ctx, global, call->secrets, call->secret_count) < 0) {
        st = fail_with_exception(c, ctx, NCSL_E_JS_EXCEPTION);
        goto out;
    }
    /* the input first: bad input must not run any user code */
    if (call->input_json) {
        c->js->gas_used += ncsl__js_gas_bytes(call->input_len);       /* parsing it */
        input_copy = ncsl_strndup(call->input_json, call->input_len); /* ParseJSON wants a NUL */
        if (!input_copy) {
            st = ncsl_err_set(c->err, NCSL_E_NOMEM, NULL, "out of memory");
            goto out;
        }
        input = JS_ParseJSON(ctx, input_copy, call->input_len, "input");
        if (JS_IsException(input)) {
            input = JS_NULL;
            JS_FreeValue(ctx, JS_GetException(ctx));
            if (c->js->oom_hit) {
                st = limit_failure(c);
            } else {
                st = ncsl_err_set(c->err, NCSL_E_INVALID_ARG, "input", "input is not valid JSON");
            }
            goto out;
        }
    }
    fn = JS_ReadObject(ctx, bc, bc_len, JS_READ_OBJ_BYTECODE);
    if (JS_IsException(fn)) {
        st = fail_with_exception(c, ctx, NCSL_E_JS_EXCEPTION);
        goto out;
    }
    ret = JS_EvalFunction(ctx, fn); /* takes fn */
    fn = JS_UNDEFINED;
    if (JS_IsException(ret)) {
        st = fail_with_exception(c, ctx, NCSL_E_JS_EXCEPTION);
        goto out;
    }
    JS_FreeValue(ctx, ret);
    ret = JS_UNDEFINED;

    /* `main` may be a function declaration or a lexical binding (const main = ...) */
    fn = JS_ReadObject(ctx, c->js->main_bc, c->js->main_bc_len, JS_READ_OBJ_BYTECODE);
    main_fn = JS_IsException(fn) ? JS_EXCEPTION : JS_EvalFunction(ctx, fn);
    fn = JS_UNDEFINED;
    if (JS_IsException(main_fn)) {
        main_fn = JS_UNDEFINED;
        if (c->js->timed_out || c->js->oom_hit || c->js->gas_exceeded) {
            st = fail_with_exception(c, ctx, NCSL_E_JS_EXCEPTION);
            goto out;
        }
        JS_FreeValue(ctx, JS_GetException(ctx)); /* ReferenceError: main is not defined */
    }
    if (!JS_IsFunction(ctx, main_fn)) {
        ncsl_err_set(c->err, NCSL_E_JS_NO_MAIN, NULL, "the code defines no function main");
        st = set_failure(c, NCSL_E_JS_NO_MAIN, "ReferenceError", "function main is not defined",
                         NULL);
        goto out;
    }
    ret = JS_Call(ctx, main_fn, JS_UNDEFINED, 1, (JSValueConst *)&input);
    if (JS_IsException(ret)) {
        ret = JS_UNDEFINED;
        st = fail_with_exception(c, ctx, NCSL_E_JS_EXCEPTION);
        goto out;
    }
    if (JS_IsPromise(ret)) {
        st = await_promise(c, ret);
        if (st != NCSL_OK) {
            goto out;
        }
        value = JS_PromiseResult(ctx, ret);
        if (JS_PromiseState(ctx, ret) == JS_PROMISE_REJECTED) {
            JS_Throw(ctx, value); /* takes value */
            value = JS_UNDEFINED;
            st = fail_with_exception(c, ctx, NCSL_E_JS_EXCEPTION);
            goto out;
        }
    } else {
        value = ret;
        ret = JS_UNDEFINED;
    }
    st = serialize_result(c, value);
out:
    /* a limit broken and caught by user code still decides the outcome */
    if ((c->js->timed_out || c->js->oom_hit || c->js->gas_exceeded) && st != NCSL_E_JS_TIMEOUT &&
        st != NCSL_E_JS_MEMORY && st != NCSL_E_JS_GAS && st != NCSL_E_NOMEM) {
        free(c->out->result_json);
        c->out->result_json = NULL;
        c->out->result_len = 0;
        st = limit_failure(c);
    }
    JS_FreeValue(ctx, value);
    JS_FreeValue(ctx, ret);
    JS_FreeValue(ctx, main_fn);
    JS_FreeValue(ctx, fn);
    JS_FreeValue(ctx, input);
    JS_FreeValue(ctx, global);
    ncsl__js_guard_cleanup(ctx);
    free(input_copy);
    return st;
}

/* Frees the JSRuntime and builds a new one under the same handle. */
static void runtime_recycle(ncsl_js_runtime *js) {
    runtime_teardown(js);
    js->used_bytes = 0;
    js->peak_bytes = 0;
    js->recycle_count++;
    ncsl_err e;
    if (runtime_setup(js, &e) != NCSL_OK) {
        /* the next call retries; this (already finished) call keeps its outcome */
        NCSL_LOG_WARN("js", "runtime recycle failed: %s", e.message);
    }
}

/* Arms the limits of a call on `js` (they cover compilation, the context's own allocation and
 * the call). Returns the heap size the memory limit counts from. */
static size_t arm_limits(ncsl_js_runtime *js, const ncsl_js_limits *limits) {
    size_t start_bytes = js->used_bytes;
    js->peak_bytes = js->used_bytes;
    js->oom_hit = false;
    js->timed_out = false;
    js->gas_exceeded = false;
    js->gas_used = 0;
    js->gas_limit = limits->gas_limit;
    js->interrupt_grace_bytes = 0;
    js->limit_bytes = limits->memory_bytes;
    js->call_start_bytes = start_bytes;
    JS_SetMemoryLimit(js->rt,
                      start_bytes + limits->memory_bytes + limits->memory_bytes / 8 + (64u << 10));
    js->deadline_ns = ncsl_now_ns() + (uint64_t)limits->timeout_ms * 1000000u;
    JS_UpdateStackTop(js->rt);
    JS_SetMaxStackSize(js->rt, limits->stack_bytes);
    JS_SetGCThreshold(js->rt, start_bytes + GC_HEADROOM_BYTES);
    return start_bytes;
}

/*
 * The bytecode of `code` (limits armed): a reference to the shared cache's entry in *entry, or
 * on a miss compiled in the compile context into *bc (js_malloc'd there: free with js_free) and
 * put in the cache. One path for ncsl_js_run and ncsl_js_compile, so both compile alike.
 */
static ncsl_status obtain_bytecode(js_call *c, const char *code, size_t len, ncsl__js_bc **entry,
                                   uint8_t **bc, size_t *bc_len) {
    ncsl_js_runtime *js = c->js;
    ncsl_status st = NCSL_OK;
    char *copy = NULL;
    uint8_t hash[32];

    *entry = NULL;
    *bc = NULL;
    *bc_len = 0;
    code = code ? code : "";
    bool hashed = ncsl__js_code_hash(code, len, hash) == 0;
    if (hashed) {
        *entry = ncsl__js_bc_cache_get(hash);
        if (*entry) {
            return NCSL_OK;
        }
    }
    copy = ncsl_strndup(code, len); /* JS_Eval wants a NUL */
    if (!copy) {
        return ncsl_err_set(c->err, NCSL_E_NOMEM, NULL, "out of memory");
    }
    ncsl__js_bc_cache_note_compile();
    JSValue compiled = JS_Eval(js->compile_ctx, copy, len, FILENAME,
                               JS_EVAL_TYPE_GLOBAL | JS_EVAL_FLAG_COMPILE_ONLY);
    if (JS_IsException(compiled)) {
        st = fail_syntax(c);
        goto out;
    }
    *bc = JS_WriteObject(js->compile_ctx, bc_len, compiled, JS_WRITE_OBJ_BYTECODE);
    JS_FreeValue(js->compile_ctx, compiled);
    if (!*bc) {
        *bc_len = 0;
        st = fail_with_exception(c, js->compile_ctx, NCSL_E_JS_EXCEPTION);
        goto out;
    }
    if (hashed) {
        ncsl__js_bc_cache_put(hash, *bc, *bc_len);
    }
out:
    free(copy);
    return st;
}

ncsl_status ncsl__js_runtime_compile(ncsl_js_runtime *js, const char *code, size_t len,
                                     const ncsl_js_limits *limits, ncsl_js_outcome *o, bool *cached,
                                     size_t *bc_len, ncsl_err *err) {
    static const ncsl_js_limits no_limits; /* every field 0: the defaults */
    ncsl_status st = NCSL_OK;
    ncsl_js_limits l;
    js_call c = {0};
    ncsl__js_bc *entry = NULL;
    uint8_t *bc = NULL;

    memset(o, 0, sizeof(*o));
    *cached = false;
    *bc_len = 0;
    if (!js->rt) {
        st = runtime_setup(js, err);
        if (st != NCSL_OK) {
            return st;
        }
    }
    limits_resolve(limits ? limits : &no_limits, &l);
    c.js = js;
    c.limits = &l;
    c.out = o;
    c.err = err;
    arm_limits(js, &l);
    st = obtain_bytecode(&c, code, len, &entry, &bc, bc_len);
    if (st == NCSL_OK && entry) {
        *cached = true;
        ncsl__js_bc_bytes(entry, bc_len);
    }
    /* lift the limits first: freeing must never fail or be interrupted */
    js->limit_bytes = 0;
    js->deadline_ns = 0;
    JS_SetMemoryLimit(js->rt, 0);
    if (bc) {
        js_free(js->compile_ctx, bc);
    }
    ncsl__js_bc_release(entry);
    JS_FreeValue(js->compile_ctx, JS_GetException(js->compile_ctx));
    bool broke_limit = js->timed_out || js->oom_hit || js->gas_exceeded || c.stack_hit;
    js->timed_out = false;
    js->oom_hit = false;
    js->gas_exceeded = false;
    if (broke_limit) {
        runtime_recycle(js); /* the parser may have left half-built state behind */
    }
    return st;
}

ncsl_status ncsl_js_run(ncsl_js_runtime *js, const ncsl_js_call *call, ncsl_js_outcome *out,
                        ncsl_err *err) {
    ncsl_status st = NCSL_OK;
    ncsl_js_limits limits;
    ncsl__js_call_state state;
    js_call c = {0};
    uint8_t *bc = NULL; /* freshly compiled bytecode, owned */
    size_t bc_len = 0;
    ncsl__js_bc *entry = NULL;    /* or a reference to the cache's bytecode */
    const uint8_t *run_bc = NULL; /* what the call runs: bc or the entry's */
    size_t run_bc_len = 0;
    size_t start_bytes = 0;

    if (out) {
        memset(out, 0, sizeof(*out));
    }
    ncsl_err_clear(err);
    memset(&state, 0, sizeof(state));
    ncsl_buf_init(&state.logs, 0);
    ncsl_buf_append(&state.logs, "[", 1);
    if (!js || !call || !out || (!call->code && call->code_len)) {
        st = ncsl_err_set(err, NCSL_E_INVALID_ARG, !call ? "call" : "code", "missing argument");
        js = NULL; /* touch nothing in the runtime below */
        goto out;
    }
    if (!call->input_json && call->input_len) {
        st = ncsl_err_set(err, NCSL_E_INVALID_ARG, "input", "input_len without input_json");
        js = NULL;
        goto out;
    }
    limits_resolve(&call->limits, &limits);
    state.log_max_bytes = limits.max_log_bytes;
    state.storage.hooks = call->storage;
    state.user_id = call->user_id ? call->user_id : "";
    state.function_id = call->function_id ? call->function_id : "";
    state.js = js;
    c.js = js;
    c.limits = &limits;
    c.out = out;
    c.err = err;
    if (!js->rt) {
        st = runtime_setup(js, err);
        if (st != NCSL_OK) {
            goto out;
        }
    }
    start_bytes = arm_limits(js, &limits);
    /* the shared cache's bytecode of the same source, else compiled here (and cached) */
    st = obtain_bytecode(&c, call->code, call->code_len, &entry, &bc, &bc_len);
    if (st != NCSL_OK) {
        goto out;
    }
    js->gas_used = 0; /* compiling or not (cache) must not change the call's gas */
    if (entry) {
        run_bc = ncsl__js_bc_bytes(entry, &run_bc_len);
    } else {
        run_bc = bc;
        run_bc_len = bc_len;
    }

    bool from_spare = js->spare_ctx != NULL;
    if (from_spare) {
        /* built ahead while idle: take it (and what its build set up) for this call only */
        c.ctx = js->spare_ctx;
        state.guard = js->spare_state->guard;
        state.intrinsics_built = js->spare_state->intrinsics_built;
        free(js->spare_state);
        js->spare_ctx = NULL;
        js->spare_state = NULL;
        js->spare_used++;
        JS_SetContextOpaque(c.ctx, &state);
    } else {
        c.ctx = JS_NewContextRaw(js->rt);
        if (c.ctx) {
            JS_SetContextOpaque(c.ctx, &state);
        }
    }
    if (!c.ctx || (!from_spare && context_build(c.ctx) < 0)) {
        if (js->oom_hit) {
            st = limit_failure(&c);
        } else {
            st = ncsl_err_set(err, NCSL_E_NOMEM, NULL, "cannot create a JS context");
        }
        goto out;
    }
    st = run_in_context(&c, call, run_bc, run_bc_len);

out:
    if (js && js->rt) {
        /* lift the limits first: freeing and GC must never fail or be interrupted */
        js->limit_bytes = 0;
        js->deadline_ns = 0;
        js->host_bytes = 0; /* the storage overlay is handed over or freed below */
        JS_SetMemoryLimit(js->rt, 0);
        if (bc) {
            js_free(js->compile_ctx, bc);
        }
        if (c.ctx) {
            ncsl__js_loop_destroy(c.ctx, &state); /* timers and ops hold values of the context */
            JS_FreeContext(c.ctx);
        }
        JS_FreeValue(js->compile_ctx, JS_GetException(js->compile_ctx));
        out->memory_used_bytes = js->peak_bytes > start_bytes ? js->peak_bytes - start_bytes : 0;
        out->gas_used = js->gas_used;
        bool broke_limit = js->timed_out || js->oom_hit || js->gas_exceeded || c.stack_hit;
        js->timed_out = false;
        js->oom_hit = false;
        js->gas_exceeded = false;
        /* collect once GC_AFTER_BYTES of garbage is behind (the garbage of earlier contexts is
         * unreachable from later ones either way); idle workers do it earlier (prepare) */
        if (!broke_limit && js->used_bytes > js->baseline_bytes + GC_AFTER_BYTES) {
            JS_RunGC(js->rt);
        }
        /* leftover jobs would run in the next call; a broken limit may leave half-built state */
        if (broke_limit || JS_IsJobPending(js->rt) ||
            js->used_bytes > js->baseline_bytes + RECYCLE_SLACK_BYTES) {
            runtime_recycle(js);
        }
        /* walks the arenas: only after calls that held a lot (their own cost is far higher) */
        if (out->memory_used_bytes > TRIM_AFTER_BYTES) {
            release_free_memory();
        }
    }
    ncsl__js_bc_release(entry);
    if (out) {
        out->status = st;
        out->logs_json = ncsl__js_logs_finish(&state, &out->logs_len);
        if (!out->logs_json) {
            out->logs_json = ncsl_strdup("[]");
            out->logs_len = out->logs_json ? 2 : 0;
        }
        if (!out->logs_json && st == NCSL_OK) {
            st = ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
            out->status = st;
        }
        /* only a successful call hands its storage writes over (for the caller to commit) */
        if (st == NCSL_OK) {
            st = ncsl__js_storage_take(&state.storage, &out->storage_writes,
                                       &out->storage_write_count, err);
            out->status = st;
        }
        if (st != NCSL_OK) {
            free(out->result_json);
            out->result_json = NULL;
            out->result_len = 0;
        }
    }
    ncsl__js_storage_cleanup(&state.storage);
    ncsl_buf_cleanup(&state.logs);
    return st;
}

void ncsl_js_outcome_cleanup(ncsl_js_outcome *o) {
    if (!o) {
        return;
    }
    free(o->result_json);
    free(o->logs_json);
    free(o->error_name);
    free(o->error_message);
    free(o->error_stack);
    ncsl_js_storage_writes_free(o->storage_writes, o->storage_write_count);
    memset(o, 0, sizeof(*o));
}
