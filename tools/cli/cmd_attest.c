/*
 * `ncsl attest`: fetches an attestation proof from a running ncsld
 * (GET <url>/api/v1/attestation?nonce=HEX) and prints it, ready for `ncsl verify`.
 *
 * The URL is --url, else the one ncsld wrote to <data dir>/ncsld.url when it started, else the
 * configured listen address (http://127.0.0.1:8080 by default). Only http and https, no
 * redirects, bounded time and size: the answer is checked by `ncsl verify`, not trusted here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "cli_trust.h"
#include "common/common.h"
#include "config/config.h"
#include "crypto/crypto.h"

#define URL_MAX 2048
#define URL_FILE "ncsld.url"
#define DEFAULT_TIMEOUT_S 30u
#define CONNECT_TIMEOUT_S 10u

typedef struct attest_args {
    const char *nonce;
    const char *url;
    const char *data_dir;
    const char *config;
    const char *out;
    const char *timeout;
} attest_args;

static void attest_usage(FILE *f) {
    fprintf(f,
            "usage: ncsl attest [options]\n"
            "\n"
            "Asks a running ncsld for an attestation proof (GET /api/v1/attestation) and prints\n"
            "it as JSON. The proof binds the enclave's signing and encryption keys and your\n"
            "nonce to a TEE quote; check it with 'ncsl verify PROOF.json --nonce HEX'.\n"
            "\n"
            "options:\n"
            "  --nonce HEX      a fresh random challenge (hex, at most 64 bytes), e.g.\n"
            "                   $(openssl rand -hex 32); the proof then shows it is fresh\n"
            "  --url URL        ncsld's address, e.g. http://127.0.0.1:8080 (default: the URL\n"
            "                   ncsld wrote to DATA_DIR/ncsld.url, else the configured\n"
            "                   Server.Listen, else http://127.0.0.1:8080)\n"
            "  --data-dir DIR   the installation whose ncsld.url to read (default: the config's\n"
            "                   Server.DataDir, ./ncsl-data)\n"
            "  --config FILE    NCSL configuration file (Server.DataDir, Server.Listen)\n"
            "  --out FILE       write the proof to FILE instead of standard output\n"
            "  --timeout SECS   give up after SECS seconds (1..600, default 30)\n"
            "  -h, --help       show this help and exit\n"
            "\n"
            "Exit status: 0 a proof was printed; 1 ncsld could not be reached or answered an\n"
            "error (its code and message are shown); 2 bad usage.\n");
}

/* The answer's body, at most NCSL_CLI_JSON_MAX bytes. */
typedef struct body {
    char *data;
    size_t len;
    bool too_large;
} body;

static size_t on_data(char *p, size_t size, size_t nmemb, void *user) {
    body *b = user;
    size_t n = size * nmemb;
    if (n > NCSL_CLI_JSON_MAX - b->len) {
        b->too_large = true;
        return 0; /* curl stops with CURLE_WRITE_ERROR */
    }
    char *grown = realloc(b->data, b->len + n + 1);
    if (!grown) {
        return 0;
    }
    b->data = grown;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

/* Trims whitespace and trailing slashes of `s` in place. */
static void trim_url(char *s) {
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '/' || s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == '\r' ||
                     s[n - 1] == '\t')) {
        s[--n] = '\0';
    }
}

/* Where to ask: the server's base URL and where that came from (for messages). */
typedef struct target {
    char base[URL_MAX];
    char origin[NCSL_CONFIG_PATH_MAX + 96];
} target;

