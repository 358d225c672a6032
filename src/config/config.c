/*
 * Configuration: defaults, then a strict JSON file, then the environment, then flags.
 *
 * File format (every key optional, PascalCase, case-sensitive; sizes in the unit named by the
 * key; "integer" means a JSON integer, never a real or a string):
 *
 *   "Tee": {                                  the seed guide's block, verbatim
 *     "Type": "Auto"                          Auto | Simulation | Occlum | Gramine (any case)
 *     "SimulationMode": false                 true forces simulation (so does OCCLUM_SIMULATION=1)
 *     "EnclavePath": ""                       accepted, unused (no enclave loader in this build)
 *     "Debug": false                          enclave debug attribute (for `ncsl occlum init`)
 *     "Occlum": {
 *       "InstanceDir": "./occlum_instance"    for `ncsl occlum init|build`
 *       "LogLevel": "info"                    accepted, unused (Occlum LibOS log level)
 *       "NodeJsPath": ""                      accepted, unused (the JS engine is built in)
 *       "TempDir": "/tmp"                     accepted, unused (no temporary files)
 *       "EnableDebugMode": false              Occlum.json "debuggable" (for `ncsl occlum init`)
 *       "MaxMemoryMB": 1024                   1..1048576; JavaScript.MaxMemoryMB must fit in it
 *       "MaxThreads": 32                      3..4096; HttpThreads + Workers + 1 must fit in it
 *       "MaxProcesses": 16                    1..4096; worker processes with Isolation "process"
 *       "MaxExecutionTimeSeconds": 60         1..86400; JavaScript.TimeoutMs must fit in it
 *     }
 *   },
 *   "Server": {
 *     "Listen": "127.0.0.1:8080"              HOST:PORT, [IPv6]:PORT; port 0 = ephemeral
 *     "DataDir": "./ncsl-data"                logs, ncsld.url
 *     "MaxBodyBytes": 2097152                 1024..1073741824, request body
 *     "QueueSize": 256                        1..65536 calls waiting for a JS worker
 *     "HttpThreads": 0                        0..1024, 0 = derived (CPUs / 4, at least 1)
 *     "ConnectionLimit": 1024                 1..65536
 *     "ConnectionTimeoutSeconds": 30          1..3600, idle or slow connection
 *     "ShutdownGraceSeconds": 30              0..3600, SIGTERM drain time for in-flight calls
 *     "LogLevel": "info"                      error | warn | info | debug
 *     "AdminKey": ""                          >= 32 bytes; else NCSL_ADMIN_KEY, else generated
 *   },                                        into <DataDir>/admin.key (a secret: never logged)
 *   "Storage": {
 *     "Backend": "sqlite"                     the one backend of this build
 *     "SealPolicy": "MRSIGNER"                MRSIGNER | MRENCLAVE, for a NEW database
 *     "Connections": 4                        1..64, connection pool
 *     "BusyTimeoutMs": 5000                   0..600000, wait for a lock held elsewhere
 *   },
 *   "Limits": {                               per user (storage: per function)
 *     "RequestsPerSecond": 1000               0..1000000 (0: no rate limit), token refill
 *     "Burst": 2000                           1..10000000, bucket size
 *     "MaxSecretsPerUser": 100                1..100000
 *     "MaxSecretBytes": 4096                  1..16777216
 *     "StorageQuotaBytes": 10485760           1024..68719476736, keys + values per function
 *     "MaxStorageKeyBytes": 512               1..1024
 *     "MaxStorageValueBytes": 1048576         1..16777216, a value's JSON text
 *   },
 *   "JavaScript": {
 *     "MaxMemoryMB": 512                      1..65536, JS heap per call
 *     "TimeoutMs": 5000                       1..86400000, wall-clock deadline per call
 *     "MaxStackKB": 1024                      16..65536, JS stack per call
 *     "MaxOutputBytes": 1048576               1..1073741824, serialized result
 *     "MaxLogBytes": 65536                    1..1073741824, captured console output
 *     "MaxCodeBytes": 1048576                 1..1073741824, function source
 *     "MaxInputBytes": 1048576                1..1073741824, input JSON
 *     "Workers": 0                            0..1024, 0 = derived (CPU count, within MaxThreads)
 *     "GasLimit": 1000000                     1000..10^12, gas per call (docs/javascript.md)
 *     "Isolation": "thread"                   thread | process (worker processes: a crash
 *   },                                        costs one call; Tee.Occlum.MaxProcesses of them)
 *   "Fetch": {                                the JS fetch (src/fetch)
 *     "AllowedHosts": []                      up to 128 of "host", "*.domain", "*", IPv4, "[IPv6]",
 *                                             each optionally ":PORT"; [] = fetch is off
 *     "AllowPrivateNetworks": false           allow loopback/private/link-local/... addresses
 *     "MaxRequestsPerCall": 16                1..10000
 *     "MaxResponseBytes": 8388608             1..1073741824, response bodies of one call
 *     "MaxRequestBytes": 1048576              0..1073741824, one request body
 *     "TimeoutMs": 10000                      1..86400000, one fetch (the call's deadline too)
 *     "MaxConcurrent": 256                    1..65536 requests in flight in the process
 *   }
 *
 * Cross-field rules (ncsl_config_finalize): an explicit JavaScript.TimeoutMs above
 * Tee.Occlum.MaxExecutionTimeSeconds is an error, the default is lowered to fit (with a note);
 * explicit HttpThreads/Workers that do not fit MaxThreads are an error, derived ones are sized to
 * fit; with Isolation "process" the workers are Tee.Occlum.MaxProcesses processes, each watched
 * by one daemon thread that counts against MaxThreads instead of the worker. Unknown keys, wrong
 * types, out-of-range values and duplicate keys are errors naming the key path.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#define MIB ((uint64_t)1024 * 1024)
#define GIB ((uint64_t)1024 * 1024 * 1024)

/* ------------------------------------------------------------------------- key tables */
typedef enum key_kind {
    KEY_BOOL,       /* bool */
    KEY_STRING,     /* char[size] */
    KEY_UINT,       /* unsigned */
    KEY_U32,        /* uint32_t */
    KEY_SIZE,       /* size_t, value * scale */
    KEY_LISTEN,     /* server.listen_host / listen_port */
    KEY_LOGLEVEL,   /* int */
    KEY_TEETYPE,    /* ncsl_tee_type */
    KEY_BACKEND,    /* char[size]: "sqlite" (the one backend of this build) */
    KEY_SEALPOLICY, /* bool: "MRENCLAVE" true, "MRSIGNER" false */
    KEY_HOSTLIST,   /* fetch.allowed_hosts / allowed_host_count */
    KEY_ISOLATION,  /* ncsl_isolation: "thread" | "process" */
    KEY_SECTION,    /* nested object */
} key_kind;

