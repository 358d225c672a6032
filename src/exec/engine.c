/*
 * Execution engine: a bounded FIFO queue in front of a pool of worker threads.
 *
 * Each worker owns one ncsl_js_runtime (and so one JSRuntime) for its whole life; calls never
 * share a JSContext. A submitted request is copied into a job (secret values into buffers that
 * are wiped on free), so the caller's memory is free to go as soon as submit returns. When the
 * queue holds `queue_size` waiting jobs, submit answers NCSL_E_BUSY instead of growing: memory
 * stays bounded whatever the load.
 *
 * The pool starts with `workers` threads (one per CPU by default). A call that waits for its
 * asynchronous work (fetch, timers) tells the engine through the runtime's wait hook; while it
 * waits it does not count against `workers`, and when calls are queued with no idle worker the
 * engine starts another worker, up to `max_workers` in all. So calls waiting for the network do
 * not hold up calls that have work to do, and CPU-bound work still runs on about `workers`
 * threads. Workers started this way stay for the engine's life (bounded by max_workers).
 *
 * Shutdown (ncsl_engine_destroy) refuses new jobs, lets the workers drain what is queued, then
 * joins them.
 *
 * Process isolation (opts.isolation, proc.c): each worker thread supervises one worker process
 * instead of owning a runtime, and runs its jobs there. The queue, the limits, the storage
 * commit and the callbacks stay here, unchanged. A worker that fails during a call (it died,
 * broke the protocol, or gave no answer within a hard bound above the call's timeout) costs that
 * call, answered NCSL_E_INTERNAL; its thread reaps it and starts a replacement before taking the
 * next job. No workers are added for waiting calls in this mode (a worker process blocks while
 * its call waits): `workers` processes run, `max_workers` is `workers`.
 */
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "exec/exec_int.h"

#define DEFAULT_MAX_WORKERS 64u
/* Process isolation: how long past its timeout a call may take before its worker is deemed
 * hung (the worker enforces the timeout itself; this catches a worker that cannot). */
#ifdef NCSL_SANITIZE
#define PROC_HARD_GRACE_MS 15000u
#else
#define PROC_HARD_GRACE_MS 5000u
#endif
#define PROC_RESPAWN_MAX_MS 5000u /* back-off between failed starts of a replacement */

typedef struct job {
    struct job *next;
    char *code;
    size_t code_len;
    char *input;
    size_t input_len;
    ncsl_secret *secrets; /* names and values owned; values wiped on free */
    size_t secret_count;
    char *function_id;
    char *user_id;
    ncsl_js_limits limits;
    const ncsl_storage_hooks *storage; /* borrowed: the submitter keeps it alive (ncsl.h) */
    ncsl_exec_done_fn done;
    void *user;
} job;

struct ncsl_engine {
    ncsl_engine_options opts;
    pthread_mutex_t mu;
    pthread_cond_t work_cv;  /* a job was queued, or stopping */
    pthread_cond_t ready_cv; /* a worker finished starting */
    job *head;
    job *tail;
    unsigned queued;
    unsigned busy;
    unsigned idle;    /* workers waiting for a job */
    unsigned waiting; /* busy workers whose call waits for asynchronous work */
    unsigned max_workers;
    pthread_attr_t attr; /* for workers started later */
    bool attr_ok;
    unsigned started; /* workers that finished start-up (successfully or not) */
    unsigned failed;  /* workers whose runtime could not be created */
    bool stopping;
    uint64_t completed;
    uint64_t rejected_busy;
    uint64_t workers_added; /* started because calls were waiting */
    pthread_t *threads;     /* max_workers slots */
    unsigned thread_count;  /* threads actually created */
    /* process isolation */
    bool procs;
    char *worker_exe;         /* the program spawned as a worker */
    size_t proc_max_payload;  /* the largest frame a worker may send */
    unsigned live;            /* worker processes running now */
    uint64_t worker_restarts; /* replacements started */
    uint64_t worker_failures; /* workers lost during a call (each cost that call) */
};

