/*
 * ncsld's HTTP front end: libmicrohttpd (epoll, thread pool) in front of the execution engine.
 * An MHD thread never runs JavaScript: it validates the request, submits it to the engine and
 * suspends the connection; the engine's completion callback (a JS worker thread) publishes the
 * response and resumes the connection. Split out of main.c so tests and fuzzers can link the
 * request parser and the router.
 */
#ifndef NCSL_HTTP_H
#define NCSL_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/common.h"
#include "config/config.h"

/* ------------------------------------------------------------------------- request body */
/* The parsed body of POST /api/v1/functions/execute-javascript. Every pointer stays valid until
 * ncsl_http_exec_body_cleanup, which also wipes the secret values. */
typedef struct ncsl_http_exec_body {
    json_t *root;        /* owns code, function_id, user_id and (object form) secrets */
    json_t *secrets_doc; /* owns the secrets when they came as a JSON string, else NULL */
    const char *code;    /* required, non-empty */
    size_t code_len;
    const char *input_json; /* JSON text of the input; NULL = null */
    size_t input_len;
    char *input_owned;    /* set when input_json was serialized from a JSON value */
    ncsl_secret *secrets; /* names/values borrowed from root or secrets_doc */
    size_t secret_count;
    const char *function_id; /* NULL when absent */
    const char *user_id;     /* NULL when absent */
} ncsl_http_exec_body;

/* Parses and validates a request body. `body` borrowed. On success the caller cleans `out` up
 * with ncsl_http_exec_body_cleanup; on failure `out` is already clean and err names the field
 * ("body", "code", "input", "secrets", "secrets.NAME", "functionId", "userId"). Messages never
 * quote the body. Unknown top-level fields are ignored (forward compatibility). */
ncsl_status ncsl_http_parse_execute(const char *body, size_t len, ncsl_http_exec_body *out,
                                    ncsl_err *err);
void ncsl_http_exec_body_cleanup(ncsl_http_exec_body *b);
/* The body of POST /api/v1/functions/{id}/invoke: {input?, secrets?} with the same rules (an
 * empty body "{}" is fine); code, functionId and userId stay NULL. */
ncsl_status ncsl_http_parse_invoke(const char *body, size_t len, ncsl_http_exec_body *out,
                                   ncsl_err *err);

/* True when a Content-Type header value is application/json (parameters allowed). */
bool ncsl_http_content_type_is_json(const char *value);

/* ------------------------------------------------------------------------- server */
typedef struct ncsl_http_server ncsl_http_server;

struct ncsl_tee;
struct ncsl_keys;
struct ncsl_store;

/* Handles the routes beyond execution use (all borrowed: they must outlive the server). A NULL
 * handle answers its routes with 503 SERVICE_UNAVAILABLE naming what is missing. */
typedef struct ncsl_http_services {
    struct ncsl_tee *tee;   /* /api/v1/tee-info, attestation */
    struct ncsl_keys *keys; /* attestation proofs, receipts on every execution */
    /* users, API keys, functions, secrets and storage: the multi-tenant routes */
    struct ncsl_store *store;
    /* The admin API key (borrowed for ncsl_http_server_create, which keeps only its hash).
     * NULL: no admin key, the admin routes answer 401. */
    const char *admin_key;
} ncsl_http_services;

/* Creates a server for `cfg` (copied) that submits to `engine` (borrowed: it must outlive
 * ncsl_http_server_stop) and answers the trust routes with `services` (copied struct of
 * borrowed handles; NULL: none). Caller frees with ncsl_http_server_destroy. */
ncsl_status ncsl_http_server_create(const ncsl_config *cfg, ncsl_engine *engine,
                                    const ncsl_http_services *services, ncsl_http_server **out,
                                    ncsl_err *err);
/* Binds the configured address and starts the MHD thread pool. */
ncsl_status ncsl_http_server_start(ncsl_http_server *srv, ncsl_err *err);
/* The bound port (the real one when the configured port was 0) and "http://host:port". */
uint16_t ncsl_http_server_port(const ncsl_http_server *srv);
const char *ncsl_http_server_url(const ncsl_http_server *srv);
/* Stops accepting connections; requests already received are still answered ("Connection:
 * close"). */
