/*
 * The HTTP server: routing, validation, the response envelope and the hand-off to the engine.
 *
 * Request life cycle (one `http_req` per request, stored in MHD's con_cls):
 *   1. first call: route; reject bad method/path/Content-Type/Content-Length at once;
 *   2. body chunks: counted, buffered only up to Server.MaxBodyBytes;
 *   3. last call: parse, submit to the engine, MHD_suspend_connection;
 *   4. engine callback (worker thread): builds the JSON body, marks the request done and
 *      resumes the connection; MHD calls us again and we queue the response.
 * The request is shared by MHD and the engine callback, so it is reference counted; `done`,
 * `suspended` and the counters are guarded by srv->mu. Whoever sets `done` first (the callback
 * or a shutdown abort) owns the answer; the other side drops its result.
 *
 * Resume ordering: MHD cancels a suspend that follows a resume ("suspending again while we didn't
 * even complete resuming"), so the handler suspends while holding srv->mu, and the callback only
 * resumes a request it saw as suspended under that lock.
 *
 * Slow clients: MHD's connection timeout only measures silence, so a client sending one byte per
 * second (slowloris, a trickled body) would hold its connection forever, and ConnectionLimit of
 * them lock everyone else out. Every connection is therefore tracked (http_conn) and
 * ncsl_http_server_reap, called a few times a second by the daemon's main thread (no extra
 * thread: Occlum's MaxThreads budget), shuts down each one that has not delivered a complete
 * request within Server.ConnectionTimeoutSeconds of its request line (408 first) or of becoming
 * idle (closed silently, as MHD does with idle connections).
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "crypto/crypto.h"
#include "exec/exec.h"
#include "http_int.h"
#include "tee/tee.h"

/* ------------------------------------------------------------------------- envelope */
void ncsl__http_append_metadata(ncsl_buf *b, const http_req *r) {
    static const char k1[] = ",\"metadata\":{\"requestId\":\"";
    static const char k2[] = "\",\"timestamp\":\"";
    static const char k3[] = "\"}}";
    char ts[NCSL_HTTP_TS_SIZE];
    size_t ts_len = ncsl__http_timestamp(ts);
    size_t id_len = strlen(r->request_id); /* a UUID or "req-<digits>": nothing to escape */
    if (!ncsl_buf_reserve(b, sizeof(k1) + sizeof(k2) + sizeof(k3) + id_len + ts_len)) {
        return;
    }
    ncsl_buf_append(b, k1, sizeof(k1) - 1);
    ncsl_buf_append(b, r->request_id, id_len);
    ncsl_buf_append(b, k2, sizeof(k2) - 1);
    ncsl_buf_append(b, ts, ts_len);
    ncsl_buf_append(b, k3, sizeof(k3) - 1);
}

/* {"success":false,"error":{"code","message","field"?,"details"?},"metadata"} */
void ncsl__http_build_error(ncsl_buf *b, const http_req *r, const char *code, const char *message,
                            const char *field, const char *details_json) {
    ncsl_buf_append_str(b, "{\"success\":false,\"error\":{\"code\":");
    ncsl_buf_append_json_string(b, code, strlen(code));
    ncsl_buf_append_str(b, ",\"message\":");
    ncsl_buf_append_json_string(b, message, strlen(message));
    if (field && *field) {
        ncsl_buf_append_str(b, ",\"field\":");
        ncsl_buf_append_json_string(b, field, strlen(field));
    }
    if (details_json) {
        ncsl_buf_append_str(b, ",\"details\":");
        ncsl_buf_append_str(b, details_json);
    }
    ncsl_buf_append_str(b, "}");
    ncsl__http_append_metadata(b, r);
}

/* "name": "value" (`name` is one of ours: nothing to escape). */
static void append_json_str_field(ncsl_buf *b, const char *name, const char *value) {
    ncsl_buf_append(b, "\"", 1);
    ncsl_buf_append_str(b, name);
    ncsl_buf_append(b, "\":", 2);
    value = value ? value : "";
    ncsl_buf_append_json_string(b, value, strlen(value));
}

static void append_u64(ncsl_buf *b, uint64_t v) {
    char d[NCSL_HTTP_U64_SIZE];
    ncsl_buf_append(b, d, ncsl__http_u64_dec(d, v));
}

static void append_result_stats(ncsl_buf *b, const ncsl_result *res) {
    size_t logs_len = 0;
    const char *logs = ncsl_result_logs_json(res, &logs_len);
    ncsl_buf_append_str(b, ",\"logs\":");
    if (logs && *logs) {
        ncsl_buf_append(b, logs, logs_len);
    } else {
        ncsl_buf_append(b, "[]", 2);
    }
    ncsl_buf_append(b, ",", 1);
    append_json_str_field(b, "executionId", ncsl_result_execution_id(res));
    uint64_t us = ncsl_result_execution_time_us(res);
    ncsl_buf_append_str(b, ",\"executionTimeMs\":");
    append_u64(b, us / 1000);
    char frac[4] = {(char)('0' + us % 1000 / 100), (char)('0' + us % 100 / 10),
                    (char)('0' + us % 10), '\0'};
    ncsl_buf_append(b, ".", 1);
    ncsl_buf_append(b, frac, 3);
    ncsl_buf_append_str(b, ",\"memoryUsedBytes\":");
    append_u64(b, ncsl_result_memory_used_bytes(res));
    ncsl_buf_append_str(b, ",\"gasUsed\":");
    append_u64(b, ncsl_result_gas_used(res));
}

/* Room reserved for an execution's answer besides its result and logs (a receipt is ~700 bytes). */
static const size_t kAnswerOverhead = 2048;

