/*
 * The `ncsl` commands that talk to a running ncsld over HTTP: finding the server, one bounded
 * libcurl request, reading ncsld's response envelope (cli_http.c), and what the client commands
 * share: their common options, the API key, one API call per step, sub-subcommands
 * (cmd_client.c). Every error is printed here, once, as one line.
 *
 * Exit statuses of the client commands (deploy, invoke, functions, secrets, users, keys,
 * whoami): 0 success; 1 ncsld answered an error (any HTTP 4xx or 5xx: its status, code, message
 * and field are shown) or the answer was not an ncsld response; 2 bad usage (the request was not
 * sent); 3 ncsld could not be reached (connection refused, unknown host, no answer in time).
 * `ncsl attest` predates status 3 and keeps 1 for every failure.
 */
#ifndef NCSL_CLI_HTTP_H
#define NCSL_CLI_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "cli.h"

#define NCSL_CLI_EXIT_UNREACHABLE 3

/* Longest base URL accepted (--url, NCSL_URL, ncsld.url). */
#define NCSL_CLI_URL_MAX 2048

/* ------------------------------------------------------------------ the server */

/* Where ncsld is: its base URL and where that came from (for messages). */
typedef struct ncsl_cli_target {
    char base[NCSL_CLI_URL_MAX]; /* "http://127.0.0.1:8080": no trailing slash */
    char origin[4352];           /* "--url", "NCSL_URL", "DIR/ncsld.url", ... */
    bool env_url;                /* NCSL_URL was consulted: messages mention it */
} ncsl_cli_target;

/*
 * Finds ncsld's base URL into `t` (caller-owned), in this order: `url` (--url); NCSL_URL when
 * `use_env` and neither `data_dir` nor `config` is given; the URL ncsld wrote to
 * <data dir>/ncsld.url while it runs (data dir: `data_dir`, else the configuration's
 * Server.DataDir, `config` being the configuration file or NULL); the configured Server.Listen
 * (http://127.0.0.1:8080 by default). All arguments are borrowed. Only http:// and https://.
 * Returns 0, or the exit status after printing why (2 when the URL came from --url or NCSL_URL).
 */
int ncsl_cli_target_find(const char *cmd, const char *url, bool use_env, const char *data_dir,
                         const char *config, ncsl_cli_target *t);

/* ------------------------------------------------------------------ one HTTP request */

typedef struct ncsl_cli_http_request {
    const char *method;  /* "GET", "POST", "PUT" or "DELETE" */
    const char *url;     /* the full URL (borrowed) */
    const char *body;    /* JSON text sent as application/json (POST and PUT), or NULL: none
                          * (borrowed; may be secret) */
    size_t body_len;     /* bytes of `body` */
    const char *api_key; /* sent as "Authorization: Bearer KEY", or NULL (borrowed; secret) */
    unsigned timeout_s;  /* the whole exchange, 1..600 */
    size_t max_response; /* largest answer body accepted; 0: NCSL_CLI_JSON_MAX */
} ncsl_cli_http_request;

/* An answer. Zero it before ncsl_cli_http_perform; release with ncsl_cli_http_response_cleanup
 * (the body is wiped: answers may hold API keys or function results). */
typedef struct ncsl_cli_http_response {
    long status;          /* HTTP status, 0 when none arrived */
    char *body;           /* NUL-terminated, `len` bytes; NULL when empty */
    size_t len;           /* bytes of `body` */
    size_t cap;           /* allocated bytes of `body` (internal) */
    size_t max;           /* the cap in force (internal) */
    bool too_large;       /* the answer was cut: larger than the cap */
    bool has_retry_after; /* a Retry-After header in seconds came with it */
    unsigned long retry_after_s;
} ncsl_cli_http_response;

