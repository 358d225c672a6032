/*
 * Outbound HTTP for the JS `fetch` (src/js/js_fetch.c): one process-wide I/O thread runs a curl
 * multi handle, so a call waiting for a response holds no JS worker; requests are submitted from
 * any thread and complete through a callback on the I/O thread.
 *
 * Policy (ncsl_fetch_configure, from the config's "Fetch" section): the operator's host allow-list
 * (empty by default: fetch is off), http and https only, redirects followed here hop by hop (each
 * hop checked again), no connection to a loopback, private, link-local, multicast or unspecified
 * address (the address curl is about to connect to, after name resolution) unless private
 * networks are allowed, no proxy from the environment, TLS verification on, and bounded sizes and
 * times. Every refusal carries a message ready for a JS TypeError ("fetch: ...") that names the
 * host and the setting at fault, never the URL's path or query (they may hold credentials).
 *
 * Lifetime: ncsl_fetch_configure once at start (again to change the policy: later requests use
 * the new one), ncsl_fetch_shutdown at exit. The I/O thread starts on the first request, so a
 * process that never fetches never touches libcurl.
 */
#ifndef NCSL_FETCH_H
#define NCSL_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

/* Bounds of the policy's settings (config.c checks the same ranges). */
#define NCSL_FETCH_MAX_REDIRECTS 5
#define NCSL_FETCH_MAX_HOSTS 128
#define NCSL_FETCH_MAX_HOST_PATTERN 262 /* "*." + 253-byte name + ":65535", or "[v6]:port" */
/* A response's header block (all lines of the final response) may not exceed this. */
#define NCSL_FETCH_MAX_HEADER_BYTES ((size_t)64 << 10)
#define NCSL_FETCH_MAX_HEADERS 256u

typedef struct ncsl_fetch_policy {
    /* Host patterns: "api.example.com", "*.example.com" (any subdomain, not the name itself),
     * an IPv4 address, "[IPv6]", or "*" (any host); each optionally with ":PORT" (else any
     * port). Case-insensitive. Borrowed by ncsl_fetch_configure, which copies them. */
    const char *const *allowed_hosts;
    size_t allowed_host_count;
    bool allow_private_networks;    /* connect to loopback/private/link-local/... addresses */
    uint32_t max_requests_per_call; /* 16 */
    size_t max_response_bytes;      /* 8 MiB: response body bytes of one call, all requests */
    size_t max_request_bytes;       /* 1 MiB: a request's body */
    uint32_t timeout_ms;            /* 10000: one fetch, redirects included */
    unsigned max_concurrent;        /* 256: requests in flight in the process; more are refused */
} ncsl_fetch_policy;

/* The defaults: no allowed host (fetch off), the limits in the comments above. */
void ncsl_fetch_policy_default(ncsl_fetch_policy *p);

/* Installs `p` (copied; NULL: the defaults) for the requests submitted from now on. Returns
 * NCSL_E_INVALID_ARG naming the bad entry (field "Fetch.AllowedHosts[i]", or the limit's
 * setting name) and keeps the previous policy. Thread-safe. */
ncsl_status ncsl_fetch_configure(const ncsl_fetch_policy *p, ncsl_err *err);

/* ncsl_fetch_configure with the "Fetch" section of a loaded configuration (config/config.h;
 * borrowed). */
struct ncsl_config;
ncsl_status ncsl_fetch_configure_from_config(const struct ncsl_config *cfg, ncsl_err *err);

/* The scalar settings in force (allowed_hosts NULL, allowed_host_count the number of patterns).
 * Thread-safe, cheap (a mutex). */
void ncsl_fetch_get_policy(ncsl_fetch_policy *out);

/* The whole policy in force, AllowedHosts included (the patterns as they were configured), into
 * `out` (caller-owned; its hosts are allocated here: release them with
 * ncsl_fetch_policy_cleanup, even after an error). Giving *out to ncsl_fetch_configure, in this
 * process or another (a worker process, src/exec/proc.c), installs a policy that decides every
 * request the same way. NCSL_E_NOMEM (then *out has the scalars and no hosts). Thread-safe. */
ncsl_status ncsl_fetch_policy_copy(ncsl_fetch_policy *out, ncsl_err *err);
/* Frees the hosts of a policy filled by ncsl_fetch_policy_copy (or whose array and patterns were
 * each malloc'd the same way) and clears them. NULL does nothing. */
void ncsl_fetch_policy_cleanup(ncsl_fetch_policy *p);

/* Fails every request in flight ("the service is shutting down"), joins the I/O thread and frees
 * libcurl's state. Later submits are refused until ncsl_fetch_configure is called again.
 * Idempotent; call it once no thread submits any more. */
void ncsl_fetch_shutdown(void);

