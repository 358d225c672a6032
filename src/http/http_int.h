/*
 * Internals of ncsld's HTTP front end shared by server.c (request life cycle, routing, the
 * envelope) and the route files (route_*.c). Not for other subsystems.
 */
#ifndef NCSL_HTTP_INT_H
#define NCSL_HTTP_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>
#include <microhttpd.h>

#include "http.h"

#define NCSL_HTTP_ID_SIZE 37 /* a UUID v4 string and its NUL */

typedef enum req_state {
    REQ_NEW = 0,
    REQ_SIMPLE,    /* no body wanted: answered when the request is complete */
    REQ_RECEIVING, /* reading a JSON body */
    REQ_WAITING,   /* submitted to the engine; connection suspended until it answers */
    REQ_ANSWERED,  /* a response was queued */
} req_state;

struct http_route;

/* Who sent a request, from its Authorization header (auth.c). */
typedef struct http_caller {
    bool authenticated;
    bool admin;                      /* the admin key: manages users, acts for any user */
    char user_id[NCSL_HTTP_ID_SIZE]; /* a user key's owner, "" for the admin */
    char key_id[NCSL_HTTP_ID_SIZE];  /* the user key's id, "" for the admin */
} http_caller;

/* Path parameters ("{name}" segments of a route's path), at most this many, each this long. */
#define NCSL_HTTP_MAX_PARAMS 2
#define NCSL_HTTP_PARAM_SIZE 256

/* Where a connection is in its request cycle, for the slow-client reaper (server.c). */
typedef enum conn_phase {
    CONN_IDLE = 0,  /* accepted, or its last response was sent: no request line yet */
    CONN_RECEIVING, /* request line seen; headers or body still arriving */
    CONN_BUSY,      /* request complete: running, or its answer is being sent */
} conn_phase;

/* One per accepted connection (MHD's socket_context), in srv->conns. Allocated when MHD
 * reports the connection started, freed when it reports it closed: MHD closes the socket
 * after that report, so `fd` is open while the record is listed. */
typedef struct http_conn {
    struct http_conn *prev, *next; /* guarded by srv->conn_mu, like the fields below */
    MHD_socket fd;
    ino_t ino;         /* the socket's inode: tells a reused descriptor number apart */
    uint64_t since_us; /* when the current phase began */
    conn_phase phase;
    bool reaped; /* shut down by the reaper; MHD closes it on its next read */
} http_conn;

typedef struct http_req {
    struct ncsl_http_server *srv;
    struct MHD_Connection *conn;
    struct http_req *prev, *next;   /* srv->pending list while waiting for the engine */
    const struct http_route *route; /* NULL: no route for this path and method */
    char params[NCSL_HTTP_MAX_PARAMS][NCSL_HTTP_PARAM_SIZE]; /* the route's "{}" segments */
    http_caller caller;
    unsigned retry_after_s;      /* 429: the Retry-After value */
    ncsl_storage_hooks *storage; /* invoke: the call's storage hooks, freed with the request */
    char request_id[37];
    char method[16];
    char path[160];
    uint64_t start_us;
    uint64_t submit_us; /* when ncsl__http_submit handed the call to the engine */
    req_state state;    /* MHD threads only */
    bool counted;       /* in the request metrics already (MHD threads only) */
    ncsl_buf body;      /* bounded by max_body_bytes; wiped on free */
    size_t received;
    bool too_large;
    /* guarded by srv->mu */
    unsigned refs;
    bool done;
    bool suspended;
    bool listed;
    int status;       /* HTTP status of the answer */
    bool retry_after; /* 503: add Retry-After */
    char *resp;       /* malloc'd body published by the callback */
    size_t resp_len;
    /* What the execution's receipt names, taken before the body is wiped (execute only). */
    bool receipt_wanted;
    uint8_t code_hash[32];
    uint8_t input_hash[32];
    char *function_id; /* NULL when absent */
    char *user_id;
} http_req;

