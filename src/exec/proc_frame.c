/*
 * The worker protocol of process isolation (exec_int.h describes the frames): field encoders and
 * decoders, frame I/O with deadlines, and the JOB and RESULT messages. Both sides treat the
 * other as untrusted input: a decoder never reads past its payload, never allocates more than
 * the payload holds, and rejects anything the encoder would not have written.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "exec/exec_int.h"

/* ------------------------------------------------------------------------- encoder */
static void wr_raw(ncsl__wr *w, const void *p, size_t n) {
    if (w->data && n) {
        memcpy(w->data + w->len, p, n);
    }
    w->len += n;
}

void ncsl__wr_u8(ncsl__wr *w, uint8_t v) {
    wr_raw(w, &v, 1);
}

void ncsl__wr_u32(ncsl__wr *w, uint32_t v) {
    uint8_t b[4];
    for (int i = 0; i < 4; i++) {
        b[i] = (uint8_t)(v >> (8 * i));
    }
    wr_raw(w, b, sizeof(b));
}

void ncsl__wr_u64(ncsl__wr *w, uint64_t v) {
    uint8_t b[8];
    for (int i = 0; i < 8; i++) {
        b[i] = (uint8_t)(v >> (8 * i));
    }
    wr_raw(w, b, sizeof(b));
}

void ncsl__wr_bytes(ncsl__wr *w, const void *p, size_t n) {
    ncsl__wr_u32(w, (uint32_t)n);
    wr_raw(w, p, n);
}

void ncsl__wr_opt(ncsl__wr *w, const void *p, size_t n) {
    ncsl__wr_u8(w, p ? 1 : 0);
    if (p) {
        ncsl__wr_bytes(w, p, n);
    }
}

static void wr_str(ncsl__wr *w, const char *s) {
    ncsl__wr_bytes(w, s ? s : "", s ? strlen(s) : 0);
}

static void wr_opt_str(ncsl__wr *w, const char *s) {
    ncsl__wr_opt(w, s, s ? strlen(s) : 0);
}

/* ------------------------------------------------------------------------- decoder */
static const uint8_t *rd_raw(ncsl__rd *r, size_t n) {
    if (r->bad || n > r->len - r->off) {
        r->bad = true;
        return NULL;
    }
    const uint8_t *p = r->p + r->off;
    r->off += n;
    return p;
}

uint8_t ncsl__rd_u8(ncsl__rd *r) {
    const uint8_t *p = rd_raw(r, 1);
    return p ? p[0] : 0;
}

uint32_t ncsl__rd_u32(ncsl__rd *r) {
    const uint8_t *p = rd_raw(r, 4);
    uint32_t v = 0;
    for (int i = 0; p && i < 4; i++) {
        v |= (uint32_t)p[i] << (8 * i);
    }
    return v;
}

uint64_t ncsl__rd_u64(ncsl__rd *r) {
    const uint8_t *p = rd_raw(r, 8);
    uint64_t v = 0;
    for (int i = 0; p && i < 8; i++) {
        v |= (uint64_t)p[i] << (8 * i);
    }
    return v;
}

const uint8_t *ncsl__rd_bytes(ncsl__rd *r, size_t *n, size_t max) {
    size_t len = ncsl__rd_u32(r);
    if (len > max) {
        r->bad = true;
    }
    const uint8_t *p = rd_raw(r, len);
    *n = p ? len : 0;
    return p;
}

const uint8_t *ncsl__rd_opt(ncsl__rd *r, size_t *n, size_t max, bool *present) {
    uint8_t flag = ncsl__rd_u8(r);
    *n = 0;
    *present = false;
    if (flag > 1) {
        r->bad = true;
    }
    if (r->bad || flag == 0) {
        return NULL;
    }
    *present = true;
    return ncsl__rd_bytes(r, n, max);
}

char *ncsl__rd_str(ncsl__rd *r, size_t max, bool *oom) {
    size_t n = 0;
    const uint8_t *p = ncsl__rd_bytes(r, &n, max);
    if (r->bad || (n && memchr(p, '\0', n))) {
        r->bad = true;
        return NULL;
    }
    char *s = ncsl_strndup(n ? (const char *)p : "", n);
    if (!s) {
        *oom = true;
    }
    return s;
}

bool ncsl__rd_done(const ncsl__rd *r) {
    return !r->bad && r->off == r->len;
}