void ncsl_http_server_quiesce(ncsl_http_server *srv);
/* Closes the connections that have not delivered a complete request within
 * Server.ConnectionTimeoutSeconds: counted from the request line (those get a 408
 * REQUEST_TIMEOUT first: slowloris headers, a body that trickles or never ends) or, before any
 * request line, from the connection's start or its previous response (closed silently, like an
 * idle connection). MHD's own timeout only sees silence, so the owner of the server must call
 * this a few times a second (ncsld's main thread does, every 100 ms). Returns how many it
 * closed. Thread-safe. */
unsigned ncsl_http_server_reap(ncsl_http_server *srv);
/* Requests received and not yet fully answered. */
unsigned ncsl_http_server_active(ncsl_http_server *srv);
/* Answers every request still waiting for the engine with 503 (shutdown grace expired). */
void ncsl_http_server_abort_pending(ncsl_http_server *srv);
/* Stops MHD (call after the pending requests were answered). Idempotent. */
void ncsl_http_server_stop(ncsl_http_server *srv);
/* NULL does nothing. Call after ncsl_engine_destroy: late engine callbacks use the server. */
void ncsl_http_server_destroy(ncsl_http_server *srv);

/* ------------------------------------------------------------------------- admin key */
#define NCSL_HTTP_ADMIN_KEY_FILE "admin.key"
#define NCSL_HTTP_ADMIN_KEY_MIN 32u   /* bytes */
#define NCSL_HTTP_ADMIN_KEY_SIZE 160u /* longest key and its NUL */

/* Where the admin key came from. */
typedef enum ncsl_http_admin_source {
    NCSL_ADMIN_KEY_FROM_ENV = 1,    /* NCSL_ADMIN_KEY */
    NCSL_ADMIN_KEY_FROM_CONFIG = 2, /* Server.AdminKey */
    NCSL_ADMIN_KEY_FROM_FILE = 3,   /* <data dir>/admin.key, made on an earlier start */
    NCSL_ADMIN_KEY_GENERATED = 4,   /* made now and written to <data dir>/admin.key */
} ncsl_http_admin_source;

/*
 * The admin key, in this order: `env_value` (NCSL_ADMIN_KEY; NULL or "" when unset),
 * cfg->server.admin_key, <data dir>/admin.key, else a new random key ("ncsl_admin_" and 43
 * base64url characters) written to <data dir>/admin.key with mode 0600 (atomically). `out`
 * (caller-owned, NCSL_HTTP_ADMIN_KEY_SIZE bytes) gets the key: a secret, wipe it after use.
 * Keys are NCSL_HTTP_ADMIN_KEY_MIN..NCSL_HTTP_ADMIN_KEY_SIZE-1 printable ASCII characters
 * without spaces. Errors: NCSL_E_CONFIG (field names the source: "NCSL_ADMIN_KEY",
 * "Server.AdminKey", "admin.key"), NCSL_E_IO (the file cannot be read or written, or is
 * readable by others).
 */
ncsl_status ncsl_http_admin_key_load(const ncsl_config *cfg, const char *env_value,
                                     char out[NCSL_HTTP_ADMIN_KEY_SIZE],
                                     ncsl_http_admin_source *source, ncsl_err *err);

/* ------------------------------------------------------------------------- log file */
/* Installs a log sink writing each line to stderr and <data_dir>/log/ncsl.log (O_APPEND, mode
 * 0600, directory 0700). `data_dir` borrowed. */
ncsl_status ncsl_http_log_open(const char *data_dir, ncsl_err *err);
/* Restores the default sink and closes the file. */
void ncsl_http_log_close(void);
/* Writes the info and debug lines the sink holds (it holds them up to 64 KiB; ncsld calls this
 * every 100 ms). */
void ncsl_http_log_flush(void);

/* Creates `path` and missing parents with mode 0700. */
ncsl_status ncsl_http_mkdirs(const char *path, ncsl_err *err);

#endif