typedef struct key_spec {
    const char *name;
    key_kind kind;
    size_t offset; /* into ncsl_config */
    size_t size;   /* KEY_STRING: buffer size */
    uint64_t min;
    uint64_t max;
    uint64_t scale;   /* KEY_SIZE: unit in bytes */
    bool unused;      /* accepted but has no effect in this build */
    unsigned set_bit; /* NCSL_CONFIG_SET_* recorded when present */
    const struct key_spec *sub;
    size_t sub_count;
} key_spec;

#define OFF(m) offsetof(ncsl_config, m)
#define SZ(m) sizeof(((ncsl_config *)0)->m)

/* Designated initializers only: every other field is zero. */
#define K_STR(n, m, ...)                                                                           \
    { .name = n, .kind = KEY_STRING, .offset = OFF(m), .size = SZ(m), __VA_ARGS__ }
#define K_BOOL(n, m)                                                                               \
    { .name = n, .kind = KEY_BOOL, .offset = OFF(m) }
#define K_NUM(n, kd, m, lo, hi, ...)                                                               \
    { .name = n, .kind = kd, .offset = OFF(m), .min = lo, .max = hi, __VA_ARGS__ }
#define K_SECTION(n, t)                                                                            \
    { .name = n, .kind = KEY_SECTION, .sub = t, .sub_count = NCSL_ARRAY_LEN(t) }

static const key_spec g_occlum_keys[] = {
    K_STR("InstanceDir", tee.occlum.instance_dir, .min = 0),
    K_STR("LogLevel", tee.occlum.log_level, .unused = true),
    K_STR("NodeJsPath", tee.occlum.node_js_path, .unused = true),
    K_STR("TempDir", tee.occlum.temp_dir, .unused = true),
    K_BOOL("EnableDebugMode", tee.occlum.enable_debug_mode),
    K_NUM("MaxMemoryMB", KEY_UINT, tee.occlum.max_memory_mb, 1, 1048576),
    K_NUM("MaxThreads", KEY_UINT, tee.occlum.max_threads, 3, 4096),
    K_NUM("MaxProcesses", KEY_UINT, tee.occlum.max_processes, 1, 4096),
    K_NUM("MaxExecutionTimeSeconds", KEY_UINT, tee.occlum.max_execution_time_seconds, 1, 86400),
};

static const key_spec g_tee_keys[] = {
    {.name = "Type", .kind = KEY_TEETYPE, .offset = OFF(tee.type)},
    K_BOOL("SimulationMode", tee.simulation_mode),
    K_STR("EnclavePath", tee.enclave_path, .unused = true),
    K_BOOL("Debug", tee.debug),
    K_SECTION("Occlum", g_occlum_keys),
};

static const key_spec g_server_keys[] = {
    {.name = "Listen", .kind = KEY_LISTEN},
    K_STR("DataDir", server.data_dir, .min = 1),
    K_NUM("MaxBodyBytes", KEY_SIZE, server.max_body_bytes, 1024, GIB, .scale = 1),
    K_NUM("QueueSize", KEY_UINT, server.queue_size, 1, 65536),
    K_NUM("HttpThreads", KEY_UINT, server.http_threads, 0, 1024,
          .set_bit = NCSL_CONFIG_SET_HTTP_THREADS),
    K_NUM("ConnectionLimit", KEY_UINT, server.connection_limit, 1, 65536),
    K_NUM("ConnectionTimeoutSeconds", KEY_UINT, server.connection_timeout_s, 1, 3600),
    K_NUM("ShutdownGraceSeconds", KEY_UINT, server.shutdown_grace_s, 0, 3600),
    {.name = "LogLevel", .kind = KEY_LOGLEVEL, .offset = OFF(server.log_level)},
    K_STR("AdminKey", server.admin_key, .min = 32),
};

static const key_spec g_storage_keys[] = {
    {.name = "Backend",
     .kind = KEY_BACKEND,
     .offset = OFF(storage.backend),
     .size = SZ(storage.backend)},
    {.name = "SealPolicy", .kind = KEY_SEALPOLICY, .offset = OFF(storage.seal_mrenclave)},
    K_NUM("Connections", KEY_UINT, storage.connections, 1, 64),
    K_NUM("BusyTimeoutMs", KEY_U32, storage.busy_timeout_ms, 0, 600000),
};