void ncsl_engine_options_default(ncsl_engine_options *o) {
    memset(o, 0, sizeof(*o));
    o->workers = 0;
    o->queue_size = 256;
    o->memory_limit_bytes = (size_t)512 << 20;
    o->timeout_ms = 5000;
    o->stack_size_bytes = (size_t)1 << 20;
    o->max_output_bytes = (size_t)1 << 20;
    o->max_log_bytes = (size_t)64 << 10;
    o->max_code_bytes = (size_t)1 << 20;
    o->max_input_bytes = (size_t)1 << 20;
    o->gas_limit = NCSL_JS_DEFAULT_GAS_LIMIT;
}

static void job_free(job *j) {
    if (!j) {
        return;
    }
    free(j->code);
    ncsl_wipe(j->input, j->input_len); /* inputs are the caller's data: wipe like secrets */
    free(j->input);
    ncsl_secrets_free(j->secrets, j->secret_count);
    free(j->function_id);
    free(j->user_id);
    free(j);
}

static ncsl_status options_check(const ncsl_engine_options *o, ncsl_err *err) {
    if (o->memory_limit_bytes < ((size_t)1 << 20)) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "memory_limit_bytes",
                            "the JS memory limit must be at least 1 MiB");
    }
    if (o->timeout_ms == 0) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "timeout_ms",
                            "the call deadline must be at least 1 ms");
    }
    if (o->stack_size_bytes < ((size_t)64 << 10) || o->stack_size_bytes > ((size_t)64 << 20)) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "stack_size_bytes",
                            "the JS stack limit must be between 64 KiB and 64 MiB");
    }
    if (o->max_output_bytes == 0 || o->max_log_bytes == 0 || o->max_code_bytes == 0 ||
        o->max_input_bytes == 0) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "limits",
                            "output, log, code and input limits must be positive");
    }
    if (o->isolation != NCSL_ISOLATION_THREAD && o->isolation != NCSL_ISOLATION_PROCESS) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "isolation",
                            "isolation must be NCSL_ISOLATION_THREAD or NCSL_ISOLATION_PROCESS");
    }
    if (o->workers > 1024 || o->max_workers > 1024) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, o->workers > 1024 ? "workers" : "max_workers",
                            "at most 1024 workers");
    }
    return NCSL_OK;
}

/* Counts the job as finished, then hands its outcome to the callback (so a caller woken by the
 * callback already sees it in the stats). */
static void finish_job(ncsl_engine *e, job *j, ncsl_status st, ncsl_result *res,
                       const ncsl_err *err) {
    pthread_mutex_lock(&e->mu);
    e->busy--;
    e->completed++;
    pthread_mutex_unlock(&e->mu);
    j->done(j->user, st, res, err);
}

/*
 * Commits the storage writes of a successful call (takes them out of the outcome), once. When
 * the commit fails (quota raced by a concurrent call, a store error) the call fails with the
 * commit's status and message: logs stay, the result goes.
 */
static ncsl_status commit_storage(const job *j, ncsl_result *res, ncsl_err *err) {
    ncsl_js_outcome *o = &res->outcome;
    ncsl_err cerr;
    ncsl_err_clear(&cerr);
    ncsl_status st =
        j->storage->commit(j->storage->user, o->storage_writes, o->storage_write_count, &cerr);
    ncsl_js_storage_writes_free(o->storage_writes, o->storage_write_count);
    o->storage_writes = NULL;
    o->storage_write_count = 0;
    if (st == NCSL_OK) {
        return NCSL_OK;
    }
    cerr.message[sizeof(cerr.message) - 1] = '\0';
    const char *msg = cerr.message[0] ? cerr.message : ncsl_status_str(st);
    ncsl_err_set(err, st, cerr.field[0] ? cerr.field : NULL, "%s", msg);
    free(o->result_json);
    o->result_json = NULL;
    o->result_len = 0;
    free(o->error_name);
    free(o->error_message);
    free(o->error_stack);
    o->error_name = ncsl_strdup(st == NCSL_E_STORE_QUOTA ? "QuotaExceededError" : "StorageError");
    o->error_message = ncsl_strdup(msg);
    o->error_stack = NULL;
    o->status = st;
    return st;
}