/* An optional NUL-free string (error name, message, stack). */
static char *rd_opt_str(ncsl__rd *r, size_t max, bool *oom) {
    size_t n = 0;
    bool present = false;
    const uint8_t *p = ncsl__rd_opt(r, &n, max, &present);
    if (!present || r->bad) {
        return NULL;
    }
    if (n && memchr(p, '\0', n)) {
        r->bad = true;
        return NULL;
    }
    char *s = ncsl_strndup(n ? (const char *)p : "", n);
    if (!s) {
        *oom = true;
    }
    return s;
}

/* ------------------------------------------------------------------------- frames */
uint8_t *ncsl__proc_frame_new(ncsl__proc_msg type, size_t payload_len, ncsl__wr *w) {
    if (payload_len > UINT32_MAX) {
        return NULL;
    }
    uint8_t *f = malloc(NCSL__PROC_HEADER_SIZE + payload_len);
    if (!f) {
        return NULL;
    }
    w->data = f;
    w->len = 0;
    ncsl__wr_u32(w, (uint32_t)payload_len);
    ncsl__wr_u8(w, (uint8_t)type);
    ncsl__wr_u8(w, 0);
    ncsl__wr_u8(w, 0);
    ncsl__wr_u8(w, 0);
    return f;
}

void ncsl__proc_frame_free(void *frame, size_t len) {
    if (frame) {
        ncsl_wipe(frame, len);
        free(frame);
    }
}

/* Milliseconds left until deadline_ns for poll (-1: no deadline; 0: passed). */
static int poll_ms(uint64_t deadline_ns) {
    if (!deadline_ns) {
        return -1;
    }
    uint64_t now = ncsl_now_ns();
    if (now >= deadline_ns) {
        return 0;
    }
    uint64_t ms = (deadline_ns - now + 999999u) / 1000000u;
    return ms > 60000 ? 60000 : (int)ms;
}

/* Waits until fd is ready for `events`; false (err set) at the deadline or on a poll error. */
static bool wait_fd(int fd, short events, uint64_t deadline_ns, ncsl_err *err) {
    for (;;) {
        int ms = poll_ms(deadline_ns);
        if (ms == 0) {
            ncsl_err_set(err, NCSL_E_IO, NULL, "the worker did not answer in time");
            return false;
        }
        struct pollfd pfd = {.fd = fd, .events = events};
        int n = poll(&pfd, 1, ms);
        if (n > 0) {
            return true; /* ready, or an error/hang-up the next read or write reports */
        }
        if (n < 0 && errno != EINTR) {
            ncsl_err_set(err, NCSL_E_IO, NULL, "poll on the worker socket failed: %s",
                         strerror(errno));
            return false;
        }
    }
}

ncsl_status ncsl__proc_write(int fd, const void *p, size_t len, uint64_t deadline_ns,
                             ncsl_err *err) {
    const uint8_t *b = p;
    while (len) {
        ssize_t w = send(fd, b, len, MSG_NOSIGNAL);
        if (w > 0) {
            b += w;
            len -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && deadline_ns) {
            if (!wait_fd(fd, POLLOUT, deadline_ns, err)) {
                return NCSL_E_IO;
            }
            continue;
        }
        return ncsl_err_set(err, NCSL_E_IO, NULL, "cannot write to the worker socket: %s",
                            w < 0 ? strerror(errno) : "closed");
    }
    return NCSL_OK;
}

/* Reads exactly `len` bytes. *got counts what arrived (end of file: NCSL_E_IO with *got < len). */
static ncsl_status read_full(int fd, uint8_t *p, size_t len, uint64_t deadline_ns, size_t *got,
                             ncsl_err *err) {
    *got = 0;
    while (*got < len) {
        if (deadline_ns && !wait_fd(fd, POLLIN, deadline_ns, err)) {
            return NCSL_E_IO;
        }
        ssize_t n = recv(fd, p + *got, len - *got, 0);
        if (n > 0) {
            *got += (size_t)n;
            continue;
        }
        if (n == 0) {
            return ncsl_err_set(err, *got ? NCSL_E_IO : NCSL_E_SHUTDOWN, NULL,
                                "the socket was closed");
        }
        if (errno == EINTR || ((errno == EAGAIN || errno == EWOULDBLOCK) && deadline_ns)) {
            continue;
        }
        return ncsl_err_set(err, NCSL_E_IO, NULL, "cannot read the worker socket: %s",
                            strerror(errno));
    }
    return NCSL_OK;
}

