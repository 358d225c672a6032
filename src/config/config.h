/*
 * NCSL configuration: defaults, a JSON file (strict: unknown keys and wrong types are errors
 * naming the key path, e.g. "JavaScript.MaxMemoryMB"), then the environment (OCCLUM_SIMULATION),
 * then command-line flags, each overriding the one before. The `Tee` section accepts the seed
 * guide's block verbatim; settings that do not apply to this engine (Tee.Occlum.NodeJsPath...)
 * are accepted and reported once as unused.
 */
#ifndef NCSL_CONFIG_H
#define NCSL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

#define NCSL_CONFIG_MAX_UNUSED 16
#define NCSL_CONFIG_PATH_MAX 4096
#define NCSL_CONFIG_MAX_NOTES 4

typedef enum ncsl_tee_type {
    NCSL_TEE_AUTO = 0,
    NCSL_TEE_SIMULATION,
    NCSL_TEE_OCCLUM,
    NCSL_TEE_GRAMINE,
} ncsl_tee_type;

typedef struct ncsl_config_occlum {
    char instance_dir[NCSL_CONFIG_PATH_MAX];
    char log_level[32];
    char node_js_path[NCSL_CONFIG_PATH_MAX]; /* accepted, unused: the engine is built in */
    char temp_dir[NCSL_CONFIG_PATH_MAX];
    bool enable_debug_mode;
    unsigned max_memory_mb;              /* default 1024 */
    unsigned max_threads;                /* default 32: bounds the daemon's thread count */
    unsigned max_processes;              /* default 16: worker processes (Isolation "process") */
    unsigned max_execution_time_seconds; /* default 60: upper bound of any call's deadline */
} ncsl_config_occlum;

typedef struct ncsl_config_tee {
    ncsl_tee_type type;   /* "Auto" | "Simulation" | "Occlum" | "Gramine" (case-insensitive) */
    bool simulation_mode; /* forces simulation; so does OCCLUM_SIMULATION=1 */
    char enclave_path[NCSL_CONFIG_PATH_MAX];
    bool debug;
    ncsl_config_occlum occlum;
} ncsl_config_tee;

typedef struct ncsl_config_server {
    char listen_host[256];               /* "127.0.0.1" */
    uint16_t listen_port;                /* 8080 */
    char data_dir[NCSL_CONFIG_PATH_MAX]; /* "./ncsl-data" */
    size_t max_body_bytes;               /* 2 MiB */
    unsigned queue_size;                 /* calls waiting for a JS worker: 256 */
    unsigned http_threads;               /* libmicrohttpd thread pool: 0 = CPU count */
    unsigned connection_limit;           /* 1024 */
    unsigned connection_timeout_s;       /* idle/slow connection timeout: 30 */
    unsigned shutdown_grace_s;           /* SIGTERM: wait this long for in-flight calls: 30 */
    int log_level;                       /* ncsl_log_level */
    /* The admin API key ("" = NCSL_ADMIN_KEY, else generated into <data dir>/admin.key).
     * A secret: never logged. */
    char admin_key[160];
} ncsl_config_server;

/* "Storage": where the service's sealed state lives (src/store). */
typedef struct ncsl_config_storage {
    char backend[32];         /* "sqlite" */
    bool seal_mrenclave;      /* "SealPolicy": "MRSIGNER" (default) | "MRENCLAVE" */
    unsigned connections;     /* pool size: 4 */
    uint32_t busy_timeout_ms; /* 5000 */
} ncsl_config_storage;

/* "Limits": per-user quotas and rates of the multi-tenant API. */
typedef struct ncsl_config_limits {
    unsigned requests_per_second;   /* per user, token bucket refill; 0 = no rate limit */
    unsigned burst;                 /* bucket size */
    unsigned max_secrets_per_user;  /* 100 */
    size_t max_secret_bytes;        /* 4096 */
    size_t storage_quota_bytes;     /* per function: 10 MiB */
    size_t max_storage_key_bytes;   /* 512 */
    size_t max_storage_value_bytes; /* 1 MiB */
} ncsl_config_limits;