/* The engine's answer as a response body. Returns the HTTP status. */
static int build_exec_response(ncsl_buf *b, const http_req *r, ncsl_status st, ncsl_result *res,
                               const ncsl_err *err) {
    if (st == NCSL_OK && res) {
        size_t len = 0;
        const char *json = ncsl_result_json(res, &len);
        if (!json || !len) {
            json = "null";
            len = 4;
        }
        size_t logs_len = 0;
        (void)ncsl_result_logs_json(res, &logs_len);
        /* One allocation for the whole answer: the envelope, stats, receipt and metadata take
         * well under kAnswerOverhead bytes besides the result and the logs. */
        ncsl_buf_reserve(b, len + logs_len + kAnswerOverhead);
        ncsl_buf_append_str(b, "{\"success\":true,\"data\":{\"result\":");
        ncsl_buf_append(b, json, len); /* already JSON: inserted raw */
        append_result_stats(b, res);
        /* outputHash covers exactly the bytes of data.result above. */
        ncsl__http_append_receipt(b, r, ncsl_result_execution_id(res), json, len);
        ncsl_buf_append_str(b, "}");
        ncsl__http_append_metadata(b, r);
        return 200;
    }
    if (st == NCSL_OK) {
        st = NCSL_E_INTERNAL; /* success without a result: a bug, answer it as one */
    }
    const char *field = err && err->field[0] ? err->field : NULL;
    if (!field && (st == NCSL_E_JS_SYNTAX || st == NCSL_E_JS_NO_MAIN)) {
        field = "code";
    }
    char message[600];
    const char *emsg = res ? ncsl_result_error_message(res) : "";
    const char *ename = res ? ncsl_result_error_name(res) : "";
    if (emsg && *emsg) {
        /* The function's own error says most: "TypeError: bad thing". */
        snprintf(message, sizeof(message), "%s%s%s", ename && *ename ? ename : "",
                 ename && *ename ? ": " : "", emsg);
    } else if (err && err->message[0]) {
        snprintf(message, sizeof(message), "%s", err->message);
    } else {
        snprintf(message, sizeof(message), "%s", ncsl_status_str(st));
    }
    ncsl_buf details;
    ncsl_buf_init(&details, 0);
    if (res) {
        ncsl_buf_append_str(&details, "{");
        append_json_str_field(&details, "name", ename);
        ncsl_buf_append_str(&details, ",");
        append_json_str_field(&details, "message", emsg);
        ncsl_buf_append_str(&details, ",");
        append_json_str_field(&details, "stack", ncsl_result_error_stack(res));
        append_result_stats(&details, res);
        /* A failed run is signed too: outputHash covers "<error.code>: <error.message>". */
        char outcome[700];
        int n = snprintf(outcome, sizeof(outcome), "%s: %s", ncsl_status_code(st), message);
        ncsl__http_append_receipt(&details, r, ncsl_result_execution_id(res), outcome,
                                  n < 0 ? 0 : strlen(outcome));
        ncsl_buf_append_str(&details, "}");
    }
    ncsl__http_build_error(b, r, ncsl_status_code(st), message, field,
                           res && !details.oom ? details.data : NULL);
    ncsl_buf_cleanup(&details);
    return ncsl_status_http(st);
}

/* ------------------------------------------------------------------------- requests */
static void req_unref_locked(http_req *r) {
    NCSL_ASSERT(r->refs > 0);
    if (--r->refs > 0) {
        return;
    }
    ncsl_buf_cleanup_secure(&r->body);
    free(r->resp);
    free(r->function_id);
    free(r->user_id);
    ncsl__http_storage_free(r->storage);
    free(r);
}

static void pending_remove_locked(http_req *r) {
    if (r->listed) {
        r->prev->next = r->next;
        r->next->prev = r->prev;
        r->listed = false;
    }
}

/* ------------------------------------------------------------------------- connections */
static http_conn *conn_of(struct MHD_Connection *conn) {
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

/* Moves the connection of `conn` to `phase` (no-op when it is not tracked). */
static void conn_set_phase(ncsl_http_server *srv, struct MHD_Connection *conn, conn_phase phase) {
    http_conn *c = conn_of(conn);
    if (!c) {
        return;
    }
    pthread_mutex_lock(&srv->conn_mu);
    if (c->phase != phase) {
        c->phase = phase;
        c->since_us = ncsl_now_us();
    }
    pthread_mutex_unlock(&srv->conn_mu);
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code) {
    ncsl_http_server *srv = cls;
    http_conn *c = *socket_context;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        struct stat st;
        c = ci && fstat(ci->connect_fd, &st) == 0 ? calloc(1, sizeof(*c)) : NULL;
        if (!c) {
            return; /* untracked: MHD's idle timeout still applies */
        }
        c->fd = ci->connect_fd;
        c->ino = st.st_ino;
        c->since_us = ncsl_now_us();
        c->phase = CONN_IDLE;
        pthread_mutex_lock(&srv->conn_mu);
        c->prev = srv->conns.prev;
        c->next = &srv->conns;
        srv->conns.prev->next = c;
        srv->conns.prev = c;
        pthread_mutex_unlock(&srv->conn_mu);
        *socket_context = c;
        return;
    }
    if (code == MHD_CONNECTION_NOTIFY_CLOSED && c) {
        pthread_mutex_lock(&srv->conn_mu);
        c->prev->next = c->next;
        c->next->prev = c->prev;
        pthread_mutex_unlock(&srv->conn_mu);
        free(c);
        *socket_context = NULL;
    }
}

/* MHD's URI logger: called once the request line has arrived, before the headers. */
static void *on_request_line(void *cls, const char *uri, struct MHD_Connection *conn) {
    (void)uri;
    conn_set_phase(cls, conn, CONN_RECEIVING);
    return NULL; /* on_access creates the request on its first call */
}

/* The 408 sent by the reaper. It writes on a socket MHD owns, which is safe only while MHD has
 * nothing to send on it: a connection still receiving its request (MHD's own "100 Continue"
 * or early error answers are a few bytes sent at once, and the reaper shuts the socket down
 * right after its write, so MHD's later writes fail and nothing interleaves mid-message). */
static void send_request_timeout(ncsl_http_server *srv, MHD_socket fd) {
    char id[37];
    char ts[40];
    if (ncsl_uuid_v4(id) != NCSL_OK) {
        snprintf(id, sizeof(id), "reaped-%llu", (unsigned long long)ncsl_now_us());
    }
    ncsl_time_rfc3339(ts, sizeof(ts));
    char body[400];
    int blen = snprintf(body, sizeof(body),
                        "{\"success\":false,\"error\":{\"code\":\"REQUEST_TIMEOUT\","
                        "\"message\":\"the request did not arrive within %u s\"},"
                        "\"metadata\":{\"requestId\":\"%s\",\"timestamp\":\"%s\"}}",
                        srv->cfg.server.connection_timeout_s, id, ts);
    char msg[640];
    int len = snprintf(msg, sizeof(msg),
                       "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Type: "
                       "application/json\r\nCache-Control: no-store\r\nX-Request-Id: "
                       "%s\r\nContent-Length: %d\r\n\r\n%s",
                       id, blen, body);
    if (blen > 0 && len > 0 && (size_t)len < sizeof(msg)) {
        /* Best effort: never blocks; a full socket buffer just means no 408. */
        ssize_t n = send(fd, msg, (size_t)len, MSG_DONTWAIT | MSG_NOSIGNAL);
        (void)n;
    }
}

