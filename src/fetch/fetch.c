/*
 * The fetch service: one I/O thread, one curl multi handle, every outbound request of the process.
 *
 * Threads: submitters (JS workers, tests) build a request handle, check it against the policy and
 * push it on the incoming list under g_fetch.mu, then wake the I/O thread (curl_multi_wakeup).
 * The I/O thread owns everything else: it moves incoming requests into the multi handle, drives
 * curl, follows redirects itself (each hop checked again), enforces deadlines and cancellations,
 * and calls each request's completion callback exactly once, then drops its reference.
 *
 * Addresses: the name in a URL says nothing about where curl connects (it may resolve to
 * 127.0.0.1, or to another address on the next lookup), so the address is checked twice per
 * request: in open_socket, before curl creates the socket for an address it resolved (nothing is
 * ever sent to a refused address), and in check_connection (CURLOPT_PREREQFUNCTION) with the
 * address of the connection the request is about to use, which also covers connections reused
 * from the pool.
 *
 * Memory: a response body is buffered up to its request's cap (reading stops past it), and all
 * buffered bodies of the process share a budget (g_fetch.buffered, BUFFER_BUDGET), so hostile
 * servers cannot make the process grow without bound whatever the concurrency.
 *
 * Secrets: request headers and bodies (API keys) are wiped when freed and never logged; error
 * messages name the host and the setting, never the URL's path or query.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>

#include "fetch/fetch_int.h"

#define DEFAULT_MAX_REQUESTS 16u
#define DEFAULT_MAX_RESPONSE_BYTES ((size_t)8 << 20)
#define DEFAULT_MAX_REQUEST_BYTES ((size_t)1 << 20)
#define DEFAULT_TIMEOUT_MS 10000u
#define DEFAULT_MAX_CONCURRENT 256u
/* request headers of one request, names and values */
#define MAX_REQUEST_HEADER_BYTES ((size_t)64 << 10)
/* all response bodies buffered at once in the process: at least this, or 4 maximal responses */
#define MIN_BUFFER_BUDGET ((size_t)256 << 20)
/* the I/O thread looks at cancellations and deadlines at least this often */
#define MAX_POLL_MS 1000
#define USER_AGENT "ncsl-fetch/" NCSL_VERSION

/* ------------------------------------------------------------------------- policy snapshots */
/* An immutable policy; requests keep a reference to the one they were submitted under, so their
 * redirect hops are judged by it even if the operator reconfigures meanwhile. */
typedef struct policy_snap {
    atomic_int refs;
    ncsl_fetch_policy p; /* scalars; allowed_hosts NULL */
    ncsl__fetch_pattern *pats;
    char **hosts; /* the patterns as configured (pat_count of them), for ncsl_fetch_policy_copy */
    size_t pat_count;
} policy_snap;

static policy_snap g_default_snap = {
    .refs = 1, /* never freed */
    .p =
        {
            .max_requests_per_call = DEFAULT_MAX_REQUESTS,
            .max_response_bytes = DEFAULT_MAX_RESPONSE_BYTES,
            .max_request_bytes = DEFAULT_MAX_REQUEST_BYTES,
            .timeout_ms = DEFAULT_TIMEOUT_MS,
            .max_concurrent = DEFAULT_MAX_CONCURRENT,
        },
};

static void snap_free(policy_snap *s) {
    for (size_t i = 0; s->hosts && i < s->pat_count; i++) {
        free(s->hosts[i]);
    }
    free(s->hosts);
    free(s->pats);
    free(s);
}

static void snap_unref(policy_snap *s) {
    if (s && s != &g_default_snap && atomic_fetch_sub(&s->refs, 1) == 1) {
        snap_free(s);
    }
}

/* ------------------------------------------------------------------------- handles */
struct ncsl_fetch {
    atomic_int refs;      /* the caller's and the I/O thread's */
    atomic_bool cancel;   /* ncsl_fetch_cancel was called */
    atomic_bool finished; /* resp is final (set before the callback runs) */
    policy_snap *policy;  /* referenced */
    ncsl_fetch_done_fn done;
    void *user;

    /* the request (owned; headers and body wiped when freed) */
    char *method;
    ncsl__fetch_url target; /* the current URL: changes with each redirect hop */
    char **hdr_names;       /* lower case */
    char **hdr_values;
    size_t hdr_count;
    uint8_t *body;
    size_t body_len;
    bool has_body;
    ncsl_fetch_redirect redirect;
    size_t max_bytes;     /* this request's body cap */
    uint64_t deadline_ns; /* the effective deadline: TimeoutMs or the caller's, the earlier */
    bool deadline_is_callers;
    unsigned hops;
    bool redirected;

    /* I/O thread state */
    ncsl_fetch *prev, *next; /* incoming list (under mu), then the active list */
    CURL *easy;
    bool in_multi;
    struct curl_slist *slist;
    char errbuf[CURL_ERROR_SIZE];
    uint8_t *buf; /* body received so far */
    size_t len;
    size_t cap;            /* allocated; counted in g_fetch.buffered */
    ncsl_fetch_header *rh; /* response headers (owned strings) */
    size_t rh_count;
    size_t rh_cap;
    size_t rh_bytes;
    char status_text[128];
    bool in_body;          /* the body started: later header lines are trailers */
    ncsl_fetch_error fail; /* decided by a callback (too large, address refused) */
    char fail_msg[320];    /* its message */
    char refused_msg[320]; /* open_socket refused an address (others may still work) */

    ncsl_fetch_response resp;
};

/* ------------------------------------------------------------------------- service state */
static struct {
    pthread_mutex_t mu;
    policy_snap *policy; /* current; NULL = g_default_snap */
    bool shut;           /* ncsl_fetch_shutdown ran and no configure since */
    bool running;        /* the I/O thread exists */
    bool stopping;       /* it must fail everything and exit */
    pthread_t thread;
    CURLM *multi; /* valid while running; only the I/O thread uses it, others only wake it */
    ncsl_fetch *in_head, *in_tail;
    unsigned in_flight;
    bool curl_ready; /* curl_global_init done */
    atomic_size_t buffered;
} g_fetch = {.mu = PTHREAD_MUTEX_INITIALIZER};

static policy_snap *current_snap_locked(void) {
    return g_fetch.policy ? g_fetch.policy : &g_default_snap;
}

void ncsl_fetch_policy_default(ncsl_fetch_policy *p) {
    *p = g_default_snap.p;
}