static const key_spec g_limits_keys[] = {
    K_NUM("RequestsPerSecond", KEY_UINT, limits.requests_per_second, 0, 1000000),
    K_NUM("Burst", KEY_UINT, limits.burst, 1, 10000000),
    K_NUM("MaxSecretsPerUser", KEY_UINT, limits.max_secrets_per_user, 1, 100000),
    K_NUM("MaxSecretBytes", KEY_SIZE, limits.max_secret_bytes, 1, 16 * MIB, .scale = 1),
    K_NUM("StorageQuotaBytes", KEY_SIZE, limits.storage_quota_bytes, 1024, 64 * GIB, .scale = 1),
    K_NUM("MaxStorageKeyBytes", KEY_SIZE, limits.max_storage_key_bytes, 1, 1024, .scale = 1),
    K_NUM("MaxStorageValueBytes", KEY_SIZE, limits.max_storage_value_bytes, 1, 16 * MIB,
          .scale = 1),
};

static const key_spec g_js_keys[] = {
    K_NUM("MaxMemoryMB", KEY_SIZE, js.memory_limit_bytes, 1, 65536, .scale = MIB),
    K_NUM("TimeoutMs", KEY_U32, js.timeout_ms, 1, 86400000, .set_bit = NCSL_CONFIG_SET_TIMEOUT),
    K_NUM("MaxStackKB", KEY_SIZE, js.stack_size_bytes, 16, 65536, .scale = 1024),
    K_NUM("MaxOutputBytes", KEY_SIZE, js.max_output_bytes, 1, GIB, .scale = 1),
    K_NUM("MaxLogBytes", KEY_SIZE, js.max_log_bytes, 1, GIB, .scale = 1),
    K_NUM("MaxCodeBytes", KEY_SIZE, js.max_code_bytes, 1, GIB, .scale = 1),
    K_NUM("MaxInputBytes", KEY_SIZE, js.max_input_bytes, 1, GIB, .scale = 1),
    K_NUM("Workers", KEY_UINT, js.workers, 0, 1024, .set_bit = NCSL_CONFIG_SET_WORKERS),
    K_NUM("GasLimit", KEY_SIZE, js.gas_limit, 1000, 1000000000000ull, .scale = 1),
    {.name = "Isolation", .kind = KEY_ISOLATION, .offset = OFF(js.isolation)},
};

static const key_spec g_fetch_keys[] = {
    {.name = "AllowedHosts", .kind = KEY_HOSTLIST},
    K_BOOL("AllowPrivateNetworks", fetch.allow_private_networks),
    K_NUM("MaxRequestsPerCall", KEY_UINT, fetch.max_requests_per_call, 1, 10000),
    K_NUM("MaxResponseBytes", KEY_SIZE, fetch.max_response_bytes, 1, GIB, .scale = 1),
    K_NUM("MaxRequestBytes", KEY_SIZE, fetch.max_request_bytes, 0, GIB, .scale = 1),
    K_NUM("TimeoutMs", KEY_U32, fetch.timeout_ms, 1, 86400000),
    K_NUM("MaxConcurrent", KEY_UINT, fetch.max_concurrent, 1, 65536),
};

static const key_spec g_top_keys[] = {
    K_SECTION("Tee", g_tee_keys),       K_SECTION("Server", g_server_keys),
    K_SECTION("JavaScript", g_js_keys), K_SECTION("Storage", g_storage_keys),
    K_SECTION("Limits", g_limits_keys), K_SECTION("Fetch", g_fetch_keys),
};

typedef struct unused_reason {
    const char *key;
    const char *why;
} unused_reason;

static const unused_reason g_unused_reasons[] = {
    {"Tee.EnclavePath", "this build has no enclave loader (simulation TEE only)"},
    {"Tee.Occlum.LogLevel", "Occlum's LibOS log level; this build runs outside Occlum"},
    {"Tee.Occlum.NodeJsPath", "the JavaScript engine (QuickJS-ng) is built in"},
    {"Tee.Occlum.TempDir", "NCSL writes no temporary files"},
};

const char *ncsl_config_unused_reason(const char *key) {
    for (size_t i = 0; key && i < NCSL_ARRAY_LEN(g_unused_reasons); i++) {
        if (strcmp(key, g_unused_reasons[i].key) == 0) {
            return g_unused_reasons[i].why;
        }
    }
    return "not used in this build";
}

/* ------------------------------------------------------------------------- defaults */
/* Mirrors ncsl_engine_options_default (ncsl.h): config depends on common only, so it cannot
 * call into the engine; the values are the documented engine defaults. */
static void js_defaults(ncsl_engine_options *o) {
    memset(o, 0, sizeof(*o));
    o->workers = 0;
    o->queue_size = 256;
    o->memory_limit_bytes = 512 * MIB;
    o->timeout_ms = 5000;
    o->gas_limit = 1000000; /* NCSL_JS_DEFAULT_GAS_LIMIT */
    o->stack_size_bytes = 1024 * 1024;
    o->max_output_bytes = 1024 * 1024;
    o->max_log_bytes = 64 * 1024;
    o->max_code_bytes = 1024 * 1024;
    o->max_input_bytes = 1024 * 1024;
}