/* Per-user request rate limiter (auth.c): a token bucket per user id. */
typedef struct http_rate http_rate;

/* ------------------------------------------------------------------ metrics (metrics.c) */
/* The counters behind GET /metrics. Every one is a relaxed atomic updated on the request path
 * without a lock; a scrape reads them one by one (a scrape may see one counter of a request
 * and not yet another: fine for monitoring). Labels come only from fixed tables (route
 * templates, API codes, status codes), never from a request, so the series are bounded. */
#define NCSL_HTTP_MAX_ROUTES 40      /* room for the route table (server.c checks it) */
#define NCSL_HTTP_METRIC_STATUSES 20 /* HTTP statuses counted one by one, the last: "other" */
#define NCSL_HTTP_METRIC_CODES 26    /* API codes of executions, the last: "OTHER" */
#define NCSL_HTTP_METRIC_BUCKETS 17  /* execution duration buckets, the last: +Inf */

typedef enum http_store_error_kind {
    STORE_ERR_FULL = 0, /* NCSL_E_STORE_FULL: the disk is full */
    STORE_ERR_INTEGRITY,
    STORE_ERR_OTHER, /* I/O, schema, foreign database... */
    STORE_ERR_KINDS,
} http_store_error_kind;

typedef struct http_metrics {
    uint64_t start_unix_ms; /* ncsl_http_server_create */
    /* [route index, or the route count for requests no route matched][status slot] */
    _Atomic uint64_t requests[NCSL_HTTP_MAX_ROUTES + 1][NCSL_HTTP_METRIC_STATUSES];
    _Atomic uint64_t executions[NCSL_HTTP_METRIC_CODES];
    _Atomic uint64_t duration_buckets[NCSL_HTTP_METRIC_BUCKETS]; /* not cumulative */
    _Atomic uint64_t duration_sum_us;
    _Atomic uint64_t duration_count;
    /* The largest per-call JS heap peak of a minute, as (minute << 40) | bytes in one word so
     * that a compare-and-swap updates both: slot (minute & 1) holds that minute's. */
    _Atomic uint64_t heap_peak[2];
    _Atomic uint64_t receipts_signed;
    _Atomic uint64_t receipt_failures;
    _Atomic uint64_t proofs;
    _Atomic uint64_t rate_limited;
    _Atomic uint64_t store_errors[STORE_ERR_KINDS];
} http_metrics;

struct ncsl_http_server {
    ncsl_config cfg;
    http_rate *rate;        /* NULL: Limits.RequestsPerSecond is 0 */
    uint8_t admin_hash[32]; /* SHA-256 of the admin key (services.admin_key) */
    bool has_admin;
    ncsl_engine *engine;         /* borrowed */
    ncsl_http_services services; /* borrowed handles */
    struct MHD_Daemon *mhd;
    MHD_socket listen_fd; /* returned by MHD_quiesce_daemon; closed after stop */
    uint16_t port;
    char url[320];
    pthread_mutex_t mu;
    unsigned active;  /* requests alive on the MHD side */
    http_req pending; /* sentinel of the list of requests waiting for the engine */
    bool draining;
    pthread_mutex_t conn_mu; /* guards conns and every http_conn */
    http_conn conns;         /* sentinel of the list of open connections */
    http_metrics metrics;    /* atomics: no lock */
};

/* A route handler: runs on an MHD thread once the request (and its body, if any) is complete,
 * and must queue an answer (or suspend the connection, as the execute route does). */
typedef enum MHD_Result (*http_handler)(http_req *r);

/* Who may call a route. */
typedef enum http_access {
    ACCESS_PUBLIC = 0, /* no key: health, attestation and the verify routes */
    ACCESS_ANY,        /* a user key or the admin key */
    ACCESS_USER,       /* a user key only (the admin has no functions or secrets of its own) */
    ACCESS_ADMIN,      /* the admin key only */
    ACCESS_LOCAL,      /* no key from a loopback peer, else the admin key only (/metrics) */
} http_access;