unsigned ncsl_http_server_reap(ncsl_http_server *srv) {
    if (!srv || !srv->mhd) {
        return 0;
    }
    uint64_t limit = (uint64_t)srv->cfg.server.connection_timeout_s * 1000000u;
    unsigned reaped_idle = 0;
    unsigned reaped_receiving = 0;
    pthread_mutex_lock(&srv->conn_mu);
    /* Read the clock under the lock: a phase that began while we waited for it must not look
     * older than it is (now - since would wrap around and reap a healthy connection). */
    uint64_t now = ncsl_now_us();
    for (http_conn *c = srv->conns.next; c != &srv->conns; c = c->next) {
        if (c->reaped || c->phase == CONN_BUSY || c->since_us >= now || now - c->since_us < limit) {
            continue;
        }
        c->reaped = true;
        /* Belt and braces: the descriptor must still be this connection's socket. */
        struct stat st;
        if (fstat(c->fd, &st) != 0 || st.st_ino != c->ino) {
            NCSL_LOG_ERROR("http", "connection record with a stale descriptor %d: not closed",
                           (int)c->fd);
            continue;
        }
        if (c->phase == CONN_RECEIVING) {
            send_request_timeout(srv, c->fd);
            reaped_receiving++;
        } else {
            reaped_idle++;
        }
        /* MHD sees end of file on its next read and closes the connection itself. */
        shutdown(c->fd, SHUT_RDWR);
    }
    pthread_mutex_unlock(&srv->conn_mu);
    if (reaped_receiving + reaped_idle > 0) {
        NCSL_LOG_WARN("http",
                      "closed %u connections whose request did not arrive within %u s (%u sent "
                      "part of a request: 408)",
                      reaped_receiving + reaped_idle, srv->cfg.server.connection_timeout_s,
                      reaped_receiving);
    }
    return reaped_receiving + reaped_idle;
}

/* Queues `body` with the standard headers: taken (freed by MHD) with MHD_RESPMEM_MUST_FREE, or
 * static with MHD_RESPMEM_PERSISTENT. */