ncsl_status ncsl_fetch_configure(const ncsl_fetch_policy *p, ncsl_err *err) {
    ncsl_fetch_policy def;
    if (!p) {
        ncsl_fetch_policy_default(&def);
        p = &def;
    }
    if (p->allowed_host_count > NCSL_FETCH_MAX_HOSTS ||
        (p->allowed_host_count && !p->allowed_hosts)) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "Fetch.AllowedHosts", "at most %d entries",
                            NCSL_FETCH_MAX_HOSTS);
    }
    static const struct {
        const char *name;
        uint64_t min;
        uint64_t max;
        size_t off;
        int size;
    } limits[] = {
        {"Fetch.MaxRequestsPerCall", 1, 100000, offsetof(ncsl_fetch_policy, max_requests_per_call),
         4},
        {"Fetch.MaxResponseBytes", 1, (uint64_t)1 << 30,
         offsetof(ncsl_fetch_policy, max_response_bytes), 8},
        {"Fetch.MaxRequestBytes", 0, (uint64_t)1 << 30,
         offsetof(ncsl_fetch_policy, max_request_bytes), 8},
        {"Fetch.TimeoutMs", 1, 86400000, offsetof(ncsl_fetch_policy, timeout_ms), 4},
        {"Fetch.MaxConcurrent", 1, 65536, offsetof(ncsl_fetch_policy, max_concurrent), 4},
    };
    for (size_t i = 0; i < NCSL_ARRAY_LEN(limits); i++) {
        const char *base = (const char *)p + limits[i].off;
        uint64_t v = 0;
        if (limits[i].size == 4) {
            uint32_t v32;
            memcpy(&v32, base, 4);
            v = v32;
        } else {
            size_t vs;
            memcpy(&vs, base, sizeof(vs));
            v = vs;
        }
        if (v < limits[i].min || v > limits[i].max) {
            return ncsl_err_set(err, NCSL_E_INVALID_ARG, limits[i].name,
                                "must be between %llu and %llu, got %llu",
                                (unsigned long long)limits[i].min,
                                (unsigned long long)limits[i].max, (unsigned long long)v);
        }
    }
    policy_snap *s = calloc(1, sizeof(*s));
    if (!s) {
        return ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
    }
    s->pat_count = p->allowed_host_count;
    if (p->allowed_host_count) {
        s->pats = calloc(p->allowed_host_count, sizeof(*s->pats));
        s->hosts = calloc(p->allowed_host_count, sizeof(*s->hosts));
        if (!s->pats || !s->hosts) {
            snap_free(s);
            return ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
        }
    }
    for (size_t i = 0; i < p->allowed_host_count; i++) {
        char why[160];
        if (!p->allowed_hosts[i] ||
            ncsl__fetch_pattern_parse(p->allowed_hosts[i], &s->pats[i], why, sizeof(why)) < 0) {
            char field[48];
            snprintf(field, sizeof(field), "Fetch.AllowedHosts[%zu]", i);
            snap_free(s);
            return ncsl_err_set(err, NCSL_E_INVALID_ARG, field, "%s",
                                p->allowed_hosts[i] ? why : "NULL entry");
        }
        s->hosts[i] = strdup(p->allowed_hosts[i]);
        if (!s->hosts[i]) {
            snap_free(s);
            return ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
        }
    }
    s->p = *p;
    s->p.allowed_hosts = NULL;
    atomic_init(&s->refs, 1);

    pthread_mutex_lock(&g_fetch.mu);
    policy_snap *old = g_fetch.policy;
    g_fetch.policy = s;
    g_fetch.shut = false;
    pthread_mutex_unlock(&g_fetch.mu);
    snap_unref(old);
    return NCSL_OK;
}

void ncsl_fetch_get_policy(ncsl_fetch_policy *out) {
    pthread_mutex_lock(&g_fetch.mu);
    const policy_snap *s = current_snap_locked();
    *out = s->p;
    out->allowed_hosts = NULL;
    out->allowed_host_count = s->pat_count;
    pthread_mutex_unlock(&g_fetch.mu);
}

ncsl_status ncsl_fetch_policy_copy(ncsl_fetch_policy *out, ncsl_err *err) {
    /* A reference keeps the snapshot alive while it is copied outside the lock. */
    pthread_mutex_lock(&g_fetch.mu);
    policy_snap *s = current_snap_locked();
    if (s != &g_default_snap) {
        atomic_fetch_add(&s->refs, 1);
    }
    pthread_mutex_unlock(&g_fetch.mu);
    *out = s->p;
    out->allowed_hosts = NULL;
    out->allowed_host_count = 0;
    ncsl_status st = NCSL_OK;
    char **hosts = s->pat_count ? calloc(s->pat_count, sizeof(*hosts)) : NULL;
    if (s->pat_count && !hosts) {
        st = ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
    }
    for (size_t i = 0; hosts && i < s->pat_count; i++) {
        hosts[i] = strdup(s->hosts[i]);
        if (!hosts[i]) {
            for (size_t k = 0; k < i; k++) {
                free(hosts[k]);
            }
            free(hosts);
            hosts = NULL;
            st = ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
        }
    }
    if (hosts) {
        out->allowed_hosts = (const char *const *)hosts;
        out->allowed_host_count = s->pat_count;
    }
    snap_unref(s);
    return st;
}

void ncsl_fetch_policy_cleanup(ncsl_fetch_policy *p) {
    if (!p) {
        return;
    }
    /* ncsl_fetch_policy_copy allocated them: the const is for ncsl_fetch_configure's callers */
    char **hosts = (char **)(uintptr_t)p->allowed_hosts;
    for (size_t i = 0; hosts && i < p->allowed_host_count; i++) {
        free(hosts[i]);
    }
    free(hosts);
    p->allowed_hosts = NULL;
    p->allowed_host_count = 0;
}

unsigned ncsl_fetch_in_flight(void) {
    pthread_mutex_lock(&g_fetch.mu);
    unsigned n = g_fetch.in_flight;
    pthread_mutex_unlock(&g_fetch.mu);
    return n;
}

/* ------------------------------------------------------------------------- handle helpers */
static void wipe_free(void *p, size_t n) {
    if (p) {
        ncsl_wipe(p, n);
        free(p);
    }
}

static void wipe_free_str(char *s) {
    if (s) {
        wipe_free(s, strlen(s));
    }
}

static void free_request_headers(ncsl_fetch *f) {
    for (size_t i = 0; i < f->hdr_count; i++) {
        wipe_free_str(f->hdr_names[i]);
        wipe_free_str(f->hdr_values[i]);
    }
    free(f->hdr_names);
    free(f->hdr_values);
    f->hdr_names = NULL;
    f->hdr_values = NULL;
    f->hdr_count = 0;
}