void ncsl_config_defaults(ncsl_config *cfg) {
    memset(cfg, 0, sizeof(*cfg));
    cfg->tee.type = NCSL_TEE_AUTO;
    snprintf(cfg->tee.occlum.instance_dir, sizeof(cfg->tee.occlum.instance_dir), "%s",
             "./occlum_instance");
    snprintf(cfg->tee.occlum.log_level, sizeof(cfg->tee.occlum.log_level), "%s", "info");
    snprintf(cfg->tee.occlum.temp_dir, sizeof(cfg->tee.occlum.temp_dir), "%s", "/tmp");
    cfg->tee.occlum.max_memory_mb = 1024;
    cfg->tee.occlum.max_threads = 32;
    cfg->tee.occlum.max_processes = 16;
    cfg->tee.occlum.max_execution_time_seconds = 60;

    snprintf(cfg->server.listen_host, sizeof(cfg->server.listen_host), "%s", "127.0.0.1");
    cfg->server.listen_port = 8080;
    snprintf(cfg->server.data_dir, sizeof(cfg->server.data_dir), "%s", "./ncsl-data");
    cfg->server.max_body_bytes = 2 * MIB;
    cfg->server.queue_size = 256;
    cfg->server.http_threads = 0;
    cfg->server.connection_limit = 1024;
    cfg->server.connection_timeout_s = 30;
    cfg->server.shutdown_grace_s = 30;
    cfg->server.log_level = NCSL_LOG_LEVEL_INFO;

    js_defaults(&cfg->js);

    snprintf(cfg->storage.backend, sizeof(cfg->storage.backend), "%s", "sqlite");
    cfg->storage.connections = 4;
    cfg->storage.busy_timeout_ms = 5000;

    cfg->limits.requests_per_second = 1000;
    cfg->limits.burst = 2000;
    cfg->limits.max_secrets_per_user = 100;
    cfg->limits.max_secret_bytes = 4096;
    cfg->limits.storage_quota_bytes = 10 * MIB;
    cfg->limits.max_storage_key_bytes = 512;
    cfg->limits.max_storage_value_bytes = 1 * MIB;

    cfg->fetch.allowed_host_count = 0;
    cfg->fetch.allow_private_networks = false;
    cfg->fetch.max_requests_per_call = 16;
    cfg->fetch.max_response_bytes = 8 * MIB;
    cfg->fetch.max_request_bytes = 1 * MIB;
    cfg->fetch.timeout_ms = 10000;
    cfg->fetch.max_concurrent = 256;
}

const char *ncsl_tee_type_name(ncsl_tee_type t) {
    switch (t) {
    case NCSL_TEE_AUTO:
        return "Auto";
    case NCSL_TEE_SIMULATION:
        return "Simulation";
    case NCSL_TEE_OCCLUM:
        return "Occlum";
    case NCSL_TEE_GRAMINE:
        return "Gramine";
    }
    return "Unknown";
}

static int tee_type_parse(const char *s) {
    static const ncsl_tee_type all[] = {NCSL_TEE_AUTO, NCSL_TEE_SIMULATION, NCSL_TEE_OCCLUM,
                                        NCSL_TEE_GRAMINE};
    for (size_t i = 0; i < NCSL_ARRAY_LEN(all); i++) {
        if (strcasecmp(s, ncsl_tee_type_name(all[i])) == 0) {
            return (int)all[i];
        }
    }
    return -1;
}

/* ------------------------------------------------------------------------- listen */
static bool host_name_ok(const char *h, size_t n) {
    if (n == 0 || n > 253) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)h[i];
        if (!isalnum(c) && c != '.' && c != '-' && c != '_') {
            return false;
        }
    }
    return true;
}

ncsl_status ncsl_config_set_listen(ncsl_config *cfg, const char *addr, ncsl_err *err) {
    const char *field = "Server.Listen";
    if (!addr || !*addr) {
        return ncsl_err_set(err, NCSL_E_CONFIG, field, "expected HOST:PORT, got an empty value");
    }
    const char *host = addr;
    size_t host_len = 0;
    const char *port_s = NULL;
    if (addr[0] == '[') {
        const char *close = strchr(addr, ']');
        if (!close || close[1] != ':') {
            return ncsl_err_set(err, NCSL_E_CONFIG, field,
                                "expected [IPv6]:PORT (e.g. \"[::1]:8080\")");
        }
        host = addr + 1;
        host_len = (size_t)(close - host);
        port_s = close + 2;
        for (size_t i = 0; i < host_len; i++) {
            unsigned char c = (unsigned char)host[i];
            if (!isxdigit(c) && c != ':' && c != '.') {
                return ncsl_err_set(err, NCSL_E_CONFIG, field, "invalid IPv6 address");
            }
        }
        if (host_len == 0) {
            return ncsl_err_set(err, NCSL_E_CONFIG, field, "empty IPv6 address");
        }
    } else {
        const char *colon = strrchr(addr, ':');
        if (!colon) {
            return ncsl_err_set(err, NCSL_E_CONFIG, field,
                                "expected HOST:PORT (e.g. \"127.0.0.1:8080\"), "
                                "the port is missing");
        }
        if (memchr(addr, ':', (size_t)(colon - addr))) {
            return ncsl_err_set(err, NCSL_E_CONFIG, field,
                                "IPv6 addresses need brackets: \"[::1]:8080\"");
        }
        host_len = (size_t)(colon - addr);
        port_s = colon + 1;
        if (host_len == 0) {
            return ncsl_err_set(err, NCSL_E_CONFIG, field,
                                "expected HOST:PORT, the host is missing");
        }
        if (!host_name_ok(host, host_len)) {
            return ncsl_err_set(err, NCSL_E_CONFIG, field, "invalid host name");
        }
    }
    if (host_len >= sizeof(cfg->server.listen_host)) {
        return ncsl_err_set(err, NCSL_E_CONFIG, field, "host name too long");
    }
    if (!*port_s || strlen(port_s) > 5) {
        return ncsl_err_set(err, NCSL_E_CONFIG, field, "port must be a number from 0 to 65535");
    }
    unsigned long port = 0;
    for (const char *p = port_s; *p; p++) {
        if (*p < '0' || *p > '9') {
            return ncsl_err_set(err, NCSL_E_CONFIG, field, "port must be a number from 0 to 65535");
        }
        port = port * 10 + (unsigned long)(*p - '0');
    }
    if (port > 65535) {
        return ncsl_err_set(err, NCSL_E_CONFIG, field, "port must be a number from 0 to 65535");
    }
    memcpy(cfg->server.listen_host, host, host_len);
    cfg->server.listen_host[host_len] = '\0';
    cfg->server.listen_port = (uint16_t)port;
    return NCSL_OK;
}