ncsl_status ncsl__proc_read_frame(int fd, size_t max_payload, uint64_t deadline_ns, uint8_t *type,
                                  uint8_t **payload, size_t *len, ncsl_err *err) {
    *payload = NULL;
    *len = 0;
    uint8_t h[NCSL__PROC_HEADER_SIZE];
    size_t got = 0;
    ncsl_status st = read_full(fd, h, sizeof(h), deadline_ns, &got, err);
    if (st != NCSL_OK) {
        return st; /* NCSL_E_SHUTDOWN only when not one byte of a frame arrived */
    }
    ncsl__rd r = {.p = h, .len = sizeof(h)};
    uint32_t n = ncsl__rd_u32(&r);
    uint8_t t = ncsl__rd_u8(&r);
    if (t < NCSL__MSG_INIT || t > NCSL__MSG_RESULT || h[5] || h[6] || h[7]) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, NULL,
                            "malformed frame header (type %u, reserved %02x%02x%02x)", t, h[5],
                            h[6], h[7]);
    }
    if (n > max_payload) {
        return ncsl_err_set(err, NCSL_E_PAYLOAD_TOO_LARGE, NULL,
                            "a frame of %u bytes is over the bound of %zu", n, max_payload);
    }
    /* Grow with what arrives, so an announced length costs nothing until the bytes exist. */
    uint8_t *buf = NULL;
    size_t cap = 0;
    size_t have = 0;
    while (have < n) {
        if (have == cap) {
            size_t ncap = cap ? cap * 2 : 64 * 1024;
            if (ncap > n) {
                ncap = n;
            }
            uint8_t *nb = malloc(ncap);
            if (!nb) {
                ncsl__proc_frame_free(buf, cap);
                return ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory for a %u-byte frame",
                                    n);
            }
            if (have) {
                memcpy(nb, buf, have);
            }
            ncsl__proc_frame_free(buf, cap); /* wiped: frames carry secrets */
            buf = nb;
            cap = ncap;
        }
        ncsl_err rerr;
        ncsl_err_clear(&rerr);
        st = read_full(fd, buf + have, cap - have, deadline_ns, &got, &rerr);
        have += got;
        if (st != NCSL_OK) {
            ncsl__proc_frame_free(buf, cap);
            return ncsl_err_set(err, st == NCSL_E_NOMEM ? st : NCSL_E_IO, NULL,
                                "%zu of a %u-byte frame arrived: %s", have, n, rerr.message);
        }
    }
    *type = t;
    *payload = buf;
    *len = n;
    return NCSL_OK;
}

/* ------------------------------------------------------------------------- INIT */
#define MAX_STACK ((uint64_t)64 << 20)

void ncsl__proc_init_encode(ncsl__wr *w, const ncsl__proc_init *m) {
    const ncsl_fetch_policy *f = &m->fetch;
    ncsl__wr_u32(w, NCSL__PROC_VERSION);
    ncsl__wr_u32(w, m->log_level);
    ncsl__wr_u64(w, m->stack_bytes);
    ncsl__wr_opt(w, m->key, NCSL__PROC_KEY_SIZE);
    ncsl__wr_u8(w, f->allow_private_networks ? 1 : 0);
    ncsl__wr_u32(w, f->max_requests_per_call);
    ncsl__wr_u64(w, f->max_response_bytes);
    ncsl__wr_u64(w, f->max_request_bytes);
    ncsl__wr_u32(w, f->timeout_ms);
    ncsl__wr_u32(w, f->max_concurrent);
    ncsl__wr_u32(w, (uint32_t)f->allowed_host_count);
    for (size_t i = 0; i < f->allowed_host_count; i++) {
        wr_str(w, f->allowed_hosts[i]);
    }
}

