/*
 * What the client commands (deploy, invoke, functions, secrets, users, keys, whoami) share: the
 * options that say where ncsld is and which key to use, reading that key, one API call with
 * ncsld's envelope unwrapped, and commands made of verbs ("functions list").
 *
 * The API key never comes from the command line, which other users of the machine can read
 * (ps, /proc/PID/cmdline): NCSL_API_KEY or --api-key-file. It is checked to be one printable
 * token (so it cannot smuggle a header line) and wiped when the command ends.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "cli_envelope.h"
#include "cli_http.h"
#include "cli_trust.h"
#include "common/common.h"
#include "exec/exec.h"

#define DEFAULT_TIMEOUT_S 30u
#define KEY_FILE_MAX 4096u
#define KEY_MAX 1024u
#define ID_MAX 128u
#define MAX_OPTS 24u
#define LIST_ANSWER_MAX ((size_t)16 << 20)

size_t ncsl_cli_client_opts(ncsl_cli_client_args *a, ncsl_cli_opt *opts) {
    const ncsl_cli_opt table[NCSL_CLI_CLIENT_OPTS] = {
        {"--url", NULL, &a->url, NULL},         {"--data-dir", NULL, &a->data_dir, NULL},
        {"--config", NULL, &a->config, NULL},   {"--api-key-file", NULL, &a->api_key_file, NULL},
        {"--timeout", NULL, &a->timeout, NULL}, {"--api-key", NULL, &a->api_key_arg, NULL},
    };
    memcpy(opts, table, sizeof(table));
    return NCSL_CLI_CLIENT_OPTS;
}

void ncsl_cli_client_usage(FILE *f) {
    fprintf(f, "connection options:\n"
               "  --url URL            ncsld's address (default: $NCSL_URL, else the URL ncsld\n"
               "                       wrote to DATA_DIR/ncsld.url, else http://127.0.0.1:8080)\n"
               "  --data-dir DIR       the local installation whose ncsld.url to read\n"
               "  --config FILE        NCSL configuration file (Server.DataDir, Server.Listen)\n"
               "  --api-key-file FILE  read the API key from FILE ('-' = stdin) instead of\n"
               "                       $NCSL_API_KEY; a key is never taken on the command line,\n"
               "                       where ps shows it to every user of the machine\n"
               "  --timeout SECS       give up after SECS seconds (1..600, default 30)\n"
               "  -h, --help           show this help and exit\n"
               "\n"
               "The API key: $NCSL_API_KEY, or --api-key-file. Users' keys come from\n"
               "'ncsl users create NAME' and 'ncsl keys create USER_ID', run with the admin key\n"
               "(NCSL_ADMIN_KEY of ncsld, or the file DATA_DIR/admin.key it generates).\n"
               "\n"
               "Exit status: 0 success; 1 ncsld answered an error (HTTP 4xx/5xx, shown on one\n"
               "line) or not as ncsld would; 2 bad usage; 3 ncsld could not be reached.\n");
}

int ncsl_cli_client_parse(const char *cmd, int argc, char **argv, ncsl_cli_client_args *ca,
                          const ncsl_cli_opt *extra, size_t nextra, const char **pos,
                          size_t min_pos, size_t max_pos, size_t *npos, const char *pos_names,
                          void (*usage)(FILE *f)) {
    ncsl_cli_opt opts[MAX_OPTS];
    NCSL_ASSERT(nextra + NCSL_CLI_CLIENT_OPTS <= MAX_OPTS);
    if (nextra) {
        memcpy(opts, extra, nextra * sizeof(*extra));
    }
    size_t n = nextra + ncsl_cli_client_opts(ca, opts + nextra);
    int rc = ncsl_cli_parse(cmd, argc, argv, opts, n, pos, max_pos, npos, usage);
    if (ca->api_key_arg) {
        /* Too late for ps, but the key leaves this process's argument vector at least. */
        ncsl_wipe((char *)ca->api_key_arg, strlen(ca->api_key_arg));
        if (rc <= 0) {
            ncsl_cli_errorf("%s: --api-key is not accepted: a key on the command line is "
                            "visible to every user of the machine (ps); set NCSL_API_KEY or "
                            "pass --api-key-file FILE",
                            cmd);
            return NCSL_CLI_EXIT_USAGE;
        }
    }
    if (rc != 0) {
        return rc > 0 ? NCSL_CLI_EXIT_OK : NCSL_CLI_EXIT_USAGE;
    }
    if (*npos < min_pos) {
        ncsl_cli_errorf("%s: missing %s (see 'ncsl %s --help')", cmd, pos_names, cmd);
        return NCSL_CLI_EXIT_USAGE;
    }
    return -1;
}