static void free_slist(ncsl_fetch *f) {
    for (struct curl_slist *s = f->slist; s; s = s->next) {
        ncsl_wipe(s->data, strlen(s->data)); /* "x-api-key: ..." */
    }
    curl_slist_free_all(f->slist);
    f->slist = NULL;
}

static void free_response_headers(ncsl_fetch_header *h, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free((char *)h[i].name);
        free((char *)h[i].value);
    }
    free(h);
}

static void buffer_release(ncsl_fetch *f) {
    if (f->cap) {
        atomic_fetch_sub(&g_fetch.buffered, f->cap);
        f->cap = 0;
    }
}

static void fetch_free(ncsl_fetch *f) {
    free(f->method);
    free(f->target.url);
    free_request_headers(f);
    wipe_free(f->body, f->body_len);
    free_slist(f);
    if (f->easy) {
        curl_easy_cleanup(f->easy);
    }
    /* the body is in resp once finished, else in buf */
    wipe_free(f->buf, f->len);
    buffer_release(f);
    free_response_headers(f->rh, f->rh_count);
    free(f->resp.url);
    free_response_headers(f->resp.headers, f->resp.header_count);
    wipe_free(f->resp.body, f->resp.body_len);
    snap_unref(f->policy);
    free(f);
}

void ncsl_fetch_release(ncsl_fetch *f) {
    if (f && atomic_fetch_sub(&f->refs, 1) == 1) {
        fetch_free(f);
    }
}

const ncsl_fetch_response *ncsl_fetch_result(const ncsl_fetch *f) {
    return f && atomic_load(&((ncsl_fetch *)f)->finished) ? &f->resp : NULL;
}

void ncsl_fetch_cancel(ncsl_fetch *f) {
    if (!f || atomic_exchange(&f->cancel, true)) {
        return;
    }
    pthread_mutex_lock(&g_fetch.mu);
    if (g_fetch.multi) {
        curl_multi_wakeup(g_fetch.multi);
    }
    pthread_mutex_unlock(&g_fetch.mu);
}

/* ------------------------------------------------------------------------- request checks */
static int tolower_ascii(int c) {
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static bool is_tchar(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool is_token(const char *s) {
    if (!s || !*s) {
        return false;
    }
    for (; *s; s++) {
        if (!is_tchar((unsigned char)*s)) {
            return false;
        }
    }
    return true;
}

/* Headers whose value curl or the connection decides: a function may not set them. */
static bool header_forbidden(const char *lname) {
    static const char *const names[] = {
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "upgrade",
        "te",
        "trailer",
        "expect",
        "proxy-connection",
    };
    for (size_t i = 0; i < NCSL_ARRAY_LEN(names); i++) {
        if (strcmp(lname, names[i]) == 0) {
            return true;
        }
    }
    return strncmp(lname, "proxy-", 6) == 0;
}

/* Copies and checks the request's method, headers and body into f. */
static ncsl_status copy_request(ncsl_fetch *f, const ncsl_fetch_request *req,
                                const ncsl_fetch_policy *pol, ncsl_err *err) {
    const char *m = req->method ? req->method : "GET";
    if (!is_token(m)) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "method",
                            "fetch: init.method is not a valid HTTP method");
    }
    if (!strcasecmp(m, "CONNECT") || !strcasecmp(m, "TRACE") || !strcasecmp(m, "TRACK")) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "method",
                            "fetch: init.method '%s' is forbidden", m);
    }
    f->method = strdup(m);
    if (!f->method) {
        return ncsl_err_set(err, NCSL_E_NOMEM, NULL, "fetch: out of memory");
    }
    f->has_body = req->body != NULL || req->body_len > 0;
    if (f->has_body && (!strcmp(m, "GET") || !strcmp(m, "HEAD"))) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "body",
                            "fetch: a %s request cannot have a body", m);
    }
    if (req->body_len > pol->max_request_bytes) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "body",
                            "fetch: the request body (%zu bytes) is larger than "
                            "Fetch.MaxRequestBytes (%zu)",
                            req->body_len, pol->max_request_bytes);
    }
    if (req->body_len && !req->body) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "body", "fetch: body_len without body");
    }
    if (req->body_len) {
        f->body = malloc(req->body_len);
        if (!f->body) {
            return ncsl_err_set(err, NCSL_E_NOMEM, NULL, "fetch: out of memory");
        }
        memcpy(f->body, req->body, req->body_len);
        f->body_len = req->body_len;
    }
    if (req->header_count > NCSL_FETCH_MAX_HEADERS) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "headers",
                            "fetch: more than %u request headers", NCSL_FETCH_MAX_HEADERS);
    }
    if (req->header_count) {
        f->hdr_names = calloc(req->header_count, sizeof(char *));
        f->hdr_values = calloc(req->header_count, sizeof(char *));
        if (!f->hdr_names || !f->hdr_values) {
            return ncsl_err_set(err, NCSL_E_NOMEM, NULL, "fetch: out of memory");
        }
    }
    size_t total = 0;
    for (size_t i = 0; i < req->header_count; i++) {
        const char *n = req->headers[i].name;
        const char *v = req->headers[i].value ? req->headers[i].value : "";
        if (!is_token(n)) {
            return ncsl_err_set(err, NCSL_E_INVALID_ARG, "headers",
                                "fetch: a header name is not a valid HTTP token");
        }
        if (strpbrk(v, "\r\n")) {
            return ncsl_err_set(err, NCSL_E_INVALID_ARG, "headers",
                                "fetch: the value of header '%.64s' contains CR or LF", n);
        }
        size_t nl = strlen(n), vl = strlen(v);
        total += nl + vl + 4;
        if (total > MAX_REQUEST_HEADER_BYTES) {
            return ncsl_err_set(err, NCSL_E_INVALID_ARG, "headers",
                                "fetch: the request headers are larger than %zu bytes",
                                MAX_REQUEST_HEADER_BYTES);
        }
        f->hdr_names[i] = malloc(nl + 1);
        f->hdr_values[i] = malloc(vl + 1);
        f->hdr_count = i + 1; /* freed with what was copied */
        if (!f->hdr_names[i] || !f->hdr_values[i]) {
            return ncsl_err_set(err, NCSL_E_NOMEM, NULL, "fetch: out of memory");
        }
        for (size_t k = 0; k <= nl; k++) {
            f->hdr_names[i][k] = (char)tolower_ascii(n[k]);
        }
        memcpy(f->hdr_values[i], v, vl + 1);
        if (header_forbidden(f->hdr_names[i])) {
            return ncsl_err_set(err, NCSL_E_INVALID_ARG, "headers",
                                "fetch: header '%.64s' cannot be set (the connection decides it)",
                                f->hdr_names[i]);
        }
    }
    return NCSL_OK;
}