ncsl_status ncsl__proc_init_decode(const uint8_t *p, size_t len, ncsl__proc_init *m,
                                   ncsl_err *err) {
    memset(m, 0, sizeof(*m));
    ncsl__rd r = {.p = p, .len = len};
    bool oom = false;
    bool present = false;
    size_t n = 0;
    uint32_t version = ncsl__rd_u32(&r);
    m->log_level = ncsl__rd_u32(&r);
    m->stack_bytes = ncsl__rd_u64(&r);
    m->key = ncsl__rd_opt(&r, &n, NCSL__PROC_KEY_SIZE, &present);
    if (present && n != NCSL__PROC_KEY_SIZE) {
        r.bad = true;
    }
    ncsl_fetch_policy *f = &m->fetch;
    uint8_t priv = ncsl__rd_u8(&r);
    if (priv > 1) {
        r.bad = true;
    }
    f->allow_private_networks = priv == 1;
    f->max_requests_per_call = ncsl__rd_u32(&r);
    f->max_response_bytes = (size_t)ncsl__rd_u64(&r);
    f->max_request_bytes = (size_t)ncsl__rd_u64(&r);
    f->timeout_ms = ncsl__rd_u32(&r);
    f->max_concurrent = ncsl__rd_u32(&r);
    uint32_t count = ncsl__rd_u32(&r);
    if (count > NCSL_FETCH_MAX_HOSTS) {
        r.bad = true;
    }
    char **hosts = NULL;
    if (!r.bad && count) {
        hosts = calloc(count, sizeof(*hosts));
        oom |= !hosts;
    }
    size_t got = 0;
    for (; hosts && !r.bad && !oom && got < count; got++) {
        hosts[got] = ncsl__rd_str(&r, NCSL_FETCH_MAX_HOST_PATTERN, &oom);
        if (!hosts[got]) {
            break;
        }
        if (!hosts[got][0]) {
            r.bad = true; /* an empty pattern: never configured */
            got++;
            break;
        }
    }
    f->allowed_hosts = (const char *const *)hosts;
    f->allowed_host_count = hosts ? count : 0;
    if (oom) {
        ncsl_fetch_policy_cleanup(f);
        m->key = NULL;
        return ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory decoding the start frame");
    }
    if (!ncsl__rd_done(&r) || got != count || version != NCSL__PROC_VERSION ||
        m->log_level > NCSL_LOG_LEVEL_DEBUG || m->stack_bytes == 0 || m->stack_bytes > MAX_STACK) {
        ncsl_fetch_policy_cleanup(f);
        m->key = NULL;
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, NULL,
                            version != NCSL__PROC_VERSION && !r.bad
                                ? "the start frame is of another protocol version"
                                : "malformed start frame");
    }
    return NCSL_OK;
}

/* ------------------------------------------------------------------------- JOB */
void ncsl__proc_job_encode(ncsl__wr *w, const ncsl_js_call *c) {
    ncsl__wr_bytes(w, c->code, c->code_len);
    ncsl__wr_opt(w, c->input_json, c->input_len);
    ncsl__wr_u32(w, (uint32_t)c->secret_count);
    for (size_t i = 0; i < c->secret_count; i++) {
        wr_str(w, c->secrets[i].name);
        ncsl__wr_bytes(w, c->secrets[i].value, c->secrets[i].value_len);
    }
    wr_str(w, c->function_id);
    wr_str(w, c->user_id);
    ncsl__wr_u64(w, c->limits.memory_bytes);
    ncsl__wr_u32(w, c->limits.timeout_ms);
    ncsl__wr_u64(w, c->limits.stack_bytes);
    ncsl__wr_u64(w, c->limits.max_output_bytes);
    ncsl__wr_u64(w, c->limits.max_log_bytes);
    ncsl__wr_u64(w, c->limits.gas_limit);
    ncsl__wr_u8(w, c->storage ? 1 : 0);
    if (c->storage) {
        ncsl__wr_u64(w, c->storage->max_key_bytes);
        ncsl__wr_u64(w, c->storage->max_value_bytes);
        ncsl__wr_u64(w, c->storage->quota_bytes);
    }
}

void ncsl__proc_job_cleanup(ncsl__proc_job *j) {
    free(j->code);
    if (j->input) {
        ncsl_wipe(j->input, j->input_len);
        free(j->input);
    }
    ncsl_secrets_free(j->secrets, j->secret_count);
    free(j->function_id);
    free(j->user_id);
    memset(j, 0, sizeof(*j));
}

#define MAX_FIELD ((size_t)UINT32_MAX)
#define MAX_ID 65536u /* function and user ids; the daemon's are far shorter */