/* "Fetch": the policy of the JS fetch (src/fetch, docs/configuration.md). */
#define NCSL_CONFIG_MAX_FETCH_HOSTS 128
#define NCSL_CONFIG_FETCH_HOST_SIZE 264 /* "*." + a 253-byte name + ":65535" + NUL, padded */
typedef struct ncsl_config_fetch {
    /* "api.example.com", "*.example.com", "*", an IPv4 address or "[IPv6]", each optionally
     * with ":PORT"; lower-cased when loaded. None by default: fetch is off. */
    char allowed_hosts[NCSL_CONFIG_MAX_FETCH_HOSTS][NCSL_CONFIG_FETCH_HOST_SIZE];
    size_t allowed_host_count;
    bool allow_private_networks;    /* loopback, private, link-local...: false */
    unsigned max_requests_per_call; /* 16 */
    size_t max_response_bytes;      /* 8 MiB: response bodies of one call, all requests */
    size_t max_request_bytes;       /* 1 MiB: one request body */
    uint32_t timeout_ms;            /* 10000: one fetch with its redirects */
    unsigned max_concurrent;        /* 256: requests in flight in the process */
} ncsl_config_fetch;

typedef struct ncsl_config {
    ncsl_config_tee tee;
    ncsl_config_server server;
    ncsl_engine_options js; /* "JavaScript" section: limits and workers */
    ncsl_config_storage storage;
    ncsl_config_limits limits;
    ncsl_config_fetch fetch;
    /* Settings read from the file that this build does not use ("Tee.Occlum.NodeJsPath"). */
    char unused[NCSL_CONFIG_MAX_UNUSED][96];
    size_t unused_count;
    bool simulation_forced_by_env; /* OCCLUM_SIMULATION=1 was seen */

    /* Which settings with derived defaults the file set explicitly (NCSL_CONFIG_SET_*): an
     * explicit value that breaks a Tee.Occlum bound is an error, a derived one is adjusted. */
    unsigned set_mask;
    /* Filled by ncsl_config_finalize: adjustments it made to derived values (the daemon logs
     * them). Which TEE backend runs is decided when the TEE is opened (src/tee), not here. */
    char notes[NCSL_CONFIG_MAX_NOTES][192];
    size_t note_count;
} ncsl_config;

#define NCSL_CONFIG_SET_TIMEOUT (1u << 0)      /* JavaScript.TimeoutMs */
#define NCSL_CONFIG_SET_WORKERS (1u << 1)      /* JavaScript.Workers */
#define NCSL_CONFIG_SET_HTTP_THREADS (1u << 2) /* Server.HttpThreads */

/* Fills `cfg` with the defaults: it is then a complete, valid configuration. */
void ncsl_config_defaults(ncsl_config *cfg);

/* Reads a JSON file over `cfg` (keys present override, others keep their value). On error
 * returns NCSL_E_CONFIG with err->field = the key path and err->message saying what is wrong;
 * `cfg` may then be partially updated. `path` borrowed. */
ncsl_status ncsl_config_load_file(ncsl_config *cfg, const char *path, ncsl_err *err);
/* Same from a JSON text (for tests and fuzzing). */
ncsl_status ncsl_config_load_json(ncsl_config *cfg, const char *json, size_t len, ncsl_err *err);

/* Applies the environment: OCCLUM_SIMULATION=1 forces simulation. `getenv_fn` NULL = getenv. */
void ncsl_config_apply_env(ncsl_config *cfg, const char *(*getenv_fn)(const char *name));

/* Cross-field checks and derived values after all sources were applied (e.g. the call deadline
 * may not exceed Tee.Occlum.MaxExecutionTimeSeconds; worker + HTTP threads fit MaxThreads).
 * Returns NCSL_E_CONFIG naming the setting. */
ncsl_status ncsl_config_finalize(ncsl_config *cfg, ncsl_err *err);

/* Parses "HOST:PORT" (IPv4, "[v6]:port" or a name) into the server section. */
ncsl_status ncsl_config_set_listen(ncsl_config *cfg, const char *addr, ncsl_err *err);

const char *ncsl_tee_type_name(ncsl_tee_type t); /* "Auto", "Simulation"... */
/* Why a setting listed in cfg->unused has no effect in this build (static text, never NULL). */
const char *ncsl_config_unused_reason(const char *key);

#endif