/* ------------------------------------------------------------------------- submit */
static void *io_main(void *arg);

/* Starts the I/O thread (mu held). */
static ncsl_status start_locked(ncsl_err *err) {
    if (!g_fetch.curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            return ncsl_err_set(err, NCSL_E_INTERNAL, NULL, "fetch: libcurl failed to start");
        }
        g_fetch.curl_ready = true;
    }
    g_fetch.multi = curl_multi_init();
    if (!g_fetch.multi) {
        return ncsl_err_set(err, NCSL_E_NOMEM, NULL, "fetch: out of memory");
    }
    /* the I/O thread takes no signal: ncsld's main thread waits for them (sigtimedwait) */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&g_fetch.thread, NULL, io_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        curl_multi_cleanup(g_fetch.multi);
        g_fetch.multi = NULL;
        return ncsl_err_set(err, NCSL_E_INTERNAL, NULL, "fetch: cannot start the I/O thread: %s",
                            strerror(rc));
    }
    g_fetch.running = true;
    return NCSL_OK;
}

ncsl_status ncsl_fetch_submit(const ncsl_fetch_request *req, ncsl_fetch_done_fn done, void *user,
                              ncsl_fetch **out, ncsl_err *err) {
    ncsl_status st = NCSL_OK;
    ncsl_fetch *f = NULL;
    char msg[320];

    if (out) {
        *out = NULL;
    }
    if (!req || !req->url || !done || !out) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, !req || !req->url ? "url" : "done",
                            "fetch: missing argument");
    }
    f = calloc(1, sizeof(*f));
    if (!f) {
        return ncsl_err_set(err, NCSL_E_NOMEM, NULL, "fetch: out of memory");
    }
    atomic_init(&f->refs, 2);
    atomic_init(&f->cancel, false);
    atomic_init(&f->finished, false);
    f->done = done;
    f->user = user;
    f->redirect = req->redirect;

    pthread_mutex_lock(&g_fetch.mu);
    f->policy = current_snap_locked();
    if (f->policy != &g_default_snap) {
        atomic_fetch_add(&f->policy->refs, 1);
    }
    pthread_mutex_unlock(&g_fetch.mu);
    const ncsl_fetch_policy *pol = &f->policy->p;

    if (ncsl__fetch_url_check(req->url, f->policy->pats, f->policy->pat_count,
                              pol->allow_private_networks, "argument 1 (url)", &f->target, msg,
                              sizeof(msg)) < 0) {
        st = ncsl_err_set(err, NCSL_E_INVALID_ARG, "url", "%s", msg);
        goto out;
    }
    st = copy_request(f, req, pol, err);
    if (st != NCSL_OK) {
        goto out;
    }
    f->max_bytes = req->max_response_bytes && req->max_response_bytes < pol->max_response_bytes
                       ? req->max_response_bytes
                       : pol->max_response_bytes;
    uint64_t now = ncsl_now_ns();
    f->deadline_ns = now + (uint64_t)pol->timeout_ms * 1000000u;
    if (req->deadline_ns && req->deadline_ns < f->deadline_ns) {
        f->deadline_ns = req->deadline_ns;
        f->deadline_is_callers = true;
    }

    pthread_mutex_lock(&g_fetch.mu);
    if (g_fetch.shut || g_fetch.stopping) {
        st = ncsl_err_set(err, NCSL_E_SHUTDOWN, NULL, "fetch: the service is shutting down");
    } else if (g_fetch.in_flight >= pol->max_concurrent) {
        st = ncsl_err_set(err, NCSL_E_BUSY, NULL,
                          "fetch: Fetch.MaxConcurrent (%u) requests are in flight in this "
                          "process; try again later",
                          pol->max_concurrent);
    } else if (!g_fetch.running) {
        st = start_locked(err);
    }
    if (st == NCSL_OK) {
        f->next = NULL;
        if (g_fetch.in_tail) {
            g_fetch.in_tail->next = f;
        } else {
            g_fetch.in_head = f;
        }
        g_fetch.in_tail = f;
        g_fetch.in_flight++;
        curl_multi_wakeup(g_fetch.multi);
    }
    pthread_mutex_unlock(&g_fetch.mu);
out:
    if (st != NCSL_OK) {
        fetch_free(f);
        return st;
    }
    *out = f;
    return NCSL_OK;
}

/* ------------------------------------------------------------------------- I/O callbacks */
static void set_fail(ncsl_fetch *f, ncsl_fetch_error e, const char *fmt, ...) NCSL_PRINTF(3, 4);
static void set_fail(ncsl_fetch *f, ncsl_fetch_error e, const char *fmt, ...) {
    if (f->fail) {
        return; /* the first reason wins */
    }
    f->fail = e;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->fail_msg, sizeof(f->fail_msg), fmt, ap);
    va_end(ap);
}

static void fail_too_large(ncsl_fetch *f) {
    size_t max = f->policy->p.max_response_bytes;
    if (f->max_bytes >= max) {
        set_fail(f, NCSL_FETCH_E_TOO_LARGE,
                 "fetch: the response is larger than Fetch.MaxResponseBytes (%zu)", max);
    } else {
        set_fail(f, NCSL_FETCH_E_TOO_LARGE,
                 "fetch: the response is larger than what is left of the call's "
                 "Fetch.MaxResponseBytes budget (%zu of %zu bytes)",
                 f->max_bytes, max);
    }
}

static size_t buffer_budget(const ncsl_fetch *f) {
    size_t four = f->policy->p.max_response_bytes * 4;
    return four > MIN_BUFFER_BUDGET ? four : MIN_BUFFER_BUDGET;
}

/* Makes room for `need` body bytes (need <= max_bytes), within the process budget. */
static bool buffer_grow(ncsl_fetch *f, size_t need) {
    if (need <= f->cap) {
        return true;
    }
    size_t cap = f->cap ? f->cap : 16384;
    while (cap < need) {
        cap *= 2;
    }
    if (cap > f->max_bytes) {
        cap = f->max_bytes;
    }
    size_t add = cap - f->cap;
    size_t before = atomic_fetch_add(&g_fetch.buffered, add);
    if (before + add > buffer_budget(f)) {
        atomic_fetch_sub(&g_fetch.buffered, add);
        set_fail(f, NCSL_FETCH_E_TOO_LARGE,
                 "fetch: the process is buffering too many large responses at once; try again "
                 "later");
        return false;
    }
    /* a new block rather than realloc, so that the old one is wiped (bodies may hold tokens) */
    uint8_t *nb = malloc(cap);
    if (!nb) {
        atomic_fetch_sub(&g_fetch.buffered, add);
        set_fail(f, NCSL_FETCH_E_NOMEM, "fetch: out of memory for the response");
        return false;
    }
    if (f->len) {
        memcpy(nb, f->buf, f->len);
    }
    wipe_free(f->buf, f->len);
    f->buf = nb;
    f->cap = cap;
    return true;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud) {
    ncsl_fetch *f = ud;
    size_t n = size * nmemb;
    f->in_body = true;
    if (f->fail || atomic_load_explicit(&f->cancel, memory_order_relaxed)) {
        return 0; /* a short count aborts the transfer */
    }
    if (n > f->max_bytes - f->len) {
        fail_too_large(f);
        return 0;
    }
    if (!buffer_grow(f, f->len + n)) {
        return 0;
    }
    memcpy(f->buf + f->len, ptr, n);
    f->len += n;
    return n;
}