ncsl_status ncsl__proc_job_decode(const uint8_t *p, size_t len, ncsl__proc_job *j, ncsl_err *err) {
    memset(j, 0, sizeof(*j));
    ncsl__rd r = {.p = p, .len = len};
    bool oom = false;
    size_t n = 0;
    const uint8_t *code = ncsl__rd_bytes(&r, &n, MAX_FIELD);
    if (!r.bad && n) {
        j->code = ncsl_strndup((const char *)code, n);
        j->code_len = n;
        oom |= !j->code;
    }
    bool present = false;
    const uint8_t *input = ncsl__rd_opt(&r, &n, MAX_FIELD, &present);
    if (present && !r.bad) {
        j->input = ncsl_strndup(n ? (const char *)input : "", n);
        j->input_len = n;
        oom |= !j->input;
    }
    uint32_t count = ncsl__rd_u32(&r);
    /* each secret takes at least 8 bytes: a count the payload cannot hold is malformed */
    if (count > (len - (r.off < len ? r.off : len)) / 8) {
        r.bad = true;
    }
    if (!r.bad && count && !oom) {
        j->secrets = calloc(count, sizeof(*j->secrets));
        oom |= !j->secrets;
    }
    for (uint32_t i = 0; !r.bad && !oom && i < count; i++) {
        char *name = ncsl__rd_str(&r, MAX_FIELD, &oom);
        const uint8_t *v = ncsl__rd_bytes(&r, &n, MAX_FIELD);
        char *value = r.bad || !name ? NULL : ncsl_strndup(n ? (const char *)v : "", n);
        if (!r.bad && name && !value) {
            oom = true;
        }
        if (!name || !value) {
            free(name);
            free(value);
            break;
        }
        j->secrets[i].name = name;
        j->secrets[i].value = value;
        j->secrets[i].value_len = n;
        j->secret_count = i + 1;
    }
    if (!r.bad && !oom) {
        j->function_id = ncsl__rd_str(&r, MAX_ID, &oom);
    }
    if (!r.bad && !oom) {
        j->user_id = ncsl__rd_str(&r, MAX_ID, &oom);
    }
    j->limits.memory_bytes = (size_t)ncsl__rd_u64(&r);
    j->limits.timeout_ms = ncsl__rd_u32(&r);
    j->limits.stack_bytes = (size_t)ncsl__rd_u64(&r);
    j->limits.max_output_bytes = (size_t)ncsl__rd_u64(&r);
    j->limits.max_log_bytes = (size_t)ncsl__rd_u64(&r);
    j->limits.gas_limit = ncsl__rd_u64(&r);
    uint8_t has_storage = ncsl__rd_u8(&r);
    if (has_storage > 1) {
        r.bad = true;
    }
    j->has_storage = has_storage == 1;
    if (j->has_storage) {
        j->max_key_bytes = (size_t)ncsl__rd_u64(&r);
        j->max_value_bytes = (size_t)ncsl__rd_u64(&r);
        j->quota_bytes = ncsl__rd_u64(&r);
    }
    if (oom) {
        ncsl__proc_job_cleanup(j);
        return ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory decoding a call");
    }
    if (!ncsl__rd_done(&r) || !j->code || !j->code_len || !j->function_id || !j->user_id ||
        j->secret_count != count || !j->limits.timeout_ms || !j->limits.memory_bytes ||
        !j->limits.stack_bytes) {
        ncsl__proc_job_cleanup(j);
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, NULL, "malformed call frame");
    }
    return NCSL_OK;
}

/* ------------------------------------------------------------------------- RESULT */
void ncsl__proc_result_encode(ncsl__wr *w, ncsl_status st, const ncsl_err *e,
                              const ncsl_js_outcome *o) {
    ncsl__wr_u32(w, (uint32_t)st);
    ncsl__wr_u32(w, (uint32_t)o->status);
    wr_str(w, e ? e->field : "");
    wr_str(w, e ? e->message : "");
    ncsl__wr_opt(w, o->result_json, o->result_len);
    ncsl__wr_opt(w, o->logs_json, o->logs_len);
    wr_opt_str(w, o->error_name);
    wr_opt_str(w, o->error_message);
    wr_opt_str(w, o->error_stack);
    ncsl__wr_u64(w, o->memory_used_bytes);
    ncsl__wr_u64(w, o->gas_used);
    ncsl__wr_u32(w, (uint32_t)o->storage_write_count);
    for (size_t i = 0; i < o->storage_write_count; i++) {
        const ncsl_storage_write *wr = &o->storage_writes[i];
        ncsl__wr_u8(w, (uint8_t)wr->type);
        wr_opt_str(w, wr->key);
        ncsl__wr_opt(w, wr->value, wr->value_len);
    }
}