/* ------------------------------------------------------------------------- fetch hosts */
/* Checks one Fetch.AllowedHosts entry (the syntax src/fetch accepts) and copies it, lower case,
 * into `out`. Returns NULL, or what is wrong. */
static const char *fetch_host_check(const char *s, size_t n, char *out) {
    static const char expected[] = "expected a host name, \"*.domain\", \"*\", an IPv4 address or "
                                   "\"[IPv6]\", optionally with \":PORT\"";
    if (n == 0) {
        return "must not be empty";
    }
    if (n >= NCSL_CONFIG_FETCH_HOST_SIZE - 1 || memchr(s, '\0', n)) {
        return "is too long (or holds a NUL character)";
    }
    if (memchr(s, '/', n)) {
        return "expected a host (\"api.example.com\"), not a URL";
    }
    for (size_t i = 0; i <= n; i++) {
        out[i] = (char)tolower((unsigned char)s[i]);
    }
    const char *host = out;
    size_t hl = n;
    const char *port = NULL;
    bool any = false;
    if (out[0] == '[') {
        const char *close = strchr(out, ']');
        if (!close || close == out + 1 || (close[1] != '\0' && close[1] != ':')) {
            return "expected \"[IPv6]\" or \"[IPv6]:PORT\"";
        }
        for (const char *p = out + 1; p < close; p++) {
            if (!isxdigit((unsigned char)*p) && *p != ':' && *p != '.') {
                return "invalid IPv6 address";
            }
        }
        port = close[1] == ':' ? close + 2 : NULL;
        hl = 0;
        any = true; /* no name to check */
    } else {
        const char *colon = strrchr(out, ':');
        if (colon && memchr(out, ':', (size_t)(colon - out))) {
            return "IPv6 addresses need brackets: \"[::1]\" or \"[::1]:8080\"";
        }
        if (colon) {
            hl = (size_t)(colon - out);
            port = colon + 1;
        }
        if (hl == 1 && host[0] == '*') {
            any = true;
        } else if (hl > 2 && host[0] == '*' && host[1] == '.') {
            host += 2;
            hl -= 2;
        }
        if (!any && hl > 1 && host[hl - 1] == '.') {
            hl--; /* "example.com." */
        }
    }
    if (!any) {
        size_t label = 0;
        if (hl == 0 || hl > 253) {
            return expected;
        }
        for (size_t i = 0; i < hl; i++) {
            unsigned char c = (unsigned char)host[i];
            if (c == '.') {
                if (label == 0) {
                    return expected;
                }
                label = 0;
            } else if (c >= 0x80 || !(isalnum(c) || c == '-' || c == '_') || ++label > 63) {
                return expected;
            }
        }
        if (label == 0) {
            return expected;
        }
    }
    if (port) {
        size_t pl = strlen(port);
        if (pl == 0 || pl > 5 || strspn(port, "0123456789") != pl || strtoul(port, NULL, 10) == 0 ||
            strtoul(port, NULL, 10) > 65535) {
            return "the port must be a number from 1 to 65535";
        }
    }
    return NULL;
}

static ncsl_status load_host_list(ncsl_config *cfg, json_t *v, const char *path, ncsl_err *err) {
    if (!json_is_array(v)) {
        return ncsl_err_set(err, NCSL_E_CONFIG, path, "expected an array of strings");
    }
    if (json_array_size(v) > NCSL_CONFIG_MAX_FETCH_HOSTS) {
        return ncsl_err_set(err, NCSL_E_CONFIG, path, "at most %d entries, got %zu",
                            NCSL_CONFIG_MAX_FETCH_HOSTS, json_array_size(v));
    }
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
        char field[64]; /* ncsl_err.field: "Fetch.AllowedHosts[127]" */
        snprintf(field, sizeof(field), "%.40s[%u]", path, (unsigned)(i & 0xFFFF));
        if (!json_is_string(e)) {
            return ncsl_err_set(err, NCSL_E_CONFIG, field, "expected a string");
        }
        const char *why = fetch_host_check(json_string_value(e), json_string_length(e),
                                           cfg->fetch.allowed_hosts[i]);
        if (why) {
            cfg->fetch.allowed_host_count = 0; /* never half a list */
            return ncsl_err_set(err, NCSL_E_CONFIG, field, "%s", why);
        }
    }
    cfg->fetch.allowed_host_count = json_array_size(v);
    return NCSL_OK;
}

/* ------------------------------------------------------------------------- loading */
static void unused_add(ncsl_config *cfg, const char *path) {
    for (size_t i = 0; i < cfg->unused_count; i++) {
        if (strcmp(cfg->unused[i], path) == 0) {
            return;
        }
    }
    if (cfg->unused_count < NCSL_CONFIG_MAX_UNUSED) {
        /* key paths are short literals from the key table; %.95s says so to the compiler */
        snprintf(cfg->unused[cfg->unused_count], sizeof(cfg->unused[0]), "%.95s", path);
        cfg->unused_count++;
    }
}

