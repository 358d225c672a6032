/*
 * The fetch subsystem (src/fetch): the policy's pure parts (host patterns, address classes, URL
 * checks) table-driven, then real requests against http_stub on 127.0.0.1: responses, headers,
 * bodies, refusals, redirects, deadlines, size caps, cancellation, concurrency and shutdown.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "fetch/fetch_int.h"
#include "http_stub.h"

static http_stub *g_srv;
static char g_base[64]; /* "http://127.0.0.1:PORT" */

/* ------------------------------------------------------------------------- helpers */
typedef struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    unsigned calls;
    bool result_missing; /* the callback ran before the result was final */
} waiter;

static void waiter_init(waiter *w) {
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->done = false;
    w->calls = 0;
    w->result_missing = false;
}

static void on_done(ncsl_fetch *f, void *user) {
    waiter *w = user; /* no cmocka assertion here: this is the I/O thread */
    pthread_mutex_lock(&w->mu);
    w->result_missing |= ncsl_fetch_result(f) == NULL;
    w->done = true;
    w->calls++;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static uint64_t now_ms(void) {
    return ncsl_now_ns() / 1000000u;
}

/* Waits up to `ms` for the callback. */
static bool wait_done(waiter *w, unsigned ms) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&w->mu);
    while (!w->done) {
        if (pthread_cond_timedwait(&w->cv, &w->mu, &ts) != 0) {
            break;
        }
    }
    bool d = w->done;
    bool missing = w->result_missing;
    pthread_mutex_unlock(&w->mu);
    assert_false(missing);
    return d;
}

static void set_policy(bool allow_private, const char *const *hosts, size_t n, uint32_t timeout_ms,
                       size_t max_response) {
    ncsl_fetch_policy p;
    ncsl_fetch_policy_default(&p);
    p.allowed_hosts = hosts;
    p.allowed_host_count = n;
    p.allow_private_networks = allow_private;
    if (timeout_ms) {
        p.timeout_ms = timeout_ms;
    }
    if (max_response) {
        p.max_response_bytes = max_response;
    }
    ncsl_err err;
    assert_int_equal(ncsl_fetch_configure(&p, &err), NCSL_OK);
}

static const char *const g_local[] = {"127.0.0.1", "localhost"};

/* The usual policy of these tests: the stub's host, private networks allowed. */
static void local_policy(void) {
    set_policy(true, g_local, 2, 5000, 0);
}

typedef struct call {
    waiter w;
    ncsl_fetch *f;
    ncsl_status st;
    ncsl_err err;
} call;

static void submit(call *c, const char *method, const char *url, const ncsl_fetch_header *h,
                   size_t hn, const char *body) {
    waiter_init(&c->w);
    ncsl_fetch_request req = {
        .method = method,
        .url = url,
        .headers = h,
        .header_count = hn,
        .body = (const uint8_t *)body,
        .body_len = body ? strlen(body) : 0,
    };
    c->f = NULL;
    c->st = ncsl_fetch_submit(&req, on_done, &c->w, &c->f, &c->err);
}

/* Submits and waits; returns the response (c->f keeps it; release with ncsl_fetch_release). */
static const ncsl_fetch_response *fetch_wait(call *c, const char *method, const char *path,
                                             const ncsl_fetch_header *h, size_t hn,
                                             const char *body) {
    char url[2300];
    snprintf(url, sizeof(url), "%s%s", strncmp(path, "http", 4) ? g_base : "", path);
    submit(c, method, url, h, hn, body);
    assert_int_equal(c->st, NCSL_OK);
    assert_true(wait_done(&c->w, 15000));
    return ncsl_fetch_result(c->f);
}

static const char *header(const ncsl_fetch_response *r, const char *name, unsigned nth) {
    for (size_t i = 0; i < r->header_count; i++) {
        if (strcmp(r->headers[i].name, name) == 0 && nth-- == 0) {
            return r->headers[i].value;
        }
    }
    return NULL;
}

static bool body_has(const ncsl_fetch_response *r, const char *s) {
    return r->body && memmem(r->body, r->body_len, s, strlen(s)) != NULL;
}

/* ------------------------------------------------------------------------- pure parts */
static void test_patterns(void **state) {
    (void)state;
    static const struct {
        const char *in;
        int rc;
        const char *host;
        bool any, sub;
        uint16_t port;
    } cases[] = {
        {"api.example.com", 0, "api.example.com", false, false, 0},
        {"API.Example.COM", 0, "api.example.com", false, false, 0},
        {"example.com.", 0, "example.com", false, false, 0},
        {"*.example.com", 0, "example.com", false, true, 0},
        {"*.example.com:8443", 0, "example.com", false, true, 8443},
        {"127.0.0.1:8080", 0, "127.0.0.1", false, false, 8080},
        {"[::1]", 0, "::1", false, false, 0},
        {"[::1]:443", 0, "::1", false, false, 443},
        {"*", 0, "", true, false, 0},
        {"*:443", 0, "", true, false, 443},
        {"", -1, NULL, false, false, 0},
        {"::1", -1, NULL, false, false, 0},
        {"[::1", -1, NULL, false, false, 0},
        {"[nope]", -1, NULL, false, false, 0},
        {"a..b", -1, NULL, false, false, 0},
        {".example.com", -1, NULL, false, false, 0},
        {"exa mple.com", -1, NULL, false, false, 0},
        {"example.com:0", -1, NULL, false, false, 0},
        {"example.com:65536", -1, NULL, false, false, 0},
        {"example.com:", -1, NULL, false, false, 0},
        {"example.com:12a", -1, NULL, false, false, 0},
        {"*.", -1, NULL, false, false, 0},
        {"**.example.com", -1, NULL, false, false, 0},
        {"http://example.com", -1, NULL, false, false, 0},
        {"example.com/path", -1, NULL, false, false, 0},
        {"ex\xc3\xa4mple.com", -1, NULL, false, false, 0},
    };
    for (size_t i = 0; i < NCSL_ARRAY_LEN(cases); i++) {
        ncsl__fetch_pattern p;
        char why[160] = "";
        int rc = ncsl__fetch_pattern_parse(cases[i].in, &p, why, sizeof(why));
        if (rc != cases[i].rc) {
            fail_msg("pattern '%s': rc %d, want %d (%s)", cases[i].in, rc, cases[i].rc, why);
        }
        if (rc == 0) {
            assert_string_equal(p.host, cases[i].host);
            assert_int_equal(p.any_host, cases[i].any);
            assert_int_equal(p.subdomains, cases[i].sub);
            assert_int_equal(p.port, cases[i].port);
        } else {
            assert_true(why[0] != '\0');
        }
    }
    /* a 254-byte name is too long, a 64-byte label too */
    char longname[300];
    memset(longname, 'a', 254);
    longname[254] = '\0';
    ncsl__fetch_pattern p;
    char why[160];
    assert_int_equal(ncsl__fetch_pattern_parse(longname, &p, why, sizeof(why)), -1);
    memset(longname, 'a', 64);
    strcpy(longname + 64, ".com");
    assert_int_equal(ncsl__fetch_pattern_parse(longname, &p, why, sizeof(why)), -1);
}