/* What a worker thread runs calls on: its own runtime, or its worker process. */
typedef struct runner {
    ncsl_js_runtime *rt;
    ncsl__proc_worker *proc;
    unsigned index;
} runner;

/* Process isolation: the hard bound of one call in its worker. */
static uint64_t proc_hard_ms(const job *j) {
    return (uint64_t)j->limits.timeout_ms + j->limits.timeout_ms / 2 + PROC_HARD_GRACE_MS;
}

/* Runs the call in the worker process. false: the worker failed; the call was answered
 * NCSL_E_INTERNAL and the caller must stop the worker. */
static bool run_in_process(ncsl_engine *e, runner *w, job *j, const ncsl_js_call *call,
                           ncsl_result *res, ncsl_status *st, ncsl_err *err) {
    ncsl_err werr;
    ncsl_err_clear(&werr);
    ncsl_status ws =
        ncsl__proc_worker_run(w->proc, call, proc_hard_ms(j), st, &res->outcome, err, &werr);
    if (ws == NCSL_OK) {
        return true;
    }
    NCSL_LOG_WARN("exec", "worker process %u (pid %ld) failed during a call: %s", w->index,
                  (long)ncsl__proc_worker_pid(w->proc), werr.message);
    ncsl_result_destroy(res);
    pthread_mutex_lock(&e->mu);
    e->live--;
    e->worker_failures++;
    pthread_mutex_unlock(&e->mu);
    ncsl_err_set(err, NCSL_E_INTERNAL, NULL,
                 "the worker process running the call failed; the call did not complete");
    finish_job(e, j, NCSL_E_INTERNAL, NULL, err);
    return false;
}

/* Runs one job on this worker's runtime (or process) and hands the result to the job's
 * callback. false: the worker process failed (see run_in_process). */
static bool run_job(ncsl_engine *e, runner *w, job *j) {
    ncsl_err err;
    ncsl_err_clear(&err);
    ncsl_result *res = calloc(1, sizeof(*res));
    if (!res) {
        ncsl_err_set(&err, NCSL_E_NOMEM, NULL, "out of memory for the result");
        finish_job(e, j, NCSL_E_NOMEM, NULL, &err);
        return true;
    }
    if (ncsl_uuid_v4(res->execution_id) != NCSL_OK) {
        free(res);
        ncsl_err_set(&err, NCSL_E_INTERNAL, NULL, "the random source failed");
        finish_job(e, j, NCSL_E_INTERNAL, NULL, &err);
        return true;
    }
    ncsl_js_call call = {
        .code = j->code,
        .code_len = j->code_len,
        .input_json = j->input,
        .input_len = j->input_len,
        .secrets = j->secrets,
        .secret_count = j->secret_count,
        .limits = j->limits,
        .storage = j->storage,
        .user_id = j->user_id,
        .function_id = j->function_id,
    };
    uint64_t t0 = ncsl_now_ns();
    ncsl_status st = NCSL_OK;
    if (w->proc) {
        if (!run_in_process(e, w, j, &call, res, &st, &err)) {
            return false;
        }
    } else {
        st = ncsl_js_run(w->rt, &call, &res->outcome, &err);
    }
    /* only a call that succeeded has writes; a failed one never reaches the store */
    bool committed = false;
    if (st == NCSL_OK && res->outcome.storage_write_count && j->storage) {
        st = commit_storage(j, res, &err);
        committed = true;
    }
    res->execution_time_ns = ncsl_now_ns() - t0;
    res->status = st;
    if (st == NCSL_OK || ncsl__status_is_js_failure(st) || committed) {
        finish_job(e, j, st, res, &err);
    } else {
        ncsl_result_destroy(res);
        finish_job(e, j, st, NULL, &err);
    }
    return true;
}

typedef struct worker_arg {
    ncsl_engine *engine;
    unsigned index;
} worker_arg;

static void *worker_main(void *arg);
static void *proc_worker_main(void *arg);