/* Trims whitespace around the key in place and checks it is one printable token. */
static bool key_ok(const char *cmd, const char *origin, char *key) {
    size_t n = strlen(key);
    while (n > 0 &&
           (key[n - 1] == '\n' || key[n - 1] == '\r' || key[n - 1] == ' ' || key[n - 1] == '\t')) {
        key[--n] = '\0';
    }
    size_t start = 0;
    while (start < n && (key[start] == ' ' || key[start] == '\t')) {
        start++;
    }
    if (start > 0) {
        memmove(key, key + start, n - start + 1);
        n -= start;
    }
    if (n == 0) {
        ncsl_cli_errorf("%s: the API key from %s is empty", cmd, origin);
        return false;
    }
    if (n > KEY_MAX) {
        ncsl_cli_errorf("%s: the API key from %s is longer than %u characters", cmd, origin,
                        KEY_MAX);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)key[i];
        if (c <= 0x20 || c >= 0x7f) {
            /* Not shown: it is (part of) a secret. */
            ncsl_cli_errorf("%s: the API key from %s is not one line of printable characters "
                            "(character %zu)",
                            cmd, origin, i + 1);
            return false;
        }
    }
    return true;
}

/* The key from --api-key-file or NCSL_API_KEY into c->api_key. Returns 0 or an exit status. */
static int load_key(ncsl_cli_client *c, const ncsl_cli_client_args *a, bool stdin_taken) {
    char origin[256];
    if (a->api_key_file) {
        if (stdin_taken && strcmp(a->api_key_file, "-") == 0) {
            ncsl_cli_errorf("%s: --api-key-file - reads standard input, which this command "
                            "already reads: put the key in a file or in NCSL_API_KEY",
                            c->cmd);
            return NCSL_CLI_EXIT_USAGE;
        }
        size_t len = 0;
        c->api_key =
            ncsl_cli_client_read(c->cmd, "--api-key-file", a->api_key_file, KEY_FILE_MAX, &len);
        if (!c->api_key) {
            return NCSL_CLI_EXIT_USAGE;
        }
        if (memchr(c->api_key, '\0', len)) {
            ncsl_cli_errorf("%s: --api-key-file '%s' holds a NUL byte: not an API key", c->cmd,
                            a->api_key_file);
            return NCSL_CLI_EXIT_USAGE;
        }
        snprintf(origin, sizeof(origin), "--api-key-file '%.200s'", a->api_key_file);
    } else {
        const char *env = getenv("NCSL_API_KEY");
        if (!env || !*env) {
            ncsl_cli_errorf("%s: no API key: set NCSL_API_KEY to your API key, or pass "
                            "--api-key-file FILE (see 'ncsl %s --help')",
                            c->cmd, c->cmd);
            return NCSL_CLI_EXIT_USAGE;
        }
        c->api_key = ncsl_strdup(env);
        if (!c->api_key) {
            ncsl_cli_errorf("%s: out of memory", c->cmd);
            return NCSL_CLI_EXIT_FAIL;
        }
        snprintf(origin, sizeof(origin), "NCSL_API_KEY");
    }
    return key_ok(c->cmd, origin, c->api_key) ? 0 : NCSL_CLI_EXIT_USAGE;
}

int ncsl_cli_client_open(ncsl_cli_client *c, const char *cmd, ncsl_cli_client_args *a,
                         bool stdin_taken) {
    c->cmd = cmd;
    c->timeout_s = DEFAULT_TIMEOUT_S;
    if (a->api_key_arg) {
        return NCSL_CLI_EXIT_USAGE; /* refused by ncsl_cli_client_parse */
    }
    if (a->url && (a->data_dir || a->config)) {
        ncsl_cli_errorf("%s: --url names the server; --data-dir/--config only serve to find "
                        "it: give one or the other",
                        cmd);
        return NCSL_CLI_EXIT_USAGE;
    }
    uint64_t timeout_s = DEFAULT_TIMEOUT_S;
    if (a->timeout && !ncsl_cli_parse_u64(a->timeout, 1, 600, &timeout_s)) {
        ncsl_cli_errorf("%s: --timeout '%s' is not a number of seconds in 1..600", cmd, a->timeout);
        return NCSL_CLI_EXIT_USAGE;
    }
    c->timeout_s = (unsigned)timeout_s;
    /* Bodies and answers hold secret values and API keys: wipe what jansson frees. */
    ncsl_json_use_wiping_allocator();
    int rc = load_key(c, a, stdin_taken);
    if (rc != 0) {
        return rc;
    }
    rc = ncsl_cli_target_find(cmd, a->url, true, a->data_dir, a->config, &c->target);
    if (rc != 0) {
        return rc;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        ncsl_cli_errorf("%s: cannot initialise libcurl", cmd);
        return NCSL_CLI_EXIT_FAIL;
    }
    c->curl_ready = true;
    return 0;
}