static void test_host_matching(void **state) {
    (void)state;
    const char *in[] = {"api.example.com", "*.svc.example.org", "pinned.example.net:8443",
                        "[::1]:8080"};
    ncsl__fetch_pattern pats[4];
    char why[160];
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(ncsl__fetch_pattern_parse(in[i], &pats[i], why, sizeof(why)), 0);
    }
    static const struct {
        const char *host;
        unsigned port;
        bool ok;
    } cases[] = {
        {"api.example.com", 443, true},
        {"api.example.com", 8080, true},
        {"example.com", 443, false},
        {"xapi.example.com", 443, false},
        {"api.example.com.evil.com", 443, false},
        {"a.svc.example.org", 443, true},
        {"a.b.svc.example.org", 80, true},
        {"svc.example.org", 443, false},
        {"xsvc.example.org", 443, false},
        {"pinned.example.net", 8443, true},
        {"pinned.example.net", 443, false},
        {"::1", 8080, true},
        {"::1", 80, false},
        {"evil.com", 443, false},
    };
    for (size_t i = 0; i < NCSL_ARRAY_LEN(cases); i++) {
        if (ncsl__fetch_host_allowed(pats, 4, cases[i].host, cases[i].port) != cases[i].ok) {
            fail_msg("host %s:%u: want %d", cases[i].host, cases[i].port, cases[i].ok);
        }
    }
    assert_false(ncsl__fetch_host_allowed(pats, 0, "api.example.com", 443));
    ncsl__fetch_pattern any;
    assert_int_equal(ncsl__fetch_pattern_parse("*", &any, why, sizeof(why)), 0);
    assert_true(ncsl__fetch_host_allowed(&any, 1, "anything.example", 1));
}

static void test_address_kinds(void **state) {
    (void)state;
    static const struct {
        const char *addr;
        const char *kind; /* NULL = public */
    } cases[] = {
        {"127.0.0.1", "loopback"},
        {"127.255.0.9", "loopback"},
        {"10.1.2.3", "private"},
        {"172.16.0.1", "private"},
        {"172.31.255.255", "private"},
        {"172.32.0.1", NULL},
        {"192.168.1.1", "private"},
        {"169.254.169.254", "link-local"},
        {"100.64.0.1", "shared (carrier-grade NAT)"},
        {"100.128.0.1", NULL},
        {"0.0.0.0", "unspecified"},
        {"224.0.0.1", "multicast"},
        {"255.255.255.255", "reserved"},
        {"8.8.8.8", NULL},
        {"93.184.216.34", NULL},
        {"::", "unspecified"},
        {"::1", "loopback"},
        {"::ffff:127.0.0.1", "loopback"},
        {"::ffff:169.254.169.254", "link-local"},
        {"::ffff:8.8.8.8", NULL},
        {"::127.0.0.1", "loopback"},
        {"64:ff9b::10.0.0.1", "private"},
        {"64:ff9b::8.8.8.8", NULL},
        {"2002:7f00:1::", "loopback"},
        {"fc00::1", "private (unique local)"},
        {"fd12:3456::1", "private (unique local)"},
        {"fe80::1", "link-local"},
        {"febf::1", "link-local"},
        {"fec0::1", "private (site-local)"},
        {"ff02::1", "multicast"},
        {"2001:db8::1", "reserved"},
        {"2606:4700:4700::1111", NULL},
    };
    for (size_t i = 0; i < NCSL_ARRAY_LEN(cases); i++) {
        bool is_ip = false;
        const char *k = ncsl__fetch_literal_kind(cases[i].addr, &is_ip);
        assert_true(is_ip);
        if ((k == NULL) != (cases[i].kind == NULL) || (k && strcmp(k, cases[i].kind) != 0)) {
            fail_msg("%s: got %s, want %s", cases[i].addr, k ? k : "public",
                     cases[i].kind ? cases[i].kind : "public");
        }
        /* the sockaddr path agrees */
        struct sockaddr_storage ss;
        memset(&ss, 0, sizeof(ss));
        if (strchr(cases[i].addr, ':')) {
            struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
            a->sin6_family = AF_INET6;
            inet_pton(AF_INET6, cases[i].addr, &a->sin6_addr);
        } else {
            struct sockaddr_in *a = (struct sockaddr_in *)&ss;
            a->sin_family = AF_INET;
            inet_pton(AF_INET, cases[i].addr, &a->sin_addr);
        }
        const char *k2 = ncsl__fetch_addr_kind((struct sockaddr *)&ss);
        assert_true(k == k2 || (k && k2 && strcmp(k, k2) == 0));
        char text[64];
        ncsl__fetch_addr_text((struct sockaddr *)&ss, text, sizeof(text));
        assert_true(text[0] != '\0');
    }
    bool is_ip = true;
    assert_null(ncsl__fetch_literal_kind("localhost", &is_ip));
    assert_false(is_ip);
    struct sockaddr un = {.sa_family = AF_UNIX};
    assert_string_equal(ncsl__fetch_addr_kind(&un), "non-IP");
}

