/*
 * ncsld: the NCSL HTTP daemon. Configuration: defaults < --config FILE < OCCLUM_SIMULATION <
 * flags. SIGINT/SIGTERM are blocked in every thread and taken by the main thread with
 * sigtimedwait (no handler, no global flag), which then drains: stop accepting, wait for
 * in-flight requests up to Server.ShutdownGraceSeconds (a second signal cuts it short), answer
 * what is left with 503, stop MHD, stop the engine. Between signals the main thread closes the
 * connections of slow clients (ncsl_http_server_reap, every 100 ms).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "crypto/crypto.h"
#include "fetch/fetch.h"
#include "http.h"
#include "js/js.h"
#include "keys/keys.h"
#include "receipt/receipt.h"
#include "store/store.h"
#include "tee/tee.h"

#define EXIT_USAGE 2

static void usage(FILE *f) {
    fprintf(f,
            "usage: ncsld [options]\n"
            "\n"
            "Serves NCSL's HTTP API: POST /api/v1/functions/execute-javascript, GET /healthz,\n"
            "GET /readyz, GET /metrics, GET /api/v1/tee-info (every route: docs/openapi.json,\n"
            "also served at GET /api/v1/openapi.json; operations: docs/operations.md).\n"
            "\n"
            "options:\n"
            "  --config FILE        JSON configuration file (sections Tee, Server, JavaScript,\n"
            "                       Storage, Limits, Fetch; see docs/configuration.md)\n"
            "  --data-dir DIR       data directory (Server.DataDir; default ./ncsl-data)\n"
            "  --listen ADDR:PORT   listen address (Server.Listen; default 127.0.0.1:8080;\n"
            "                       port 0 picks a free port, written to DIR/ncsld.url)\n"
            "  --log-level LEVEL    error, warn, info or debug (Server.LogLevel; default info)\n"
            "  --version            print the NCSL and QuickJS-ng versions and exit\n"
            "  --help               print this help and exit\n"
            "\n"
            "environment:\n"
            "  OCCLUM_SIMULATION=1  force the simulation TEE\n"
            "  NCSL_ADMIN_KEY=KEY   the admin API key (else Server.AdminKey, else DIR/admin.key,\n"
            "                       made and printed once on the first start)\n"
            "\n"
            "Flags override the file, the file overrides the defaults. Exit status: 0 after a\n"
            "clean shutdown (SIGINT/SIGTERM), 1 on a runtime failure, 2 on bad flags or config.\n");
}

static int fail_config(const char *what, const ncsl_err *err) {
    if (err->field[0]) {
        fprintf(stderr, "ncsld: %s: %s: %s\n", what, err->field, err->message);
    } else {
        fprintf(stderr, "ncsld: %s: %s\n", what, err->message);
    }
    return EXIT_USAGE;
}

/* Writes <data dir>/ncsld.url atomically (tmp + rename), so a reader never sees half a URL. */
static ncsl_status write_url_file(const char *data_dir, const char *url, ncsl_err *err) {
    char path[NCSL_CONFIG_PATH_MAX + 32];
    char tmp[NCSL_CONFIG_PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/ncsld.url", data_dir);
    snprintf(tmp, sizeof(tmp), "%s/.ncsld.url.tmp", data_dir);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        return ncsl_err_set(err, NCSL_E_IO, "Server.DataDir", "cannot write %s: %s", tmp,
                            strerror(errno));
    }
    size_t len = strlen(url);
    ssize_t w = write(fd, url, len);
    close(fd);
    if (w != (ssize_t)len || rename(tmp, path) != 0) {
        unlink(tmp);
        return ncsl_err_set(err, NCSL_E_IO, "Server.DataDir", "cannot write %s", path);
    }
    return NCSL_OK;
}