static ncsl_status load_section(ncsl_config *cfg, json_t *obj, const char *prefix,
                                const key_spec *keys, size_t count, ncsl_err *err);

static ncsl_status load_value(ncsl_config *cfg, json_t *v, const char *path, const key_spec *k,
                              ncsl_err *err) {
    char *base = (char *)cfg;
    switch (k->kind) {
    case KEY_SECTION:
        if (!json_is_object(v)) {
            return ncsl_err_set(err, NCSL_E_CONFIG, path, "expected an object");
        }
        return load_section(cfg, v, path, k->sub, k->sub_count, err);
    case KEY_BOOL:
        if (!json_is_boolean(v)) {
            return ncsl_err_set(err, NCSL_E_CONFIG, path, "expected true or false");
        }
        *(bool *)(base + k->offset) = json_is_true(v);
        return NCSL_OK;
    case KEY_STRING: {
        if (!json_is_string(v)) {
            return ncsl_err_set(err, NCSL_E_CONFIG, path, "expected a string");
        }
        size_t n = json_string_length(v);
        if (n < k->min) {
            if (k->min > 1) {
                return ncsl_err_set(err, NCSL_E_CONFIG, path, "must be at least %llu bytes",
                                    (unsigned long long)k->min);
            }
            return ncsl_err_set(err, NCSL_E_CONFIG, path, "must not be empty");
        }
        if (n >= k->size || memchr(json_string_value(v), '\0', n)) {
            return ncsl_err_set(err, NCSL_E_CONFIG, path,
                                "must be at most %zu bytes without NUL characters", k->size - 1);
        }
        memcpy(base + k->offset, json_string_value(v), n + 1);
        return NCSL_OK;
    }
    case KEY_LISTEN:
        if (!json_is_string(v)) {
            return ncsl_err_set(err, NCSL_E_CONFIG, path, "expected a string \"HOST:PORT\"");
        }
        return ncsl_config_set_listen(cfg, json_string_value(v), err);
    case KEY_LOGLEVEL: {
        int lvl = json_is_string(v) ? ncsl_log_level_parse(json_string_value(v)) : -1;
        if (lvl < 0) {
            return ncsl_err_set(err, NCSL_E_CONFIG, path,
                                "expected one of \"error\", \"warn\", \"info\", \"debug\"");
        }
        *(int *)(base + k->offset) = lvl;
        return NCSL_OK;
    }
    case KEY_TEETYPE: {
        int t = json_is_string(v) ? tee_type_parse(json_string_value(v)) : -1;
        if (t < 0) {
            return ncsl_err_set(err, NCSL_E_CONFIG, path,
                                "expected one of \"Auto\", \"Simulation\", \"Occlum\", "
                                "\"Gramine\"");
        }
        *(ncsl_tee_type *)(base + k->offset) = (ncsl_tee_type)t;
        return NCSL_OK;
    }
    case KEY_BACKEND:
        if (!json_is_string(v) || strcasecmp(json_string_value(v), "sqlite") != 0) {
            return ncsl_err_set(err, NCSL_E_CONFIG, path,
                                "expected \"sqlite\" (the one storage backend of this build)");
        }
        snprintf(base + k->offset, k->size, "%s", "sqlite");
        return NCSL_OK;
    case KEY_HOSTLIST:
        return load_host_list(cfg, v, path, err);
    case KEY_ISOLATION: {
        const char *p = json_is_string(v) ? json_string_value(v) : "";
        if (strcasecmp(p, "thread") != 0 && strcasecmp(p, "process") != 0) {
            return ncsl_err_set(err, NCSL_E_CONFIG, path,
                                "expected \"thread\" (worker threads, the default) or "
                                "\"process\" (worker processes)");
        }
        *(ncsl_isolation *)(base + k->offset) =
            strcasecmp(p, "process") == 0 ? NCSL_ISOLATION_PROCESS : NCSL_ISOLATION_THREAD;
        return NCSL_OK;
    }
    case KEY_SEALPOLICY: {
        const char *p = json_is_string(v) ? json_string_value(v) : "";
        if (strcasecmp(p, "MRSIGNER") != 0 && strcasecmp(p, "MRENCLAVE") != 0) {
            return ncsl_err_set(err, NCSL_E_CONFIG, path,
                                "expected \"MRSIGNER\" (survives enclave upgrades) or "
                                "\"MRENCLAVE\" (this exact build)");
        }
        *(bool *)(base + k->offset) = strcasecmp(p, "MRENCLAVE") == 0;
        return NCSL_OK;
    }
    case KEY_UINT:
    case KEY_U32:
    case KEY_SIZE: {
        const char *what = k->min > 0 ? "a positive integer" : "a non-negative integer";
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            (k->min > 0 && json_integer_value(v) == 0)) {
            return ncsl_err_set(err, NCSL_E_CONFIG, path, "expected %s", what);
        }
        uint64_t n = (uint64_t)json_integer_value(v);
        if (n < k->min || n > k->max) {
            return ncsl_err_set(err, NCSL_E_CONFIG, path, "must be between %llu and %llu, got %llu",
                                (unsigned long long)k->min, (unsigned long long)k->max,
                                (unsigned long long)n);
        }
        if (k->kind == KEY_UINT) {
            *(unsigned *)(base + k->offset) = (unsigned)n;
        } else if (k->kind == KEY_U32) {
            *(uint32_t *)(base + k->offset) = (uint32_t)n;
        } else {
            *(size_t *)(base + k->offset) = (size_t)(n * k->scale);
        }
        return NCSL_OK;
    }
    }
    return ncsl_err_set(err, NCSL_E_INTERNAL, path, "unhandled key kind");
}