static void test_url_check(void **state) {
    (void)state;
    const char *in[] = {"api.example.com", "127.0.0.1", "169.254.169.254", "[::1]"};
    ncsl__fetch_pattern pats[4];
    char why[160];
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(ncsl__fetch_pattern_parse(in[i], &pats[i], why, sizeof(why)), 0);
    }
    static const struct {
        const char *url;
        bool priv;
        const char *want; /* NULL: accepted; else a substring of the message */
    } cases[] = {
        {"https://api.example.com/v1/price?key=s3cr3t#frag", false, NULL},
        {"HTTP://API.EXAMPLE.COM:8080/x", false, NULL},
        {"https://api.example.com./x", false, NULL},
        {"https://evil.com/", false, "host 'evil.com' (port 443) is not in Fetch.AllowedHosts"},
        {"https://api.example.com.evil.com/", false, "is not in Fetch.AllowedHosts"},
        {"ftp://api.example.com/", false, "only http and https"},
        {"file:///etc/passwd", false, "only http and https"},
        {"javascript:alert(1)", false, "only http and https"},
        {"/relative/path", false, "not a valid absolute URL"},
        {"", false, "not a valid absolute URL"},
        {"https://user:pw@api.example.com/", false, "credentials"},
        {"https://api.example.com@evil.com/", false, "credentials"},
        {"http://127.0.0.1/", false, "127.0.0.1 is a loopback address (Fetch.AllowPrivateNetworks"},
        {"http://127.0.0.1/", true, NULL},
        {"http://169.254.169.254/latest/meta-data", false, "169.254.169.254 is a link-local"},
        {"http://[::1]:9/", false, "::1 is a loopback address"},
        {"http://[::1]:9/", true, NULL},
        /* other spellings of an address are normalized before the checks */
        {"http://2130706433/", false, "127.0.0.1 is a loopback address"},
        {"http://0x7f.1/", false, "127.0.0.1 is a loopback address"},
        {"http://[::ffff:7f00:1]/", false, "not in Fetch.AllowedHosts"},
    };
    for (size_t i = 0; i < NCSL_ARRAY_LEN(cases); i++) {
        ncsl__fetch_url u;
        char msg[320] = "";
        int rc = ncsl__fetch_url_check(cases[i].url, pats, 4, cases[i].priv, "argument 1 (url)", &u,
                                       msg, sizeof(msg));
        if (cases[i].want == NULL) {
            if (rc != 0) {
                fail_msg("%s: refused: %s", cases[i].url, msg);
            }
            assert_null(strchr(u.url, '#'));
            free(u.url);
        } else {
            if (rc == 0 || !strstr(msg, cases[i].want)) {
                fail_msg("%s: got rc %d '%s', want '%s'", cases[i].url, rc, msg, cases[i].want);
            }
            assert_true(strncmp(msg, "fetch: ", 7) == 0);
            assert_null(strstr(msg, "s3cr3t"));
            assert_null(strstr(msg, "pw"));
        }
    }
    /* no host allowed at all: the message says fetch is off */
    ncsl__fetch_url u;
    char msg[320];
    assert_int_equal(ncsl__fetch_url_check("https://api.example.com/", pats, 0, false, "x", &u, msg,
                                           sizeof(msg)),
                     -1);
    assert_non_null(strstr(msg, "fetch is off"));
}

static void test_configure_validation(void **state) {
    (void)state;
    ncsl_fetch_policy p;
    ncsl_err err;
    const char *bad[] = {"ok.example.com", "not a host"};
    ncsl_fetch_policy_default(&p);
    p.allowed_hosts = bad;
    p.allowed_host_count = 2;
    assert_int_equal(ncsl_fetch_configure(&p, &err), NCSL_E_INVALID_ARG);
    assert_string_equal(err.field, "Fetch.AllowedHosts[1]");
    ncsl_fetch_policy_default(&p);
    p.max_response_bytes = 0;
    assert_int_equal(ncsl_fetch_configure(&p, &err), NCSL_E_INVALID_ARG);
    assert_string_equal(err.field, "Fetch.MaxResponseBytes");
    ncsl_fetch_policy_default(&p);
    p.timeout_ms = 0;
    assert_int_equal(ncsl_fetch_configure(&p, &err), NCSL_E_INVALID_ARG);
    assert_string_equal(err.field, "Fetch.TimeoutMs");
    ncsl_fetch_policy_default(&p);
    p.max_concurrent = 0;
    assert_int_equal(ncsl_fetch_configure(&p, &err), NCSL_E_INVALID_ARG);
    assert_string_equal(err.field, "Fetch.MaxConcurrent");
    ncsl_fetch_policy_default(&p);
    p.max_requests_per_call = 0;
    assert_int_equal(ncsl_fetch_configure(&p, &err), NCSL_E_INVALID_ARG);
    assert_string_equal(err.field, "Fetch.MaxRequestsPerCall");
    /* the defaults: fetch off, the documented limits */
    assert_int_equal(ncsl_fetch_configure(NULL, &err), NCSL_OK);
    ncsl_fetch_get_policy(&p);
    assert_int_equal(p.allowed_host_count, 0);
    assert_false(p.allow_private_networks);
    assert_int_equal(p.max_requests_per_call, 16);
    assert_int_equal(p.max_response_bytes, 8u << 20);
    assert_int_equal(p.max_request_bytes, 1u << 20);
    assert_int_equal(p.timeout_ms, 10000);
    assert_int_equal(p.max_concurrent, 256);
}

/* ncsl_fetch_policy_copy: the whole policy, hosts as configured; configuring the copy gives the
 * same policy back; a failed configure keeps the previous one. */