static bool is_ows(char c) {
    return c == ' ' || c == '\t';
}

static const char *find_header(const ncsl_fetch_header *h, size_t n, const char *name) {
    for (size_t i = 0; i < n; i++) {
        if (strcmp(h[i].name, name) == 0) {
            return h[i].value;
        }
    }
    return NULL;
}

/* The end of a header block: refuse a declared body over the cap before reading it. Only when
 * the body is not content-coded (then Content-Length is what the cap counts). */
static bool header_block_ok(ncsl_fetch *f) {
    const char *cl = find_header(f->rh, f->rh_count, "content-length");
    if (!cl || find_header(f->rh, f->rh_count, "content-encoding") || !strcmp(f->method, "HEAD")) {
        return true;
    }
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(cl, &end, 10);
    if (end != cl && errno == 0 && v > f->max_bytes) {
        fail_too_large(f);
        return false;
    }
    return true;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud) {
    ncsl_fetch *f = ud;
    size_t n = size * nmemb;
    if (f->fail) {
        return 0;
    }
    if (f->in_body) {
        return n; /* trailers: not part of Response.headers */
    }
    bool status_line = n >= 5 && memcmp(ptr, "HTTP/", 5) == 0;
    if (status_line) {
        /* a new response (after 1xx, or a new hop): only the last one's headers count */
        free_response_headers(f->rh, f->rh_count);
        f->rh = NULL;
        f->rh_count = f->rh_cap = 0;
        f->rh_bytes = 0;
        f->status_text[0] = '\0';
    }
    f->rh_bytes += n;
    if (f->rh_bytes > NCSL_FETCH_MAX_HEADER_BYTES) {
        set_fail(f, NCSL_FETCH_E_TOO_LARGE, "fetch: the response headers are larger than %zu bytes",
                 NCSL_FETCH_MAX_HEADER_BYTES);
        return 0;
    }
    size_t len = n;
    while (len && (ptr[len - 1] == '\r' || ptr[len - 1] == '\n')) {
        len--;
    }
    if (status_line) {
        /* "HTTP/1.1 200 OK": the reason phrase is what follows the code */
        size_t i = 5;
        while (i < len && ptr[i] != ' ') {
            i++;
        }
        while (i < len && ptr[i] == ' ') {
            i++;
        }
        while (i < len && ptr[i] >= '0' && ptr[i] <= '9') {
            i++;
        }
        while (i < len && is_ows(ptr[i])) {
            i++;
        }
        size_t j = 0;
        for (; i < len && j + 1 < sizeof(f->status_text); i++) {
            unsigned char c = (unsigned char)ptr[i];
            f->status_text[j++] = c >= 0x20 && c != 0x7F ? (char)c : ' ';
        }
        while (j && f->status_text[j - 1] == ' ') {
            j--;
        }
        f->status_text[j] = '\0';
        return n;
    }
    if (len == 0) {
        return header_block_ok(f) ? n : 0;
    }
    if (is_ows(ptr[0])) {
        /* obsolete line folding: continues the previous value */
        if (f->rh_count) {
            size_t s = 0;
            while (s < len && is_ows(ptr[s])) {
                s++;
            }
            ncsl_fetch_header *h = &f->rh[f->rh_count - 1];
            size_t ol = strlen(h->value);
            char *v = malloc(ol + 1 + (len - s) + 1);
            if (!v) {
                set_fail(f, NCSL_FETCH_E_NOMEM, "fetch: out of memory for the response headers");
                return 0;
            }
            memcpy(v, h->value, ol);
            v[ol] = ' ';
            memcpy(v + ol + 1, ptr + s, len - s);
            v[ol + 1 + len - s] = '\0';
            free((char *)h->value);
            h->value = v;
        }
        return n;
    }
    const char *colon = memchr(ptr, ':', len);
    if (!colon || colon == ptr) {
        return n; /* not a header line */
    }
    size_t nl = (size_t)(colon - ptr);
    while (nl && is_ows(ptr[nl - 1])) {
        nl--;
    }
    size_t vs = (size_t)(colon - ptr) + 1;
    while (vs < len && is_ows(ptr[vs])) {
        vs++;
    }
    size_t ve = len;
    while (ve > vs && is_ows(ptr[ve - 1])) {
        ve--;
    }
    if (f->rh_count == NCSL_FETCH_MAX_HEADERS) {
        set_fail(f, NCSL_FETCH_E_TOO_LARGE, "fetch: the response has more than %u headers",
                 NCSL_FETCH_MAX_HEADERS);
        return 0;
    }
    if (f->rh_count == f->rh_cap) {
        size_t cap = f->rh_cap ? f->rh_cap * 2 : 16;
        ncsl_fetch_header *nh = realloc(f->rh, cap * sizeof(*nh));
        if (!nh) {
            set_fail(f, NCSL_FETCH_E_NOMEM, "fetch: out of memory for the response headers");
            return 0;
        }
        f->rh = nh;
        f->rh_cap = cap;
    }
    char *name = malloc(nl + 1);
    char *value = malloc(ve - vs + 1);
    if (!name || !value) {
        free(name);
        free(value);
        set_fail(f, NCSL_FETCH_E_NOMEM, "fetch: out of memory for the response headers");
        return 0;
    }
    for (size_t i = 0; i < nl; i++) {
        name[i] = (char)tolower_ascii(ptr[i]);
    }
    name[nl] = '\0';
    memcpy(value, ptr + vs, ve - vs);
    value[ve - vs] = '\0';
    f->rh[f->rh_count].name = name;
    f->rh[f->rh_count].value = value;
    f->rh_count++;
    return n;
}