static void remove_url_file(const char *data_dir) {
    char path[NCSL_CONFIG_PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/ncsld.url", data_dir);
    unlink(path);
}

static void log_config(const ncsl_config *cfg) {
    const ncsl_config_server *s = &cfg->server;
    const ncsl_engine_options *j = &cfg->js;
    NCSL_LOG_INFO(
        "config",
        "Tee.Type=%s%s listen=%s:%u dataDir=%s maxBodyBytes=%zu queueSize=%u "
        "httpThreads=%u connectionLimit=%u connectionTimeoutSeconds=%u "
        "shutdownGraceSeconds=%u",
        ncsl_tee_type_name(cfg->tee.type),
        cfg->tee.simulation_mode || cfg->simulation_forced_by_env
            ? (cfg->simulation_forced_by_env ? " (simulation forced by OCCLUM_SIMULATION)"
                                             : " (simulation forced by Tee.SimulationMode)")
            : "",
        s->listen_host, (unsigned)s->listen_port, s->data_dir, s->max_body_bytes, s->queue_size,
        s->http_threads, s->connection_limit, s->connection_timeout_s, s->shutdown_grace_s);
    NCSL_LOG_INFO("config",
                  "javascript workers=%u memoryLimitBytes=%zu timeoutMs=%u stackBytes=%zu "
                  "maxOutputBytes=%zu maxLogBytes=%zu maxCodeBytes=%zu maxInputBytes=%zu",
                  j->workers, j->memory_limit_bytes, (unsigned)j->timeout_ms, j->stack_size_bytes,
                  j->max_output_bytes, j->max_log_bytes, j->max_code_bytes, j->max_input_bytes);
    const ncsl_config_fetch *fe = &cfg->fetch;
    char hosts[512] = "";
    for (size_t i = 0, n = 0; i < fe->allowed_host_count && n + 1 < sizeof(hosts); i++) {
        int w = snprintf(hosts + n, sizeof(hosts) - n, "%s%s", i ? "," : "", fe->allowed_hosts[i]);
        n += w > 0 ? (size_t)w : 0;
    }
    NCSL_LOG_INFO("config",
                  "fetch %s allowedHosts=[%s] allowPrivateNetworks=%s maxRequestsPerCall=%u "
                  "maxResponseBytes=%zu maxRequestBytes=%zu timeoutMs=%u maxConcurrent=%u",
                  fe->allowed_host_count ? "on" : "off", hosts,
                  fe->allow_private_networks ? "true" : "false", fe->max_requests_per_call,
                  fe->max_response_bytes, fe->max_request_bytes, (unsigned)fe->timeout_ms,
                  fe->max_concurrent);
    for (size_t i = 0; i < cfg->note_count; i++) {
        NCSL_LOG_WARN("config", "%s", cfg->notes[i]);
    }
    for (size_t i = 0; i < cfg->unused_count; i++) {
        NCSL_LOG_WARN("config", "setting %s is accepted but not used: %s", cfg->unused[i],
                      ncsl_config_unused_reason(cfg->unused[i]));
    }
}

/* Where the admin key came from; a key made now is printed once, to standard output only
 * (never to the log: the log file outlives the terminal). */
static void log_admin_key(const ncsl_config *cfg, ncsl_http_admin_source source, const char *key) {
    switch (source) {
    case NCSL_ADMIN_KEY_FROM_ENV:
        NCSL_LOG_INFO("main", "admin key from NCSL_ADMIN_KEY");
        break;
    case NCSL_ADMIN_KEY_FROM_CONFIG:
        NCSL_LOG_INFO("main", "admin key from Server.AdminKey");
        break;
    case NCSL_ADMIN_KEY_FROM_FILE:
        NCSL_LOG_INFO("main", "admin key from %s/%s", cfg->server.data_dir,
                      NCSL_HTTP_ADMIN_KEY_FILE);
        break;
    case NCSL_ADMIN_KEY_GENERATED:
        NCSL_LOG_WARN("main", "created an admin key in %s/%s (mode 0600); it is printed once",
                      cfg->server.data_dir, NCSL_HTTP_ADMIN_KEY_FILE);
        printf("\n  NCSL admin key (shown once; also in %s/%s):\n\n    %s\n\n",
               cfg->server.data_dir, NCSL_HTTP_ADMIN_KEY_FILE, key);
        fflush(stdout);
        break;
    }
}

/* The public half of the identity: what clients pin and what a Neo contract checks. */
static void log_identity(const ncsl_keys *keys) {
    uint8_t pub[NCSL_KEYS_P256_PUB_SIZE];
    char hex[2 * NCSL_KEYS_P256_PUB_SIZE + 1] = "";
    char address[NCSL_NEO_ADDRESS_SIZE] = "";
    ncsl_keys_signing_pub_compressed(keys, pub);
    if (ncsl_crypto_hex_encode(pub, sizeof(pub), hex, sizeof(hex), NULL) != NCSL_OK) {
        hex[0] = '\0';
    }
    if (ncsl_receipt_neo_address(pub, address, NULL) != NCSL_OK) {
        snprintf(address, sizeof(address), "(unavailable)");
    }
    NCSL_LOG_INFO("main", "enclave identity %s: signingKey %s, Neo address %s",
                  ncsl_keys_created(keys) ? "created" : "loaded", hex, address);
}

/* Descriptors the daemon needs besides its connections: stdio, the log, the listening socket,
 * MHD's epoll and wake-up descriptors (per thread), the TEE's devices and files, the store. */
static rlim_t reserved_descriptors(const ncsl_config *cfg) {
    return 64 + 4 * (rlim_t)cfg->server.http_threads;
}

/* Every connection holds a descriptor. With a soft RLIMIT_NOFILE below what ConnectionLimit
 * needs (the common soft limit of 1024 is below the default ConnectionLimit, 1024, plus the
 * reserve), idle or slow clients exhaust the descriptors before the connection limit: accept()
 * fails with EMFILE, every other client waits, and the daemon's own open() calls fail. So raise
 * the soft limit (up to the hard one) and, if even that is too low, lower the connection limit
 * to what fits: then MHD stops accepting before the descriptors run out. */
static void fit_descriptor_limit(ncsl_config *cfg) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        return;
    }
    rlim_t reserve = reserved_descriptors(cfg);
    rlim_t want = (rlim_t)cfg->server.connection_limit + reserve;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
        rlim_t before = rl.rlim_cur;
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want ? want : rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            rl.rlim_cur = before;
        }
        if (rl.rlim_cur != before) {
            NCSL_LOG_INFO("main", "open-file limit raised from %llu to %llu for %u connections",
                          (unsigned long long)before, (unsigned long long)rl.rlim_cur,
                          cfg->server.connection_limit);
        }
    }
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
        unsigned fit = rl.rlim_cur > reserve + 1 ? (unsigned)(rl.rlim_cur - reserve) : 1;
        NCSL_LOG_WARN("main",
                      "Server.ConnectionLimit lowered from %u to %u: the open-file limit is %llu "
                      "(raise it, e.g. LimitNOFILE, to allow more)",
                      cfg->server.connection_limit, fit, (unsigned long long)rl.rlim_cur);
        cfg->server.connection_limit = fit;
    }
}