static void test_policy_copy(void **state) {
    (void)state;
    ncsl_fetch_policy p, c;
    ncsl_err err;
    assert_int_equal(ncsl_fetch_configure(NULL, &err), NCSL_OK);
    assert_int_equal(ncsl_fetch_policy_copy(&c, &err), NCSL_OK);
    assert_null(c.allowed_hosts);
    assert_int_equal(c.allowed_host_count, 0);
    assert_int_equal(c.max_concurrent, 256);
    ncsl_fetch_policy_cleanup(&c);

    const char *hosts[] = {"API.Example.com", "*.example.org:8443", "[::1]", "*"};
    ncsl_fetch_policy_default(&p);
    p.allowed_hosts = hosts;
    p.allowed_host_count = NCSL_ARRAY_LEN(hosts);
    p.allow_private_networks = true;
    p.max_requests_per_call = 7;
    p.max_response_bytes = 1000;
    p.max_request_bytes = 0;
    p.timeout_ms = 1234;
    p.max_concurrent = 3;
    assert_int_equal(ncsl_fetch_configure(&p, &err), NCSL_OK);
    assert_int_equal(ncsl_fetch_policy_copy(&c, &err), NCSL_OK);
    assert_int_equal(c.allowed_host_count, NCSL_ARRAY_LEN(hosts));
    for (size_t i = 0; i < NCSL_ARRAY_LEN(hosts); i++) {
        assert_string_equal(c.allowed_hosts[i], hosts[i]);
        assert_ptr_not_equal(c.allowed_hosts[i], hosts[i]); /* copies */
    }
    assert_true(c.allow_private_networks);
    assert_int_equal(c.max_requests_per_call, 7);
    assert_int_equal(c.max_response_bytes, 1000);
    assert_int_equal(c.max_request_bytes, 0);
    assert_int_equal(c.timeout_ms, 1234);
    assert_int_equal(c.max_concurrent, 3);
    /* the copy outlives the policy it came from, and installs the same one */
    assert_int_equal(ncsl_fetch_configure(NULL, &err), NCSL_OK);
    assert_int_equal(ncsl_fetch_configure(&c, &err), NCSL_OK);
    ncsl_fetch_policy again;
    assert_int_equal(ncsl_fetch_policy_copy(&again, &err), NCSL_OK);
    assert_int_equal(again.allowed_host_count, NCSL_ARRAY_LEN(hosts));
    for (size_t i = 0; i < NCSL_ARRAY_LEN(hosts); i++) {
        assert_string_equal(again.allowed_hosts[i], hosts[i]);
    }
    assert_memory_equal(&again.max_requests_per_call, &c.max_requests_per_call,
                        sizeof(c) - offsetof(ncsl_fetch_policy, max_requests_per_call));
    ncsl_fetch_policy_cleanup(&again);
    ncsl_fetch_policy_cleanup(&c);
    assert_null(c.allowed_hosts);
    ncsl_fetch_policy_cleanup(&c); /* twice: nothing left to free */
    ncsl_fetch_policy_cleanup(NULL);
    /* a refused configure (a NULL entry among them) keeps the policy in force */
    const char *with_null[] = {"ok.example.com", NULL};
    p.allowed_hosts = with_null;
    p.allowed_host_count = 2;
    assert_int_equal(ncsl_fetch_configure(&p, &err), NCSL_E_INVALID_ARG);
    assert_string_equal(err.field, "Fetch.AllowedHosts[1]");
    assert_int_equal(ncsl_fetch_policy_copy(&c, &err), NCSL_OK);
    assert_int_equal(c.allowed_host_count, NCSL_ARRAY_LEN(hosts));
    ncsl_fetch_policy_cleanup(&c);
    assert_int_equal(ncsl_fetch_configure(NULL, &err), NCSL_OK);
}

/* ------------------------------------------------------------------------- refusals at submit */
static void test_submit_refusals(void **state) {
    (void)state;
    call c;
    char url[128];
    snprintf(url, sizeof(url), "%s/json", g_base);

    /* default policy: fetch is off */
    assert_int_equal(ncsl_fetch_configure(NULL, NULL), NCSL_OK);
    submit(&c, "GET", url, NULL, 0, NULL);
    assert_int_equal(c.st, NCSL_E_INVALID_ARG);
    assert_non_null(strstr(c.err.message, "fetch is off"));
    assert_null(c.f);

    /* allowed host, private networks off: the literal address is refused at once */
    set_policy(false, g_local, 2, 0, 0);
    submit(&c, "GET", url, NULL, 0, NULL);
    assert_int_equal(c.st, NCSL_E_INVALID_ARG);
    assert_string_equal(
        c.err.message,
        "fetch: 127.0.0.1 is a loopback address (Fetch.AllowPrivateNetworks is off)");

    local_policy();
    static const struct {
        const char *method;
        const char *body;
        ncsl_fetch_header h;
        const char *want;
    } cases[] = {
        {"CONNECT", NULL, {NULL, NULL}, "init.method 'CONNECT' is forbidden"},
        {"trace", NULL, {NULL, NULL}, "init.method 'trace' is forbidden"},
        {"TRACK", NULL, {NULL, NULL}, "forbidden"},
        {"GE T", NULL, {NULL, NULL}, "not a valid HTTP method"},
        {"", NULL, {NULL, NULL}, "not a valid HTTP method"},
        {"GET", "x", {NULL, NULL}, "a GET request cannot have a body"},
        {"HEAD", "x", {NULL, NULL}, "a HEAD request cannot have a body"},
        {"GET", NULL, {"host", "evil.com"}, "header 'host' cannot be set"},
        {"GET", NULL, {"Content-Length", "5"}, "header 'content-length' cannot be set"},
        {"GET", NULL, {"Proxy-Authorization", "x"}, "cannot be set"},
        {"GET", NULL, {"Transfer-Encoding", "chunked"}, "cannot be set"},
        {"GET", NULL, {"x-ok", "a\r\nInjected: yes"}, "contains CR or LF"},
        {"GET", NULL, {"bad name", "v"}, "not a valid HTTP token"},
        {"GET", NULL, {"", "v"}, "not a valid HTTP token"},
    };
    for (size_t i = 0; i < NCSL_ARRAY_LEN(cases); i++) {
        submit(&c, cases[i].method, url, cases[i].h.name ? &cases[i].h : NULL,
               cases[i].h.name ? 1 : 0, cases[i].body);
        if (c.st != NCSL_E_INVALID_ARG || !strstr(c.err.message, cases[i].want)) {
            fail_msg("case %zu: status %d '%s', want '%s'", i, c.st, c.err.message, cases[i].want);
        }
        assert_null(c.f);
    }
    /* the body cap */
    ncsl_fetch_policy p;
    ncsl_fetch_policy_default(&p);
    p.allowed_hosts = g_local;
    p.allowed_host_count = 2;
    p.allow_private_networks = true;
    p.max_request_bytes = 10;
    assert_int_equal(ncsl_fetch_configure(&p, NULL), NCSL_OK);
    submit(&c, "POST", url, NULL, 0, "01234567890");
    assert_int_equal(c.st, NCSL_E_INVALID_ARG);
    assert_string_equal(c.err.message, "fetch: the request body (11 bytes) is larger than "
                                       "Fetch.MaxRequestBytes (10)");
    submit(&c, "POST", url, NULL, 0, "0123456789"); /* exactly the cap: fine */
    assert_int_equal(c.st, NCSL_OK);
    assert_true(wait_done(&c.w, 5000));
    assert_int_equal(ncsl_fetch_result(c.f)->error, NCSL_FETCH_OK);
    ncsl_fetch_release(c.f);
    /* too many headers, too many header bytes */
    local_policy();
    ncsl_fetch_header many[300];
    for (size_t i = 0; i < 300; i++) {
        many[i].name = "x-h";
        many[i].value = "v";
    }
    submit(&c, "GET", url, many, 300, NULL);
    assert_int_equal(c.st, NCSL_E_INVALID_ARG);
    char *big = malloc(70000);
    memset(big, 'v', 69999);
    big[69999] = '\0';
    ncsl_fetch_header hb = {"x-big", big};
    submit(&c, "GET", url, &hb, 1, NULL);
    assert_int_equal(c.st, NCSL_E_INVALID_ARG);
    assert_non_null(strstr(c.err.message, "request headers are larger"));
    free(big);
    /* missing arguments */
    ncsl_fetch *f = NULL;
    assert_int_equal(ncsl_fetch_submit(NULL, on_done, NULL, &f, NULL), NCSL_E_INVALID_ARG);
    ncsl_fetch_request req = {.url = url};
    assert_int_equal(ncsl_fetch_submit(&req, NULL, NULL, &f, NULL), NCSL_E_INVALID_ARG);
    assert_int_equal(ncsl_fetch_in_flight(), 0);
}