/* What ncsl_js_run may return: success, a JS failure, or a host failure. */
static bool run_status_ok(uint32_t st) {
    return st == NCSL_OK || (st >= NCSL_E_JS_EXCEPTION && st <= NCSL_E_JS_GAS) ||
           st == NCSL_E_NOMEM || st == NCSL_E_INTERNAL || st == NCSL_E_INVALID_ARG;
}

/* A copy of `n` bytes with a NUL after them (outcome texts are NUL-terminated). */
static char *dup_bytes(const uint8_t *p, size_t n, bool *oom) {
    char *s = ncsl_strndup(n ? (const char *)p : "", n);
    if (!s) {
        *oom = true;
    }
    return s;
}

ncsl_status ncsl__proc_result_decode(const uint8_t *p, size_t len, ncsl_status *st,
                                     ncsl_err *call_err, ncsl_js_outcome *o, ncsl_err *err) {
    memset(o, 0, sizeof(*o));
    ncsl_err_clear(call_err);
    ncsl__rd r = {.p = p, .len = len};
    bool oom = false;
    bool present = false;
    size_t n = 0;
    uint32_t run_st = ncsl__rd_u32(&r);
    uint32_t out_st = ncsl__rd_u32(&r);
    const uint8_t *field = ncsl__rd_bytes(&r, &n, sizeof(call_err->field) - 1);
    if (!r.bad) {
        memcpy(call_err->field, field, n);
        call_err->field[n] = '\0';
    }
    const uint8_t *msg = ncsl__rd_bytes(&r, &n, sizeof(call_err->message) - 1);
    if (!r.bad) {
        memcpy(call_err->message, msg, n);
        call_err->message[n] = '\0';
    }
    const uint8_t *v = ncsl__rd_opt(&r, &n, MAX_FIELD, &present);
    if (present && !r.bad) {
        o->result_json = dup_bytes(v, n, &oom);
        o->result_len = n;
    }
    v = ncsl__rd_opt(&r, &n, MAX_FIELD, &present);
    if (present && !r.bad) {
        o->logs_json = dup_bytes(v, n, &oom);
        o->logs_len = n;
    }
    o->error_name = rd_opt_str(&r, MAX_FIELD, &oom);
    o->error_message = rd_opt_str(&r, MAX_FIELD, &oom);
    o->error_stack = rd_opt_str(&r, MAX_FIELD, &oom);
    o->memory_used_bytes = ncsl__rd_u64(&r);
    o->gas_used = ncsl__rd_u64(&r);
    uint32_t count = ncsl__rd_u32(&r);
    /* each write takes at least 3 bytes */
    if (count > (len - (r.off < len ? r.off : len)) / 3 ||
        count > NCSL_JS_STORAGE_MAX_PENDING_KEYS + 1) {
        r.bad = true;
    }
    if (!r.bad && count && !oom) {
        o->storage_writes = calloc(count, sizeof(*o->storage_writes));
        oom |= !o->storage_writes;
    }
    for (uint32_t i = 0; !r.bad && !oom && o->storage_writes && i < count; i++) {
        ncsl_storage_write *w = &o->storage_writes[i];
        uint8_t type = ncsl__rd_u8(&r);
        char *key = rd_opt_str(&r, MAX_FIELD, &oom);
        const uint8_t *val = ncsl__rd_opt(&r, &n, MAX_FIELD, &present);
        char *value = present && !r.bad ? dup_bytes(val, n, &oom) : NULL;
        o->storage_write_count = i + 1;
        w->type = (ncsl_storage_write_type)type;
        w->key = key;
        w->value = value;
        w->value_len = value ? n : 0;
        bool ok = (type == NCSL_STORAGE_SET && key && value) ||
                  (type == NCSL_STORAGE_REMOVE && key && !value) ||
                  (type == NCSL_STORAGE_CLEAR && !key && !value);
        if (!ok && !oom) {
            r.bad = true;
        }
    }
    if (oom) {
        ncsl_js_outcome_cleanup(o);
        return ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory decoding a result");
    }
    bool ok = ncsl__rd_done(&r) && run_status_ok(run_st) && run_status_ok(out_st) &&
              (run_st == NCSL_OK || !o->result_json) && (run_st == NCSL_OK || count == 0) &&
              o->storage_write_count == count;
    if (!ok) {
        ncsl_js_outcome_cleanup(o);
        ncsl_err_clear(call_err);
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, NULL, "malformed result frame");
    }
    o->status = (ncsl_status)out_st;
    *st = (ncsl_status)run_st;
    call_err->code = (ncsl_status)run_st;
    return NCSL_OK;
}