/* Starts worker number e->thread_count. Called with e->mu held. */
static ncsl_status start_worker(ncsl_engine *e, ncsl_err *err) {
    worker_arg *wa = malloc(sizeof(*wa));
    if (!wa) {
        return ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
    }
    wa->engine = e;
    wa->index = e->thread_count;
    if (pthread_create(&e->threads[e->thread_count], &e->attr,
                       e->procs ? proc_worker_main : worker_main, wa) != 0) {
        free(wa);
        return ncsl_err_set(err, NCSL_E_INTERNAL, "workers", "cannot start worker thread %u",
                            e->thread_count);
    }
    e->thread_count++;
    return NCSL_OK;
}

/* Starts one more worker when calls are queued, no worker is idle and fewer than `workers`
 * workers are able to run one (the others wait for asynchronous work; a worker between two jobs
 * counts as able). Called with e->mu held. */
static void maybe_add_worker(ncsl_engine *e) {
    unsigned able = e->thread_count - e->failed - e->idle - e->waiting;
    if (e->stopping || !e->queued || e->idle || e->thread_count >= e->max_workers ||
        able >= e->opts.workers) {
        return;
    }
    ncsl_err err;
    if (start_worker(e, &err) == NCSL_OK) {
        e->workers_added++;
        NCSL_LOG_DEBUG("exec", "worker %u started: %u calls wait for asynchronous work",
                       e->thread_count - 1, e->waiting);
    } else {
        NCSL_LOG_WARN("exec", "cannot add a worker: %s", err.message);
    }
}

/* The runtime's wait hook (ncsl_js_runtime_set_wait_hooks). */
static void worker_wait_hook(void *user, bool begin) {
    ncsl_engine *e = user;
    pthread_mutex_lock(&e->mu);
    if (begin) {
        e->waiting++;
        maybe_add_worker(e);
    } else {
        e->waiting--;
    }
    pthread_mutex_unlock(&e->mu);
}

/* Waits for the next job and counts it as running; NULL when the engine stops and the queue is
 * drained. */
static job *take_job(ncsl_engine *e) {
    pthread_mutex_lock(&e->mu);
    while (!e->head && !e->stopping) {
        e->idle++;
        pthread_cond_wait(&e->work_cv, &e->mu);
        e->idle--;
    }
    job *j = e->head;
    if (j) {
        e->head = j->next;
        if (!e->head) {
            e->tail = NULL;
        }
        e->queued--;
        e->busy++;
    }
    pthread_mutex_unlock(&e->mu);
    return j;
}

static void *worker_main(void *arg) {
    ncsl_engine *e = ((worker_arg *)arg)->engine;
    unsigned index = ((worker_arg *)arg)->index;
    free(arg);

    ncsl_js_runtime *rt = NULL;
    ncsl_err err;
    ncsl_status st = ncsl_js_runtime_create(&rt, &err);
    pthread_mutex_lock(&e->mu);
    e->started++;
    if (st != NCSL_OK) {
        e->failed++;
    }
    pthread_cond_broadcast(&e->ready_cv);
    pthread_mutex_unlock(&e->mu);
    if (st != NCSL_OK) {
        NCSL_LOG_ERROR("exec", "worker %u: cannot create a JS runtime: %s", index, err.message);
        return NULL;
    }
    ncsl_js_runtime_set_wait_hooks(rt, worker_wait_hook, e);

    runner w = {.rt = rt, .index = index};
    job *j = NULL;
    ncsl_js_runtime_prepare(rt);
    while ((j = take_job(e)) != NULL) {
        run_job(e, &w, j);
        job_free(j);
        /* idle: build the next call's context now, not when it arrives */
        pthread_mutex_lock(&e->mu);
        bool idle = !e->head;
        pthread_mutex_unlock(&e->mu);
        if (idle) {
            ncsl_js_runtime_prepare(rt);
        }
    }
    ncsl_js_runtime_destroy(rt);
    return NULL;
}