/* The base URL: --url, ncsld.url, or the configured listen address. False after printing why. */
static bool find_target(const attest_args *a, target *t) {
    char *out = t->base;
    if (a->url) {
        snprintf(t->origin, sizeof(t->origin), "--url");
        if (strlen(a->url) >= URL_MAX) {
            ncsl_cli_errorf("attest: --url is longer than %d characters", URL_MAX - 1);
            return false;
        }
        snprintf(out, URL_MAX, "%s", a->url);
    } else {
        ncsl_config cfg;
        if (!ncsl_cli_load_config(a->config, &cfg)) {
            return false;
        }
        char path[NCSL_CONFIG_PATH_MAX + 16];
        snprintf(path, sizeof(path), "%s/%s", a->data_dir ? a->data_dir : cfg.server.data_dir,
                 URL_FILE);
        size_t len = 0;
        char *text = ncsl_cli_read_file(path, URL_MAX - 1, &len);
        if (text) {
            snprintf(out, URL_MAX, "%s", text);
            snprintf(t->origin, sizeof(t->origin), "%s", path);
            free(text);
        } else {
            snprintf(t->origin, sizeof(t->origin),
                     "the configured Server.Listen: there is no %s, which ncsld writes while it "
                     "runs",
                     path);
            /* No ncsld.url (ncsld removes it when it stops): the configured address. */
            const char *host = cfg.server.listen_host;
            if (strcmp(host, "0.0.0.0") == 0 || !*host) {
                host = "127.0.0.1";
            } else if (strcmp(host, "::") == 0) {
                host = "::1";
            }
            bool v6 = strchr(host, ':') != NULL;
            snprintf(out, URL_MAX, "http://%s%s%s:%u", v6 ? "[" : "", host, v6 ? "]" : "",
                     (unsigned)cfg.server.listen_port);
        }
    }
    trim_url(out);
    if (strncmp(out, "http://", 7) != 0 && strncmp(out, "https://", 8) != 0) {
        ncsl_cli_errorf("attest: the URL '%.200s' (from %s) must start with http:// or https://",
                        out, t->origin);
        return false;
    }
    return true;
}

/* Prints why the request failed. */
static void report_curl_error(CURLcode cc, const char *url, const target *t, const char *errbuf,
                              const body *b, unsigned timeout_s) {
    switch (cc) {
    case CURLE_COULDNT_CONNECT:
        ncsl_cli_errorf("attest: ncsld does not run at %s (connection refused; the address is from "
                        "%s): start ncsld, or pass --url URL or the --data-dir DIR of its "
                        "installation",
                        t->base, t->origin);
        return;
    case CURLE_COULDNT_RESOLVE_HOST:
        ncsl_cli_errorf("attest: cannot resolve the host of %s", url);
        return;
    case CURLE_OPERATION_TIMEDOUT:
        ncsl_cli_errorf("attest: no answer from %s within %u s (--timeout)", url, timeout_s);
        return;
    case CURLE_WRITE_ERROR:
        if (b->too_large) {
            ncsl_cli_errorf("attest: the answer from %s is larger than %zu bytes: not a proof", url,
                            NCSL_CLI_JSON_MAX);
            return;
        }
        break;
    default:
        break;
    }
    ncsl_cli_errorf("attest: request to %s failed: %s%s%s", url, curl_easy_strerror(cc),
                    errbuf[0] ? ": " : "", errbuf);
}