typedef struct http_route {
    const char *method; /* "GET", "POST"...; a GET route also answers HEAD */
    /* The path template, as docs/openapi.json spells it: a "{name}" segment matches one
     * non-empty path segment (r->params, in order). Also the `route` label of the metrics. */
    const char *path;
    http_handler handler;
    http_access access;
} http_route;

/* The route for `path` and `method` (paths without "{name}" first, then patterns), copying the
 * "{name}" segments into `params` (may be NULL; each NUL-terminated, at most
 * NCSL_HTTP_PARAM_SIZE - 1 bytes); NULL with *path_known telling whether another method of the
 * path exists (405) or not (404). server.c; exposed for the fuzz target. */
const http_route *ncsl__http_find_route(const char *path, const char *method, bool *path_known,
                                        char params[NCSL_HTTP_MAX_PARAMS][NCSL_HTTP_PARAM_SIZE]);
/* The route table (server.c): `*count` entries, static. */
const http_route *ncsl__http_routes(size_t *count);

/* ------------------------------------------------------------------ ids and clocks (ids.c) */
#define NCSL_HTTP_TS_SIZE 32  /* an RFC 3339 UTC timestamp with milliseconds and its NUL */
#define NCSL_HTTP_U64_SIZE 21 /* a uint64_t in decimal and its NUL */

/* Now as ncsl_time_rfc3339 writes it ("2024-05-01T12:00:00.123Z"); returns its length. */
size_t ncsl__http_timestamp(char out[NCSL_HTTP_TS_SIZE]);
/* `unix_ms` in the same form, as receipts show it (ncsl__trust_time_format); returns 24, or 0
 * past 9999-12-31T23:59:59.999Z. */
size_t ncsl__http_time_format(uint64_t unix_ms, char out[NCSL_HTTP_TS_SIZE]);
/* `v` in decimal; returns its length. */
size_t ncsl__http_u64_dec(char out[NCSL_HTTP_U64_SIZE], uint64_t v);

/* ------------------------------------------------------------------ answers (server.c) */

/* {"success":false,"error":{code,message,field?,details?},"metadata"} into `b`. */
void ncsl__http_build_error(ncsl_buf *b, const http_req *r, const char *code, const char *message,
                            const char *field, const char *details_json);
/* Appends ,"metadata":{...}} closing the envelope opened by the caller. */
void ncsl__http_append_metadata(ncsl_buf *b, const http_req *r);
/* Queues `b` (taken) as the response. */
enum MHD_Result ncsl__http_answer_buf(http_req *r, int status, ncsl_buf *b, bool retry_after,
                                      const char *allow);
/* Queues `len` bytes of `body` with `content_type` (not the JSON envelope): `body` is taken
 * (malloc'd, freed by MHD, also on failure) when `take`, else static memory that outlives the
 * daemon (the embedded OpenAPI document). */
enum MHD_Result ncsl__http_answer_raw_body(http_req *r, int status, const char *content_type,
                                           void *body, size_t len, bool take);
enum MHD_Result ncsl__http_answer_error(http_req *r, int status, const char *code,
                                        const char *message, const char *field, const char *allow);
/* The status's HTTP code and API code, with err's message and field. */
enum MHD_Result ncsl__http_answer_status(http_req *r, ncsl_status st, const ncsl_err *err);
/* jansson's json_dump_callback sink appending to the ncsl_buf `buf` (-1 once it is out of
 * memory): serializes straight into an answer, without an intermediate string. */
int ncsl__http_buf_dump(const char *text, size_t len, void *buf);
/* {"success":true,"data":<data>,"metadata"} with status 200; `data` is taken (decref'd). */
enum MHD_Result ncsl__http_answer_data(http_req *r, json_t *data);
/* The same with another status (201 for creations). */
enum MHD_Result ncsl__http_answer_json(http_req *r, int status, json_t *data);

/* ------------------------------------------------------------------ request helpers */