/* Sleeps up to `ms` or until the engine stops. Returns whether it stops. */
static bool wait_unless_stopping(ncsl_engine *e, unsigned ms) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000u;
    ts.tv_nsec += (long)(ms % 1000u) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&e->mu);
    if (!e->stopping) {
        pthread_cond_timedwait(&e->work_cv, &e->mu, &ts);
    }
    bool stopping = e->stopping;
    pthread_mutex_unlock(&e->mu);
    return stopping;
}

/* Process isolation: supervises one worker process (see the file comment). */
static void *proc_worker_main(void *arg) {
    ncsl_engine *e = ((worker_arg *)arg)->engine;
    unsigned index = ((worker_arg *)arg)->index;
    free(arg);

    runner w = {.index = index};
    ncsl_err err;
    ncsl_status st = ncsl__proc_worker_start(e->worker_exe, e->opts.stack_size_bytes,
                                             e->proc_max_payload, index, &w.proc, &err);
    pthread_mutex_lock(&e->mu);
    e->started++;
    if (st != NCSL_OK) {
        e->failed++;
    } else {
        e->live++;
    }
    pthread_cond_broadcast(&e->ready_cv);
    pthread_mutex_unlock(&e->mu);
    if (st != NCSL_OK) {
        NCSL_LOG_ERROR("exec", "%s", err.message);
        return NULL;
    }

    unsigned backoff = 100;
    for (;;) {
        if (!w.proc) {
            st = ncsl__proc_worker_start(e->worker_exe, e->opts.stack_size_bytes,
                                         e->proc_max_payload, index, &w.proc, &err);
            if (st != NCSL_OK) {
                NCSL_LOG_ERROR("exec", "cannot replace worker process %u (retry in %u ms): %s",
                               index, backoff, err.message);
                if (wait_unless_stopping(e, backoff)) {
                    break; /* the other workers drain the queue; destroy answers the rest */
                }
                backoff = backoff * 2 > PROC_RESPAWN_MAX_MS ? PROC_RESPAWN_MAX_MS : backoff * 2;
                continue;
            }
            backoff = 100;
            pthread_mutex_lock(&e->mu);
            e->live++;
            e->worker_restarts++;
            pthread_mutex_unlock(&e->mu);
            NCSL_LOG_INFO("exec", "worker process %u replaced (pid %ld)", index,
                          (long)ncsl__proc_worker_pid(w.proc));
        }
        job *j = take_job(e);
        if (!j) {
            break;
        }
        bool ok = run_job(e, &w, j);
        job_free(j);
        if (!ok) {
            ncsl__proc_worker_stop(w.proc, true, index);
            w.proc = NULL;
        }
    }
    if (w.proc) {
        ncsl__proc_worker_stop(w.proc, false, index);
        pthread_mutex_lock(&e->mu);
        e->live--;
        pthread_mutex_unlock(&e->mu);
    }
    return NULL;
}

/* Worker threads get a C stack well above the JS stack limit: QuickJS checks the JS limit
 * against the real stack pointer, and host code (JSON, regexp) needs room beyond it. */
static size_t worker_thread_stack(const ncsl_engine_options *o) {
    size_t s = o->stack_size_bytes * 2 + ((size_t)4 << 20);
#ifdef NCSL_SANITIZE
    s *= 2; /* ASan frames are much larger */
#endif
    return s < ((size_t)8 << 20) ? ((size_t)8 << 20) : s;
}

/* Process isolation: the program to spawn and the largest frame a worker may send (a result,
 * its logs and its storage writes, all bounded by the call's limits; the heap bounds the writes).
 */