/* The message for an address the request may not reach. */
static void refused_address(ncsl_fetch *f, const char *addr, const char *kind, char *out,
                            size_t out_size) {
    const char *article = strchr("aeiou", kind[0]) ? "an" : "a";
    if (strcmp(addr, f->target.host) == 0) {
        snprintf(out, out_size, "fetch: %s is %s %s address (Fetch.AllowPrivateNetworks is off)",
                 addr, article, kind);
    } else {
        snprintf(out, out_size,
                 "fetch: host '%.100s' resolves to %s, %s %s address (Fetch.AllowPrivateNetworks "
                 "is off)",
                 f->target.host, addr, article, kind);
    }
}

/* Before curl creates a socket for an address it resolved: the place where a name that resolves
 * to a private address is stopped, before any packet leaves. */
static curl_socket_t open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a) {
    ncsl_fetch *f = ud;
    if (purpose != CURLSOCKTYPE_IPCXN || (a->family != AF_INET && a->family != AF_INET6)) {
        return CURL_SOCKET_BAD;
    }
    if (!f->policy->p.allow_private_networks) {
        const char *kind = ncsl__fetch_addr_kind(&a->addr);
        if (kind) {
            char text[64];
            ncsl__fetch_addr_text(&a->addr, text, sizeof(text));
            if (!f->refused_msg[0]) {
                refused_address(f, text, kind, f->refused_msg, sizeof(f->refused_msg));
            }
            return CURL_SOCKET_BAD; /* curl tries the name's other addresses, if any */
        }
    }
    int fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
    return fd < 0 ? CURL_SOCKET_BAD : (curl_socket_t)fd;
}

/* Right before the request is sent, on a new or a reused connection. */
static int check_connection(void *ud, char *primary_ip, char *local_ip, int primary_port,
                            int local_port) {
    (void)local_ip;
    (void)primary_port;
    (void)local_port;
    ncsl_fetch *f = ud;
    if (f->policy->p.allow_private_networks) {
        return CURL_PREREQFUNC_OK;
    }
    bool is_ip = false;
    const char *kind = ncsl__fetch_literal_kind(primary_ip ? primary_ip : "", &is_ip);
    if (!is_ip || kind) {
        char msg[320];
        refused_address(f, primary_ip ? primary_ip : "?", is_ip ? kind : "non-IP", msg,
                        sizeof(msg));
        set_fail(f, NCSL_FETCH_E_POLICY, "%s", msg);
        return CURL_PREREQFUNC_ABORT;
    }
    return CURL_PREREQFUNC_OK;
}

/* ------------------------------------------------------------------------- transfers */
static bool has_request_header(const ncsl_fetch *f, const char *name) {
    for (size_t i = 0; i < f->hdr_count; i++) {
        if (strcmp(f->hdr_names[i], name) == 0) {
            return true;
        }
    }
    return false;
}

static bool slist_add(struct curl_slist **l, const char *line) {
    struct curl_slist *n = curl_slist_append(*l, line);
    if (!n) {
        return false;
    }
    *l = n;
    return true;
}

/* Sets the easy handle up for the current hop. Returns -1 with f->fail set. */
static int setup_easy(ncsl_fetch *f) {
    uint64_t now = ncsl_now_ns();
    if (now >= f->deadline_ns) {
        return -1; /* the caller reports the timeout */
    }
    if (!f->easy) {
        f->easy = curl_easy_init();
    } else {
        curl_easy_reset(f->easy);
    }
    if (!f->easy) {
        set_fail(f, NCSL_FETCH_E_NOMEM, "fetch: out of memory");
        return -1;
    }
    free_slist(f);
    bool ok = true;
    for (size_t i = 0; i < f->hdr_count && ok; i++) {
        size_t ln = strlen(f->hdr_names[i]) + strlen(f->hdr_values[i]) + 3;
        char *line = malloc(ln);
        if (!line) {
            ok = false;
            break;
        }
        /* curl drops "Name:" with an empty value; "Name;" sends it empty */
        if (f->hdr_values[i][0]) {
            snprintf(line, ln, "%s: %s", f->hdr_names[i], f->hdr_values[i]);
        } else {
            snprintf(line, ln, "%s;", f->hdr_names[i]);
        }
        ok = slist_add(&f->slist, line);
        wipe_free_str(line);
    }
    /* no "Expect: 100-continue" round trip; no form content type made up by curl */
    ok = ok && slist_add(&f->slist, "Expect:");
    if (ok && !has_request_header(f, "content-type")) {
        ok = slist_add(&f->slist, "Content-Type:");
    }
    if (!ok) {
        set_fail(f, NCSL_FETCH_E_NOMEM, "fetch: out of memory");
        return -1;
    }
    long ms = (long)((f->deadline_ns - now + 999999u) / 1000000u);
    CURL *e = f->easy;
    CURLcode c = CURLE_OK;
#define SET(opt, val)                                                                              \
    do {                                                                                           \
        if (c == CURLE_OK) {                                                                       \
            c = curl_easy_setopt(e, opt, val);                                                     \
        }                                                                                          \
    } while (0)
    SET(CURLOPT_URL, f->target.url);
    SET(CURLOPT_PRIVATE, (void *)f);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_FOLLOWLOCATION, 0L); /* followed here, each hop checked */
    SET(CURLOPT_PROXY, "");          /* never a proxy from the environment */
    SET(CURLOPT_SSL_VERIFYPEER, 1L);
    SET(CURLOPT_SSL_VERIFYHOST, 2L);
    SET(CURLOPT_OPENSOCKETFUNCTION, open_socket);
    SET(CURLOPT_OPENSOCKETDATA, (void *)f);
    SET(CURLOPT_PREREQFUNCTION, check_connection);
    SET(CURLOPT_PREREQDATA, (void *)f);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, (void *)f);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, (void *)f);
    SET(CURLOPT_ERRORBUFFER, f->errbuf);
    SET(CURLOPT_TIMEOUT_MS, ms);
    SET(CURLOPT_CONNECTTIMEOUT_MS, ms);
    SET(CURLOPT_ACCEPT_ENCODING, ""); /* every coding curl decodes; the cap counts decoded bytes */
    SET(CURLOPT_USERAGENT, USER_AGENT); /* a User-Agent header of the request overrides it */
    SET(CURLOPT_HTTPHEADER, f->slist);
    if (!strcmp(f->method, "HEAD")) {
        SET(CURLOPT_NOBODY, 1L);
    } else if (!strcmp(f->method, "GET") && !f->has_body) {
        SET(CURLOPT_HTTPGET, 1L);
    } else {
        if (strcmp(f->method, "POST") != 0) {
            SET(CURLOPT_CUSTOMREQUEST, f->method);
        }
        if (f->has_body || !strcmp(f->method, "POST")) {
            SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)f->body_len);
            SET(CURLOPT_POSTFIELDS, f->body ? (const char *)f->body : "");
        }
    }