/* A query-string argument (borrowed from MHD, valid during the request), NULL when absent. */
const char *ncsl__http_query(http_req *r, const char *name);
/* Parses the request body as a JSON object (the caller decrefs it). On failure answers 400
 * naming "body" and returns NULL with *answered set to the MHD result. */
json_t *ncsl__http_body_object(http_req *r, enum MHD_Result *answered);

/* Submits `req` to the engine for `r` and suspends the connection until on_exec_done answers
 * (the execute-javascript response, with receipt). `wipe(wipe_arg)` (may be NULL) runs as soon
 * as the engine has copied the request: it wipes the caller's copies of secrets. Wipes r->body. */
enum MHD_Result ncsl__http_submit(http_req *r, const ncsl_exec_request *req, void (*wipe)(void *),
                                  void *wipe_arg);

/* ------------------------------------------------------------------ auth (auth.c) */

/* Fills r->caller from the Authorization header. NCSL_OK when the route's access allows the
 * caller; otherwise answers (401 with WWW-Authenticate, 403, 429 with Retry-After) and returns
 * the MHD result through *answered with a status other than NCSL_OK. */
ncsl_status ncsl__http_authorize(http_req *r, http_access access, enum MHD_Result *answered);

http_rate *ncsl__http_rate_create(unsigned per_second, unsigned burst);
void ncsl__http_rate_destroy(http_rate *rate);
/* Takes one token of `user_id`'s bucket: true when allowed, else false with the seconds until
 * one is back in *retry_after_s. Thread-safe. */
bool ncsl__http_rate_take(http_rate *rate, const char *user_id, unsigned *retry_after_s);

/* ------------------------------------------------------------------ storage hooks */

/* route_functions.c: the `storage` hooks of one invocation of function `function_id` of
 * `user_id` over the server's store (NULL when out of memory). Freed with
 * ncsl__http_storage_free (NULL does nothing) once the engine's callback has run. */
ncsl_storage_hooks *ncsl__http_storage_new(ncsl_http_server *srv, const char *user_id,
                                           const char *function_id);
void ncsl__http_storage_free(ncsl_storage_hooks *hooks);

/* ------------------------------------------------------------------ route handlers */

/* route_users.c: whoami, users and their API keys (admin). */
enum MHD_Result ncsl__http_route_me(http_req *r);
enum MHD_Result ncsl__http_route_user_create(http_req *r);
enum MHD_Result ncsl__http_route_user_list(http_req *r);
enum MHD_Result ncsl__http_route_user_get(http_req *r);
enum MHD_Result ncsl__http_route_user_delete(http_req *r);
enum MHD_Result ncsl__http_route_key_create(http_req *r);
enum MHD_Result ncsl__http_route_key_list(http_req *r);
enum MHD_Result ncsl__http_route_key_revoke(http_req *r);

/* route_functions.c: the function registry and invocation (user keys). */
enum MHD_Result ncsl__http_route_function_create(http_req *r);
enum MHD_Result ncsl__http_route_function_list(http_req *r);
enum MHD_Result ncsl__http_route_function_get(http_req *r);
enum MHD_Result ncsl__http_route_function_update(http_req *r);
enum MHD_Result ncsl__http_route_function_delete(http_req *r);
enum MHD_Result ncsl__http_route_function_invoke(http_req *r);

/* route_secrets.c: user secrets (user keys). */
enum MHD_Result ncsl__http_route_secret_put(http_req *r);
enum MHD_Result ncsl__http_route_secret_list(http_req *r);
enum MHD_Result ncsl__http_route_secret_delete(http_req *r);

/* route_trust.c: GET /api/v1/tee-info, GET /api/v1/attestation, POST /api/v1/attestation/verify,
 * POST /api/v1/receipts/verify. */
enum MHD_Result ncsl__http_route_tee_info(http_req *r);
enum MHD_Result ncsl__http_route_attestation(http_req *r);
enum MHD_Result ncsl__http_route_attestation_verify(http_req *r);
enum MHD_Result ncsl__http_route_receipt_verify(http_req *r);

