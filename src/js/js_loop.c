/*
 * The call's event loop: timers (setTimeout, setInterval), queueMicrotask and the asynchronous
 * host operations of js_int.h (fetch). Everything lives inside one call: when the call ends,
 * pending timers are dropped and pending operations cancelled; nothing outlives it.
 *
 * While main's promise is pending, ncsl__js_loop_run alternates: run the queued jobs (promise
 * reactions, microtasks), settle the operations that completed, fire the timers that are due;
 * when none of that is possible it waits, without spinning, for the first of: an operation
 * completing (ncsl__js_op_complete signals the call's mailbox), the next timer, the deadline.
 * Around that wait it calls the runtime's wait hooks, so the engine can lend the CPU slot to
 * another call (exec/engine.c starts an extra worker): a call waiting for the network does not
 * hold up calls that have work to do.
 *
 * Completion may come from another thread (the fetch I/O thread) at any time, also after the call
 * ended: the op and the mailbox are reference-counted so that the completing side never touches
 * freed memory, and ops complete into the mailbox only while the call is there to settle them.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "js_int.h"

#define MAX_TIMERS 10000u /* pending timers per call */
#define MAX_OPS 10000u    /* pending host operations per call */
#define MAX_DELAY_MS 2147483647.0
#define MAX_TIMER_ARGS 64

/* Where completed ops wait for the call's thread. Shared with the completing side. */
typedef struct mailbox {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_MONOTONIC, like ncsl_now_ns */
    atomic_uint refs;
    bool closed;       /* the call ended: completions are not queued any more */
    ncsl__js_op *done; /* completed, not yet settled (LIFO; order fixed on take) */
} mailbox;

struct ncsl__js_op {
    const ncsl__js_op_type *type;
    void *data;
    atomic_uint refs; /* the call's and the completing side's */
    mailbox *mb;      /* referenced */
    /* call side only */
    JSValue resolve, reject;
    ncsl__js_op *prev, *next; /* the call's pending list */
    /* under mb->mu */
    ncsl__js_op *done_next;
    bool completed;
};

typedef struct timer {
    uint64_t id;
    uint64_t due_ns;
    uint64_t seq;         /* ties: the order they were scheduled in */
    uint64_t interval_ns; /* 0: setTimeout */
    JSValue fn;
    int argc;
    JSValue *argv;
} timer;

struct ncsl__js_loop {
    timer *timers; /* unsorted; few per call in practice, so a linear scan is cheaper than a heap */
    size_t timer_count, timer_cap;
    uint64_t next_timer_id;
    uint64_t next_seq;
    ncsl__js_op *ops; /* pending ops (started, not settled) */
    unsigned op_count;
    mailbox *mb;
};

/* ------------------------------------------------------------------------- mailbox */
static mailbox *mailbox_new(void) {
    mailbox *mb = calloc(1, sizeof(*mb));
    if (!mb) {
        return NULL;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&mb->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&mb->mu, NULL);
    atomic_init(&mb->refs, 1);
    return mb;
}

static void mailbox_unref(mailbox *mb) {
    if (mb && atomic_fetch_sub(&mb->refs, 1) == 1) {
        pthread_cond_destroy(&mb->cv);
        pthread_mutex_destroy(&mb->mu);
        free(mb);
    }
}

static void op_unref(ncsl__js_op *op) {
    if (atomic_fetch_sub(&op->refs, 1) == 1) {
        if (op->type->free_data) {
            op->type->free_data(op->data);
        }
        mailbox_unref(op->mb);
        free(op);
    }
}

/* ------------------------------------------------------------------------- loop state */
static ncsl__js_call_state *call_state(JSContext *ctx) {
    return JS_GetContextOpaque(ctx);
}

static ncsl__js_loop *loop_get(JSContext *ctx) {
    ncsl__js_call_state *st = call_state(ctx);
    if (!st) {
        JS_ThrowInternalError(ctx, "no call is running");
        return NULL;
    }
    if (!st->loop) {
        ncsl__js_loop *l = calloc(1, sizeof(*l));
        mailbox *mb = l ? mailbox_new() : NULL;
        if (!mb) {
            free(l);
            JS_ThrowOutOfMemory(ctx);
            return NULL;
        }
        l->mb = mb;
        l->next_timer_id = 1;
        st->loop = l;
    }
    return st->loop;
}