typedef enum ncsl_cli_http_outcome {
    NCSL_CLI_HTTP_ANSWERED,    /* an HTTP answer arrived: see resp->status and resp->body */
    NCSL_CLI_HTTP_UNREACHABLE, /* no connection or no answer in time (printed) */
    NCSL_CLI_HTTP_FAILED,      /* anything else: too large, out of memory... (printed) */
} ncsl_cli_http_outcome;

/*
 * Sends `req` (borrowed) to the server `t` (borrowed; for messages) and reads the answer into
 * `resp` (caller-owned, zeroed). No redirects, no proxy for local addresses, http and https
 * only, bounded time and size. curl_global_init must have been called. Failures are printed as
 * "<cmd>: ...".
 */
ncsl_cli_http_outcome ncsl_cli_http_perform(const char *cmd, const ncsl_cli_target *t,
                                            const ncsl_cli_http_request *req,
                                            ncsl_cli_http_response *resp);

/* Wipes and frees the body of `resp`; safe to call twice. */
void ncsl_cli_http_response_cleanup(ncsl_cli_http_response *resp);

/*
 * Reads ncsld's envelope in `resp` (borrowed). For {"success":true,"data":{...}} with a 2xx
 * status returns the parsed document (caller frees with json_decref) and sets *data to its
 * "data" (borrowed from the document). Otherwise prints one line and returns NULL:
 *   "<cmd>: HTTP 404 NOT_FOUND: no such function (field id)"
 * with a hint after 401 (set NCSL_API_KEY, when `key_hint`) and 429 (Retry-After). The
 * server's text is shown with control characters replaced and cut at a sane length.
 */
json_t *ncsl_cli_http_envelope(const char *cmd, const ncsl_cli_target *t,
                               const ncsl_cli_http_response *resp, bool key_hint, json_t **data);

/* ------------------------------------------------------------------ client commands */

/* The options every client command takes (values borrowed from argv). */
typedef struct ncsl_cli_client_args {
    const char *url;
    const char *data_dir;
    const char *config;
    const char *api_key_file;
    const char *timeout;
    const char *api_key_arg; /* --api-key: recognised only to be refused (argv leaks via ps) */
} ncsl_cli_client_args;

#define NCSL_CLI_CLIENT_OPTS 6u

/* Writes the option table for `a` (caller-owned, zeroed) into `opts` (room for
 * NCSL_CLI_CLIENT_OPTS entries). Returns the number written. */
size_t ncsl_cli_client_opts(ncsl_cli_client_args *a, ncsl_cli_opt *opts);

/* Prints the help lines of those options, and where the API key comes from, to `f`. */
void ncsl_cli_client_usage(FILE *f);

/*
 * ncsl_cli_parse for a client command `cmd`: the client options `ca` (caller-owned, zeroed) plus
 * `extra` (borrowed), and between `min_pos` and `max_pos` positional arguments (stored in `pos`,
 * borrowed from argv), named `pos_names` in the error ("ID"). Returns -1 to go on, else the exit
 * status to return at once (0 after --help, 2 after an error).
 */
int ncsl_cli_client_parse(const char *cmd, int argc, char **argv, ncsl_cli_client_args *ca,
                          const ncsl_cli_opt *extra, size_t nextra, const char **pos,
                          size_t min_pos, size_t max_pos, size_t *npos, const char *pos_names,
                          void (*usage)(FILE *f));

/* A connection to ncsld for one command. Zero it before ncsl_cli_client_open; release with
 * ncsl_cli_client_close. */
typedef struct ncsl_cli_client {
    const char *cmd; /* "functions list", for messages (borrowed) */
    ncsl_cli_target target;
    char *api_key; /* from NCSL_API_KEY or --api-key-file; wiped on close */
    unsigned timeout_s;
    bool curl_ready;
} ncsl_cli_client;

/*
 * Checks the options `a` (borrowed; --api-key is refused and its value wiped from argv), finds
 * the server, reads the API key (--api-key-file FILE, '-' = stdin unless `stdin_taken`; else
 * NCSL_API_KEY) and sets up libcurl. Also makes jansson wipe what it frees (bodies hold
 * secrets and keys). Returns 0, or the exit status after printing why.
 */