/* ------------------------------------------------------------------------- responses */
static void test_get_json(void **state) {
    (void)state;
    local_policy();
    call c;
    const ncsl_fetch_response *r = fetch_wait(&c, "GET", "/json", NULL, 0, NULL);
    assert_int_equal(r->error, NCSL_FETCH_OK);
    assert_int_equal(r->status, 200);
    assert_string_equal(r->status_text, "OK");
    assert_false(r->redirected);
    char want[128];
    snprintf(want, sizeof(want), "%s/json", g_base);
    assert_string_equal(r->url, want);
    assert_string_equal(header(r, "content-type", 0), "application/json");
    assert_int_equal(r->body_len, strlen("{\"ok\":true,\"n\":42}"));
    assert_memory_equal(r->body, "{\"ok\":true,\"n\":42}", r->body_len);
    assert_true(r->header_bytes > 0);
    assert_int_equal(c.w.calls, 1);
    ncsl_fetch_cancel(c.f); /* after completion: nothing happens */
    ncsl_fetch_cancel(c.f);
    ncsl_fetch_release(c.f);
    /* the bare origin: path "/", the stub's 404 */
    r = fetch_wait(&c, "GET", "", NULL, 0, NULL); /* "/" of the stub: 404 */
    assert_int_equal(r->error, NCSL_FETCH_OK);
    assert_int_equal(r->status, 404);
    ncsl_fetch_release(c.f);
}

static void test_post_echo_headers_and_body(void **state) {
    (void)state;
    local_policy();
    call c;
    ncsl_fetch_header h[] = {
        {"X-Api-Key", "secret-value-123"},
        {"content-type", "application/json"},
        {"x-empty", ""},
        {"User-Agent", "my-agent/1"},
    };
    const ncsl_fetch_response *r =
        fetch_wait(&c, "POST", "/echo", h, NCSL_ARRAY_LEN(h), "{\"a\":1}");
    assert_int_equal(r->error, NCSL_FETCH_OK);
    assert_true(body_has(r, "POST /echo\n"));
    assert_true(body_has(r, "x-api-key: secret-value-123\n"));
    assert_true(body_has(r, "content-type: application/json\n"));
    assert_true(body_has(r, "x-empty:"));
    assert_true(body_has(r, "user-agent: my-agent/1\n"));
    assert_true(body_has(r, "Content-Length: 7\n"));
    assert_false(body_has(r, "Expect"));
    assert_true(body_has(r, "\n\n{\"a\":1}"));
    ncsl_fetch_release(c.f);

    /* no content type given: curl must not make one up; a default User-Agent */
    r = fetch_wait(&c, "PUT", "/echo", NULL, 0, "raw");
    assert_int_equal(r->error, NCSL_FETCH_OK);
    assert_true(body_has(r, "PUT /echo\n"));
    assert_false(body_has(r, "Content-Type"));
    assert_false(body_has(r, "content-type"));
    assert_true(body_has(r, "User-Agent: ncsl-fetch/"));
    assert_true(body_has(r, "\n\nraw"));
    ncsl_fetch_release(c.f);

    /* POST without a body: Content-Length 0; DELETE and PATCH as given */
    r = fetch_wait(&c, "POST", "/echo", NULL, 0, NULL);
    assert_true(body_has(r, "POST /echo\n"));
    assert_true(body_has(r, "Content-Length: 0\n"));
    ncsl_fetch_release(c.f);
    r = fetch_wait(&c, "DELETE", "/echo", NULL, 0, NULL);
    assert_true(body_has(r, "DELETE /echo\n"));
    ncsl_fetch_release(c.f);
    r = fetch_wait(&c, "PATCH", "/echo", NULL, 0, "p");
    assert_true(body_has(r, "PATCH /echo\n"));
    ncsl_fetch_release(c.f);
    /* HEAD: headers, no body */
    r = fetch_wait(&c, "HEAD", "/json", NULL, 0, NULL);
    assert_int_equal(r->error, NCSL_FETCH_OK);
    assert_int_equal(r->status, 200);
    assert_int_equal(r->body_len, 0);
    assert_null(r->body);
    ncsl_fetch_release(c.f);
}