static enum MHD_Result answer_typed(http_req *r, int status, const char *content_type, void *body,
                                    size_t len, enum MHD_ResponseMemoryMode mode, bool retry_after,
                                    const char *allow) {
    r->state = REQ_ANSWERED;
    r->status = status;
    if (!r->counted) {
        r->counted = true;
        ncsl__http_metrics_request(&r->srv->metrics, r->route, status);
    }
    conn_set_phase(r->srv, r->conn, CONN_BUSY); /* the reaper must not write into our answer */
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, mode);
    if (!resp) {
        if (mode == MHD_RESPMEM_MUST_FREE) {
            free(body);
        }
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    MHD_add_response_header(resp, "X-Request-Id", r->request_id);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (retry_after) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    } else if (status == 429) {
        char secs[16];
        snprintf(secs, sizeof(secs), "%u", r->retry_after_s ? r->retry_after_s : 1u);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, secs);
    }
    if (status == 401) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"ncsl\"");
    }
    if (allow) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    }
    if (r->srv->draining) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    }
    enum MHD_Result ret = MHD_queue_response(r->conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* Queues the JSON `body` (taken) with the standard headers. */
static enum MHD_Result answer_raw(http_req *r, int status, char *body, size_t len, bool retry_after,
                                  const char *allow) {
    return answer_typed(r, status, "application/json", body, len, MHD_RESPMEM_MUST_FREE,
                        retry_after, allow);
}

enum MHD_Result ncsl__http_answer_raw_body(http_req *r, int status, const char *content_type,
                                           void *body, size_t len, bool take) {
    return answer_typed(r, status, content_type, body, len,
                        take ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT, false, NULL);
}

enum MHD_Result ncsl__http_answer_buf(http_req *r, int status, ncsl_buf *b, bool retry_after,
                                      const char *allow) {
    if (b->oom) {
        ncsl_buf_cleanup(b);
        return MHD_NO;
    }
    size_t len = 0;
    char *body = ncsl_buf_steal(b, &len);
    return answer_raw(r, status, body, len, retry_after, allow);
}

enum MHD_Result ncsl__http_answer_error(http_req *r, int status, const char *code,
                                        const char *message, const char *field, const char *allow) {
    ncsl_buf b;
    ncsl_buf_init(&b, 0);
    ncsl__http_build_error(&b, r, code, message, field, NULL);
    return ncsl__http_answer_buf(r, status, &b, status == 503, allow);
}

enum MHD_Result ncsl__http_answer_status(http_req *r, ncsl_status st, const ncsl_err *err) {
    ncsl__http_metrics_store_status(&r->srv->metrics, st);
    const char *msg = err && err->message[0] ? err->message : ncsl_status_str(st);
    return ncsl__http_answer_error(r, ncsl_status_http(st), ncsl_status_code(st), msg,
                                   err ? err->field : NULL, NULL);
}

static enum MHD_Result answer_health(http_req *r) {
    ncsl_engine_stats stats;
    memset(&stats, 0, sizeof(stats));
    ncsl_engine_get_stats(r->srv->engine, &stats);
    ncsl_buf b;
    ncsl_buf_init(&b, 0);
    ncsl_buf_append_str(&b, "{\"status\":");
    ncsl_buf_append_str(&b, r->srv->draining ? "\"draining\"" : "\"ok\"");
    ncsl_buf_append_str(&b, ",");
    append_json_str_field(&b, "version", ncsl_version());
    ncsl_buf_append_str(&b, ",");
    append_json_str_field(&b, "quickjs", ncsl_quickjs_version());
    ncsl_buf_printf(&b,
                    ",\"tee\":\"%s\",\"workers\":%u,\"busyWorkers\":%u,\"queued\":%u,"
                    "\"queueCapacity\":%u,\"completed\":%llu,\"rejectedBusy\":%llu}",
                    r->srv->services.tee ? ncsl_tee_name(r->srv->services.tee) : "none",
                    stats.workers, stats.busy_workers, stats.queued, stats.queue_capacity,
                    (unsigned long long)stats.completed, (unsigned long long)stats.rejected_busy);
    return ncsl__http_answer_buf(r, 200, &b, false, NULL);
}

/* Engine completion: runs on a JS worker thread. */
static void on_exec_done(void *user, ncsl_status st, ncsl_result *res, const ncsl_err *err) {
    http_req *r = user;
    ncsl_http_server *srv = r->srv;
    /* Before the answer is built: a client woken by it finds the call counted. The status
     * counted is the one answered (NCSL_OK without a result is answered as a bug). */
    uint64_t now = ncsl_now_us();
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    ncsl__http_metrics_execution(&srv->metrics, st == NCSL_OK && !res ? NCSL_E_INTERNAL : st,
                                 now > r->submit_us ? now - r->submit_us : 0,
                                 res ? ncsl_result_memory_used_bytes(res) : 0,
                                 (uint64_t)wall.tv_sec * 1000u + (uint64_t)wall.tv_nsec / 1000000u);
    ncsl_buf b;
    ncsl_buf_init(&b, 0);
    int status = build_exec_response(&b, r, st, res, err);
    ncsl_result_destroy(res);
    char *body = NULL;
    size_t len = 0;
    if (b.oom) {
        ncsl_buf_cleanup(&b);
        /* Built on the stack: the envelope (with its metadata) needs no allocation but the copy. */
        char ts[40];
        char oom[256];
        ncsl_time_rfc3339(ts, sizeof(ts));
        snprintf(oom, sizeof(oom),
                 "{\"success\":false,\"error\":{\"code\":\"INTERNAL_ERROR\",\"message\":\"out of "
                 "memory building the response\"},\"metadata\":{\"requestId\":\"%s\","
                 "\"timestamp\":\"%s\"}}",
                 r->request_id, ts);
        body = ncsl_strdup(oom);
        len = body ? strlen(body) : 0;
        status = 500;
    } else {
        body = ncsl_buf_steal(&b, &len);
    }

    bool resume = false;
    pthread_mutex_lock(&srv->mu);
    if (!r->done && body) {
        r->done = true;
        r->resp = body;
        r->resp_len = len;
        r->status = status;
        r->retry_after = status == 503;
        body = NULL;
        pending_remove_locked(r);
        resume = r->suspended;
    }
    struct MHD_Connection *conn = r->conn;
    req_unref_locked(r);
    pthread_mutex_unlock(&srv->mu);
    free(body);
    if (resume) {
        /* Safe outside the lock: the connection is suspended, only we can wake it. */
        MHD_resume_connection(conn);
    }
}

enum MHD_Result ncsl__http_submit(http_req *r, const ncsl_exec_request *req, void (*wipe)(void *),
                                  void *wipe_arg) {
    ncsl_http_server *srv = r->srv;
    ncsl_err err;
    ncsl_err_clear(&err);
    pthread_mutex_lock(&srv->mu);
    r->refs++; /* the engine's reference, dropped by on_exec_done */
    r->prev = srv->pending.prev;
    r->next = &srv->pending;
    srv->pending.prev->next = r;
    srv->pending.prev = r;
    r->listed = true;
    r->state = REQ_WAITING;
    r->submit_us = ncsl_now_us(); /* before submitting: the callback may run at once */
    pthread_mutex_unlock(&srv->mu);

    ncsl_status st = ncsl_engine_submit(srv->engine, req, on_exec_done, r, &err);
    /* The engine copied what it needs: the secrets leave our memory now. */
    if (wipe) {
        wipe(wipe_arg);
    }
    ncsl_buf_cleanup_secure(&r->body);

    pthread_mutex_lock(&srv->mu);
    if (st != NCSL_OK) {
        pending_remove_locked(r);
        r->refs--; /* the callback will not run; MHD still holds its reference */
        pthread_mutex_unlock(&srv->mu);
        if (st == NCSL_E_BUSY) {
            NCSL_LOG_WARN("http", "request %s rejected: the queue is full", r->request_id);
        }
        ncsl__http_metrics_execution(&srv->metrics, st, UINT64_MAX, 0, 0);
        return ncsl__http_answer_status(r, st, &err);
    }
    if (!r->done) {
        MHD_suspend_connection(r->conn); /* under srv->mu: see the file comment */
        r->suspended = true;
        pthread_mutex_unlock(&srv->mu);
        return MHD_YES;
    }
    pthread_mutex_unlock(&srv->mu);
    /* Answered before we could suspend: queue it now. */
    char *body = r->resp;
    r->resp = NULL;
    return answer_raw(r, r->status, body, r->resp_len, r->retry_after, NULL);
}

static void wipe_exec_body(void *eb) {
    ncsl_http_exec_body_cleanup(eb);
}

static enum MHD_Result handle_execute(http_req *r) {
    ncsl_http_server *srv = r->srv;
    ncsl_err err;
    ncsl_err_clear(&err);
    ncsl_http_exec_body eb;
    const char *data = r->body.data ? r->body.data : "";
    ncsl_status st = ncsl_http_parse_execute(data, r->body.len, &eb, &err);
    if (st != NCSL_OK) {
        ncsl_buf_cleanup_secure(&r->body);
        return ncsl__http_answer_status(r, st, &err);
    }
    /* A user acts as themselves (userId absent means them); the admin may name any user. */
    const char *user_id = eb.user_id;
    if (!r->caller.admin) {
        if (user_id && strcmp(user_id, r->caller.user_id) != 0) {
            ncsl_http_exec_body_cleanup(&eb);
            ncsl_buf_cleanup_secure(&r->body);
            return ncsl__http_answer_error(r, 403, "FORBIDDEN",
                                           "userId must be the caller's own user id (or absent)",
                                           "userId", NULL);
        }
        user_id = r->caller.user_id;
    }

    /* The receipt's inputs, before the body and the parsed copy are wiped. */
    if (srv->services.keys) {
        ncsl_err herr;
        if (ncsl_crypto_sha256(eb.code, eb.code_len, r->code_hash, &herr) == NCSL_OK &&
            ncsl_crypto_sha256(eb.input_json ? eb.input_json : "null",
                               eb.input_json ? eb.input_len : 4, r->input_hash, &herr) == NCSL_OK) {
            r->function_id = eb.function_id ? ncsl_strdup(eb.function_id) : NULL;
            r->user_id = user_id ? ncsl_strdup(user_id) : NULL;
            r->receipt_wanted = (!eb.function_id || r->function_id) && (!user_id || r->user_id);
        }
    }
    ncsl_exec_request req = {
        .code = eb.code,
        .code_len = eb.code_len,
        .input_json = eb.input_json,
        .input_len = eb.input_len,
        .secrets = eb.secrets,
        .secret_count = eb.secret_count,
        .function_id = eb.function_id,
        .user_id = user_id,
    };
    return ncsl__http_submit(r, &req, wipe_exec_body, &eb);
}

/* Every endpoint. A path may appear with several methods; a GET route also answers HEAD. A
 * path with no "{name}" segment wins over a pattern that also matches it. The paths are the
 * templates of docs/openapi.json: its contract test (tests/interop/openapi_contract.js) reads
 * this table and fails when the two differ. */
static const http_route g_routes[] = {
    {"POST", "/api/v1/functions/execute-javascript", handle_execute, ACCESS_ANY},
    {"GET", "/healthz", answer_health, ACCESS_PUBLIC},
    {"GET", "/readyz", ncsl__http_route_readyz, ACCESS_PUBLIC},
    {"GET", "/metrics", ncsl__http_route_metrics, ACCESS_LOCAL},
    {"GET", "/api/v1/openapi.json", ncsl__http_route_openapi, ACCESS_PUBLIC},
    {"GET", "/api/v1/tee-info", ncsl__http_route_tee_info, ACCESS_ANY},
    {"GET", "/api/v1/attestation", ncsl__http_route_attestation, ACCESS_PUBLIC},
    {"POST", "/api/v1/attestation/verify", ncsl__http_route_attestation_verify, ACCESS_PUBLIC},
    {"POST", "/api/v1/receipts/verify", ncsl__http_route_receipt_verify, ACCESS_PUBLIC},
    {"GET", "/api/v1/me", ncsl__http_route_me, ACCESS_ANY},
    {"POST", "/api/v1/users", ncsl__http_route_user_create, ACCESS_ADMIN},
    {"GET", "/api/v1/users", ncsl__http_route_user_list, ACCESS_ADMIN},
    {"GET", "/api/v1/users/{id}", ncsl__http_route_user_get, ACCESS_ADMIN},
    {"DELETE", "/api/v1/users/{id}", ncsl__http_route_user_delete, ACCESS_ADMIN},
    {"POST", "/api/v1/users/{id}/keys", ncsl__http_route_key_create, ACCESS_ADMIN},
    {"GET", "/api/v1/users/{id}/keys", ncsl__http_route_key_list, ACCESS_ADMIN},
    {"DELETE", "/api/v1/users/{id}/keys/{keyId}", ncsl__http_route_key_revoke, ACCESS_ADMIN},
    {"POST", "/api/v1/functions", ncsl__http_route_function_create, ACCESS_USER},
    {"GET", "/api/v1/functions", ncsl__http_route_function_list, ACCESS_USER},
    {"GET", "/api/v1/functions/{id}", ncsl__http_route_function_get, ACCESS_USER},
    {"PUT", "/api/v1/functions/{id}", ncsl__http_route_function_update, ACCESS_USER},
    {"DELETE", "/api/v1/functions/{id}", ncsl__http_route_function_delete, ACCESS_USER},
    {"POST", "/api/v1/functions/{id}/invoke", ncsl__http_route_function_invoke, ACCESS_USER},
    {"PUT", "/api/v1/secrets/{name}", ncsl__http_route_secret_put, ACCESS_USER},
    {"GET", "/api/v1/secrets", ncsl__http_route_secret_list, ACCESS_USER},
    {"DELETE", "/api/v1/secrets/{name}", ncsl__http_route_secret_delete, ACCESS_USER},
};

static bool method_matches(const http_route *rt, const char *method) {
    return strcmp(rt->method, method) == 0 ||
           (strcmp(rt->method, "GET") == 0 && strcmp(method, "HEAD") == 0);
}

_Static_assert(NCSL_ARRAY_LEN(g_routes) <= NCSL_HTTP_MAX_ROUTES, "raise NCSL_HTTP_MAX_ROUTES");

const http_route *ncsl__http_routes(size_t *count) {
    *count = NCSL_ARRAY_LEN(g_routes);
    return g_routes;
}

static bool is_pattern(const char *path) {
    return strchr(path, '{') != NULL;
}

/* Whether `path` matches `pattern`; the "{name}" segments go to params (may be NULL). */
static bool path_matches(const char *pattern, const char *path,
                         char params[NCSL_HTTP_MAX_PARAMS][NCSL_HTTP_PARAM_SIZE]) {
    size_t n = 0;
    while (*pattern && *path) {
        if (pattern[0] == '{') {
            const char *close = strchr(pattern, '}');
            if (!close) {
                return false; /* a malformed template matches nothing */
            }
            const char *end = strchr(path, '/');
            size_t len = end ? (size_t)(end - path) : strlen(path);
            if (len == 0 || len >= NCSL_HTTP_PARAM_SIZE || n >= NCSL_HTTP_MAX_PARAMS) {
                return false;
            }
            if (params) {
                memcpy(params[n], path, len);
                params[n][len] = '\0';
            }
            n++;
            pattern = close + 1;
            path += len;
            continue;
        }
        if (*pattern != *path) {
            return false;
        }
        pattern++;
        path++;
    }
    return *pattern == '\0' && *path == '\0';
}

/* The route for `path` and `method` (exact paths first, then patterns), filling `params`; NULL
 * with *path_known telling whether another method of the path exists (405) or not (404). */
const http_route *ncsl__http_find_route(const char *path, const char *method, bool *path_known,
                                        char params[NCSL_HTTP_MAX_PARAMS][NCSL_HTTP_PARAM_SIZE]) {
    *path_known = false;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < NCSL_ARRAY_LEN(g_routes); i++) {
            bool pattern = is_pattern(g_routes[i].path);
            if (pattern != (pass == 1)) {
                continue;
            }
            /* A path without "{name}" matches only itself: strcmp is the cheap test. */
            if (pattern ? !path_matches(g_routes[i].path, path, NULL)
                        : strcmp(g_routes[i].path, path) != 0) {
                continue;
            }
            *path_known = true;
            if (method_matches(&g_routes[i], method)) {
                if (params) {
                    (void)path_matches(g_routes[i].path, path, params);
                }
                return &g_routes[i];
            }
        }
        if (*path_known) {
            return NULL; /* an exact path with other methods: not a pattern's id */
        }
    }
    return NULL;
}