void ncsl_cli_client_close(ncsl_cli_client *c) {
    ncsl_free_secret_str(c->api_key);
    c->api_key = NULL;
    if (c->curl_ready) {
        curl_global_cleanup();
        c->curl_ready = false;
    }
}

int ncsl_cli_client_call(ncsl_cli_client *c, const char *method, const char *path,
                         const json_t *body, size_t max_response, json_t **doc, json_t **data) {
    *doc = NULL;
    *data = NULL;
    int rc = NCSL_CLI_EXIT_FAIL;
    char *text = NULL;
    ncsl_cli_http_response resp;
    memset(&resp, 0, sizeof(resp));
    size_t url_size = strlen(c->target.base) + strlen(path) + 1;
    char *url = malloc(url_size);
    if (!url) {
        ncsl_cli_errorf("%s: out of memory", c->cmd);
        goto out;
    }
    snprintf(url, url_size, "%s%s", c->target.base, path);
    if (body) {
        text = json_dumps(body, JSON_COMPACT);
        if (!text) {
            ncsl_cli_errorf("%s: cannot encode the request (out of memory)", c->cmd);
            goto out;
        }
    }
    const ncsl_cli_http_request req = {
        .method = method,
        .url = url,
        .body = text,
        .body_len = text ? strlen(text) : 0,
        .api_key = c->api_key,
        .timeout_s = c->timeout_s,
        .max_response = max_response,
    };
    ncsl_cli_http_outcome o = ncsl_cli_http_perform(c->cmd, &c->target, &req, &resp);
    if (o != NCSL_CLI_HTTP_ANSWERED) {
        rc = o == NCSL_CLI_HTTP_UNREACHABLE ? NCSL_CLI_EXIT_UNREACHABLE : NCSL_CLI_EXIT_FAIL;
        goto out;
    }
    *doc = ncsl_cli_http_envelope(c->cmd, &c->target, &resp, true, data);
    if (*doc) {
        rc = NCSL_CLI_EXIT_OK;
    }
out:
    ncsl_free_secret_str(text);
    free(url);
    ncsl_cli_http_response_cleanup(&resp);
    return rc;
}

int ncsl_cli_client_print(const json_t *j) {
    char *text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    if (!text) {
        ncsl_cli_errorf("out of memory");
        return NCSL_CLI_EXIT_FAIL;
    }
    bool ok = ncsl_cli_write_stdout(text, strlen(text)) && ncsl_cli_write_stdout("\n", 1);
    ncsl_free_secret_str(text); /* a new user's API key, a function's result */
    return ok ? NCSL_CLI_EXIT_OK : NCSL_CLI_EXIT_FAIL;
}

int ncsl_cli_client_call_print(const char *cmd, ncsl_cli_client_args *a, const char *method,
                               const char *path, const json_t *body, size_t max_response) {
    ncsl_cli_client c;
    memset(&c, 0, sizeof(c));
    json_t *doc = NULL;
    json_t *data = NULL;
    int rc = ncsl_cli_client_open(&c, cmd, a, false);
    if (rc == 0) {
        rc = ncsl_cli_client_call(&c, method, path, body, max_response, &doc, &data);
    }
    if (rc == 0) {
        rc = ncsl_cli_client_print(data);
    }
    json_decref(doc);
    ncsl_cli_client_close(&c);
    return rc;
}

bool ncsl_cli_client_id_ok(const char *cmd, const char *what, const char *id) {
    size_t n = strlen(id);
    bool ok = n > 0 && n <= ID_MAX;
    for (size_t i = 0; ok && i < n; i++) {
        char ch = id[i];
        ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
             ch == '-' || ch == '_';
    }
    if (!ok) {
        ncsl_cli_errorf("%s: %s '%.80s%s' is not an id (1..%u characters of A-Z a-z 0-9 - _)", cmd,
                        what, id, n > 80 ? "..." : "", ID_MAX);
    }
    return ok;
}

bool ncsl_cli_client_secret_name_ok(const char *cmd, const char *what, const char *name) {
    if (ncsl_cli_secret_name_ok(name)) {
        return true;
    }
    size_t n = strlen(name);
    ncsl_cli_errorf("%s: %s '%.80s%s' is not a secret name (a letter or _, then letters, digits "
                    "or _, at most 64 characters)",
                    cmd, what, name, n > 80 ? "..." : "");
    return false;
}