static void test_response_headers(void **state) {
    (void)state;
    local_policy();
    call c;
    const ncsl_fetch_response *r = fetch_wait(&c, "GET", "/headers", NULL, 0, NULL);
    assert_int_equal(r->error, NCSL_FETCH_OK);
    assert_string_equal(header(r, "x-multi", 0), "one");
    assert_string_equal(header(r, "x-multi", 1), "two");
    assert_string_equal(header(r, "set-cookie", 0), "a=1");
    assert_string_equal(header(r, "set-cookie", 1), "b=2");
    assert_string_equal(header(r, "x-folded", 0), "first second");
    assert_string_equal(header(r, "x-empty", 0), "");
    assert_string_equal(header(r, "x-spaces", 0), "padded");
    for (size_t i = 0; i < r->header_count; i++) {
        for (const char *p = r->headers[i].name; *p; p++) {
            assert_false(*p >= 'A' && *p <= 'Z');
        }
    }
    ncsl_fetch_release(c.f);
    r = fetch_wait(&c, "GET", "/status/418", NULL, 0, NULL);
    assert_int_equal(r->error, NCSL_FETCH_OK);
    assert_int_equal(r->status, 418);
    assert_string_equal(r->status_text, "Something");
    ncsl_fetch_release(c.f);
}

/* ------------------------------------------------------------------------- redirects */
static void test_redirects(void **state) {
    (void)state;
    local_policy();
    call c;
    char path[512];

    /* to an allowed host: followed */
    snprintf(path, sizeof(path), "/redirect?to=%s/json", g_base);
    const ncsl_fetch_response *r = fetch_wait(&c, "GET", path, NULL, 0, NULL);
    assert_int_equal(r->error, NCSL_FETCH_OK);
    assert_int_equal(r->status, 200);
    assert_true(r->redirected);
    char want[128];
    snprintf(want, sizeof(want), "%s/json", g_base);
    assert_string_equal(r->url, want);
    ncsl_fetch_release(c.f);

    /* by name: localhost is allowed too */
    snprintf(path, sizeof(path), "/redirect?to=http://localhost:%u/json",
             (unsigned)http_stub_port(g_srv));
    r = fetch_wait(&c, "GET", path, NULL, 0, NULL);
    assert_int_equal(r->error, NCSL_FETCH_OK);
    assert_int_equal(r->status, 200);
    ncsl_fetch_release(c.f);

    /* to a disallowed host, to another scheme: refused before any connection */
    r = fetch_wait(&c, "GET", "/redirect?to=http://evil.example/steal", NULL, 0, NULL);
    assert_int_equal(r->error, NCSL_FETCH_E_POLICY);
    assert_string_equal(r->message, "fetch: redirect from '127.0.0.1' refused: host "
                                    "'evil.example' (port 80) is not in Fetch.AllowedHosts");
    ncsl_fetch_release(c.f);
    r = fetch_wait(&c, "GET", "/redirect?to=file:///etc/passwd", NULL, 0, NULL);
    assert_int_equal(r->error, NCSL_FETCH_E_POLICY);
    assert_non_null(strstr(r->message, "only http and https"));
    ncsl_fetch_release(c.f);

    /* 5 hops are fine, 6 are too many */
    r = fetch_wait(&c, "GET", "/chain/5", NULL, 0, NULL);
    assert_int_equal(r->error, NCSL_FETCH_OK);
    assert_true(body_has(r, "end"));
    ncsl_fetch_release(c.f);
    r = fetch_wait(&c, "GET", "/chain/6", NULL, 0, NULL);
    assert_int_equal(r->error, NCSL_FETCH_E_REDIRECT);
    assert_non_null(strstr(r->message, "more than 5 redirects"));
    ncsl_fetch_release(c.f);

    /* 303 after a POST: GET without the body or its headers */
    ncsl_fetch_header h[] = {{"content-type", "text/plain"}, {"x-keep", "1"}};
    r = fetch_wait(&c, "POST", "/see-other", h, 2, "body!");
    assert_int_equal(r->error, NCSL_FETCH_OK);
    assert_true(body_has(r, "GET /echo\n"));
    assert_false(body_has(r, "body!"));
    assert_false(body_has(r, "content-type"));
    assert_true(body_has(r, "x-keep: 1"));
    ncsl_fetch_release(c.f);

    /* redirect "error" and "manual" */
    snprintf(path, sizeof(path), "%s/chain/1", g_base);
    submit(&c, "GET", path, NULL, 0, NULL);
    ncsl_fetch_release(c.f);
    assert_true(wait_done(&c.w, 5000)); /* released early: the callback still runs once */
    ncsl_fetch_request req = {.url = path, .redirect = NCSL_FETCH_REDIRECT_ERROR};
    waiter_init(&c.w);
    assert_int_equal(ncsl_fetch_submit(&req, on_done, &c.w, &c.f, NULL), NCSL_OK);
    assert_true(wait_done(&c.w, 5000));
    r = ncsl_fetch_result(c.f);
    assert_int_equal(r->error, NCSL_FETCH_E_REDIRECT);
    assert_non_null(strstr(r->message, "init.redirect is \"error\""));
    ncsl_fetch_release(c.f);
    req.redirect = NCSL_FETCH_REDIRECT_MANUAL;
    waiter_init(&c.w);
    assert_int_equal(ncsl_fetch_submit(&req, on_done, &c.w, &c.f, NULL), NCSL_OK);
    assert_true(wait_done(&c.w, 5000));
    r = ncsl_fetch_result(c.f);
    assert_int_equal(r->error, NCSL_FETCH_OK);
    assert_int_equal(r->status, 302);
    assert_string_equal(header(r, "location", 0), "/chain/0");
    assert_false(r->redirected);
    ncsl_fetch_release(c.f);
}

/* ------------------------------------------------------------------------- resolved addresses */
static void test_resolved_address_checked(void **state) {
    (void)state;
    /* "localhost" is allowed by name, but it resolves to loopback: refused at connect */
    set_policy(false, g_local, 2, 5000, 0);
    call c;
    char url[128];
    snprintf(url, sizeof(url), "http://localhost:%u/json", (unsigned)http_stub_port(g_srv));
    unsigned before = http_stub_connections(g_srv);
    submit(&c, "GET", url, NULL, 0, NULL);
    assert_int_equal(c.st, NCSL_OK);
    assert_true(wait_done(&c.w, 5000));
    const ncsl_fetch_response *r = ncsl_fetch_result(c.f);
    assert_int_equal(r->error, NCSL_FETCH_E_POLICY);
    assert_non_null(strstr(r->message, "host 'localhost' resolves to "));
    assert_non_null(strstr(r->message, "a loopback address (Fetch.AllowPrivateNetworks is off)"));
    ncsl_fetch_release(c.f);
    assert_int_equal(http_stub_connections(g_srv), before); /* nothing reached the server */

    /* a connection to loopback made while allowed is not reused once disallowed */
    local_policy();
    const ncsl_fetch_response *ok = fetch_wait(&c, "GET", "/json", NULL, 0, NULL);
    assert_int_equal(ok->error, NCSL_FETCH_OK);
    ncsl_fetch_release(c.f);
    set_policy(false, g_local, 2, 5000, 0);
    submit(&c, "GET", url, NULL, 0, NULL);
    assert_true(wait_done(&c.w, 5000));
    assert_int_equal(ncsl_fetch_result(c.f)->error, NCSL_FETCH_E_POLICY);
    ncsl_fetch_release(c.f);

    /* a redirect from an allowed public name to a private literal is refused the same way */
    set_policy(true, g_local, 2, 5000, 0);
}