static bool route_takes_body(const http_route *rt) {
    return strcmp(rt->method, "POST") == 0 || strcmp(rt->method, "PUT") == 0 ||
           strcmp(rt->method, "PATCH") == 0;
}

/* 404 or 405 (with Allow listing the path's methods). */
static enum MHD_Result answer_no_route(http_req *r) {
    bool path_known = false;
    (void)ncsl__http_find_route(r->path, r->method, &path_known, NULL);
    if (!path_known) {
        return ncsl__http_answer_error(r, 404, "NOT_FOUND", "no such endpoint", NULL, NULL);
    }
    char allow[96] = "";
    size_t used = 0;
    bool exact = false;
    for (size_t i = 0; i < NCSL_ARRAY_LEN(g_routes); i++) {
        exact = exact || strcmp(g_routes[i].path, r->path) == 0;
    }
    for (size_t i = 0; i < NCSL_ARRAY_LEN(g_routes); i++) {
        bool pattern = is_pattern(g_routes[i].path);
        if ((exact ? strcmp(g_routes[i].path, r->path) == 0
                   : pattern && path_matches(g_routes[i].path, r->path, NULL))) {
            bool get = strcmp(g_routes[i].method, "GET") == 0;
            used += (size_t)snprintf(allow + used, sizeof(allow) - used, "%s%s%s", used ? ", " : "",
                                     g_routes[i].method, get ? ", HEAD" : "");
            if (used >= sizeof(allow)) {
                break;
            }
        }
    }
    char msg[128];
    snprintf(msg, sizeof(msg), "use %s", allow);
    return ncsl__http_answer_error(r, 405, "METHOD_NOT_ALLOWED", msg, NULL, allow);
}