#undef SET
    if (c != CURLE_OK) {
        set_fail(f, NCSL_FETCH_E_NETWORK, "fetch: cannot set the request up: %s",
                 curl_easy_strerror(c));
        return -1;
    }
    /* fresh per-hop response state */
    free_response_headers(f->rh, f->rh_count);
    f->rh = NULL;
    f->rh_count = f->rh_cap = f->rh_bytes = 0;
    f->status_text[0] = '\0';
    f->in_body = false;
    f->len = 0;
    f->refused_msg[0] = '\0';
    f->errbuf[0] = '\0';
    return 0;
}

static ncsl_fetch *g_active; /* I/O thread only: requests in the multi handle */
static CURLM *g_io_multi;    /* I/O thread only: the multi handle it drives */

static void active_remove(ncsl_fetch *f) {
    if (f->prev) {
        f->prev->next = f->next;
    } else if (g_active == f) {
        g_active = f->next;
    }
    if (f->next) {
        f->next->prev = f->prev;
    }
    f->prev = f->next = NULL;
}

static void detach_easy(ncsl_fetch *f) {
    if (f->easy && f->in_multi) {
        curl_multi_remove_handle(g_io_multi, f->easy);
    }
    f->in_multi = false;
}

/* Completes f: fills the response, calls the callback, drops the I/O thread's reference. */
static void finish(ncsl_fetch *f, ncsl_fetch_error e, const char *msg) {
    detach_easy(f);
    if (f->easy) {
        curl_easy_cleanup(f->easy);
        f->easy = NULL;
    }
    free_slist(f);
    active_remove(f);
    /* the request's secrets are not needed any more */
    free_request_headers(f);
    wipe_free(f->body, f->body_len);
    f->body = NULL;
    f->body_len = 0;

    ncsl_fetch_response *r = &f->resp;
    r->error = e;
    if (e == NCSL_FETCH_OK) {
        r->url = f->target.url;
        f->target.url = NULL;
        r->redirected = f->redirected;
        snprintf(r->status_text, sizeof(r->status_text), "%s", f->status_text);
        r->headers = f->rh;
        r->header_count = f->rh_count;
        r->header_bytes = f->rh_bytes;
        f->rh = NULL;
        f->rh_count = 0;
        r->body = f->len ? f->buf : NULL;
        r->body_len = f->len;
        if (!f->len) {
            free(f->buf);
        }
        f->buf = NULL;
        f->len = 0; /* the buffer stays counted (cap) until the handle is freed */
    } else {
        snprintf(r->message, sizeof(r->message), "%s", msg ? msg : "fetch: failed");
        wipe_free(f->buf, f->len);
        f->buf = NULL;
        f->len = 0;
        buffer_release(f);
    }
    pthread_mutex_lock(&g_fetch.mu);
    g_fetch.in_flight--; /* before the callback: whoever it wakes sees the slot free */
    pthread_mutex_unlock(&g_fetch.mu);
    atomic_store(&f->finished, true);
    f->done(f, f->user);
    ncsl_fetch_release(f);
}

static void finish_timeout(ncsl_fetch *f) {
    char msg[320];
    if (f->deadline_is_callers) {
        snprintf(msg, sizeof(msg), "fetch: the call's deadline passed before '%.100s' answered",
                 f->target.host);
    } else {
        snprintf(msg, sizeof(msg),
                 "fetch: no complete response from '%.100s' within Fetch.TimeoutMs (%u ms)",
                 f->target.host, (unsigned)f->policy->p.timeout_ms);
    }
    finish(f, NCSL_FETCH_E_TIMEOUT, msg);
}

/* Adds f (set up) to the multi handle and the active list. */
static void start_transfer(ncsl_fetch *f) {
    f->next = g_active;
    f->prev = NULL;
    if (g_active) {
        g_active->prev = f;
    }
    g_active = f;
    if (setup_easy(f) < 0) {
        if (f->fail) {
            finish(f, f->fail, f->fail_msg);
        } else {
            finish_timeout(f);
        }
        return;
    }
    CURLMcode mc = curl_multi_add_handle(g_io_multi, f->easy);
    if (mc != CURLM_OK) {
        char msg[160];
        snprintf(msg, sizeof(msg), "fetch: cannot start the request: %s", curl_multi_strerror(mc));
        finish(f, NCSL_FETCH_E_NETWORK, msg);
        return;
    }
    f->in_multi = true;
}

static void remove_request_header(ncsl_fetch *f, const char *name) {
    size_t j = 0;
    for (size_t i = 0; i < f->hdr_count; i++) {
        if (strcmp(f->hdr_names[i], name) == 0) {
            wipe_free_str(f->hdr_names[i]);
            wipe_free_str(f->hdr_values[i]);
            continue;
        }
        f->hdr_names[j] = f->hdr_names[i];
        f->hdr_values[j] = f->hdr_values[i];
        j++;
    }
    f->hdr_count = j;
}

/* A 3xx with a Location under redirect "follow": the next hop, checked like the first. */
static void follow_redirect(ncsl_fetch *f, long status, const char *location) {
    char msg[320], why[320];
    if (f->hops >= NCSL_FETCH_MAX_REDIRECTS) {
        snprintf(msg, sizeof(msg), "fetch: more than %d redirects (the last from '%.100s')",
                 NCSL_FETCH_MAX_REDIRECTS, f->target.host);
        finish(f, NCSL_FETCH_E_REDIRECT, msg);
        return;
    }
    ncsl__fetch_url next;
    const policy_snap *s = f->policy;
    if (ncsl__fetch_url_check(location, s->pats, s->pat_count, s->p.allow_private_networks,
                              "the redirect target", &next, why, sizeof(why)) < 0) {
        snprintf(msg, sizeof(msg), "fetch: redirect from '%.80s' refused: %.200s", f->target.host,
                 strncmp(why, "fetch: ", 7) == 0 ? why + 7 : why);
        finish(f, NCSL_FETCH_E_POLICY, msg);
        return;
    }
    /* the method and body as browsers do: 303 becomes GET, and 301/302 after a POST */
    bool to_get =
        (status == 303 && strcmp(f->method, "GET") != 0 && strcmp(f->method, "HEAD") != 0) ||
        ((status == 301 || status == 302) && strcmp(f->method, "POST") == 0);
    if (to_get) {
        char *get = strdup("GET");
        if (!get) {
            free(next.url);
            finish(f, NCSL_FETCH_E_NOMEM, "fetch: out of memory");
            return;
        }
        free(f->method);
        f->method = get;
        wipe_free(f->body, f->body_len);
        f->body = NULL;
        f->body_len = 0;
        f->has_body = false;
        remove_request_header(f, "content-type");
        remove_request_header(f, "content-encoding");
        remove_request_header(f, "content-language");
        remove_request_header(f, "content-location");
    }
    /* to another origin: no Authorization (the Fetch standard's rule) */
    if (next.https != f->target.https || next.port != f->target.port ||
        strcmp(next.host, f->target.host) != 0) {
        remove_request_header(f, "authorization");
    }
    detach_easy(f);
    free(f->target.url);
    f->target = next;
    f->hops++;
    f->redirected = true;
    /* start_transfer again, without re-linking: f is on the active list already */
    active_remove(f);
    start_transfer(f);
}