/* ------------------------------------------------------------------------- limits */
static void test_timeouts(void **state) {
    (void)state;
    set_policy(true, g_local, 2, 300, 0);
    call c;
    uint64_t t0 = now_ms();
    const ncsl_fetch_response *r = fetch_wait(&c, "GET", "/hang", NULL, 0, NULL);
    uint64_t took = now_ms() - t0;
    assert_int_equal(r->error, NCSL_FETCH_E_TIMEOUT);
    assert_string_equal(r->message, "fetch: no complete response from '127.0.0.1' within "
                                    "Fetch.TimeoutMs (300 ms)");
    assert_true(took >= 250 && took < 3000);
    ncsl_fetch_release(c.f);

    /* the caller's deadline, when earlier, wins */
    local_policy();
    char url[128];
    snprintf(url, sizeof(url), "%s/hang", g_base);
    ncsl_fetch_request req = {.url = url, .deadline_ns = ncsl_now_ns() + 200u * 1000000u};
    waiter_init(&c.w);
    t0 = now_ms();
    assert_int_equal(ncsl_fetch_submit(&req, on_done, &c.w, &c.f, NULL), NCSL_OK);
    assert_true(wait_done(&c.w, 5000));
    took = now_ms() - t0;
    r = ncsl_fetch_result(c.f);
    assert_int_equal(r->error, NCSL_FETCH_E_TIMEOUT);
    assert_non_null(strstr(r->message, "the call's deadline passed"));
    assert_true(took >= 150 && took < 3000);
    ncsl_fetch_release(c.f);

    /* a deadline already past: fails at once */
    req.deadline_ns = ncsl_now_ns() - 1;
    waiter_init(&c.w);
    assert_int_equal(ncsl_fetch_submit(&req, on_done, &c.w, &c.f, NULL), NCSL_OK);
    assert_true(wait_done(&c.w, 2000));
    assert_int_equal(ncsl_fetch_result(c.f)->error, NCSL_FETCH_E_TIMEOUT);
    ncsl_fetch_release(c.f);
}

static void test_response_caps(void **state) {
    (void)state;
    set_policy(true, g_local, 2, 10000, 1u << 20);
    call c;
    uint64_t t0 = now_ms();
    const ncsl_fetch_response *r = fetch_wait(&c, "GET", "/big", NULL, 0, NULL);
    assert_int_equal(r->error, NCSL_FETCH_E_TOO_LARGE);
    assert_string_equal(r->message,
                        "fetch: the response is larger than Fetch.MaxResponseBytes (1048576)");
    assert_true(now_ms() - t0 < 5000);
    assert_null(r->body);
    ncsl_fetch_release(c.f);
    /* a declared length over the cap fails before the body is read */
    r = fetch_wait(&c, "GET", "/big-cl", NULL, 0, NULL);
    assert_int_equal(r->error, NCSL_FETCH_E_TOO_LARGE);
    ncsl_fetch_release(c.f);
    /* a per-request cap below the policy's (what is left of a call's budget) */
    char url[128];
    snprintf(url, sizeof(url), "%s/json", g_base);
    ncsl_fetch_request req = {.url = url, .max_response_bytes = 5};
    waiter_init(&c.w);
    assert_int_equal(ncsl_fetch_submit(&req, on_done, &c.w, &c.f, NULL), NCSL_OK);
    assert_true(wait_done(&c.w, 5000));
    r = ncsl_fetch_result(c.f);
    assert_int_equal(r->error, NCSL_FETCH_E_TOO_LARGE);
    assert_non_null(strstr(r->message, "what is left of the call's Fetch.MaxResponseBytes budget "
                                       "(5 of 1048576 bytes)"));
    ncsl_fetch_release(c.f);
    /* exactly at the cap: fine */
    req.max_response_bytes = strlen("{\"ok\":true,\"n\":42}");
    waiter_init(&c.w);
    assert_int_equal(ncsl_fetch_submit(&req, on_done, &c.w, &c.f, NULL), NCSL_OK);
    assert_true(wait_done(&c.w, 5000));
    assert_int_equal(ncsl_fetch_result(c.f)->error, NCSL_FETCH_OK);
    ncsl_fetch_release(c.f);
}

static void test_cancel(void **state) {
    (void)state;
    local_policy();
    call c;
    char url[128];
    snprintf(url, sizeof(url), "%s/hang", g_base);
    submit(&c, "GET", url, NULL, 0, NULL);
    assert_int_equal(c.st, NCSL_OK);
    struct timespec ts = {0, 100 * 1000000L};
    nanosleep(&ts, NULL);
    uint64_t t0 = now_ms();
    ncsl_fetch_cancel(c.f);
    ncsl_fetch_cancel(c.f); /* idempotent */
    assert_true(wait_done(&c.w, 3000));
    assert_true(now_ms() - t0 < 1500);
    assert_int_equal(ncsl_fetch_result(c.f)->error, NCSL_FETCH_E_CANCELLED);
    assert_int_equal(c.w.calls, 1);
    ncsl_fetch_release(c.f);
    /* cancelled right after submit, before the I/O thread saw it */
    snprintf(url, sizeof(url), "%s/json", g_base);
    for (int i = 0; i < 20; i++) {
        submit(&c, "GET", url, NULL, 0, NULL);
        ncsl_fetch_cancel(c.f);
        assert_true(wait_done(&c.w, 3000));
        ncsl_fetch_error e = ncsl_fetch_result(c.f)->error;
        assert_true(e == NCSL_FETCH_E_CANCELLED || e == NCSL_FETCH_OK);
        assert_int_equal(c.w.calls, 1);
        ncsl_fetch_release(c.f);
    }
    /* NULL is harmless */
    ncsl_fetch_cancel(NULL);
    ncsl_fetch_release(NULL);
    assert_null(ncsl_fetch_result(NULL));
}