/* Runs once the request is complete: a response queued on MHD's first call makes it close the
 * connection, which would defeat keep-alive. */
static enum MHD_Result answer_complete(http_req *r) {
    conn_set_phase(r->srv, r->conn, CONN_BUSY); /* received in full: no longer slow */
    if (!r->route) {
        return answer_no_route(r);
    }
    if (!route_takes_body(r->route)) {
        enum MHD_Result answered = MHD_NO;
        if (ncsl__http_authorize(r, r->route->access, &answered) != NCSL_OK) {
            return answered;
        }
    } else {
        if (r->too_large) {
            char msg[128];
            snprintf(msg, sizeof(msg), "the body is larger than %zu bytes",
                     r->srv->cfg.server.max_body_bytes);
            return ncsl__http_answer_error(r, 413, "PAYLOAD_TOO_LARGE", msg, "body", NULL);
        }
        if (r->body.oom) {
            ncsl_buf_cleanup_secure(&r->body);
            return ncsl__http_answer_error(r, 500, "INTERNAL_ERROR", "out of memory", NULL, NULL);
        }
    }
    return r->route->handler(r);
}

/* The body buffer reserved from Content-Length before any of the body has arrived. */
static const size_t kBodyHeadStart = 64 * 1024;

static enum MHD_Result on_first_call(http_req *r, const char *url, const char *method) {
    ncsl_http_server *srv = r->srv;
    bool path_known = false;
    r->route = ncsl__http_find_route(url, method, &path_known, r->params);
    if (!r->route || !route_takes_body(r->route)) {
        r->state = REQ_SIMPLE;
        return MHD_YES;
    }
    /* Authenticated (and rate limited) before a byte of the body is read. */
    enum MHD_Result answered = MHD_NO;
    if (ncsl__http_authorize(r, r->route->access, &answered) != NCSL_OK) {
        return answered;
    }
    /* Rejected before the body is read: MHD then discards it and closes the connection. */
    const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Type");
    const char *cl0 = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Length");
    const char *te = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Transfer-Encoding");
    bool no_body = !ct && !te && (!cl0 || strcmp(cl0, "0") == 0);
    if (!no_body && !ncsl_http_content_type_is_json(ct)) {
        return ncsl__http_answer_error(r, 415, "UNSUPPORTED_MEDIA_TYPE",
                                       "Content-Type must be application/json", "Content-Type",
                                       NULL);
    }
    size_t max = srv->cfg.server.max_body_bytes;
    const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Length");
    unsigned long long clv = 0;
    if (cl) {
        char *end = NULL;
        clv = strtoull(cl, &end, 10);
        if (end != cl && clv > max) {
            char msg[128];
            snprintf(msg, sizeof(msg), "the body is larger than %zu bytes", max);
            return ncsl__http_answer_error(r, 413, "PAYLOAD_TOO_LARGE", msg, "body", NULL);
        }
    }
    ncsl_buf_init(&r->body, max);
    if (clv > 0) {
        /* A head start only: the declared length costs nothing to send, so memory follows the
         * bytes that arrive (the buffer doubles) rather than the header; reserving the whole
         * declared body let ConnectionLimit stalled clients claim ConnectionLimit x 4 MiB. */
        ncsl_buf_reserve(&r->body, clv < kBodyHeadStart ? (size_t)clv : kBodyHeadStart);
    }
    r->state = REQ_RECEIVING;
    return MHD_YES;
}