/* route_ops.c: GET /metrics (Prometheus text), GET /readyz, GET /api/v1/openapi.json. */
enum MHD_Result ncsl__http_route_metrics(http_req *r);
enum MHD_Result ncsl__http_route_readyz(http_req *r);
enum MHD_Result ncsl__http_route_openapi(http_req *r);

/* openapi_doc.c (generated at build time from docs/openapi.json): the document's bytes. */
extern const unsigned char ncsl__http_openapi_json[];
extern const size_t ncsl__http_openapi_json_len;

/* route_trust.c: appends `rc` as JSON, byte for byte what json_dumps(JSON_COMPACT |
 * JSON_PRESERVE_ORDER) makes of ncsl_receipt_to_json(rc); false (with `b` as it was, unless out
 * of memory) when a string is not UTF-8 or the timestamp is past year 9999. */
struct ncsl_receipt;
bool ncsl__http_receipt_json(ncsl_buf *b, const struct ncsl_receipt *rc);

/* route_trust.c: signs the receipt of an execution that ran (`r`'s hashes and ids, the result's
 * executionId, `output` hashed) and appends ,"receipt":{...} to `b`. Appends nothing when the
 * server has no keys; logs (never fails the call) when signing fails. Runs on a worker thread. */
void ncsl__http_append_receipt(ncsl_buf *b, const http_req *r, const char *execution_id,
                               const void *output, size_t output_len);

/* ------------------------------------------------------------------ metrics (metrics.c) */

/* Zeroes `m` and stamps the start time. */
void ncsl__http_metrics_init(http_metrics *m);
/* A request answered (counted as its answer is queued, so that a client that reads it and then
 * scrapes sees it), or that ended without one: `route` NULL when none matched; `status` 0 when
 * no answer was sent (the client went away). */
void ncsl__http_metrics_request(http_metrics *m, const http_route *route, int status);
/* An execution's final status (every call submitted, including those the engine refused);
 * `duration_us` from submission to the engine's answer (UINT64_MAX: not run, not observed);
 * `heap_bytes` the call's JS heap peak (0: unknown). */
void ncsl__http_metrics_execution(http_metrics *m, ncsl_status st, uint64_t duration_us,
                                  uint64_t heap_bytes, uint64_t now_unix_ms);
/* Counts `st` when it is a store failure (not NOT_FOUND, CONFLICT or QUOTA: those are answers). */
void ncsl__http_metrics_store_status(http_metrics *m, ncsl_status st);
static inline void ncsl__http_metrics_inc(_Atomic uint64_t *counter) {
    atomic_fetch_add_explicit(counter, 1, memory_order_relaxed);
}

/* What a scrape shows besides the counters, gathered by route_ops.c (tests fill it by hand). */
typedef struct http_metrics_env {
    const http_route *routes; /* the route table, for the `route` labels */
    size_t route_count;
    const char *version;
    const char *quickjs;
    const char *tee; /* the TEE backend's name, "none" */
    uint64_t now_unix_ms;
    unsigned workers, busy_workers, waiting_workers, max_workers;
    unsigned queued, queue_capacity;
    uint64_t rejected_busy;
    uint64_t heap_limit_bytes; /* JavaScript.MaxMemoryMB */
    uint64_t bc_hits, bc_misses, bc_entries, bc_bytes, bc_evictions;
    unsigned fetch_in_flight;
    unsigned http_in_flight;
    bool ready; /* what GET /readyz would answer */
} http_metrics_env;

/* Appends the Prometheus text exposition (format 0.0.4) of `m` and `env` to `out`. */
void ncsl__http_metrics_render(const http_metrics *m, const http_metrics_env *env, ncsl_buf *out);

/* True when `sa` is a loopback address: 127.0.0.0/8, ::1 or ::ffff:127.0.0.0/104 (auth.c). */
struct sockaddr;
bool ncsl__http_addr_is_loopback(const struct sockaddr *sa);

#endif /* NCSL_HTTP_INT_H */