/* ------------------------------------------------------------------------- ops */
ncsl__js_op *ncsl__js_op_begin(JSContext *ctx, const ncsl__js_op_type *type, void *data,
                               JSValue *promise) {
    *promise = JS_UNDEFINED;
    ncsl__js_loop *l = loop_get(ctx);
    if (!l) {
        return NULL;
    }
    if (l->op_count >= MAX_OPS) {
        JS_ThrowRangeError(ctx, "%s: more than %u operations pending in this call", type->name,
                           MAX_OPS);
        return NULL;
    }
    ncsl__js_op *op = calloc(1, sizeof(*op));
    if (!op) {
        JS_ThrowOutOfMemory(ctx);
        return NULL;
    }
    JSValue funcs[2];
    JSValue p = JS_NewPromiseCapability(ctx, funcs);
    if (JS_IsException(p)) {
        free(op);
        return NULL;
    }
    op->type = type;
    op->data = data;
    op->resolve = funcs[0];
    op->reject = funcs[1];
    op->mb = l->mb;
    atomic_fetch_add(&l->mb->refs, 1);
    atomic_init(&op->refs, 2);
    op->next = l->ops;
    if (l->ops) {
        l->ops->prev = op;
    }
    l->ops = op;
    l->op_count++;
    *promise = p;
    return op;
}

void ncsl__js_op_complete(ncsl__js_op *op) {
    mailbox *mb = op->mb;
    pthread_mutex_lock(&mb->mu);
    op->completed = true;
    if (!mb->closed) {
        op->done_next = mb->done;
        mb->done = op;
        pthread_cond_signal(&mb->cv);
    }
    pthread_mutex_unlock(&mb->mu);
    op_unref(op); /* the completing side's reference */
}

static void op_unlink(ncsl__js_loop *l, ncsl__js_op *op) {
    if (op->prev) {
        op->prev->next = op->next;
    } else {
        l->ops = op->next;
    }
    if (op->next) {
        op->next->prev = op->prev;
    }
    op->prev = op->next = NULL;
    l->op_count--;
}

/* Settles one completed op on the call's thread. Returns 0, or -1 when the call must end (the
 * exception, uncatchable or a limit, is pending). */
static int op_settle(JSContext *ctx, ncsl__js_loop *l, ncsl__js_op *op) {
    op_unlink(l, op);
    int rc = op->type->settle(ctx, op->data, op->resolve, op->reject);
    int ret = 0;
    if (rc < 0) {
        JSValue exc = JS_GetException(ctx);
        if (JS_IsUncatchableError(exc) || ncsl__js_call_is_doomed(ctx)) {
            JS_Throw(ctx, exc);
            ret = -1;
        } else {
            JSValue r = JS_Call(ctx, op->reject, JS_UNDEFINED, 1, (JSValueConst *)&exc);
            JS_FreeValue(ctx, exc);
            if (JS_IsException(r)) {
                ret = -1;
            }
            JS_FreeValue(ctx, r);
        }
    }
    JS_FreeValue(ctx, op->resolve);
    JS_FreeValue(ctx, op->reject);
    op->resolve = op->reject = JS_UNDEFINED;
    op_unref(op); /* the call's reference */
    return ret;
}

/* Takes the completed ops out of the mailbox, oldest first. */
static ncsl__js_op *take_completed(mailbox *mb) {
    pthread_mutex_lock(&mb->mu);
    ncsl__js_op *lifo = mb->done;
    mb->done = NULL;
    pthread_mutex_unlock(&mb->mu);
    ncsl__js_op *fifo = NULL;
    while (lifo) {
        ncsl__js_op *n = lifo->done_next;
        lifo->done_next = fifo;
        fifo = lifo;
        lifo = n;
    }
    return fifo;
}