const char *ncsl__http_query(http_req *r, const char *name) {
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

json_t *ncsl__http_body_object(http_req *r, enum MHD_Result *answered) {
    json_error_t jerr;
    const char *data = r->body.data ? r->body.data : "";
    json_t *root = json_loadb(data, r->body.len, JSON_REJECT_DUPLICATES, &jerr);
    ncsl_buf_cleanup_secure(&r->body);
    if (!root || !json_is_object(root)) {
        char msg[128];
        if (!root) {
            /* jansson's text may quote the body: give the position only. */
            snprintf(msg, sizeof(msg), "the body is not valid JSON (line %d, column %d)", jerr.line,
                     jerr.column);
        } else {
            snprintf(msg, sizeof(msg), "the body must be a JSON object");
        }
        json_decref(root);
        *answered = ncsl__http_answer_error(r, 400, "VALIDATION_ERROR", msg, "body", NULL);
        return NULL;
    }
    return root;
}

enum MHD_Result ncsl__http_answer_data(http_req *r, json_t *data) {
    return ncsl__http_answer_json(r, 200, data);
}

int ncsl__http_buf_dump(const char *text, size_t len, void *buf) {
    ncsl_buf *b = buf;
    ncsl_buf_append(b, text, len);
    return b->oom ? -1 : 0;
}

enum MHD_Result ncsl__http_answer_json(http_req *r, int status, json_t *data) {
    /* Serialized straight into the answer: no intermediate string. */
    ncsl_buf b;
    ncsl_buf_init(&b, 0);
    ncsl_buf_reserve(&b, 512);
    ncsl_buf_append_str(&b, "{\"success\":true,\"data\":");
    bool ok = data && json_dump_callback(data, ncsl__http_buf_dump, &b,
                                         JSON_COMPACT | JSON_PRESERVE_ORDER) == 0;
    json_decref(data);
    if (!ok || b.oom) {
        ncsl_buf_cleanup(&b);
        return ncsl__http_answer_error(r, 500, "INTERNAL_ERROR", "out of memory", NULL, NULL);
    }
    ncsl__http_append_metadata(&b, r);
    return ncsl__http_answer_buf(r, status, &b, false, NULL);
}

/* `src` into `dst`, cut to fit (what snprintf "%s" does, without its cost). */
static void copy_truncated(char *dst, size_t size, const char *src) {
    size_t n = strnlen(src, size - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls) {
    ncsl_http_server *srv = cls;
    http_req *r = *con_cls;
    if (!r) {
        r = calloc(1, sizeof(*r));
        if (!r) {
            return MHD_NO;
        }
        r->srv = srv;
        r->conn = conn;
        r->refs = 1; /* MHD's reference, dropped in on_completed */
        r->start_us = ncsl_now_us();
        if (ncsl_uuid_v4(r->request_id) != NCSL_OK) {
            snprintf(r->request_id, sizeof(r->request_id), "req-%llu",
                     (unsigned long long)r->start_us);
        }
        copy_truncated(r->method, sizeof(r->method), method);
        copy_truncated(r->path, sizeof(r->path), url);
        pthread_mutex_lock(&srv->mu);
        srv->active++;
        pthread_mutex_unlock(&srv->mu);
        *con_cls = r;
        return on_first_call(r, url, method);
    }
    switch (r->state) {
    case REQ_SIMPLE:
        if (*upload_data_size > 0) {
            *upload_data_size = 0; /* a body we do not need: drop it unbuffered */
            return MHD_YES;
        }
        return answer_complete(r);
    case REQ_RECEIVING:
        if (*upload_data_size > 0) {
            r->received += *upload_data_size;
            size_t max = srv->cfg.server.max_body_bytes;
            if (r->received > max) {
                /* Keep counting, stop buffering: a body a little too large gets its 413 once it
                 * ends. MHD cannot answer before that, so one that goes on past twice the limit
                 * (a chunked stream without end) loses its connection instead. */
                if (!r->too_large) {
                    r->too_large = true;
                    ncsl_buf_cleanup_secure(&r->body);
                }
                if (r->received - max > max) {
                    NCSL_LOG_WARN("http",
                                  "request %s: body past twice the %zu-byte limit: closing the "
                                  "connection",
                                  r->request_id, max);
                    r->status = 413;
                    return MHD_NO;
                }
            } else {
                ncsl_buf_append(&r->body, upload_data, *upload_data_size);
            }
            *upload_data_size = 0;
            return MHD_YES;
        }
        return answer_complete(r);
    case REQ_WAITING: {
        pthread_mutex_lock(&srv->mu);
        bool done = r->done;
        char *body = r->resp;
        r->resp = NULL;
        pthread_mutex_unlock(&srv->mu);
        if (!done || !body) {
            return MHD_YES; /* spurious wake-up */
        }
        return answer_raw(r, r->status, body, r->resp_len, r->retry_after, NULL);
    }
    case REQ_NEW:
    case REQ_ANSWERED:
        break;
    }
    *upload_data_size = 0;
    return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    ncsl_http_server *srv = cls;
    bool reaped = false;
    http_conn *c = conn_of(conn);
    if (c) {
        /* Ready for the next request on this connection: the reaper's clock restarts. */
        pthread_mutex_lock(&srv->conn_mu);
        c->phase = CONN_IDLE;
        c->since_us = ncsl_now_us();
        reaped = c->reaped;
        pthread_mutex_unlock(&srv->conn_mu);
    }
    http_req *r = *con_cls;
    if (!r) {
        return;
    }
    *con_cls = NULL;
    if (reaped && r->status == 0) {
        r->status = 408;
    }
    if (!r->counted) { /* no answer was queued: the client left, the reaper's 408, MHD_NO */
        ncsl__http_metrics_request(&srv->metrics, r->route, r->status);
    }
    uint64_t us = ncsl_now_us() - r->start_us;
    NCSL_LOG_INFO("http",
                  "access method=%s path=%s status=%d durationMs=%llu.%03llu requestId=%s%s",
                  r->method, r->path, r->status, (unsigned long long)(us / 1000),
                  (unsigned long long)(us % 1000), r->request_id,
                  toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " aborted=true");
    pthread_mutex_lock(&srv->mu);
    srv->active--;
    if (!r->done) {
        r->done = true; /* a late engine callback drops its answer */
        pending_remove_locked(r);
    }
    req_unref_locked(r);
    pthread_mutex_unlock(&srv->mu);
}

/* MHD's error logger: its format strings come from libmicrohttpd, never from a client. */
__attribute__((format(printf, 2, 0))) static void on_mhd_log(void *cls, const char *fmt,
                                                             va_list ap) {
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r')) {
        msg[--n] = '\0';
    }
    NCSL_LOG_WARN("mhd", "%s", msg);
}

/* ------------------------------------------------------------------------- server */
ncsl_status ncsl_http_server_create(const ncsl_config *cfg, ncsl_engine *engine,
                                    const ncsl_http_services *services, ncsl_http_server **out,
                                    ncsl_err *err) {
    *out = NULL;
    ncsl_http_server *srv = calloc(1, sizeof(*srv));
    if (!srv) {
        return ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
    }
    srv->cfg = *cfg;
    /* The copy of the config must not keep the admin key: only its hash stays. */
    ncsl_wipe(srv->cfg.server.admin_key, sizeof(srv->cfg.server.admin_key));
    srv->engine = engine;
    if (services) {
        srv->services = *services;
        if (services->admin_key && *services->admin_key) {
            if (ncsl_crypto_sha256(services->admin_key, strlen(services->admin_key),
                                   srv->admin_hash, err) != NCSL_OK) {
                free(srv);
                return err ? err->code : NCSL_E_CRYPTO;
            }
            srv->has_admin = true;
        }
        srv->services.admin_key = NULL;
    }
    if (cfg->limits.requests_per_second > 0) {
        srv->rate = ncsl__http_rate_create(cfg->limits.requests_per_second, cfg->limits.burst);
        if (!srv->rate) {
            free(srv);
            return ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
        }
    }
    ncsl__http_metrics_init(&srv->metrics);
    srv->listen_fd = MHD_INVALID_SOCKET;
    srv->pending.next = srv->pending.prev = &srv->pending;
    srv->conns.next = srv->conns.prev = &srv->conns;
    pthread_mutex_init(&srv->mu, NULL);
    pthread_mutex_init(&srv->conn_mu, NULL);
    *out = srv;
    return NCSL_OK;
}

ncsl_status ncsl_http_server_start(ncsl_http_server *srv, ncsl_err *err) {
    ncsl_status st = NCSL_OK;
    struct addrinfo *ai = NULL;
    const ncsl_config_server *sc = &srv->cfg.server;
    struct addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    char port_s[8];
    snprintf(port_s, sizeof(port_s), "%u", (unsigned)sc->listen_port);
    int gai = getaddrinfo(sc->listen_host, port_s, &hints, &ai);
    if (gai != 0 || !ai) {
        st = ncsl_err_set(err, NCSL_E_CONFIG, "Server.Listen", "cannot resolve %s: %s",
                          sc->listen_host, gai_strerror(gai));
        goto out;
    }
    unsigned flags =
        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6) {
        flags |= MHD_USE_IPv6;
    }
    unsigned threads = sc->http_threads ? sc->http_threads : ncsl_cpu_count();
    /* ncsl_http_server_reap enforces ConnectionTimeoutSeconds on connections that wait for or
     * receive a request (with a 408 where one was started); MHD's timer, one second later, is
     * the backstop for the rest (a client that stops reading its response) and for servers
     * whose owner does not reap. Were both equal, MHD would win the race and close silently. */
    unsigned mhd_timeout = sc->connection_timeout_s + 1;
    srv->mhd = MHD_start_daemon(
        flags, sc->listen_port, NULL, NULL, on_access, srv, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log,
        srv, MHD_OPTION_SOCK_ADDR, ai->ai_addr, MHD_OPTION_THREAD_POOL_SIZE, threads,
        MHD_OPTION_CONNECTION_LIMIT, sc->connection_limit, MHD_OPTION_CONNECTION_TIMEOUT,
        mhd_timeout, MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_NOTIFY_CONNECTION,
        on_connection, srv, MHD_OPTION_URI_LOG_CALLBACK, on_request_line, srv, MHD_OPTION_END);
    if (!srv->mhd) {
        st = ncsl_err_set(err, NCSL_E_IO, "Server.Listen",
                          "cannot listen on %s:%u (address in use or not local?)", sc->listen_host,
                          (unsigned)sc->listen_port);
        goto out;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info && info->port ? info->port : sc->listen_port;
    bool v6 = strchr(sc->listen_host, ':') != NULL;
    snprintf(srv->url, sizeof(srv->url), "http://%s%s%s:%u", v6 ? "[" : "", sc->listen_host,
             v6 ? "]" : "", (unsigned)srv->port);
out:
    if (ai) {
        freeaddrinfo(ai);
    }
    return st;
}

uint16_t ncsl_http_server_port(const ncsl_http_server *srv) {
    return srv->port;
}

const char *ncsl_http_server_url(const ncsl_http_server *srv) {
    return srv->url;
}

void ncsl_http_server_quiesce(ncsl_http_server *srv) {
    pthread_mutex_lock(&srv->mu);
    srv->draining = true;
    pthread_mutex_unlock(&srv->mu);
    if (srv->mhd && srv->listen_fd == MHD_INVALID_SOCKET) {
        srv->listen_fd = MHD_quiesce_daemon(srv->mhd);
    }
}

unsigned ncsl_http_server_active(ncsl_http_server *srv) {
    pthread_mutex_lock(&srv->mu);
    unsigned n = srv->active;
    pthread_mutex_unlock(&srv->mu);
    return n;
}

void ncsl_http_server_abort_pending(ncsl_http_server *srv) {
    static const char kMsg[] = "the server is shutting down";
    pthread_mutex_lock(&srv->mu);
    while (srv->pending.next != &srv->pending) {
        http_req *r = srv->pending.next;
        pending_remove_locked(r);
        if (r->done) {
            continue;
        }
        ncsl_buf b;
        ncsl_buf_init(&b, 0);
        ncsl__http_build_error(&b, r, "SERVICE_UNAVAILABLE", kMsg, NULL, NULL);
        r->done = true;
        r->status = 503;
        r->retry_after = true;
        r->resp = ncsl_buf_steal(&b, &r->resp_len);
        if (r->suspended) {
            MHD_resume_connection(r->conn);
        }
    }
    pthread_mutex_unlock(&srv->mu);
}

void ncsl_http_server_stop(ncsl_http_server *srv) {
    if (!srv || !srv->mhd) {
        return;
    }
    MHD_stop_daemon(srv->mhd);
    srv->mhd = NULL;
    if (srv->listen_fd != MHD_INVALID_SOCKET) {
        close(srv->listen_fd);
        srv->listen_fd = MHD_INVALID_SOCKET;
    }
}

void ncsl_http_server_destroy(ncsl_http_server *srv) {
    if (!srv) {
        return;
    }
    ncsl_http_server_stop(srv);
    ncsl__http_rate_destroy(srv->rate);
    pthread_mutex_destroy(&srv->conn_mu);
    pthread_mutex_destroy(&srv->mu);
    free(srv);
}