static ncsl_status proc_setup(ncsl_engine *e, const char *exe, ncsl_err *err) {
    if (exe && *exe) {
        e->worker_exe = ncsl_strdup(exe);
    } else {
        char path[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
        if (n <= 0 || (size_t)n >= sizeof(path) - 1) {
            return ncsl_err_set(err, NCSL_E_IO, "worker_executable",
                                "cannot find this program (/proc/self/exe) to start workers");
        }
        path[n] = '\0';
        e->worker_exe = ncsl_strdup(path);
    }
    if (!e->worker_exe) {
        return ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
    }
    const ncsl_engine_options *o = &e->opts;
    uint64_t max = (uint64_t)o->memory_limit_bytes * 2 + o->max_output_bytes +
                   (uint64_t)o->max_log_bytes * 8 + ((uint64_t)16 << 20);
    e->proc_max_payload = max > UINT32_MAX ? UINT32_MAX : (size_t)max;
    return NCSL_OK;
}

ncsl_status ncsl_engine_create(const ncsl_engine_options *opts, ncsl_engine **out, ncsl_err *err) {
    ncsl_status st = NCSL_OK;
    ncsl_engine *e = NULL;

    if (!out) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "out", "out must not be NULL");
    }
    *out = NULL;
    ncsl_json_use_wiping_allocator();
    e = calloc(1, sizeof(*e));
    if (!e) {
        return ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
    }
    if (opts) {
        e->opts = *opts;
    } else {
        ncsl_engine_options_default(&e->opts);
    }
    st = options_check(&e->opts, err);
    if (st != NCSL_OK) {
        free(e);
        return st;
    }
    if (e->opts.workers == 0) {
        e->opts.workers = ncsl_cpu_count();
    }
    if (e->opts.gas_limit == 0) {
        e->opts.gas_limit = NCSL_JS_DEFAULT_GAS_LIMIT;
    }
    e->max_workers = e->opts.max_workers ? e->opts.max_workers : DEFAULT_MAX_WORKERS;
    if (e->max_workers < e->opts.workers) {
        e->max_workers = e->opts.workers;
    }
    pthread_mutex_init(&e->mu, NULL);
    pthread_cond_init(&e->work_cv, NULL);
    pthread_cond_init(&e->ready_cv, NULL);
    e->procs = e->opts.isolation == NCSL_ISOLATION_PROCESS;
    e->opts.worker_executable = NULL; /* borrowed by the caller: e->worker_exe is our copy */
    if (e->procs) {
        e->max_workers = e->opts.workers;
        st = proc_setup(e, opts ? opts->worker_executable : NULL, err);
        if (st != NCSL_OK) {
            goto out;
        }
    }
    e->threads = calloc(e->max_workers, sizeof(*e->threads));
    if (!e->threads) {
        st = ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
        goto out;
    }
    if (pthread_attr_init(&e->attr) != 0) {
        st = ncsl_err_set(err, NCSL_E_INTERNAL, NULL, "pthread_attr_init failed");
        goto out;
    }
    e->attr_ok = true;
    pthread_attr_setstacksize(&e->attr, worker_thread_stack(&e->opts));
    pthread_mutex_lock(&e->mu);
    for (unsigned i = 0; i < e->opts.workers && st == NCSL_OK; i++) {
        st = start_worker(e, err);
    }
    pthread_mutex_unlock(&e->mu);
    if (st != NCSL_OK) {
        goto out;
    }
    /* Wait until every worker has its runtime, so the first call pays no start-up cost. */
    pthread_mutex_lock(&e->mu);
    while (e->started < e->thread_count) {
        pthread_cond_wait(&e->ready_cv, &e->mu);
    }
    unsigned failed = e->failed;
    pthread_mutex_unlock(&e->mu);
    if (failed) {
        st =
            ncsl_err_set(err, NCSL_E_INTERNAL, NULL,
                         "%u of %u workers could not create a JS runtime", failed, e->thread_count);
        goto out;
    }
    NCSL_LOG_DEBUG("exec", "engine started: %u worker %s, queue %u", e->thread_count,
                   e->procs ? "processes" : "threads", e->opts.queue_size);

out:
    if (st != NCSL_OK) {
        ncsl_engine_destroy(e);
        return st;
    }
    *out = e;
    return NCSL_OK;
}

