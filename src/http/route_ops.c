/*
 * The operations routes: GET /metrics (Prometheus text), GET /readyz (readiness) and
 * GET /api/v1/openapi.json (the API contract, embedded at build time).
 *
 * /healthz (server.c) is liveness: the process answers. /readyz says whether it can serve:
 * the identity keys are loaded, the store answers a query, the engine has workers and the
 * server is not draining. A load balancer takes a server out of rotation on 503 and a
 * supervisor restarts it only when /healthz fails.
 *
 * Neither answer quotes an error message of the store (paths, SQLite text): the log has them.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "exec/exec.h"
#include "fetch/fetch.h"
#include "http_int.h"
#include "js/js.h"
#include "store/store.h"
#include "tee/tee.h"

/* A user id no user can have (ids are UUID v4: the version nibble is 4, here 0). */
static const char kProbeUser[] = "00000000-0000-0000-0000-000000000000";

typedef struct readiness {
    bool ready;
    bool keys, store, engine, draining;
    unsigned workers;
} readiness;

static void check_ready(ncsl_http_server *srv, readiness *out) {
    memset(out, 0, sizeof(*out));
    out->keys = srv->services.keys != NULL;
    if (srv->services.store) {
        size_t n = 0;
        ncsl_err err;
        ncsl_err_clear(&err);
        ncsl_status st = ncsl_store_secret_count(srv->services.store, kProbeUser, &n, &err);
        out->store = st == NCSL_OK;
        if (!out->store) {
            ncsl__http_metrics_store_status(&srv->metrics, st);
            NCSL_LOG_WARN("http", "readiness: the store did not answer: %s", err.message);
        }
    }
    if (srv->engine) {
        ncsl_engine_stats stats;
        memset(&stats, 0, sizeof(stats));
        ncsl_engine_get_stats(srv->engine, &stats);
        out->workers = stats.workers;
        out->engine = stats.workers > 0;
    }
    pthread_mutex_lock(&srv->mu);
    out->draining = srv->draining;
    pthread_mutex_unlock(&srv->mu);
    out->ready = out->keys && out->store && out->engine && !out->draining;
}

static void check_json(ncsl_buf *b, const char *name, bool ok, const char *why, bool first) {
    ncsl_buf_printf(b, "%s\"%s\":{\"ok\":%s", first ? "" : ",", name, ok ? "true" : "false");
    if (!ok) {
        ncsl_buf_append_str(b, ",\"message\":");
        ncsl_buf_append_json_string(b, why, strlen(why));
    }
    ncsl_buf_append_str(b, "}");
}

/* {"ready", "failed": [names], "checks": {name: {"ok", "message"?}}}: 200 or 503. */
enum MHD_Result ncsl__http_route_readyz(http_req *r) {
    readiness rd;
    check_ready(r->srv, &rd);
    const struct {
        const char *name;
        bool ok;
        const char *why;
    } checks[] = {
        {"keys", rd.keys, "the enclave identity keys are not loaded"},
        {"store", rd.store,
         r->srv->services.store ? "the store did not answer a query (see the log)"
                                : "no store is open"},
        {"engine", rd.engine, "the engine has no workers"},
        {"draining", !rd.draining, "the server is shutting down"},
    };
    ncsl_buf b;
    ncsl_buf_init(&b, 0);
    ncsl_buf_printf(&b, "{\"ready\":%s,\"failed\":[", rd.ready ? "true" : "false");
    bool first = true;
    for (size_t i = 0; i < NCSL_ARRAY_LEN(checks); i++) {
        if (!checks[i].ok) {
            ncsl_buf_printf(&b, "%s\"%s\"", first ? "" : ",", checks[i].name);
            first = false;
        }
    }
    ncsl_buf_append_str(&b, "],\"checks\":{");
    for (size_t i = 0; i < NCSL_ARRAY_LEN(checks); i++) {
        check_json(&b, checks[i].name, checks[i].ok, checks[i].why, i == 0);
    }
    ncsl_buf_printf(&b, "},\"workers\":%u}", rd.workers);
    if (!rd.ready) {
        NCSL_LOG_INFO("http", "request %s: not ready: %s", r->request_id, b.data ? b.data : "");
    }
    return ncsl__http_answer_buf(r, rd.ready ? 200 : 503, &b, false, NULL);
}

enum MHD_Result ncsl__http_route_metrics(http_req *r) {
    ncsl_http_server *srv = r->srv;
    http_metrics_env env;
    memset(&env, 0, sizeof(env));
    env.routes = ncsl__http_routes(&env.route_count);
    env.version = ncsl_version();
    env.quickjs = ncsl_quickjs_version();
    env.tee = srv->services.tee ? ncsl_tee_name(srv->services.tee) : "none";
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    env.now_unix_ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    if (srv->engine) {
        ncsl_engine_stats st;
        memset(&st, 0, sizeof(st));
        ncsl_engine_get_stats(srv->engine, &st);
        env.workers = st.workers;
        env.busy_workers = st.busy_workers;
        env.waiting_workers = st.waiting_workers;
        env.max_workers = st.max_workers;
        env.queued = st.queued;
        env.queue_capacity = st.queue_capacity;
        env.rejected_busy = st.rejected_busy;
    }
    env.heap_limit_bytes = srv->cfg.js.memory_limit_bytes;
    ncsl_js_bc_cache_stats bc;
    memset(&bc, 0, sizeof(bc));
    ncsl_js_bc_cache_get_stats(&bc);
    env.bc_hits = bc.hits;
    env.bc_misses = bc.misses;
    env.bc_entries = bc.entries;
    env.bc_bytes = bc.bytes;
    env.bc_evictions = bc.evictions;
    env.fetch_in_flight = ncsl_fetch_in_flight();
    pthread_mutex_lock(&srv->mu);
    env.http_in_flight = srv->active;
    pthread_mutex_unlock(&srv->mu);
    readiness rd;
    check_ready(srv, &rd);
    env.ready = rd.ready;

    ncsl_buf b;
    ncsl_buf_init(&b, 0);
    ncsl__http_metrics_render(&srv->metrics, &env, &b);
    if (b.oom) {
        ncsl_buf_cleanup(&b);
        return ncsl__http_answer_error(r, 500, "INTERNAL_ERROR", "out of memory", NULL, NULL);
    }
    size_t len = 0;
    char *text = ncsl_buf_steal(&b, &len);
    return ncsl__http_answer_raw_body(r, 200, "text/plain; version=0.0.4; charset=utf-8", text, len,
                                      true);
}

enum MHD_Result ncsl__http_route_openapi(http_req *r) {
    /* MHD never writes to a persistent buffer: the cast only drops const for its API. */
    return ncsl__http_answer_raw_body(r, 200, "application/json",
                                      (void *)(uintptr_t)ncsl__http_openapi_json,
                                      ncsl__http_openapi_json_len, false);
}