/* GET `url` (of the server `t`, for messages); on success *status and `b` hold the answer. */
static bool http_get(const char *url, const target *t, unsigned timeout_s, long *status, body *b) {
    char errbuf[CURL_ERROR_SIZE] = "";
    CURL *h = curl_easy_init();
    struct curl_slist *headers = curl_slist_append(NULL, "Accept: application/json");
    bool ok = false;
    if (!h || !headers) {
        ncsl_cli_errorf("attest: cannot set up the HTTP client (out of memory)");
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
    SETOPT(CURLOPT_URL, url);
    SETOPT(CURLOPT_HTTPGET, 1L);
    SETOPT(CURLOPT_HTTPHEADER, headers);
    SETOPT(CURLOPT_USERAGENT, "ncsl/" NCSL_VERSION);
#if LIBCURL_VERSION_NUM >= 0x075500
    SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
#else
    SETOPT(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
    /* A local ncsld is asked directly, whatever proxy the environment names. */
    SETOPT(CURLOPT_NOPROXY, "localhost,127.0.0.1,::1");
    SETOPT(CURLOPT_NOSIGNAL, 1L);
    SETOPT(CURLOPT_CONNECTTIMEOUT,
           (long)(timeout_s < CONNECT_TIMEOUT_S ? timeout_s : CONNECT_TIMEOUT_S));
    SETOPT(CURLOPT_TIMEOUT, (long)timeout_s);
    SETOPT(CURLOPT_WRITEFUNCTION, on_data);
    SETOPT(CURLOPT_WRITEDATA, b);
    SETOPT(CURLOPT_ERRORBUFFER, errbuf);
#undef SETOPT
    if (cc == CURLE_OK) {
        cc = curl_easy_perform(h);
    }
    if (cc != CURLE_OK) {
        report_curl_error(cc, url, t, errbuf, b, timeout_s);
        goto out;
    }
    if (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status) != CURLE_OK) {
        *status = 0;
    }
    ok = true;
out:
    curl_slist_free_all(headers);
    if (h) {
        curl_easy_cleanup(h);
    }
    return ok;
}

int ncsl_cli_cmd_attest(int argc, char **argv) {
    attest_args a;
    memset(&a, 0, sizeof(a));
    const ncsl_cli_opt opts[] = {
        {"--nonce", NULL, &a.nonce, NULL},       {"--url", NULL, &a.url, NULL},
        {"--data-dir", NULL, &a.data_dir, NULL}, {"--config", NULL, &a.config, NULL},
        {"--out", NULL, &a.out, NULL},           {"--timeout", NULL, &a.timeout, NULL},
    };
    const char *pos[1];
    size_t npos = 0;
    int rc = ncsl_cli_parse("attest", argc, argv, opts, NCSL_ARRAY_LEN(opts), pos, 0, &npos,
                            attest_usage);
    if (rc != 0) {
        return rc > 0 ? NCSL_CLI_EXIT_OK : NCSL_CLI_EXIT_USAGE;
    }
    if (a.url && (a.data_dir || a.config)) {
        ncsl_cli_errorf("attest: --url names the server; --data-dir/--config only serve to find "
                        "it: give one or the other");
        return NCSL_CLI_EXIT_USAGE;
    }
    uint64_t timeout_s = DEFAULT_TIMEOUT_S;
    if (a.timeout && !ncsl_cli_parse_u64(a.timeout, 1, 600, &timeout_s)) {
        ncsl_cli_errorf("attest: --timeout '%s' is not a number of seconds in 1..600", a.timeout);
        return NCSL_CLI_EXIT_USAGE;
    }
    uint8_t nonce[NCSL_PROOF_MAX_NONCE];
    size_t nonce_len = 0;
    char nonce_hex[2 * NCSL_PROOF_MAX_NONCE + 1] = "";
    if (a.nonce) {
        if (!ncsl_cli_parse_hex("attest", "--nonce", a.nonce, nonce, sizeof(nonce), false,
                                &nonce_len)) {
            return NCSL_CLI_EXIT_USAGE;
        }
        /* Lowercase, as the proof will carry it. */
        if (ncsl_crypto_hex_encode(nonce, nonce_len, nonce_hex, sizeof(nonce_hex), NULL) !=
            NCSL_OK) {
            return NCSL_CLI_EXIT_FAIL;
        }
    }

    int exit_code = NCSL_CLI_EXIT_FAIL;
    body b = {NULL, 0, false};
    json_t *doc = NULL;
    char *text = NULL;
    target t;
    char url[URL_MAX + 64 + 2 * NCSL_PROOF_MAX_NONCE];
    if (!find_target(&a, &t)) {
        return a.url ? NCSL_CLI_EXIT_USAGE : NCSL_CLI_EXIT_FAIL;
    }
    snprintf(url, sizeof(url), "%s/api/v1/attestation%s%s", t.base, nonce_len ? "?nonce=" : "",
             nonce_hex);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        ncsl_cli_errorf("attest: cannot initialise libcurl");
        return NCSL_CLI_EXIT_FAIL;
    }
    long status = 0;
    if (!http_get(url, &t, (unsigned)timeout_s, &status, &b)) {
        goto out;
    }
    char source[URL_MAX + 32];
    snprintf(source, sizeof(source), "%s (HTTP %ld)", t.base, status);
    json_error_t jerr;
    doc = b.data ? json_loadb(b.data, b.len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    if (!json_is_object(doc)) {
        ncsl_cli_errorf("attest: %s answered %s, not an ncsld response", source,
                        b.len ? "something that is not a JSON object" : "with an empty body");
        goto out;
    }
    json_t *proof = ncsl_cli_envelope_data("attest", source, doc);
    if (!proof) {
        goto out;
    }
    if (status != 200) {
        ncsl_cli_errorf("attest: %s: the server did not answer 200 OK", source);
        goto out;
    }
    /* The real checks are `ncsl verify`'s; this one only catches a server that ignored the
     * nonce, before the user saves a useless proof. */
    const char *got = json_string_value(json_object_get(proof, "nonce"));
    if (!got || strcmp(got, nonce_hex) != 0) {
        ncsl_cli_errorf("attest: %s answered a proof for another nonce than the one sent", source);
        goto out;
    }
    text = json_dumps(proof, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (!text) {
        ncsl_cli_errorf("attest: out of memory");
        goto out;
    }
    size_t len = strlen(text);
    text[len] = '\n'; /* json_dumps' NUL becomes the final newline; the length says where */
    if (ncsl_cli_write_output(a.out, text, len + 1, 0644)) {
        exit_code = NCSL_CLI_EXIT_OK;
    }
out:
    free(text);
    json_decref(doc);
    free(b.data);
    curl_global_cleanup();
    return exit_code;
}