typedef enum ncsl_fetch_redirect {
    NCSL_FETCH_REDIRECT_FOLLOW = 0, /* follow up to NCSL_FETCH_MAX_REDIRECTS hops */
    NCSL_FETCH_REDIRECT_ERROR,      /* a redirect fails the request */
    NCSL_FETCH_REDIRECT_MANUAL,     /* the 3xx response is the result */
} ncsl_fetch_redirect;

/* A header: name and value, NUL-terminated. In a request they are borrowed (copied by submit);
 * in a response they are owned by the request handle, names in lower case. */
typedef struct ncsl_fetch_header {
    const char *name;
    const char *value;
} ncsl_fetch_header;

/* A request. Every pointer is borrowed for the duration of ncsl_fetch_submit. */
typedef struct ncsl_fetch_request {
    const char *method;               /* a token, sent as is ("GET", "POST"...); NULL = "GET" */
    const char *url;                  /* absolute http(s) URL */
    const ncsl_fetch_header *headers; /* names are tokens, values have no CR, LF or NUL */
    size_t header_count;
    const uint8_t *body; /* NULL with body_len 0 = no body */
    size_t body_len;
    ncsl_fetch_redirect redirect;
    size_t max_response_bytes; /* 0 or more than the policy's: the policy's */
    uint64_t deadline_ns;      /* ncsl_now_ns() clock; 0 = the policy's TimeoutMs only */
} ncsl_fetch_request;

typedef enum ncsl_fetch_error {
    NCSL_FETCH_OK = 0,
    NCSL_FETCH_E_POLICY,    /* a redirect hop or the resolved address broke the policy */
    NCSL_FETCH_E_NETWORK,   /* DNS, connect, TLS, protocol error */
    NCSL_FETCH_E_TIMEOUT,   /* TimeoutMs or the deadline passed */
    NCSL_FETCH_E_TOO_LARGE, /* the response body or headers broke their limit */
    NCSL_FETCH_E_REDIRECT,  /* a redirect with redirect "error", too many hops, a bad Location */
    NCSL_FETCH_E_CANCELLED, /* ncsl_fetch_cancel */
    NCSL_FETCH_E_SHUTDOWN,  /* ncsl_fetch_shutdown */
    NCSL_FETCH_E_NOMEM,
} ncsl_fetch_error;

/* The outcome of a request, owned by its handle; valid once the completion callback ran. */
typedef struct ncsl_fetch_response {
    ncsl_fetch_error error;     /* NCSL_FETCH_OK: the fields below describe the response */
    char message[320];          /* for errors: "fetch: ..." (host and setting, never the path) */
    int status;                 /* HTTP status */
    char status_text[128];      /* the reason phrase ("" over HTTP/2) */
    char *url;                  /* the final URL (after redirects) */
    bool redirected;            /* at least one redirect was followed */
    ncsl_fetch_header *headers; /* in arrival order, names lower case */
    size_t header_count;
    uint8_t *body; /* body_len bytes (decoded if the server compressed them); NULL when 0 */
    size_t body_len;
    size_t header_bytes; /* size of the header block received (for gas) */
} ncsl_fetch_response;

typedef struct ncsl_fetch ncsl_fetch;

/* Runs once per submitted request, on the I/O thread, when it completed, failed or was
 * cancelled: ncsl_fetch_result(f) is then final. Must not block; may call ncsl_fetch_release
 * on f (the I/O thread keeps its own reference until the callback returned). */
typedef void (*ncsl_fetch_done_fn)(ncsl_fetch *f, void *user);

/*
 * Starts a request. On NCSL_OK *out is the caller's reference (drop it with ncsl_fetch_release,
 * at any time) and `done` will run exactly once. Refusals made before any I/O return at once and
 * `done` is never called: NCSL_E_INVALID_ARG when the request breaks the policy or is malformed
 * (err->message is the TypeError text: "fetch: host 'x' is not in Fetch.AllowedHosts"...),
 * NCSL_E_BUSY when Fetch.MaxConcurrent requests are in flight, NCSL_E_SHUTDOWN after
 * ncsl_fetch_shutdown, NCSL_E_NOMEM. Thread-safe.
 */
ncsl_status ncsl_fetch_submit(const ncsl_fetch_request *req, ncsl_fetch_done_fn done, void *user,
                              ncsl_fetch **out, ncsl_err *err);

/* The outcome; NULL until the completion callback has started. Any thread. */
const ncsl_fetch_response *ncsl_fetch_result(const ncsl_fetch *f);

/* Asks the I/O thread to stop the request: it completes soon with NCSL_FETCH_E_CANCELLED (or
 * with its real outcome if that came first). Idempotent, any thread, safe against completion
 * racing with it; f must still be referenced by the caller. */
void ncsl_fetch_cancel(ncsl_fetch *f);

/* Drops the caller's reference (request, response and buffers are freed, secrets wiped, when the
 * I/O thread is done with it too). Does not cancel. NULL does nothing. */
void ncsl_fetch_release(ncsl_fetch *f);

/* Requests in flight in the process (submitted, not yet completed). */
unsigned ncsl_fetch_in_flight(void);

#endif