/* ------------------------------------------------------------------------- timers */
static void timer_free(JSContext *ctx, timer *t) {
    JS_FreeValue(ctx, t->fn);
    for (int i = 0; i < t->argc; i++) {
        JS_FreeValue(ctx, t->argv[i]);
    }
    js_free(ctx, t->argv);
    memset(t, 0, sizeof(*t));
}

static JSValue schedule(JSContext *ctx, int argc, JSValueConst *argv, bool repeat) {
    const char *what = repeat ? "setInterval" : "setTimeout";
    if (ncsl__js_gas_charge(ctx, NCSL__JS_GAS_TIMER) < 0) {
        return JS_EXCEPTION;
    }
    if (argc < 1 || !JS_IsFunction(ctx, argv[0])) {
        return JS_ThrowTypeError(ctx,
                                 "%s: argument 1 must be a function (code strings are not "
                                 "supported)",
                                 what);
    }
    double delay = 0;
    if (argc >= 2 && JS_ToFloat64(ctx, &delay, argv[1]) < 0) {
        return JS_EXCEPTION;
    }
    if (!(delay >= 0)) { /* NaN too */
        delay = 0;
    }
    if (delay > MAX_DELAY_MS) {
        delay = MAX_DELAY_MS;
    }
    int extra = argc > 2 ? argc - 2 : 0;
    if (extra > MAX_TIMER_ARGS) {
        return JS_ThrowRangeError(ctx, "%s: at most %d arguments for the callback", what,
                                  MAX_TIMER_ARGS);
    }
    ncsl__js_loop *l = loop_get(ctx);
    if (!l) {
        return JS_EXCEPTION;
    }
    if (l->timer_count >= MAX_TIMERS) {
        return JS_ThrowRangeError(ctx, "%s: more than %u timers pending in this call", what,
                                  MAX_TIMERS);
    }
    if (l->timer_count == l->timer_cap) {
        size_t cap = l->timer_cap ? l->timer_cap * 2 : 8;
        timer *n = js_realloc(ctx, l->timers, cap * sizeof(*n));
        if (!n) {
            return JS_EXCEPTION;
        }
        l->timers = n;
        l->timer_cap = cap;
    }
    timer t = {0};
    if (extra) {
        t.argv = js_mallocz(ctx, (size_t)extra * sizeof(JSValue));
        if (!t.argv) {
            return JS_EXCEPTION;
        }
        for (int i = 0; i < extra; i++) {
            t.argv[i] = JS_DupValue(ctx, argv[2 + i]);
        }
        t.argc = extra;
    }
    uint64_t delay_ns = (uint64_t)(delay * 1e6);
    t.id = l->next_timer_id++;
    t.seq = l->next_seq++;
    t.due_ns = ncsl_now_ns() + delay_ns;
    t.interval_ns = repeat ? (delay_ns ? delay_ns : 1000000u) : 0; /* intervals: at least 1 ms */
    t.fn = JS_DupValue(ctx, argv[0]);
    l->timers[l->timer_count++] = t;
    return JS_NewInt64(ctx, (int64_t)t.id);
}

static JSValue js_set_timeout(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    (void)this_val;
    return schedule(ctx, argc, argv, false);
}

static JSValue js_set_interval(JSContext *ctx, JSValueConst this_val, int argc,
                               JSValueConst *argv) {
    (void)this_val;
    return schedule(ctx, argc, argv, true);
}

/* clearTimeout and clearInterval (interchangeable, as in browsers); unknown ids are ignored. */
static JSValue js_clear_timer(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    (void)this_val;
    if (ncsl__js_gas_charge(ctx, NCSL__JS_GAS_HOST_CALL) < 0) {
        return JS_EXCEPTION;
    }
    ncsl__js_call_state *st = call_state(ctx);
    if (argc < 1 || !st || !st->loop || !JS_IsNumber(argv[0])) {
        return JS_UNDEFINED;
    }
    double d;
    if (JS_ToFloat64(ctx, &d, argv[0]) < 0) {
        return JS_EXCEPTION;
    }
    ncsl__js_loop *l = st->loop;
    for (size_t i = 0; i < l->timer_count; i++) {
        if ((double)l->timers[i].id == d) {
            timer_free(ctx, &l->timers[i]);
            l->timers[i] = l->timers[--l->timer_count];
            break;
        }
    }
    return JS_UNDEFINED;
}