void ncsl_engine_destroy(ncsl_engine *e) {
    if (!e) {
        return;
    }
    pthread_mutex_lock(&e->mu);
    e->stopping = true; /* no worker is added from now on: thread_count is final */
    pthread_cond_broadcast(&e->work_cv);
    unsigned count = e->thread_count;
    pthread_mutex_unlock(&e->mu);
    for (unsigned i = 0; i < count; i++) {
        pthread_join(e->threads[i], NULL);
    }
    if (e->attr_ok) {
        pthread_attr_destroy(&e->attr);
    }
    /* Jobs left only if every worker failed to start: answer them, never drop them silently. */
    while (e->head) {
        job *j = e->head;
        e->head = j->next;
        ncsl_err err;
        ncsl_err_set(&err, NCSL_E_SHUTDOWN, NULL, "the engine stopped before the call ran");
        j->done(j->user, NCSL_E_SHUTDOWN, NULL, &err);
        job_free(j);
    }
    free(e->threads);
    free(e->worker_exe);
    pthread_cond_destroy(&e->ready_cv);
    pthread_cond_destroy(&e->work_cv);
    pthread_mutex_destroy(&e->mu);
    free(e);
}

/* Copies a request into a job, applying the engine's defaults and ceilings. */
static ncsl_status job_from_request(const ncsl_engine *e, const ncsl_exec_request *req, job **out,
                                    ncsl_err *err) {
    const ncsl_engine_options *o = &e->opts;
    *out = NULL;
    if (!req->code || req->code_len == 0) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "code", "code is required");
    }
    if (req->code_len > o->max_code_bytes) {
        return ncsl_err_set(err, NCSL_E_PAYLOAD_TOO_LARGE, "code",
                            "code is %zu bytes; the limit is %zu", req->code_len,
                            o->max_code_bytes);
    }
    if (req->input_json && req->input_len > o->max_input_bytes) {
        return ncsl_err_set(err, NCSL_E_PAYLOAD_TOO_LARGE, "input",
                            "input is %zu bytes; the limit is %zu", req->input_len,
                            o->max_input_bytes);
    }
    const ncsl_storage_hooks *h = req->storage;
    if (h && (!h->get || !h->list || !h->usage || !h->commit || !h->free_value || !h->free_keys)) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "storage",
                            "every storage hook (get, list, usage, commit, free_value, "
                            "free_keys) is required");
    }
    job *j = calloc(1, sizeof(*j));
    if (!j) {
        return ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
    }
    j->code = ncsl_strndup(req->code, req->code_len);
    j->code_len = req->code_len;
    if (req->input_json) {
        j->input = ncsl_strndup(req->input_json, req->input_len);
        j->input_len = req->input_len;
    }
    j->function_id = ncsl_strdup(req->function_id ? req->function_id : "");
    j->user_id = ncsl_strdup(req->user_id ? req->user_id : "");
    bool oom = !j->code || (req->input_json && !j->input) || !j->function_id || !j->user_id;
    if (!oom && req->secret_count) {
        ncsl_status st = ncsl__secrets_copy(req->secrets, req->secret_count, &j->secrets, err);
        if (st != NCSL_OK) {
            job_free(j);
            return st;
        }
        j->secret_count = req->secret_count;
    }
    if (oom) {
        job_free(j);
        return ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
    }
    j->limits.memory_bytes =
        req->memory_limit_bytes && req->memory_limit_bytes < o->memory_limit_bytes
            ? req->memory_limit_bytes
            : o->memory_limit_bytes;
    j->limits.timeout_ms =
        req->timeout_ms && req->timeout_ms < o->timeout_ms ? req->timeout_ms : o->timeout_ms;
    j->limits.stack_bytes = o->stack_size_bytes;
    j->limits.max_output_bytes = o->max_output_bytes;
    j->limits.max_log_bytes = o->max_log_bytes;
    j->limits.gas_limit =
        req->gas_limit && req->gas_limit < o->gas_limit ? req->gas_limit : o->gas_limit;
    j->storage = req->storage;
    *out = j;
    return NCSL_OK;
}

