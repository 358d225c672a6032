/*
 * HTTP for the `ncsl` commands that talk to ncsld: where the server is, one bounded libcurl
 * request, and ncsld's response envelope. The answer is data to check, not to trust: sizes and
 * times are capped, redirects are not followed, and server text is cleaned before it is shown.
 */
#include "cli_http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "cli_trust.h"
#include "common/common.h"
#include "config/config.h"

#define URL_FILE "ncsld.url"
#define CONNECT_TIMEOUT_S 10u

/* The longest origin: "the configured Server.Listen: there is no <path>, which ...". */
_Static_assert(sizeof(((ncsl_cli_target *)0)->origin) >= NCSL_CONFIG_PATH_MAX + 128,
               "ncsl_cli_target.origin must hold a data dir path and its sentence");

/* ------------------------------------------------------------------ the server */

/* Trims whitespace and trailing slashes of `s` in place. */
static void trim_url(char *s) {
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '/' || s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == '\r' ||
                     s[n - 1] == '\t')) {
        s[--n] = '\0';
    }
}

/* The URL ncsld wrote to its data dir, else the configured listen address. */
static bool target_from_installation(const char *data_dir, const char *config, ncsl_cli_target *t) {
    ncsl_config cfg;
    if (!ncsl_cli_load_config(config, &cfg)) {
        return false;
    }
    char path[NCSL_CONFIG_PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/%s", data_dir ? data_dir : cfg.server.data_dir, URL_FILE);
    size_t len = 0;
    char *text = ncsl_cli_read_file(path, NCSL_CLI_URL_MAX - 1, &len);
    if (text) {
        snprintf(t->base, sizeof(t->base), "%s", text);
        snprintf(t->origin, sizeof(t->origin), "%s", path);
        free(text);
        return true;
    }
    /* No ncsld.url (ncsld removes it when it stops): the configured address. */
    snprintf(t->origin, sizeof(t->origin),
             "the configured Server.Listen: there is no %s, which ncsld writes while it runs",
             path);
    const char *host = cfg.server.listen_host;
    if (strcmp(host, "0.0.0.0") == 0 || !*host) {
        host = "127.0.0.1";
    } else if (strcmp(host, "::") == 0) {
        host = "::1";
    }
    bool v6 = strchr(host, ':') != NULL;
    snprintf(t->base, sizeof(t->base), "http://%s%s%s:%u", v6 ? "[" : "", host, v6 ? "]" : "",
             (unsigned)cfg.server.listen_port);
    return true;
}

int ncsl_cli_target_find(const char *cmd, const char *url, bool use_env, const char *data_dir,
                         const char *config, ncsl_cli_target *t) {
    memset(t, 0, sizeof(*t));
    const char *env = use_env ? getenv("NCSL_URL") : NULL;
    t->env_url = use_env;
    const char *given = NULL;
    if (url) {
        given = url;
        snprintf(t->origin, sizeof(t->origin), "--url");
    } else if (env && *env && !data_dir && !config) {
        given = env;
        snprintf(t->origin, sizeof(t->origin), "NCSL_URL");
    }
    if (given) {
        if (strlen(given) >= sizeof(t->base)) {
            ncsl_cli_errorf("%s: %s is longer than %zu characters", cmd, t->origin,
                            sizeof(t->base) - 1);
            return NCSL_CLI_EXIT_USAGE;
        }
        snprintf(t->base, sizeof(t->base), "%s", given);
    } else if (!target_from_installation(data_dir, config, t)) {
        return NCSL_CLI_EXIT_FAIL;
    }
    trim_url(t->base);
    if (strncmp(t->base, "http://", 7) != 0 && strncmp(t->base, "https://", 8) != 0) {
        ncsl_cli_errorf("%s: the URL '%.200s' (from %s) must start with http:// or https://", cmd,
                        t->base, t->origin);
        return given ? NCSL_CLI_EXIT_USAGE : NCSL_CLI_EXIT_FAIL;
    }
    for (const char *p = t->base; *p; p++) {
        if ((unsigned char)*p <= 0x20 || *p == 0x7f) {
            ncsl_cli_errorf("%s: the URL from %s contains spaces or control characters", cmd,
                            t->origin);
            return given ? NCSL_CLI_EXIT_USAGE : NCSL_CLI_EXIT_FAIL;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ one HTTP request */

static size_t on_data(char *p, size_t size, size_t nmemb, void *user) {
    ncsl_cli_http_response *r = user;
    size_t n = size * nmemb;
    if (n > r->max - r->len) {
        r->too_large = true;
        return 0; /* curl stops with CURLE_WRITE_ERROR */
    }
    if (r->len + n + 1 > r->cap) {
        size_t ncap = r->cap ? r->cap : 4096;
        while (ncap < r->len + n + 1) {
            ncap *= 2;
        }
        if (ncap > r->max + 1) {
            ncap = r->max + 1;
        }
        /* Not realloc: the old block may hold a key or a result and must be wiped. */
        char *grown = malloc(ncap);
        if (!grown) {
            return 0;
        }
        if (r->body) {
            memcpy(grown, r->body, r->len);
            ncsl_wipe(r->body, r->cap);
            free(r->body);
        }
        r->body = grown;
        r->cap = ncap;
    }
    memcpy(r->body + r->len, p, n);
    r->len += n;
    r->body[r->len] = '\0';
    return n;
}

/* Picks up "Retry-After: SECONDS" (sent with 429 and 503). */
static size_t on_header(char *p, size_t size, size_t nmemb, void *user) {
    ncsl_cli_http_response *r = user;
    size_t n = size * nmemb;
    static const char name[] = "Retry-After:";
    size_t k = sizeof(name) - 1;
    if (n > k && n < 64 && strncasecmp(p, name, k) == 0) {
        char value[64];
        size_t v = 0;
        for (size_t i = k; i < n; i++) {
            if (p[i] >= '0' && p[i] <= '9') {
                value[v++] = p[i];
            } else if (p[i] != ' ' && p[i] != '\r' && p[i] != '\n' && p[i] != '\t') {
                v = 0; /* an HTTP date, not seconds: ignored */
                break;
            }
        }
        value[v] = '\0';
        uint64_t secs = 0;
        if (v > 0 && ncsl_cli_parse_u64(value, 0, 86400u * 365u, &secs)) {
            r->retry_after_s = (unsigned long)secs;
            r->has_retry_after = true;
        }
    }
    return n;
}

/* Prints why no answer arrived; returns the outcome class. */
static ncsl_cli_http_outcome report_curl_error(const char *cmd, CURLcode cc,
                                               const ncsl_cli_http_request *req,
                                               const ncsl_cli_target *t, const char *errbuf,
                                               const ncsl_cli_http_response *r) {
    switch (cc) {
    case CURLE_COULDNT_CONNECT:
        ncsl_cli_errorf("%s: ncsld does not run at %s (connection refused; the address is from "
                        "%s): start ncsld, or pass --url URL%s or the --data-dir DIR of its "
                        "installation",
                        cmd, t->base, t->origin, t->env_url ? " (or set NCSL_URL)" : "");
        return NCSL_CLI_HTTP_UNREACHABLE;
    case CURLE_COULDNT_RESOLVE_HOST:
        ncsl_cli_errorf("%s: cannot resolve the host of %s (the address is from %s)", cmd, t->base,
                        t->origin);
        return NCSL_CLI_HTTP_UNREACHABLE;
    case CURLE_OPERATION_TIMEDOUT:
        ncsl_cli_errorf("%s: no answer from %s within %u s (--timeout)", cmd, req->url,
                        req->timeout_s);
        return NCSL_CLI_HTTP_UNREACHABLE;
    case CURLE_WRITE_ERROR:
        if (r->too_large) {
            ncsl_cli_errorf("%s: the answer from %s is larger than %zu bytes", cmd, req->url,
                            r->max);
            return NCSL_CLI_HTTP_FAILED;
        }
        break;
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
        ncsl_cli_errorf("%s: %s closed the connection without an answer: %s%s%s", cmd, t->base,
                        curl_easy_strerror(cc), errbuf[0] ? ": " : "", errbuf);
        return NCSL_CLI_HTTP_UNREACHABLE;
    default:
        break;
    }
    ncsl_cli_errorf("%s: request to %s failed: %s%s%s", cmd, req->url, curl_easy_strerror(cc),
                    errbuf[0] ? ": " : "", errbuf);
    return NCSL_CLI_HTTP_FAILED;
}

/* Wipes the strings of a header list (one holds the API key), then frees it. */
static void free_headers(struct curl_slist *headers) {
    for (struct curl_slist *s = headers; s; s = s->next) {
        ncsl_wipe(s->data, strlen(s->data));
    }
    curl_slist_free_all(headers);
}

/* Appends "Authorization: Bearer KEY" without leaving an unwiped copy behind. */
static struct curl_slist *append_bearer(struct curl_slist *headers, const char *key) {
    static const char prefix[] = "Authorization: Bearer ";
    size_t n = sizeof(prefix) - 1 + strlen(key) + 1;
    char *line = malloc(n);
    if (!line) {
        return NULL;
    }
    snprintf(line, n, "%s%s", prefix, key);
    struct curl_slist *grown = curl_slist_append(headers, line);
    ncsl_free_secret_str(line);
    return grown;
}

ncsl_cli_http_outcome ncsl_cli_http_perform(const char *cmd, const ncsl_cli_target *t,
                                            const ncsl_cli_http_request *req,
                                            ncsl_cli_http_response *resp) {
    char errbuf[CURL_ERROR_SIZE] = "";
    ncsl_cli_http_outcome outcome = NCSL_CLI_HTTP_FAILED;
    struct curl_slist *headers = NULL;
    CURL *h = curl_easy_init();
    resp->max = req->max_response ? req->max_response : NCSL_CLI_JSON_MAX;
    resp->status = 0;
    /* POST and PUT send a body, empty when there is none: then without a Content-Type
     * (curl's default one removed), which ncsld takes as "no body". */
    bool sends_body = strcmp(req->method, "POST") == 0 || strcmp(req->method, "PUT") == 0;
    const char *fixed[] = {
        "Accept: application/json",
        req->body    ? "Content-Type: application/json"
        : sends_body ? "Content-Type:"
                     : NULL,
        "Expect:", /* no 100-continue round trip before a body */
    };
    bool headers_ok = h != NULL;
    for (size_t i = 0; headers_ok && i < NCSL_ARRAY_LEN(fixed); i++) {
        if (fixed[i]) {
            struct curl_slist *grown = curl_slist_append(headers, fixed[i]);
            headers_ok = grown != NULL;
            headers = grown ? grown : headers;
        }
    }
    if (headers_ok && req->api_key) {
        struct curl_slist *grown = append_bearer(headers, req->api_key);
        headers_ok = grown != NULL;
        headers = grown ? grown : headers;
    }
    if (!headers_ok) {
        ncsl_cli_errorf("%s: cannot set up the HTTP client (out of memory)", cmd);
        goto out;
    }
    CURLcode cc = CURLE_OK;
    /* Any failure to set an option shows up as the first non-OK code. */
#define SETOPT(opt, val)                                                                           \
    do {                                                                                           \
        if (cc == CURLE_OK) {                                                                      \
            cc = curl_easy_setopt(h, opt, val);                                                    \
        }                                                                                          \
    } while (0)
    SETOPT(CURLOPT_URL, req->url);
    if (sends_body) {
        SETOPT(CURLOPT_POSTFIELDS, req->body ? req->body : "");
        SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(req->body ? req->body_len : 0));
    } else {
        SETOPT(CURLOPT_HTTPGET, 1L); /* GET, and DELETE below: no body */
    }
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "POST") != 0) {
        SETOPT(CURLOPT_CUSTOMREQUEST, req->method); /* PUT, DELETE: same transfer, other verb */
    }
    SETOPT(CURLOPT_HTTPHEADER, headers);
    SETOPT(CURLOPT_USERAGENT, "ncsl/" NCSL_VERSION);
#if LIBCURL_VERSION_NUM >= 0x075500
    SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
#else
    SETOPT(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    /* A redirect would carry the bearer key to wherever it points. */
    SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
    /* A local ncsld is asked directly, whatever proxy the environment names. */
    SETOPT(CURLOPT_NOPROXY, "localhost,127.0.0.1,::1");
    SETOPT(CURLOPT_NOSIGNAL, 1L);
    SETOPT(CURLOPT_CONNECTTIMEOUT,
           (long)(req->timeout_s < CONNECT_TIMEOUT_S ? req->timeout_s : CONNECT_TIMEOUT_S));
    SETOPT(CURLOPT_TIMEOUT, (long)req->timeout_s);
    SETOPT(CURLOPT_WRITEFUNCTION, on_data);
    SETOPT(CURLOPT_WRITEDATA, resp);
    SETOPT(CURLOPT_HEADERFUNCTION, on_header);
    SETOPT(CURLOPT_HEADERDATA, resp);
    SETOPT(CURLOPT_ERRORBUFFER, errbuf);
#undef SETOPT
    if (cc == CURLE_OK) {
        cc = curl_easy_perform(h);
    }
    if (cc != CURLE_OK) {
        outcome = report_curl_error(cmd, cc, req, t, errbuf, resp);
        goto out;
    }
    if (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status) != CURLE_OK) {
        resp->status = 0;
    }
    outcome = NCSL_CLI_HTTP_ANSWERED;
out:
    free_headers(headers);
    if (h) {
        curl_easy_cleanup(h);
    }
    return outcome;
}

void ncsl_cli_http_response_cleanup(ncsl_cli_http_response *resp) {
    if (resp->body) {
        ncsl_wipe(resp->body, resp->cap);
        free(resp->body);
    }
    resp->body = NULL;
    resp->len = 0;
    resp->cap = 0;
}

/* ------------------------------------------------------------------ the envelope */

/* `s` with control characters replaced by '?', cut at 300 bytes, into `out`. */
static const char *clean_text(const char *s, char *out, size_t size) {
    size_t n = 0;
    for (; s && *s && n + 1 < size && n < 300; s++) {
        unsigned char c = (unsigned char)*s;
        out[n++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    out[n] = '\0';
    return out;
}

static void print_error(const char *cmd, const ncsl_cli_http_response *resp, const json_t *error,
                        bool key_hint) {
    char code[320];
    char msg[320];
    char field[320];
    char hint[160] = "";
    clean_text(json_string_value(json_object_get(error, "code")), code, sizeof(code));
    clean_text(json_string_value(json_object_get(error, "message")), msg, sizeof(msg));
    clean_text(json_string_value(json_object_get(error, "field")), field, sizeof(field));
    if (resp->status == 401 && key_hint) {
        snprintf(hint, sizeof(hint),
                 " (set NCSL_API_KEY to a valid API key, or pass --api-key-file FILE)");
    } else if (resp->has_retry_after) {
        snprintf(hint, sizeof(hint), " (retry after %lu s)", resp->retry_after_s);
    }
    ncsl_cli_errorf("%s: HTTP %ld %s: %s%s%s%s%s", cmd, resp->status, code[0] ? code : "(no code)",
                    msg[0] ? msg : "(no message)", field[0] ? " (field " : "", field,
                    field[0] ? ")" : "", hint);
}

json_t *ncsl_cli_http_envelope(const char *cmd, const ncsl_cli_target *t,
                               const ncsl_cli_http_response *resp, bool key_hint, json_t **data) {
    *data = NULL;
    json_error_t jerr;
    json_t *doc =
        resp->len ? json_loadb(resp->body, resp->len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    json_t *success = json_object_get(doc, "success");
    if (!json_is_object(doc) || !json_is_boolean(success)) {
        ncsl_cli_errorf("%s: %s (HTTP %ld) answered %s, not an ncsld response", cmd, t->base,
                        resp->status,
                        !resp->len             ? "with an empty body"
                        : !json_is_object(doc) ? "something that is not a JSON object"
                                               : "a JSON object without \"success\"");
        json_decref(doc);
        return NULL;
    }
    if (json_is_false(success)) {
        print_error(cmd, resp, json_object_get(doc, "error"), key_hint);
        json_decref(doc);
        return NULL;
    }
    json_t *d = json_object_get(doc, "data");
    if (!json_is_object(d)) {
        ncsl_cli_errorf("%s: %s (HTTP %ld): not an ncsld response: \"data\" must be an object", cmd,
                        t->base, resp->status);
        json_decref(doc);
        return NULL;
    }
    if (resp->status < 200 || resp->status > 299) {
        ncsl_cli_errorf("%s: %s (HTTP %ld): the server did not answer 2xx", cmd, t->base,
                        resp->status);
        json_decref(doc);
        return NULL;
    }
    *data = d;
    return doc;
}