static JSValue microtask_job(JSContext *ctx, int argc, JSValueConst *argv) {
    (void)argc;
    return JS_Call(ctx, argv[0], JS_UNDEFINED, 0, NULL);
}

static JSValue js_queue_microtask(JSContext *ctx, JSValueConst this_val, int argc,
                                  JSValueConst *argv) {
    (void)this_val;
    if (ncsl__js_gas_charge(ctx, NCSL__JS_GAS_TIMER) < 0) {
        return JS_EXCEPTION;
    }
    if (argc < 1 || !JS_IsFunction(ctx, argv[0])) {
        return JS_ThrowTypeError(ctx, "queueMicrotask: argument 1 must be a function");
    }
    if (JS_EnqueueJob(ctx, microtask_job, 1, argv) < 0) {
        return JS_EXCEPTION;
    }
    return JS_UNDEFINED;
}

/* The index of the timer to fire next (earliest due, then earliest scheduled), or -1. */
static long next_timer(const ncsl__js_loop *l) {
    long best = -1;
    for (size_t i = 0; i < l->timer_count; i++) {
        const timer *t = &l->timers[i];
        if (best < 0 || t->due_ns < l->timers[best].due_ns ||
            (t->due_ns == l->timers[best].due_ns && t->seq < l->timers[best].seq)) {
            best = (long)i;
        }
    }
    return best;
}

/* Fires timer `i`. Returns 0, or -1 with the callback's exception pending. */
static int fire_timer(JSContext *ctx, ncsl__js_loop *l, size_t i) {
    timer t = l->timers[i];
    JSValue fn = JS_DupValue(ctx, t.fn);
    int argc = t.argc;
    JSValue *argv = NULL;
    if (argc) {
        argv = js_malloc(ctx, (size_t)argc * sizeof(JSValue));
        if (!argv) {
            JS_FreeValue(ctx, fn);
            return -1;
        }
        for (int k = 0; k < argc; k++) {
            argv[k] = JS_DupValue(ctx, t.argv[k]);
        }
    }
    if (t.interval_ns) {
        l->timers[i].due_ns = ncsl_now_ns() + t.interval_ns;
        l->timers[i].seq = l->next_seq++;
    } else {
        timer_free(ctx, &l->timers[i]);
        l->timers[i] = l->timers[--l->timer_count];
    }
    /* the callback may clear or add timers: nothing above is used after the call */
    JSValue r = JS_Call(ctx, fn, JS_UNDEFINED, argc, (JSValueConst *)argv);
    JS_FreeValue(ctx, fn);
    for (int k = 0; k < argc; k++) {
        JS_FreeValue(ctx, argv[k]);
    }
    js_free(ctx, argv);
    if (JS_IsException(r)) {
        return -1;
    }
    JS_FreeValue(ctx, r);
    return 0;
}

/* ------------------------------------------------------------------------- the loop */
/* QuickJS makes each function on first use (function-list properties are lazy) */
static const JSCFunctionListEntry g_loop_funcs[] = {
    JS_CFUNC_DEF("setTimeout", 2, js_set_timeout),
    JS_CFUNC_DEF("clearTimeout", 1, js_clear_timer),
    JS_CFUNC_DEF("setInterval", 2, js_set_interval),
    JS_CFUNC_DEF("clearInterval", 1, js_clear_timer),
};

int ncsl__js_loop_init(JSContext *ctx, JSValue global) {
    if (JS_SetPropertyFunctionList(ctx, global, g_loop_funcs, (int)NCSL_ARRAY_LEN(g_loop_funcs)) <
        0) {
        return -1;
    }
    /* replaces QuickJS's own (whose jobs would run outside the call's loop); a function list
     * cannot replace a property that exists */
    JSValue f = JS_NewCFunction(ctx, js_queue_microtask, "queueMicrotask", 1);
    if (JS_IsException(f)) {
        return -1;
    }
    return JS_DefinePropertyValueStr(ctx, global, "queueMicrotask", f,
                                     JS_PROP_WRITABLE | JS_PROP_CONFIGURABLE) < 0
               ? -1
               : 0;
}