int ncsl_cli_client_open(ncsl_cli_client *c, const char *cmd, ncsl_cli_client_args *a,
                         bool stdin_taken);

/* Wipes the key and releases libcurl; safe to call twice and on a zeroed client. */
void ncsl_cli_client_close(ncsl_cli_client *c);

/*
 * One API call: METHOD <base><path> with the JSON `body` (borrowed; NULL: none; its serialised
 * text is wiped after sending) and the bearer key; answers larger than `max_response` bytes
 * (0: NCSL_CLI_JSON_MAX) are refused. Returns 0 with *doc (caller frees with json_decref) and
 * *data (borrowed from *doc) set, or the exit status after printing one line.
 */
int ncsl_cli_client_call(ncsl_cli_client *c, const char *method, const char *path,
                         const json_t *body, size_t max_response, json_t **doc, json_t **data);

/* Prints `j` (borrowed) as indented JSON and a newline on stdout. Returns the exit status. */
int ncsl_cli_client_print(const json_t *j);

/* The whole life of a simple command: open (as ncsl_cli_client_open, stdin free), one call,
 * print the answer's data, close. Returns the exit status. */
int ncsl_cli_client_call_print(const char *cmd, ncsl_cli_client_args *a, const char *method,
                               const char *path, const json_t *body, size_t max_response);

/* True when `id` (a function, user or key id) is 1..128 characters of [A-Za-z0-9_-], so it is
 * one safe URL path segment; else prints "<cmd>: <what> '...' is not an id" and returns false. */
bool ncsl_cli_client_id_ok(const char *cmd, const char *what, const char *id);

/* True when `name` is a secret name, [A-Za-z_][A-Za-z0-9_]{0,63}; else prints why naming
 * `what` and returns false. */
bool ncsl_cli_client_secret_name_ok(const char *cmd, const char *what, const char *name);

/* Reads the file `path` ('-' = stdin) of at most `max` bytes for option or argument `what`
 * (ncsl_cli_read_file). NULL after printing why ("cannot read --input-file 'x': ..."). The
 * caller frees with free(), or ncsl_free_secret_str when it may be secret. */
char *ncsl_cli_client_read(const char *cmd, const char *what, const char *path, size_t max,
                           size_t *len);

/* A list verb ("functions list", "users list"): GET `route` ("/api/v1/functions") with
 * --limit N and --cursor C, printing the page. Returns the exit status. */
int ncsl_cli_client_list(const char *cmd, int argc, char **argv, const char *route,
                         void (*usage)(FILE *f));

/* One verb of a command with verbs ("functions list"). */
typedef struct ncsl_cli_verb {
    const char *name;
    const char *args; /* "ID", for the usage line */
    const char *summary;
    int (*run)(const char *cmd, int argc, char **argv); /* cmd "functions list"; argv[0] the verb */
} ncsl_cli_verb;

/* Runs the verb argv[1] of command `name` (argv[0]) from `verbs`; prints the command's usage
 * for --help or no verb. Returns the exit status. */
int ncsl_cli_client_dispatch(const char *name, const char *summary, int argc, char **argv,
                             const ncsl_cli_verb *verbs, size_t nverbs);

/* The client subcommands (cmd_functions.c, cmd_secrets.c, cmd_users.c). */
int ncsl_cli_cmd_deploy(int argc, char **argv);
int ncsl_cli_cmd_invoke(int argc, char **argv);
int ncsl_cli_cmd_functions(int argc, char **argv);
int ncsl_cli_cmd_secrets(int argc, char **argv);
int ncsl_cli_cmd_users(int argc, char **argv);
int ncsl_cli_cmd_keys(int argc, char **argv);
int ncsl_cli_cmd_whoami(int argc, char **argv);

#endif