char *ncsl_cli_client_read(const char *cmd, const char *what, const char *path, size_t max,
                           size_t *len) {
    char *data = ncsl_cli_read_file(path, max, len);
    if (!data) {
        if (errno == EFBIG) {
            ncsl_cli_errorf("%s: %s '%s' is larger than %zu bytes", cmd, what, path, max);
        } else {
            ncsl_cli_errorf("%s: cannot read %s '%s': %s", cmd, what, path, strerror(errno));
        }
    }
    return data;
}

/* Appends "?limit=N&cursor=C" (the cursor escaped) for list verbs. False after printing. */
static bool page_query(const char *cmd, const char *limit, const char *cursor, char *path,
                       size_t size) {
    uint64_t n = 0;
    if (limit && !ncsl_cli_parse_u64(limit, 1, 1000, &n)) {
        ncsl_cli_errorf("%s: --limit '%s' is not a number in 1..1000", cmd, limit);
        return false;
    }
    char *esc = NULL;
    if (cursor) {
        if (strlen(cursor) > 1024) {
            ncsl_cli_errorf("%s: --cursor is longer than 1024 characters", cmd);
            return false;
        }
        esc = curl_easy_escape(NULL, cursor, (int)strlen(cursor));
        if (!esc) {
            ncsl_cli_errorf("%s: out of memory", cmd);
            return false;
        }
    }
    size_t used = strlen(path);
    char limit_text[32] = "";
    if (limit) {
        snprintf(limit_text, sizeof(limit_text), "limit=%llu", (unsigned long long)n);
    }
    int w =
        snprintf(path + used, size - used, "%s%s%s%s%s", (limit || cursor) ? "?" : "", limit_text,
                 (limit && cursor) ? "&" : "", cursor ? "cursor=" : "", esc ? esc : "");
    curl_free(esc);
    if (w < 0 || (size_t)w >= size - used) {
        ncsl_cli_errorf("%s: the request path is too long", cmd);
        return false;
    }
    return true;
}

int ncsl_cli_client_list(const char *cmd, int argc, char **argv, const char *route,
                         void (*usage)(FILE *f)) {
    ncsl_cli_client_args ca;
    memset(&ca, 0, sizeof(ca));
    const char *limit = NULL;
    const char *cursor = NULL;
    const ncsl_cli_opt opts[] = {
        {"--limit", NULL, &limit, NULL},
        {"--cursor", NULL, &cursor, NULL},
    };
    const char *pos[1];
    size_t npos = 0;
    int rc = ncsl_cli_client_parse(cmd, argc, argv, &ca, opts, NCSL_ARRAY_LEN(opts), pos, 0, 0,
                                   &npos, "", usage);
    if (rc >= 0) {
        return rc;
    }
    char path[2 * 1024 + 512];
    snprintf(path, sizeof(path), "%s", route);
    if (!page_query(cmd, limit, cursor, path, sizeof(path))) {
        return NCSL_CLI_EXIT_USAGE;
    }
    return ncsl_cli_client_call_print(cmd, &ca, "GET", path, NULL, LIST_ANSWER_MAX);
}

static void verbs_usage(FILE *f, const char *name, const char *summary, const ncsl_cli_verb *verbs,
                        size_t nverbs) {
    fprintf(f, "usage: ncsl %s <verb> [options]\n\n%s\n\nverbs:\n", name, summary);
    for (size_t i = 0; i < nverbs; i++) {
        char left[64];
        snprintf(left, sizeof(left), "%s%s%s", verbs[i].name, verbs[i].args[0] ? " " : "",
                 verbs[i].args);
        fprintf(f, "  %-20s %s\n", left, verbs[i].summary);
    }
    fprintf(f, "\nRun 'ncsl %s <verb> --help' for a verb's options.\n", name);
}

int ncsl_cli_client_dispatch(const char *name, const char *summary, int argc, char **argv,
                             const ncsl_cli_verb *verbs, size_t nverbs) {
    if (argc < 2) {
        verbs_usage(stderr, name, summary, verbs, nverbs);
        return NCSL_CLI_EXIT_USAGE;
    }
    const char *verb = argv[1];
    if (strcmp(verb, "-h") == 0 || strcmp(verb, "--help") == 0 || strcmp(verb, "help") == 0) {
        verbs_usage(stdout, name, summary, verbs, nverbs);
        return NCSL_CLI_EXIT_OK;
    }
    for (size_t i = 0; i < nverbs; i++) {
        if (strcmp(verb, verbs[i].name) == 0) {
            char cmd[64];
            snprintf(cmd, sizeof(cmd), "%s %s", name, verbs[i].name);
            return verbs[i].run(cmd, argc - 1, argv + 1);
        }
    }
    ncsl_cli_errorf("%s: unknown verb '%.80s' (see 'ncsl %s --help')", name, verb, name);
    return NCSL_CLI_EXIT_USAGE;
}