static bool is_redirect(long status) {
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

static void transfer_done(ncsl_fetch *f, CURLcode code) {
    char msg[320];
    if (atomic_load(&f->cancel)) {
        finish(f, NCSL_FETCH_E_CANCELLED, "fetch: the request was cancelled");
        return;
    }
    if (f->fail) {
        finish(f, f->fail, f->fail_msg);
        return;
    }
    if (code == CURLE_OK) {
        long status = 0;
        curl_easy_getinfo(f->easy, CURLINFO_RESPONSE_CODE, &status);
        char *location = NULL;
        if (is_redirect(status) && f->redirect != NCSL_FETCH_REDIRECT_MANUAL &&
            curl_easy_getinfo(f->easy, CURLINFO_REDIRECT_URL, &location) == CURLE_OK && location) {
            if (f->redirect == NCSL_FETCH_REDIRECT_ERROR) {
                snprintf(msg, sizeof(msg),
                         "fetch: '%.100s' answered with a redirect (%ld) and init.redirect is "
                         "\"error\"",
                         f->target.host, status);
                finish(f, NCSL_FETCH_E_REDIRECT, msg);
                return;
            }
            char *loc = strdup(location); /* owned by the easy handle, which is reset */
            if (!loc) {
                finish(f, NCSL_FETCH_E_NOMEM, "fetch: out of memory");
                return;
            }
            follow_redirect(f, status, loc);
            free(loc);
            return;
        }
        f->resp.status = (int)status;
        finish(f, NCSL_FETCH_OK, NULL);
        return;
    }
    switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
        finish_timeout(f);
        return;
    case CURLE_COULDNT_RESOLVE_HOST:
        snprintf(msg, sizeof(msg), "fetch: cannot resolve host '%.100s'", f->target.host);
        break;
    case CURLE_COULDNT_CONNECT:
        if (f->refused_msg[0]) {
            finish(f, NCSL_FETCH_E_POLICY, f->refused_msg);
            return;
        }
        snprintf(msg, sizeof(msg), "fetch: cannot connect to '%.100s' (port %u)", f->target.host,
                 f->target.port);
        break;
    default:
        /* curl's static text only: errbuf may quote parts of the URL */
        snprintf(msg, sizeof(msg), "fetch: the request to '%.100s' failed: %s", f->target.host,
                 curl_easy_strerror(code));
        break;
    }
    finish(f, NCSL_FETCH_E_NETWORK, msg);
}

/* ------------------------------------------------------------------------- the I/O thread */
static void *io_main(void *arg) {
    (void)arg;
    pthread_mutex_lock(&g_fetch.mu);
    g_io_multi = g_fetch.multi;
    pthread_mutex_unlock(&g_fetch.mu);
    for (;;) {
        pthread_mutex_lock(&g_fetch.mu);
        ncsl_fetch *incoming = g_fetch.in_head;
        g_fetch.in_head = g_fetch.in_tail = NULL;
        bool stopping = g_fetch.stopping;
        pthread_mutex_unlock(&g_fetch.mu);

        while (incoming) {
            ncsl_fetch *f = incoming;
            incoming = f->next;
            f->next = NULL;
            if (stopping) {
                f->prev = NULL;
                f->next = g_active; /* finish() unlinks it */
                if (g_active) {
                    g_active->prev = f;
                }
                g_active = f;
                finish(f, NCSL_FETCH_E_SHUTDOWN, "fetch: the service is shutting down");
            } else {
                start_transfer(f);
            }
        }
        if (stopping) {
            while (g_active) {
                finish(g_active, NCSL_FETCH_E_SHUTDOWN, "fetch: the service is shutting down");
            }
            break;
        }
        /* cancellations and deadlines (curl's own timeout normally fires first) */
        uint64_t now = ncsl_now_ns();
        uint64_t next_deadline = now + (uint64_t)MAX_POLL_MS * 1000000u;
        for (ncsl_fetch *f = g_active, *nx = NULL; f; f = nx) {
            nx = f->next;
            if (atomic_load(&f->cancel)) {
                finish(f, NCSL_FETCH_E_CANCELLED, "fetch: the request was cancelled");
            } else if (now >= f->deadline_ns) {
                finish_timeout(f);
            } else if (f->deadline_ns < next_deadline) {
                next_deadline = f->deadline_ns;
            }
        }
        int running = 0;
        curl_multi_perform(g_io_multi, &running);
        CURLMsg *m;
        int left = 0;
        while ((m = curl_multi_info_read(g_io_multi, &left))) {
            if (m->msg != CURLMSG_DONE) {
                continue;
            }
            ncsl_fetch *f = NULL;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&f);
            CURLcode code = m->data.result;
            if (f) {
                transfer_done(f, code); /* may remove m's handle: m is not used after */
            }
        }
        now = ncsl_now_ns();
        int wait_ms = next_deadline > now ? (int)((next_deadline - now + 999999u) / 1000000u) : 0;
        curl_multi_poll(g_io_multi, NULL, 0, wait_ms, NULL);
    }
    return NULL;
}

void ncsl_fetch_shutdown(void) {
    pthread_mutex_lock(&g_fetch.mu);
    g_fetch.shut = true;
    bool running = g_fetch.running;
    if (running) {
        g_fetch.stopping = true;
        curl_multi_wakeup(g_fetch.multi);
    }
    pthread_mutex_unlock(&g_fetch.mu);
    if (running) {
        pthread_join(g_fetch.thread, NULL);
    }
    pthread_mutex_lock(&g_fetch.mu);
    if (running) {
        curl_multi_cleanup(g_fetch.multi);
        g_fetch.multi = NULL;
        g_io_multi = NULL;
        g_fetch.running = false;
        g_fetch.stopping = false;
    }
    bool curl_ready = g_fetch.curl_ready;
    g_fetch.curl_ready = false;
    pthread_mutex_unlock(&g_fetch.mu);
    if (curl_ready) {
        curl_global_cleanup();
    }
}