static void wait_for_events(ncsl_js_runtime *js, mailbox *mb, uint64_t until_ns) {
    struct timespec ts = {
        .tv_sec = (time_t)(until_ns / 1000000000u),
        .tv_nsec = (long)(until_ns % 1000000000u),
    };
    ncsl__js_loop_wait_hooks_call(js, true);
    pthread_mutex_lock(&mb->mu);
    while (!mb->done && ncsl_now_ns() < until_ns) {
        if (pthread_cond_timedwait(&mb->cv, &mb->mu, &ts) == ETIMEDOUT) {
            break;
        }
    }
    pthread_mutex_unlock(&mb->mu);
    ncsl__js_loop_wait_hooks_call(js, false);
}

ncsl__js_loop_step ncsl__js_loop_step_once(JSContext *ctx, uint64_t deadline_ns) {
    ncsl__js_call_state *st = call_state(ctx);
    JSRuntime *rt = JS_GetRuntime(ctx);
    if (JS_IsJobPending(rt)) {
        JSContext *jctx = NULL;
        return JS_ExecutePendingJob(rt, &jctx) < 0 ? NCSL__JS_LOOP_EXCEPTION : NCSL__JS_LOOP_RAN;
    }
    ncsl__js_loop *l = st ? st->loop : NULL;
    if (!l || (!l->ops && !l->timer_count)) {
        return NCSL__JS_LOOP_IDLE;
    }
    if (l->ops) {
        ncsl__js_op *done = take_completed(l->mb);
        if (done) {
            int rc = 0;
            while (done) {
                ncsl__js_op *n = done->done_next;
                done->done_next = NULL;
                if (rc == 0) {
                    rc = op_settle(ctx, l, done);
                } else {
                    /* the call is ending: the rest stay pending and are dropped with the loop */
                    pthread_mutex_lock(&l->mb->mu);
                    done->done_next = l->mb->done;
                    l->mb->done = done;
                    pthread_mutex_unlock(&l->mb->mu);
                }
                done = n;
            }
            return rc < 0 ? NCSL__JS_LOOP_EXCEPTION : NCSL__JS_LOOP_RAN;
        }
    }
    long i = next_timer(l);
    uint64_t now = ncsl_now_ns();
    if (i >= 0 && l->timers[i].due_ns <= now) {
        return fire_timer(ctx, l, (size_t)i) < 0 ? NCSL__JS_LOOP_EXCEPTION : NCSL__JS_LOOP_RAN;
    }
    uint64_t until = deadline_ns ? deadline_ns : UINT64_MAX;
    if (i >= 0 && l->timers[i].due_ns < until) {
        until = l->timers[i].due_ns;
    }
    if (!l->ops && until == UINT64_MAX) {
        return NCSL__JS_LOOP_IDLE; /* cannot happen with a deadline; be safe without one */
    }
    wait_for_events(st->js, l->mb, until);
    return NCSL__JS_LOOP_WAITED;
}

void ncsl__js_loop_destroy(JSContext *ctx, ncsl__js_call_state *st) {
    ncsl__js_loop *l = st->loop;
    if (!l) {
        return;
    }
    st->loop = NULL;
    pthread_mutex_lock(&l->mb->mu);
    l->mb->closed = true;
    l->mb->done = NULL; /* those ops are still on l->ops with the call's reference */
    pthread_mutex_unlock(&l->mb->mu);
    while (l->ops) {
        ncsl__js_op *op = l->ops;
        op_unlink(l, op);
        pthread_mutex_lock(&op->mb->mu);
        bool completed = op->completed;
        pthread_mutex_unlock(&op->mb->mu);
        if (!completed && op->type->cancel) {
            op->type->cancel(op->data);
        }
        JS_FreeValue(ctx, op->resolve);
        JS_FreeValue(ctx, op->reject);
        op_unref(op);
    }
    for (size_t i = 0; i < l->timer_count; i++) {
        timer_free(ctx, &l->timers[i]);
    }
    js_free(ctx, l->timers);
    mailbox_unref(l->mb);
    free(l);
}