/* Waits up to `ms` for SIGINT/SIGTERM. Returns the signal or 0 on timeout. */
static int wait_signal(const sigset_t *set, long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    for (;;) {
        int sig = sigtimedwait(set, NULL, &ts);
        if (sig > 0) {
            return sig;
        }
        if (errno == EINTR) {
            continue;
        }
        return 0;
    }
}

int main(int argc, char **argv) {
    /* A worker process of the engine's process isolation (ncsl.h), started by ncsld itself. */
    if (argc > 1 && strcmp(argv[1], NCSL_ENGINE_WORKER_FLAG) == 0) {
        return ncsl_engine_worker_main(argc, argv);
    }
    int rc = 0;
    ncsl_engine *engine = NULL;
    ncsl_tee *tee = NULL;
    ncsl_keys *keys = NULL;
    ncsl_store *store = NULL;
    char admin_key[NCSL_HTTP_ADMIN_KEY_SIZE] = "";
    ncsl_http_server *srv = NULL;
    bool log_open = false;
    bool url_written = false;
    ncsl_err err;
    ncsl_err_clear(&err);
    ncsl_config cfg;
    ncsl_config_defaults(&cfg);

    enum { OPT_CONFIG = 256, OPT_DATA_DIR, OPT_LISTEN, OPT_LOG_LEVEL, OPT_VERSION, OPT_HELP };
    static const struct option opts[] = {
        {"config", required_argument, NULL, OPT_CONFIG},
        {"data-dir", required_argument, NULL, OPT_DATA_DIR},
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
        {"version", no_argument, NULL, OPT_VERSION},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    const char *config_path = NULL;
    const char *data_dir = NULL;
    const char *listen = NULL;
    const char *log_level = NULL;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (c) {
        case OPT_CONFIG:
            config_path = optarg;
            break;
        case OPT_DATA_DIR:
            data_dir = optarg;
            break;
        case OPT_LISTEN:
            listen = optarg;
            break;
        case OPT_LOG_LEVEL:
            log_level = optarg;
            break;
        case OPT_VERSION:
            printf("ncsld %s (QuickJS-ng %s)\n", ncsl_version(), ncsl_quickjs_version());
            return 0;
        case OPT_HELP:
            usage(stdout);
            return 0;
        case ':':
            fprintf(stderr, "ncsld: option %s needs a value; see ncsld --help\n", argv[optind - 1]);
            return EXIT_USAGE;
        default:
            fprintf(stderr, "ncsld: unknown option %s; see ncsld --help\n", argv[optind - 1]);
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ncsld: unexpected argument %s; see ncsld --help\n", argv[optind]);
        return EXIT_USAGE;
    }

    if (config_path && ncsl_config_load_file(&cfg, config_path, &err) != NCSL_OK) {
        char what[NCSL_CONFIG_PATH_MAX + 16];
        snprintf(what, sizeof(what), "config %s", config_path);
        return fail_config(what, &err);
    }
    ncsl_config_apply_env(&cfg, NULL);
    if (data_dir) {
        if (!*data_dir || strlen(data_dir) >= sizeof(cfg.server.data_dir)) {
            fprintf(stderr, "ncsld: --data-dir: expected a directory path\n");
            return EXIT_USAGE;
        }
        snprintf(cfg.server.data_dir, sizeof(cfg.server.data_dir), "%s", data_dir);
    }
    if (listen && ncsl_config_set_listen(&cfg, listen, &err) != NCSL_OK) {
        return fail_config("--listen", &err);
    }
    if (log_level) {
        int lvl = ncsl_log_level_parse(log_level);
        if (lvl < 0) {
            fprintf(stderr, "ncsld: --log-level: expected error, warn, info or debug, got %s\n",
                    log_level);
            return EXIT_USAGE;
        }
        cfg.server.log_level = lvl;
    }
    if (ncsl_config_finalize(&cfg, &err) != NCSL_OK) {
        return fail_config("config", &err);
    }

    ncsl_log_set_level((ncsl_log_level)cfg.server.log_level);
    if (ncsl_http_mkdirs(cfg.server.data_dir, &err) != NCSL_OK ||
        ncsl_http_log_open(cfg.server.data_dir, &err) != NCSL_OK) {
        return fail_config("data dir", &err);
    }
    log_open = true;
    remove_url_file(cfg.server.data_dir); /* a stale URL must never be read as ours */

    /* Every thread created from here inherits the blocked set; only sigtimedwait takes them. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    NCSL_LOG_INFO("main", "ncsld %s starting (QuickJS-ng %s, pid %ld)", ncsl_version(),
                  ncsl_quickjs_version(), (long)getpid());
    log_config(&cfg);

    ncsl_tee_options tee_opts;
    ncsl_tee_options_from_config(&tee_opts, &cfg);
    if (ncsl_tee_open(&tee_opts, &tee, &err) != NCSL_OK) {
        NCSL_LOG_ERROR("main", "cannot open the TEE: %s", err.message);
        fprintf(stderr, "ncsld: cannot open the TEE: %s\n", err.message);
        rc = 1;
        goto out;
    }
    if (ncsl_tee_get_kind(tee) == NCSL_TEE_KIND_SIMULATION) {
        NCSL_LOG_WARN("main",
                      "running in SIMULATION mode (%s): no hardware protection; every "
                      "proof says teeType \"simulation\"",
                      ncsl_tee_reason(tee));
    }

    /* MRSIGNER: the identity survives rebuilds and upgrades signed by the same signer (on the
     * simulation TEE: the same installation), so receipts stay attributable across versions. */
    ncsl_keys_options key_opts;
    ncsl_keys_options_default(&key_opts);
    key_opts.policy = NCSL_SEAL_POLICY_MRSIGNER;
    if (ncsl_keys_load_or_create(tee, cfg.server.data_dir, &key_opts, &keys, &err) != NCSL_OK) {
        NCSL_LOG_ERROR("main", "cannot load the enclave identity keys: %s", err.message);
        fprintf(stderr, "ncsld: cannot load the enclave identity keys: %s\n", err.message);
        rc = 1;
        goto out;
    }
    log_identity(keys);
    ncsl_js_set_identity_keys(keys); /* Neo.keys derives from them (js.h) */

    ncsl_store_options store_opts;
    ncsl_store_options_default(&store_opts);
    store_opts.backend = cfg.storage.backend;
    store_opts.data_dir = cfg.server.data_dir;
    store_opts.policy =
        cfg.storage.seal_mrenclave ? NCSL_SEAL_POLICY_MRENCLAVE : NCSL_SEAL_POLICY_MRSIGNER;
    store_opts.connections = cfg.storage.connections;
    store_opts.busy_timeout_ms = cfg.storage.busy_timeout_ms;
    if (ncsl_store_open(tee, &store_opts, &store, &err) != NCSL_OK) {
        NCSL_LOG_ERROR("main", "cannot open the store: %s", err.message);
        fprintf(stderr, "ncsld: cannot open the store: %s\n", err.message);
        rc = 1;
        goto out;
    }
    NCSL_LOG_INFO("main", "store %s at %s (schema %u, %s)%s", ncsl_store_backend(store),
                  ncsl_store_location(store), ncsl_store_schema_version(store),
                  ncsl_store_policy(store) == NCSL_SEAL_POLICY_MRENCLAVE ? "MRENCLAVE" : "MRSIGNER",
                  ncsl_store_created(store) ? " created" : "");

    ncsl_http_admin_source admin_source = 0;
    if (ncsl_http_admin_key_load(&cfg, getenv("NCSL_ADMIN_KEY"), admin_key, &admin_source, &err) !=
        NCSL_OK) {
        NCSL_LOG_ERROR("main", "cannot set up the admin key: %s: %s", err.field, err.message);
        fprintf(stderr, "ncsld: admin key: %s: %s\n", err.field, err.message);
        rc = admin_source == NCSL_ADMIN_KEY_GENERATED ? 1 : EXIT_USAGE;
        goto out;
    }
    log_admin_key(&cfg, admin_source, admin_key);

    if (ncsl_fetch_configure_from_config(&cfg, &err) != NCSL_OK) {
        NCSL_LOG_ERROR("main", "cannot configure fetch: %s: %s", err.field, err.message);
        fprintf(stderr, "ncsld: %s: %s\n", err.field, err.message);
        rc = EXIT_USAGE;
        goto out;
    }
    if (ncsl_engine_create(&cfg.js, &engine, &err) != NCSL_OK) {
        NCSL_LOG_ERROR("main", "cannot start the engine: %s%s%s", err.field,
                       err.field[0] ? ": " : "", err.message);
        rc = 1;
        goto out;
    }
    fit_descriptor_limit(&cfg);
    ncsl_http_services services = {
        .tee = tee, .keys = keys, .store = store, .admin_key = admin_key};
    ncsl_status created = ncsl_http_server_create(&cfg, engine, &services, &srv, &err);
    ncsl_wipe(admin_key, sizeof(admin_key)); /* the server keeps only its hash */
    ncsl_wipe(cfg.server.admin_key, sizeof(cfg.server.admin_key));
    if (created != NCSL_OK || ncsl_http_server_start(srv, &err) != NCSL_OK) {
        NCSL_LOG_ERROR("main", "cannot start the HTTP server: %s%s%s", err.field,
                       err.field[0] ? ": " : "", err.message);
        fprintf(stderr, "ncsld: %s: %s\n", err.field[0] ? err.field : "listen", err.message);
        rc = 1;
        goto out;
    }
    if (write_url_file(cfg.server.data_dir, ncsl_http_server_url(srv), &err) != NCSL_OK) {
        NCSL_LOG_ERROR("main", "%s", err.message);
        rc = 1;
        goto out;
    }
    url_written = true;
    NCSL_LOG_INFO("main", "listening on %s (port %u)", ncsl_http_server_url(srv),
                  (unsigned)ncsl_http_server_port(srv));

    /* The main thread also closes slow connections (see ncsl_http_server_reap). */
    int sig = 0;
    while (sig == 0) {
        sig = wait_signal(&sigs, 100);
        ncsl_http_server_reap(srv);
        ncsl_http_log_flush(); /* info lines are held at most this long (logfile.c) */
    }
    NCSL_LOG_INFO("main", "%s received: draining (grace %u s)",
                  sig == SIGINT ? "SIGINT" : "SIGTERM", cfg.server.shutdown_grace_s);
    ncsl_http_server_quiesce(srv);
    uint64_t deadline = ncsl_now_us() + (uint64_t)cfg.server.shutdown_grace_s * 1000000u;
    bool forced = false;
    while (ncsl_http_server_active(srv) > 0) {
        if (ncsl_now_us() >= deadline || wait_signal(&sigs, 50) != 0) {
            forced = true;
            break;
        }
        ncsl_http_server_reap(srv);
        ncsl_http_log_flush();
    }
    if (forced) {
        NCSL_LOG_WARN("main", "shutdown grace over with %u requests in flight: answering 503",
                      ncsl_http_server_active(srv));
        ncsl_http_server_abort_pending(srv);
        /* Give MHD a moment to send those answers before it closes the sockets. */
        uint64_t flush_deadline = ncsl_now_us() + 2000000u;
        while (ncsl_http_server_active(srv) > 0 && ncsl_now_us() < flush_deadline) {
            struct timespec ts = {0, 20 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    NCSL_LOG_INFO("main", "stopping");
out:
    ncsl_http_server_stop(srv);
    ncsl_engine_destroy(engine); /* after MHD: late callbacks still find the server */
    ncsl_fetch_shutdown();       /* after the engine: no call fetches any more */
    ncsl_http_server_destroy(srv);
    ncsl_store_close(store); /* after the engine: no call's storage hooks run any more */
    ncsl_js_set_identity_keys(NULL);
    ncsl_keys_destroy(keys); /* after the server and the engine: nothing signs any more */
    ncsl_tee_close(tee);
    if (url_written) {
        remove_url_file(cfg.server.data_dir);
    }
    if (log_open) {
        NCSL_LOG_INFO("main", "stopped (exit %d)", rc);
        ncsl_http_log_close();
    }
    return rc;
}