ncsl_status ncsl_engine_submit(ncsl_engine *e, const ncsl_exec_request *req, ncsl_exec_done_fn done,
                               void *user, ncsl_err *err) {
    if (!e || !req || !done) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, NULL,
                            "engine, request and callback are required");
    }
    job *j = NULL;
    ncsl_status st = job_from_request(e, req, &j, err);
    if (st != NCSL_OK) {
        return st;
    }
    j->done = done;
    j->user = user;

    pthread_mutex_lock(&e->mu);
    if (e->stopping) {
        pthread_mutex_unlock(&e->mu);
        job_free(j);
        return ncsl_err_set(err, NCSL_E_SHUTDOWN, NULL, "the engine is shutting down");
    }
    if (e->queued >= e->opts.queue_size) {
        e->rejected_busy++;
        pthread_mutex_unlock(&e->mu);
        job_free(j);
        return ncsl_err_set(err, NCSL_E_BUSY, NULL,
                            "all %u workers are busy and %u calls are queued", e->opts.workers,
                            e->opts.queue_size);
    }
    if (e->tail) {
        e->tail->next = j;
    } else {
        e->head = j;
    }
    e->tail = j;
    e->queued++;
    pthread_cond_signal(&e->work_cv);
    maybe_add_worker(e);
    pthread_mutex_unlock(&e->mu);
    return NCSL_OK;
}

void ncsl_engine_get_stats(ncsl_engine *e, ncsl_engine_stats *out) {
    memset(out, 0, sizeof(*out));
    if (!e) {
        return;
    }
    pthread_mutex_lock(&e->mu);
    out->workers = e->procs ? e->live : e->thread_count;
    out->process_isolation = e->procs;
    out->worker_restarts = e->worker_restarts;
    out->worker_failures = e->worker_failures;
    out->busy_workers = e->busy;
    out->waiting_workers = e->waiting;
    out->max_workers = e->max_workers;
    out->workers_added = e->workers_added;
    out->queued = e->queued;
    out->queue_capacity = e->opts.queue_size;
    out->completed = e->completed;
    out->rejected_busy = e->rejected_busy;
    pthread_mutex_unlock(&e->mu);
}

/* ------------------------------------------------------------------ synchronous wrappers */
typedef struct sync_wait {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    ncsl_status st;
    ncsl_result *result;
    ncsl_err err;
} sync_wait;

static void sync_done(void *user, ncsl_status st, ncsl_result *result, const ncsl_err *err) {
    sync_wait *w = user;
    pthread_mutex_lock(&w->mu);
    w->st = st;
    w->result = result;
    if (err) {
        w->err = *err;
    }
    w->done = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

ncsl_status ncsl_engine_execute(ncsl_engine *e, const ncsl_exec_request *req, ncsl_result **out,
                                ncsl_err *err) {
    if (!out) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "out", "out must not be NULL");
    }
    *out = NULL;
    sync_wait w;
    memset(&w, 0, sizeof(w));
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    ncsl_status st = ncsl_engine_submit(e, req, sync_done, &w, err);
    if (st == NCSL_OK) {
        pthread_mutex_lock(&w.mu);
        while (!w.done) {
            pthread_cond_wait(&w.cv, &w.mu);
        }
        pthread_mutex_unlock(&w.mu);
        st = w.st;
        *out = w.result;
        if (err && st != NCSL_OK) {
            *err = w.err;
        }
    }
    pthread_cond_destroy(&w.cv);
    pthread_mutex_destroy(&w.mu);
    return st;
}

ncsl_status ncsl_execute_javascript(ncsl_engine *e, const char *code, const char *input_json,
                                    const char *secrets_json, const char *function_id,
                                    const char *user_id, ncsl_result **out, ncsl_err *err) {
    ncsl_secret *secrets = NULL;
    size_t count = 0;
    if (out) {
        *out = NULL;
    }
    if (!code) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "code", "code is required");
    }
    if (secrets_json) {
        ncsl_status st =
            ncsl_secrets_parse_json(secrets_json, strlen(secrets_json), &secrets, &count, err);
        if (st != NCSL_OK) {
            return st;
        }
    }
    ncsl_exec_request req = {
        .code = code,
        .code_len = strlen(code),
        .input_json = input_json,
        .input_len = input_json ? strlen(input_json) : 0,
        .secrets = secrets,
        .secret_count = count,
        .function_id = function_id,
        .user_id = user_id,
    };
    ncsl_status st = ncsl_engine_execute(e, &req, out, err);
    ncsl_secrets_free(secrets, count);
    return st;
}