static ncsl_status load_section(ncsl_config *cfg, json_t *obj, const char *prefix,
                                const key_spec *keys, size_t count, ncsl_err *err) {
    const char *name = NULL;
    json_t *v = NULL;
    json_object_foreach(obj, name, v) {
        char path[128];
        snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", name);
        const key_spec *k = NULL;
        for (size_t i = 0; i < count; i++) {
            if (strcmp(keys[i].name, name) == 0) {
                k = &keys[i];
                break;
            }
        }
        if (!k) {
            return ncsl_err_set(err, NCSL_E_CONFIG, path, "unknown setting");
        }
        ncsl_status st = load_value(cfg, v, path, k, err);
        if (st != NCSL_OK) {
            return st;
        }
        if (k->unused) {
            unused_add(cfg, path);
        }
        cfg->set_mask |= k->set_bit;
    }
    return NCSL_OK;
}

ncsl_status ncsl_config_load_json(ncsl_config *cfg, const char *json, size_t len, ncsl_err *err) {
    ncsl_status st = NCSL_OK;
    json_error_t jerr;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        st = ncsl_err_set(err, NCSL_E_CONFIG, "", "invalid JSON at line %d, column %d: %s",
                          jerr.line, jerr.column, jerr.text);
        goto out;
    }
    if (!json_is_object(root)) {
        st = ncsl_err_set(err, NCSL_E_CONFIG, "", "the configuration must be a JSON object");
        goto out;
    }
    st = load_section(cfg, root, "", g_top_keys, NCSL_ARRAY_LEN(g_top_keys), err);
out:
    json_decref(root);
    return st;
}

ncsl_status ncsl_config_load_file(ncsl_config *cfg, const char *path, ncsl_err *err) {
    ncsl_status st = NCSL_OK;
    char *text = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        st = ncsl_err_set(err, NCSL_E_CONFIG, "", "cannot open %s: %s", path, strerror(errno));
        goto out;
    }
    /* A configuration file is small; refuse anything huge rather than buffer it. */
    enum { MAX_CONFIG_BYTES = 1024 * 1024 };
    text = malloc(MAX_CONFIG_BYTES + 1);
    if (!text) {
        st = ncsl_err_set(err, NCSL_E_NOMEM, "", "out of memory reading %s", path);
        goto out;
    }
    size_t n = fread(text, 1, MAX_CONFIG_BYTES + 1, f);
    if (ferror(f)) {
        st = ncsl_err_set(err, NCSL_E_CONFIG, "", "cannot read %s", path);
        goto out;
    }
    if (n > MAX_CONFIG_BYTES) {
        st = ncsl_err_set(err, NCSL_E_CONFIG, "", "%s is larger than 1 MiB", path);
        goto out;
    }
    st = ncsl_config_load_json(cfg, text, n, err);
out:
    free(text);
    if (f) {
        fclose(f);
    }
    return st;
}

/* ------------------------------------------------------------------------- env, finalize */
void ncsl_config_apply_env(ncsl_config *cfg, const char *(*getenv_fn)(const char *name)) {
    const char *v = getenv_fn ? getenv_fn("OCCLUM_SIMULATION") : getenv("OCCLUM_SIMULATION");
    if (v && (strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0 ||
              strcasecmp(v, "on") == 0)) {
        cfg->simulation_forced_by_env = true;
    }
}

static void note_add(ncsl_config *cfg, const char *fmt, ...) NCSL_PRINTF(2, 3);
static void note_add(ncsl_config *cfg, const char *fmt, ...) {
    if (cfg->note_count >= NCSL_CONFIG_MAX_NOTES) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cfg->notes[cfg->note_count], sizeof(cfg->notes[0]), fmt, ap);
    va_end(ap);
    cfg->note_count++;
}

static unsigned min_u(unsigned a, unsigned b) {
    return a < b ? a : b;
}

/* Isolation "process": MaxProcesses worker processes, each watched by one daemon thread; those
 * threads and the HTTP pool share MaxThreads (the processes' own threads are Occlum's
 * max_num_of_threads business, docs/occlum.md). */
/* The derived size of the HTTP thread pool: a quarter of the CPUs, at least one. An HTTP thread
 * spends about 25 us of a request's ~130 us of CPU (the JS call and the receipt run on the
 * workers), and more HTTP threads than that only contend with the workers: on 2 CPUs one HTTP
 * thread served 12% more requests at -t2 -c16 than two, with 11% less CPU per request. */
static unsigned http_threads_for(unsigned cpus) {
    return cpus / 4 > 1 ? cpus / 4 : 1;
}