/* Hostile requests in flight do not slow a normal one down. */
static void test_others_keep_running(void **state) {
    (void)state;
    set_policy(true, g_local, 2, 10000, 4u << 20);
    call hang, big, ok;
    char url[128];
    snprintf(url, sizeof(url), "%s/hang", g_base);
    submit(&hang, "GET", url, NULL, 0, NULL);
    snprintf(url, sizeof(url), "%s/big", g_base);
    submit(&big, "GET", url, NULL, 0, NULL);
    assert_int_equal(hang.st, NCSL_OK);
    assert_int_equal(big.st, NCSL_OK);
    for (int i = 0; i < 5; i++) {
        uint64_t t0 = now_ms();
        const ncsl_fetch_response *r = fetch_wait(&ok, "GET", "/json", NULL, 0, NULL);
        assert_int_equal(r->error, NCSL_FETCH_OK);
        assert_true(now_ms() - t0 < 1000);
        ncsl_fetch_release(ok.f);
    }
    assert_true(wait_done(&big.w, 10000));
    assert_int_equal(ncsl_fetch_result(big.f)->error, NCSL_FETCH_E_TOO_LARGE);
    ncsl_fetch_release(big.f);
    ncsl_fetch_cancel(hang.f);
    assert_true(wait_done(&hang.w, 3000));
    ncsl_fetch_release(hang.f);
}

static void test_concurrency(void **state) {
    (void)state;
    local_policy();
    enum { N = 16 };
    call c[N];
    char url[128];
    snprintf(url, sizeof(url), "%s/slow?ms=500", g_base);
    uint64_t t0 = now_ms();
    for (int i = 0; i < N; i++) {
        submit(&c[i], "GET", url, NULL, 0, NULL);
        assert_int_equal(c[i].st, NCSL_OK);
    }
    for (int i = 0; i < N; i++) {
        assert_true(wait_done(&c[i].w, 10000));
        assert_int_equal(ncsl_fetch_result(c[i].f)->error, NCSL_FETCH_OK);
        ncsl_fetch_release(c[i].f);
    }
    uint64_t took = now_ms() - t0;
    if (took > 2500) {
        fail_msg("16 requests of 500 ms took %llu ms: not concurrent", (unsigned long long)took);
    }
    assert_int_equal(ncsl_fetch_in_flight(), 0);

    /* MaxConcurrent: beyond it, refused with a clear error */
    ncsl_fetch_policy p;
    ncsl_fetch_policy_default(&p);
    p.allowed_hosts = g_local;
    p.allowed_host_count = 2;
    p.allow_private_networks = true;
    p.max_concurrent = 2;
    assert_int_equal(ncsl_fetch_configure(&p, NULL), NCSL_OK);
    snprintf(url, sizeof(url), "%s/hang", g_base);
    submit(&c[0], "GET", url, NULL, 0, NULL);
    submit(&c[1], "GET", url, NULL, 0, NULL);
    submit(&c[2], "GET", url, NULL, 0, NULL);
    assert_int_equal(c[0].st, NCSL_OK);
    assert_int_equal(c[1].st, NCSL_OK);
    assert_int_equal(c[2].st, NCSL_E_BUSY);
    assert_non_null(strstr(c[2].err.message, "Fetch.MaxConcurrent (2)"));
    for (int i = 0; i < 2; i++) {
        ncsl_fetch_cancel(c[i].f);
        assert_true(wait_done(&c[i].w, 3000));
        ncsl_fetch_release(c[i].f);
    }
}

static void test_shutdown(void **state) {
    (void)state;
    local_policy();
    call c;
    char url[128];
    snprintf(url, sizeof(url), "%s/hang", g_base);
    submit(&c, "GET", url, NULL, 0, NULL);
    assert_int_equal(c.st, NCSL_OK);
    uint64_t t0 = now_ms();
    ncsl_fetch_shutdown();
    assert_true(now_ms() - t0 < 3000);
    assert_true(wait_done(&c.w, 100)); /* done before shutdown returned */
    assert_int_equal(ncsl_fetch_result(c.f)->error, NCSL_FETCH_E_SHUTDOWN);
    ncsl_fetch_release(c.f);
    submit(&c, "GET", url, NULL, 0, NULL);
    assert_int_equal(c.st, NCSL_E_SHUTDOWN);
    ncsl_fetch_shutdown(); /* idempotent */
    /* configure again: the service starts again on demand */
    local_policy();
    call ok;
    const ncsl_fetch_response *r = fetch_wait(&ok, "GET", "/json", NULL, 0, NULL);
    assert_int_equal(r->error, NCSL_FETCH_OK);
    ncsl_fetch_release(ok.f);
}

static int setup(void **state) {
    (void)state;
    g_srv = http_stub_start();
    if (!g_srv) {
        return -1;
    }
    snprintf(g_base, sizeof(g_base), "http://127.0.0.1:%u", (unsigned)http_stub_port(g_srv));
    return 0;
}

static int teardown(void **state) {
    (void)state;
    ncsl_fetch_shutdown();
    http_stub_stop(g_srv);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_patterns),
        cmocka_unit_test(test_host_matching),
        cmocka_unit_test(test_address_kinds),
        cmocka_unit_test(test_url_check),
        cmocka_unit_test(test_configure_validation),
        cmocka_unit_test(test_policy_copy),
        cmocka_unit_test(test_submit_refusals),
        cmocka_unit_test(test_get_json),
        cmocka_unit_test(test_post_echo_headers_and_body),
        cmocka_unit_test(test_response_headers),
        cmocka_unit_test(test_redirects),
        cmocka_unit_test(test_resolved_address_checked),
        cmocka_unit_test(test_timeouts),
        cmocka_unit_test(test_response_caps),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_others_keep_running),
        cmocka_unit_test(test_concurrency),
        cmocka_unit_test(test_shutdown),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