static ncsl_status finalize_processes(ncsl_config *cfg, unsigned budget, unsigned cpus,
                                      ncsl_err *err) {
    unsigned p = cfg->tee.occlum.max_processes;
    bool h_set = (cfg->set_mask & NCSL_CONFIG_SET_HTTP_THREADS) && cfg->server.http_threads > 0;
    unsigned h = cfg->server.http_threads;
    if (p + 1 > budget) {
        return ncsl_err_set(err, NCSL_E_CONFIG, "Tee.Occlum.MaxProcesses",
                            "%u worker processes (one daemon thread each) leave no room for an "
                            "HTTP thread within Tee.Occlum.MaxThreads (%u)",
                            p, cfg->tee.occlum.max_threads);
    }
    if (h_set && h + p > budget) {
        return ncsl_err_set(err, NCSL_E_CONFIG, "Tee.Occlum.MaxThreads",
                            "Server.HttpThreads (%u) + Tee.Occlum.MaxProcesses (%u) + 1 main "
                            "thread = %u exceeds Tee.Occlum.MaxThreads (%u)",
                            h, p, h + p + 1, cfg->tee.occlum.max_threads);
    }
    if (!h_set) {
        h = min_u(http_threads_for(cpus), budget - p);
    }
    if ((cfg->set_mask & NCSL_CONFIG_SET_WORKERS) && cfg->js.workers > 0 && cfg->js.workers != p) {
        note_add(cfg,
                 "JavaScript.Workers (%u) is not used with JavaScript.Isolation \"process\": "
                 "Tee.Occlum.MaxProcesses (%u) worker processes run",
                 cfg->js.workers, p);
    }
    cfg->server.http_threads = h;
    cfg->js.workers = p;
    cfg->js.max_workers = p;
    cfg->js.queue_size = cfg->server.queue_size;
    return NCSL_OK;
}

ncsl_status ncsl_config_finalize(ncsl_config *cfg, ncsl_err *err) {
    cfg->note_count = 0;

    /* Deadline: the enclave's own execution limit bounds every call. */
    uint64_t max_ms = (uint64_t)cfg->tee.occlum.max_execution_time_seconds * 1000u;
    if (cfg->js.timeout_ms > max_ms) {
        if (cfg->set_mask & NCSL_CONFIG_SET_TIMEOUT) {
            return ncsl_err_set(err, NCSL_E_CONFIG, "JavaScript.TimeoutMs",
                                "%u ms exceeds Tee.Occlum.MaxExecutionTimeSeconds (%u s)",
                                (unsigned)cfg->js.timeout_ms,
                                cfg->tee.occlum.max_execution_time_seconds);
        }
        note_add(cfg,
                 "JavaScript.TimeoutMs lowered from %u to %llu ms to fit "
                 "Tee.Occlum.MaxExecutionTimeSeconds",
                 (unsigned)cfg->js.timeout_ms, (unsigned long long)max_ms);
        cfg->js.timeout_ms = (uint32_t)max_ms;
    }

    /* Memory: one call's heap must fit the enclave's memory. */
    if (cfg->js.memory_limit_bytes > (size_t)cfg->tee.occlum.max_memory_mb * MIB) {
        return ncsl_err_set(err, NCSL_E_CONFIG, "JavaScript.MaxMemoryMB",
                            "%zu MB exceeds Tee.Occlum.MaxMemoryMB (%u MB)",
                            cfg->js.memory_limit_bytes / MIB, cfg->tee.occlum.max_memory_mb);
    }

    /* Threads: HTTP pool + JS workers + the main thread must fit MaxThreads. */
    unsigned budget = cfg->tee.occlum.max_threads - 1; /* max_threads >= 3 */
    unsigned cpus = ncsl_cpu_count();
    if (cfg->js.isolation == NCSL_ISOLATION_PROCESS) {
        return finalize_processes(cfg, budget, cpus, err);
    }
    bool h_set = (cfg->set_mask & NCSL_CONFIG_SET_HTTP_THREADS) && cfg->server.http_threads > 0;
    bool w_set = (cfg->set_mask & NCSL_CONFIG_SET_WORKERS) && cfg->js.workers > 0;
    unsigned h = cfg->server.http_threads;
    unsigned w = cfg->js.workers;
    if (h_set && w_set) {
        if (h + w > budget) {
            return ncsl_err_set(err, NCSL_E_CONFIG, "Tee.Occlum.MaxThreads",
                                "Server.HttpThreads (%u) + JavaScript.Workers (%u) + 1 main "
                                "thread = %u exceeds Tee.Occlum.MaxThreads (%u)",
                                h, w, h + w + 1, cfg->tee.occlum.max_threads);
        }
    } else if (h_set) {
        if (h + 1 > budget) {
            return ncsl_err_set(err, NCSL_E_CONFIG, "Server.HttpThreads",
                                "%u HTTP threads leave no room for a JavaScript worker within "
                                "Tee.Occlum.MaxThreads (%u)",
                                h, cfg->tee.occlum.max_threads);
        }
        w = min_u(cpus, budget - h);
    } else if (w_set) {
        if (w + 1 > budget) {
            return ncsl_err_set(err, NCSL_E_CONFIG, "JavaScript.Workers",
                                "%u workers leave no room for an HTTP thread within "
                                "Tee.Occlum.MaxThreads (%u)",
                                w, cfg->tee.occlum.max_threads);
        }
        h = min_u(http_threads_for(cpus), budget - w);
    } else {
        w = min_u(cpus, (budget + 1) / 2);
        h = min_u(http_threads_for(cpus), budget - w);
    }
    if (!h_set && !w_set && (w < cpus || h < http_threads_for(cpus))) {
        note_add(cfg,
                 "HTTP threads (%u) and JavaScript workers (%u) sized to fit "
                 "Tee.Occlum.MaxThreads (%u) on %u CPUs",
                 h, w, cfg->tee.occlum.max_threads, cpus);
    }
    cfg->server.http_threads = h;
    cfg->js.workers = w;
    /* workers lent to calls that wait for fetch or timers: what MaxThreads leaves, less the
     * fetch I/O thread, at most 64 */
    cfg->js.max_workers = min_u(64, budget - h > w + 1 ? budget - h - 1 : w);
    cfg->js.queue_size = cfg->server.queue_size;
    return NCSL_OK;
}
