/* Configuration: defaults, the strict JSON loader, environment and cross-field rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/config.h"

static ncsl_status load(ncsl_config *cfg, const char *json, ncsl_err *err) {
    return ncsl_config_load_json(cfg, json, strlen(json), err);
}

static void test_defaults(void **state) {
    (void)state;
    ncsl_config cfg;
    ncsl_config_defaults(&cfg);
    assert_string_equal(cfg.server.listen_host, "127.0.0.1");
    assert_int_equal(cfg.server.listen_port, 8080);
    assert_string_equal(cfg.server.data_dir, "./ncsl-data");
    assert_int_equal(cfg.server.max_body_bytes, 2 * 1024 * 1024);
    assert_int_equal(cfg.server.queue_size, 256);
    assert_int_equal(cfg.server.http_threads, 0);
    assert_int_equal(cfg.server.connection_limit, 1024);
    assert_int_equal(cfg.server.connection_timeout_s, 30);
    assert_int_equal(cfg.server.shutdown_grace_s, 30);
    assert_int_equal(cfg.server.log_level, NCSL_LOG_LEVEL_INFO);
    assert_int_equal(cfg.js.memory_limit_bytes, 512u * 1024 * 1024);
    assert_int_equal(cfg.js.timeout_ms, 5000);
    assert_int_equal(cfg.js.stack_size_bytes, 1024 * 1024);
    assert_int_equal(cfg.js.workers, 0);
    assert_int_equal(cfg.tee.type, NCSL_TEE_AUTO);
    assert_false(cfg.tee.simulation_mode);
    assert_false(cfg.tee.debug);
    assert_string_equal(cfg.tee.occlum.instance_dir, "./occlum_instance");
    assert_string_equal(cfg.tee.occlum.log_level, "info");
    assert_string_equal(cfg.tee.occlum.node_js_path, "");
    assert_string_equal(cfg.tee.occlum.temp_dir, "/tmp");
    assert_false(cfg.tee.occlum.enable_debug_mode);
    assert_int_equal(cfg.tee.occlum.max_memory_mb, 1024);
    assert_int_equal(cfg.tee.occlum.max_threads, 32);
    assert_int_equal(cfg.tee.occlum.max_processes, 16);
    assert_int_equal(cfg.tee.occlum.max_execution_time_seconds, 60);
    assert_int_equal(cfg.unused_count, 0);

    ncsl_err err;
    assert_int_equal(ncsl_config_finalize(&cfg, &err), NCSL_OK);
    assert_int_equal(cfg.tee.type, NCSL_TEE_AUTO);
    assert_true(cfg.server.http_threads >= 1);
    assert_true(cfg.js.workers >= 1);
    assert_true(cfg.server.http_threads + cfg.js.workers + 1 <= 32);
    assert_int_equal(cfg.js.queue_size, 256);
}

static const char g_seed_tee[] = "{\n"
                                 "  \"Tee\": {\n"
                                 "    \"Type\": \"Occlum\",\n"
                                 "    \"SimulationMode\": true,\n"
                                 "    \"EnclavePath\": \"/app/enclave\",\n"
                                 "    \"Debug\": false,\n"
                                 "    \"Occlum\": {\n"
                                 "      \"InstanceDir\": \"/occlum_instance\",\n"
                                 "      \"LogLevel\": \"info\",\n"
                                 "      \"NodeJsPath\": \"/bin/node\",\n"
                                 "      \"TempDir\": \"/tmp\",\n"
                                 "      \"EnableDebugMode\": false,\n"
                                 "      \"MaxMemoryMB\": 1024,\n"
                                 "      \"MaxThreads\": 32,\n"
                                 "      \"MaxProcesses\": 16,\n"
                                 "      \"MaxExecutionTimeSeconds\": 60\n"
                                 "    }\n"
                                 "  }\n"
                                 "}\n";

static bool has_unused(const ncsl_config *cfg, const char *key) {
    for (size_t i = 0; i < cfg->unused_count; i++) {
        if (strcmp(cfg->unused[i], key) == 0) {
            return true;
        }
    }
    return false;
}

static void test_seed_tee_block(void **state) {
    (void)state;
    ncsl_config cfg;
    ncsl_err err;
    ncsl_config_defaults(&cfg);
    assert_int_equal(load(&cfg, g_seed_tee, &err), NCSL_OK);
    assert_int_equal(cfg.tee.type, NCSL_TEE_OCCLUM);
    assert_true(cfg.tee.simulation_mode);
    assert_string_equal(cfg.tee.occlum.instance_dir, "/occlum_instance");
    assert_string_equal(cfg.tee.occlum.node_js_path, "/bin/node");
    assert_true(has_unused(&cfg, "Tee.Occlum.NodeJsPath"));
    assert_true(has_unused(&cfg, "Tee.EnclavePath"));
    assert_false(has_unused(&cfg, "Tee.Occlum.MaxProcesses")); /* used: Isolation "process" */
    assert_false(has_unused(&cfg, "Tee.Occlum.MaxThreads"));
    assert_false(has_unused(&cfg, "Tee.Occlum.MaxExecutionTimeSeconds"));
    assert_string_not_equal(ncsl_config_unused_reason("Tee.Occlum.NodeJsPath"), "");
    /* Type Occlum with SimulationMode true: kept as given; ncsl_tee_open then runs simulation. */
    assert_int_equal(ncsl_config_finalize(&cfg, &err), NCSL_OK);
    assert_int_equal(cfg.tee.type, NCSL_TEE_OCCLUM);
    assert_true(cfg.tee.simulation_mode);
}

typedef struct bad_case {
    const char *json;
    const char *field;
    const char *message_part;
} bad_case;

static void test_errors_name_the_key(void **state) {
    (void)state;
    static const bad_case cases[] = {
        {"{\"Server\":{\"Foo\":1}}", "Server.Foo", "unknown setting"},
        {"{\"Bogus\":{}}", "Bogus", "unknown setting"},
        {"{\"Tee\":{\"Occlum\":{\"Nope\":true}}}", "Tee.Occlum.Nope", "unknown setting"},
        {"{\"JavaScript\":{\"MaxMemoryMB\":\"512\"}}", "JavaScript.MaxMemoryMB",
         "expected a positive integer"},
        {"{\"JavaScript\":{\"MaxMemoryMB\":0}}", "JavaScript.MaxMemoryMB",
         "expected a positive integer"},
        {"{\"JavaScript\":{\"MaxMemoryMB\":-5}}", "JavaScript.MaxMemoryMB",
         "expected a positive integer"},
        {"{\"JavaScript\":{\"MaxMemoryMB\":1.5}}", "JavaScript.MaxMemoryMB",
         "expected a positive integer"},
        {"{\"JavaScript\":{\"MaxMemoryMB\":100000}}", "JavaScript.MaxMemoryMB", "between"},
        {"{\"JavaScript\":{\"TimeoutMs\":true}}", "JavaScript.TimeoutMs", "positive integer"},
        {"{\"JavaScript\":{\"MaxStackKB\":null}}", "JavaScript.MaxStackKB", "positive integer"},
        {"{\"JavaScript\":{\"MaxOutputBytes\":[]}}", "JavaScript.MaxOutputBytes", "integer"},
        {"{\"JavaScript\":{\"MaxLogBytes\":-1}}", "JavaScript.MaxLogBytes", "positive integer"},
        {"{\"JavaScript\":{\"MaxLogBytes\":0}}", "JavaScript.MaxLogBytes", "positive integer"},
        {"{\"JavaScript\":{\"MaxCodeBytes\":\"x\"}}", "JavaScript.MaxCodeBytes", "integer"},
        {"{\"JavaScript\":{\"MaxInputBytes\":{}}}", "JavaScript.MaxInputBytes", "integer"},
        {"{\"JavaScript\":{\"Workers\":\"4\"}}", "JavaScript.Workers", "non-negative integer"},
        {"{\"JavaScript\":7}", "JavaScript", "expected an object"},
        {"{\"Server\":{\"Listen\":8080}}", "Server.Listen", "HOST:PORT"},
        {"{\"Server\":{\"DataDir\":\"\"}}", "Server.DataDir", "empty"},
        {"{\"Server\":{\"DataDir\":false}}", "Server.DataDir", "expected a string"},
        {"{\"Server\":{\"MaxBodyBytes\":10}}", "Server.MaxBodyBytes", "between"},
        {"{\"Server\":{\"QueueSize\":0}}", "Server.QueueSize", "positive integer"},
        {"{\"Server\":{\"HttpThreads\":-1}}", "Server.HttpThreads", "non-negative"},
        {"{\"Server\":{\"ConnectionLimit\":\"many\"}}", "Server.ConnectionLimit", "integer"},
        {"{\"Server\":{\"ConnectionTimeoutSeconds\":0}}", "Server.ConnectionTimeoutSeconds",
         "positive"},
        {"{\"Server\":{\"ShutdownGraceSeconds\":99999}}", "Server.ShutdownGraceSeconds", "between"},
        {"{\"Server\":{\"LogLevel\":\"loud\"}}", "Server.LogLevel", "expected one of"},
        {"{\"Tee\":{\"Type\":\"SGX\"}}", "Tee.Type", "expected one of"},
        {"{\"Tee\":{\"Type\":1}}", "Tee.Type", "expected one of"},
        {"{\"Tee\":{\"SimulationMode\":\"true\"}}", "Tee.SimulationMode", "true or false"},
        {"{\"Tee\":{\"EnclavePath\":3}}", "Tee.EnclavePath", "expected a string"},
        {"{\"Tee\":{\"Debug\":1}}", "Tee.Debug", "true or false"},
        {"{\"Tee\":{\"Occlum\":[]}}", "Tee.Occlum", "expected an object"},
        {"{\"Tee\":{\"Occlum\":{\"InstanceDir\":1}}}", "Tee.Occlum.InstanceDir", "string"},
        {"{\"Tee\":{\"Occlum\":{\"LogLevel\":1}}}", "Tee.Occlum.LogLevel", "string"},
        {"{\"Tee\":{\"Occlum\":{\"NodeJsPath\":null}}}", "Tee.Occlum.NodeJsPath", "string"},
        {"{\"Tee\":{\"Occlum\":{\"TempDir\":[]}}}", "Tee.Occlum.TempDir", "string"},
        {"{\"Tee\":{\"Occlum\":{\"EnableDebugMode\":\"no\"}}}", "Tee.Occlum.EnableDebugMode",
         "true or false"},
        {"{\"Tee\":{\"Occlum\":{\"MaxMemoryMB\":\"1G\"}}}", "Tee.Occlum.MaxMemoryMB", "integer"},
        {"{\"Tee\":{\"Occlum\":{\"MaxThreads\":2}}}", "Tee.Occlum.MaxThreads", "between"},
        {"{\"Tee\":{\"Occlum\":{\"MaxProcesses\":0}}}", "Tee.Occlum.MaxProcesses", "positive"},
        {"{\"Tee\":{\"Occlum\":{\"MaxExecutionTimeSeconds\":0.5}}}",
         "Tee.Occlum.MaxExecutionTimeSeconds", "positive integer"},
        {"{\"Server\":{\"AdminKey\":\"short\"}}", "Server.AdminKey", "at least 32"},
        {"{\"Server\":{\"AdminKey\":7}}", "Server.AdminKey", "expected a string"},
        {"{\"Storage\":{\"Backend\":\"postgres\"}}", "Storage.Backend", "sqlite"},
        {"{\"Storage\":{\"SealPolicy\":\"none\"}}", "Storage.SealPolicy", "MRSIGNER"},
        {"{\"Storage\":{\"Connections\":0}}", "Storage.Connections", "positive"},
        {"{\"Storage\":{\"Nope\":0}}", "Storage.Nope", "unknown setting"},
        {"{\"Limits\":{\"RequestsPerSecond\":-1}}", "Limits.RequestsPerSecond", "integer"},
        {"{\"Limits\":{\"MaxSecretsPerUser\":0}}", "Limits.MaxSecretsPerUser", "positive"},
        {"{\"Limits\":{\"StorageQuotaBytes\":10}}", "Limits.StorageQuotaBytes", "between"},
        {"{\"Limits\":{\"MaxStorageKeyBytes\":2048}}", "Limits.MaxStorageKeyBytes", "between"},
        {"{\"Limits\":[]}", "Limits", "expected an object"},
        {"{\"JavaScript\":{\"Isolation\":\"fork\"}}", "JavaScript.Isolation", "\"process\""},
        {"{\"JavaScript\":{\"Isolation\":1}}", "JavaScript.Isolation", "\"thread\""},
        {"{\"JavaScript\":{\"Isolation\":null}}", "JavaScript.Isolation", "expected"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ncsl_config cfg;
        ncsl_err err;
        memset(&err, 0, sizeof(err));
        ncsl_config_defaults(&cfg);
        ncsl_status st = load(&cfg, cases[i].json, &err);
        if (st != NCSL_E_CONFIG || strcmp(err.field, cases[i].field) != 0 ||
            !strstr(err.message, cases[i].message_part)) {
            print_error("case %zu %s: st=%d field='%s' message='%s'\n", i, cases[i].json, st,
                        err.field, err.message);
            fail();
        }
    }
}

static void test_duplicate_and_malformed(void **state) {
    (void)state;
    ncsl_config cfg;
    ncsl_err err;
    ncsl_config_defaults(&cfg);
    assert_int_equal(load(&cfg, "{\"Server\":{\"QueueSize\":1,\"QueueSize\":2}}", &err),
                     NCSL_E_CONFIG);
    assert_non_null(strstr(err.message, "duplicate"));

    ncsl_config_defaults(&cfg);
    assert_int_equal(load(&cfg, "{\n  \"Server\": {\n    \"QueueSize\": 1,,\n  }\n}", &err),
                     NCSL_E_CONFIG);
    assert_non_null(strstr(err.message, "line 3"));
    assert_non_null(strstr(err.message, "column"));

    ncsl_config_defaults(&cfg);
    assert_int_equal(load(&cfg, "[1,2]", &err), NCSL_E_CONFIG);
    assert_non_null(strstr(err.message, "object"));

    ncsl_config_defaults(&cfg);
    assert_int_equal(load(&cfg, "", &err), NCSL_E_CONFIG);
}

static void test_full_file(void **state) {
    (void)state;
    char path[] = "/tmp/ncsl_test_config_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "{\"Server\":{\"Listen\":\"0.0.0.0:9000\",\"DataDir\":\"/var/lib/ncsl\","
                       "\"MaxBodyBytes\":4096,\"QueueSize\":8,\"HttpThreads\":2,"
                       "\"ConnectionLimit\":10,\"ConnectionTimeoutSeconds\":5,"
                       "\"ShutdownGraceSeconds\":0,\"LogLevel\":\"DEBUG\"},"
                       "\"JavaScript\":{\"MaxMemoryMB\":64,\"TimeoutMs\":250,\"MaxStackKB\":256,"
                       "\"MaxOutputBytes\":1000,\"MaxLogBytes\":10,\"MaxCodeBytes\":2000,"
                       "\"MaxInputBytes\":3000,\"Workers\":3},"
                       "\"Storage\":{\"Backend\":\"SQLite\",\"SealPolicy\":\"mrenclave\","
                       "\"Connections\":2,\"BusyTimeoutMs\":100},"
                       "\"Limits\":{\"RequestsPerSecond\":0,\"Burst\":3,\"MaxSecretsPerUser\":7,"
                       "\"MaxSecretBytes\":64,\"StorageQuotaBytes\":2048,"
                       "\"MaxStorageKeyBytes\":16,\"MaxStorageValueBytes\":100}}";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    ncsl_config cfg;
    ncsl_err err;
    ncsl_config_defaults(&cfg);
    assert_int_equal(ncsl_config_load_file(&cfg, path, &err), NCSL_OK);
    unlink(path);
    assert_string_equal(cfg.server.listen_host, "0.0.0.0");
    assert_int_equal(cfg.server.listen_port, 9000);
    assert_string_equal(cfg.server.data_dir, "/var/lib/ncsl");
    assert_int_equal(cfg.server.max_body_bytes, 4096);
    assert_int_equal(cfg.server.queue_size, 8);
    assert_int_equal(cfg.server.connection_limit, 10);
    assert_int_equal(cfg.server.connection_timeout_s, 5);
    assert_int_equal(cfg.server.shutdown_grace_s, 0);
    assert_int_equal(cfg.server.log_level, NCSL_LOG_LEVEL_DEBUG);
    assert_int_equal(cfg.js.memory_limit_bytes, 64u * 1024 * 1024);
    assert_int_equal(cfg.js.timeout_ms, 250);
    assert_int_equal(cfg.js.stack_size_bytes, 256 * 1024);
    assert_int_equal(cfg.js.max_output_bytes, 1000);
    assert_int_equal(cfg.js.max_log_bytes, 10);
    assert_int_equal(cfg.js.max_code_bytes, 2000);
    assert_int_equal(cfg.js.max_input_bytes, 3000);
    assert_string_equal(cfg.storage.backend, "sqlite");
    assert_true(cfg.storage.seal_mrenclave);
    assert_int_equal(cfg.storage.connections, 2);
    assert_int_equal(cfg.storage.busy_timeout_ms, 100);
    assert_int_equal(cfg.limits.requests_per_second, 0);
    assert_int_equal(cfg.limits.burst, 3);
    assert_int_equal(cfg.limits.max_secrets_per_user, 7);
    assert_int_equal(cfg.limits.max_secret_bytes, 64);
    assert_int_equal(cfg.limits.storage_quota_bytes, 2048);
    assert_int_equal(cfg.limits.max_storage_key_bytes, 16);
    assert_int_equal(cfg.limits.max_storage_value_bytes, 100);
    assert_int_equal(cfg.unused_count, 0);
    assert_int_equal(ncsl_config_finalize(&cfg, &err), NCSL_OK);
    assert_int_equal(cfg.server.http_threads, 2);
    assert_int_equal(cfg.js.workers, 3);
    assert_int_equal(cfg.js.queue_size, 8);

    ncsl_config_defaults(&cfg);
    assert_int_equal(ncsl_config_load_file(&cfg, "/nonexistent/ncsl.json", &err), NCSL_E_CONFIG);
    assert_non_null(strstr(err.message, "/nonexistent/ncsl.json"));
}

static const char *g_env_value;
static const char *fake_getenv(const char *name) {
    return strcmp(name, "OCCLUM_SIMULATION") == 0 ? g_env_value : NULL;
}

static void test_tee_type_and_env(void **state) {
    (void)state;
    ncsl_config cfg;
    ncsl_err err;
    static const char *const types[] = {"{\"Tee\":{\"Type\":\"Occlum\"}}",
                                        "{\"Tee\":{\"Type\":\"gramine\"}}"};
    for (size_t i = 0; i < 2; i++) {
        ncsl_config_defaults(&cfg);
        assert_int_equal(load(&cfg, types[i], &err), NCSL_OK);
        g_env_value = NULL;
        ncsl_config_apply_env(&cfg, fake_getenv);
        assert_false(cfg.simulation_forced_by_env);
        /* The type is kept as given: the TEE layer decides at open whether it can run it. */
        assert_int_equal(ncsl_config_finalize(&cfg, &err), NCSL_OK);
        assert_int_equal(cfg.tee.type, i == 0 ? NCSL_TEE_OCCLUM : NCSL_TEE_GRAMINE);

        g_env_value = "0";
        ncsl_config_apply_env(&cfg, fake_getenv);
        assert_false(cfg.simulation_forced_by_env);

        g_env_value = "1";
        ncsl_config_apply_env(&cfg, fake_getenv);
        assert_true(cfg.simulation_forced_by_env);
        assert_int_equal(ncsl_config_finalize(&cfg, &err), NCSL_OK);
    }
    ncsl_config_defaults(&cfg);
    assert_int_equal(load(&cfg, "{\"Tee\":{\"Type\":\"Simulation\"}}", &err), NCSL_OK);
    assert_int_equal(ncsl_config_finalize(&cfg, &err), NCSL_OK);
    assert_int_equal(cfg.tee.type, NCSL_TEE_SIMULATION);
    assert_string_equal(ncsl_tee_type_name(NCSL_TEE_GRAMINE), "Gramine");
}

typedef struct listen_case {
    const char *addr;
    bool ok;
    const char *host;
    unsigned port;
} listen_case;

static void test_listen(void **state) {
    (void)state;
    static const listen_case cases[] = {
        {"127.0.0.1:8080", true, "127.0.0.1", 8080},
        {"0.0.0.0:0", true, "0.0.0.0", 0},
        {"localhost:65535", true, "localhost", 65535},
        {"[::1]:9000", true, "::1", 9000},
        {"[::]:1", true, "::", 1},
        {"", false, NULL, 0},
        {"127.0.0.1", false, NULL, 0},
        {":8080", false, NULL, 0},
        {"127.0.0.1:", false, NULL, 0},
        {"127.0.0.1:65536", false, NULL, 0},
        {"127.0.0.1:80a", false, NULL, 0},
        {"127.0.0.1:-1", false, NULL, 0},
        {"127.0.0.1:123456", false, NULL, 0},
        {"::1:8080", false, NULL, 0},
        {"[::1]8080", false, NULL, 0},
        {"[]:8080", false, NULL, 0},
        {"[zz]:8080", false, NULL, 0},
        {"bad host:80", false, NULL, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ncsl_config cfg;
        ncsl_err err;
        ncsl_config_defaults(&cfg);
        ncsl_status st = ncsl_config_set_listen(&cfg, cases[i].addr, &err);
        if (cases[i].ok) {
            if (st != NCSL_OK) {
                print_error("'%s' rejected: %s\n", cases[i].addr, err.message);
                fail();
            }
            assert_string_equal(cfg.server.listen_host, cases[i].host);
            assert_int_equal(cfg.server.listen_port, cases[i].port);
        } else {
            if (st != NCSL_E_CONFIG) {
                print_error("'%s' accepted\n", cases[i].addr);
                fail();
            }
            assert_string_equal(err.field, "Server.Listen");
            /* a rejected value leaves the previous one */
            assert_int_equal(cfg.server.listen_port, 8080);
        }
    }
    ncsl_config cfg;
    ncsl_err err;
    ncsl_config_defaults(&cfg);
    assert_int_equal(load(&cfg, "{\"Server\":{\"Listen\":\"10.1.2.3:81\"}}", &err), NCSL_OK);
    assert_string_equal(cfg.server.listen_host, "10.1.2.3");
    assert_int_equal(load(&cfg, "{\"Server\":{\"Listen\":\"10.1.2.3\"}}", &err), NCSL_E_CONFIG);
    assert_string_equal(err.field, "Server.Listen");
}

static void test_max_threads(void **state) {
    (void)state;
    ncsl_config cfg;
    ncsl_err err;
    unsigned cpus = ncsl_cpu_count();

    /* both explicit and too many: error */
    ncsl_config_defaults(&cfg);
    assert_int_equal(
        load(&cfg, "{\"Server\":{\"HttpThreads\":20},\"JavaScript\":{\"Workers\":12}}", &err),
        NCSL_OK);
    assert_int_equal(ncsl_config_finalize(&cfg, &err), NCSL_E_CONFIG);
    assert_string_equal(err.field, "Tee.Occlum.MaxThreads");
    assert_non_null(strstr(err.message, "33"));

    /* both explicit and exactly fitting: 20 + 11 + 1 = 32 */
    ncsl_config_defaults(&cfg);
    assert_int_equal(
        load(&cfg, "{\"Server\":{\"HttpThreads\":20},\"JavaScript\":{\"Workers\":11}}", &err),
        NCSL_OK);
    assert_int_equal(ncsl_config_finalize(&cfg, &err), NCSL_OK);
    assert_int_equal(cfg.server.http_threads, 20);
    assert_int_equal(cfg.js.workers, 11);

    /* one explicit: the other is derived to fit */
    ncsl_config_defaults(&cfg);
    assert_int_equal(load(&cfg,
                          "{\"Tee\":{\"Occlum\":{\"MaxThreads\":8}},"
                          "\"JavaScript\":{\"Workers\":5}}",
                          &err),
                     NCSL_OK);
    assert_int_equal(ncsl_config_finalize(&cfg, &err), NCSL_OK);
    assert_int_equal(cfg.js.workers, 5);
    assert_int_equal(cfg.server.http_threads, cpus / 4 > 1 ? (cpus / 4 < 2 ? cpus / 4 : 2) : 1);

    ncsl_config_defaults(&cfg);
    assert_int_equal(load(&cfg,
                          "{\"Tee\":{\"Occlum\":{\"MaxThreads\":8}},"
                          "\"JavaScript\":{\"Workers\":7}}",
                          &err),
                     NCSL_OK);
    assert_int_equal(ncsl_config_finalize(&cfg, &err), NCSL_E_CONFIG);
    assert_string_equal(err.field, "JavaScript.Workers");

    ncsl_config_defaults(&cfg);
    assert_int_equal(load(&cfg,
                          "{\"Tee\":{\"Occlum\":{\"MaxThreads\":4}},"
                          "\"Server\":{\"HttpThreads\":3}}",
                          &err),
                     NCSL_OK);
    assert_int_equal(ncsl_config_finalize(&cfg, &err), NCSL_E_CONFIG);
    assert_string_equal(err.field, "Server.HttpThreads");

    /* none explicit, small budget: derived values fit */
    ncsl_config_defaults(&cfg);
    assert_int_equal(load(&cfg, "{\"Tee\":{\"Occlum\":{\"MaxThreads\":3}}}", &err), NCSL_OK);
    assert_int_equal(ncsl_config_finalize(&cfg, &err), NCSL_OK);
    assert_int_equal(cfg.server.http_threads, 1);
    assert_int_equal(cfg.js.workers, 1);

    ncsl_config_defaults(&cfg);
    assert_int_equal(load(&cfg, "{\"Tee\":{\"Occlum\":{\"MaxThreads\":4096}}}", &err), NCSL_OK);
    assert_int_equal(ncsl_config_finalize(&cfg, &err), NCSL_OK);
    /* a quarter of the CPUs for HTTP (at least one), one worker per CPU */
    assert_int_equal(cfg.server.http_threads, cpus / 4 > 1 ? cpus / 4 : 1);
    assert_int_equal(cfg.js.workers, cpus);
    /* finalize is idempotent */
    assert_int_equal(ncsl_config_finalize(&cfg, &err), NCSL_OK);
    assert_int_equal(cfg.js.workers, cpus);
}

static void test_isolation(void **state) {
    (void)state;
    ncsl_config cfg;
    ncsl_err err;
    /* default: threads */
    ncsl_config_defaults(&cfg);
    assert_int_equal(cfg.js.isolation, NCSL_ISOLATION_THREAD);
    assert_int_equal(ncsl_config_finalize(&cfg, &err), NCSL_OK);
    assert_int_equal(cfg.js.isolation, NCSL_ISOLATION_THREAD);
    /* "process" (any case): MaxProcesses worker processes, no extra workers */
    ncsl_config_defaults(&cfg);
    assert_int_equal(load(&cfg,
                          "{\"JavaScript\":{\"Isolation\":\"Process\"},"
                          "\"Tee\":{\"Occlum\":{\"MaxProcesses\":3}}}",
                          &err),
                     NCSL_OK);
    assert_int_equal(cfg.js.isolation, NCSL_ISOLATION_PROCESS);
    assert_false(has_unused(&cfg, "Tee.Occlum.MaxProcesses"));
    assert_int_equal(ncsl_config_finalize(&cfg, &err), NCSL_OK);
    assert_int_equal(cfg.js.workers, 3);
    assert_int_equal(cfg.js.max_workers, 3);
    assert_true(cfg.server.http_threads >= 1);
    assert_true(cfg.server.http_threads + 3 + 1 <= cfg.tee.occlum.max_threads);
    /* "thread" explicitly: MaxProcesses has no effect on the workers */
    ncsl_config_defaults(&cfg);
    assert_int_equal(load(&cfg, "{\"JavaScript\":{\"Isolation\":\"thread\",\"Workers\":2}}", &err),
                     NCSL_OK);
    assert_int_equal(ncsl_config_finalize(&cfg, &err), NCSL_OK);
    assert_int_equal(cfg.js.isolation, NCSL_ISOLATION_THREAD);
    assert_int_equal(cfg.js.workers, 2);
    /* an explicit Workers is not used with processes: a note says so */
    ncsl_config_defaults(&cfg);
    assert_int_equal(load(&cfg,
                          "{\"JavaScript\":{\"Isolation\":\"process\",\"Workers\":5},"
                          "\"Tee\":{\"Occlum\":{\"MaxProcesses\":2}}}",
                          &err),
                     NCSL_OK);
    assert_int_equal(ncsl_config_finalize(&cfg, &err), NCSL_OK);
    assert_int_equal(cfg.js.workers, 2);
    assert_int_equal(cfg.note_count, 1);
    assert_non_null(strstr(cfg.notes[0], "JavaScript.Workers"));
    /* the processes' daemon threads must fit MaxThreads */
    ncsl_config_defaults(&cfg);
    assert_int_equal(load(&cfg,
                          "{\"JavaScript\":{\"Isolation\":\"process\"},"
                          "\"Tee\":{\"Occlum\":{\"MaxProcesses\":31,\"MaxThreads\":32}}}",
                          &err),
                     NCSL_OK);
    assert_int_equal(ncsl_config_finalize(&cfg, &err), NCSL_E_CONFIG);
    assert_string_equal(err.field, "Tee.Occlum.MaxProcesses");
    ncsl_config_defaults(&cfg);
    assert_int_equal(load(&cfg,
                          "{\"JavaScript\":{\"Isolation\":\"process\"},"
                          "\"Server\":{\"HttpThreads\":20},"
                          "\"Tee\":{\"Occlum\":{\"MaxProcesses\":16,\"MaxThreads\":32}}}",
                          &err),
                     NCSL_OK);
    assert_int_equal(ncsl_config_finalize(&cfg, &err), NCSL_E_CONFIG);
    assert_string_equal(err.field, "Tee.Occlum.MaxThreads");
}

static void test_max_execution_time(void **state) {
    (void)state;
    ncsl_config cfg;
    ncsl_err err;
    /* explicit TimeoutMs over the bound: error */
    ncsl_config_defaults(&cfg);
    assert_int_equal(load(&cfg,
                          "{\"Tee\":{\"Occlum\":{\"MaxExecutionTimeSeconds\":2}},"
                          "\"JavaScript\":{\"TimeoutMs\":2001}}",
                          &err),
                     NCSL_OK);
    assert_int_equal(ncsl_config_finalize(&cfg, &err), NCSL_E_CONFIG);
    assert_string_equal(err.field, "JavaScript.TimeoutMs");
    assert_non_null(strstr(err.message, "MaxExecutionTimeSeconds"));

    /* exactly at the bound: fine */
    ncsl_config_defaults(&cfg);
    assert_int_equal(load(&cfg,
                          "{\"Tee\":{\"Occlum\":{\"MaxExecutionTimeSeconds\":2}},"
                          "\"JavaScript\":{\"TimeoutMs\":2000}}",
                          &err),
                     NCSL_OK);
    assert_int_equal(ncsl_config_finalize(&cfg, &err), NCSL_OK);
    assert_int_equal(cfg.js.timeout_ms, 2000);

    /* default TimeoutMs (5000) over the bound: lowered, with a note */
    ncsl_config_defaults(&cfg);
    assert_int_equal(load(&cfg, "{\"Tee\":{\"Occlum\":{\"MaxExecutionTimeSeconds\":3}}}", &err),
                     NCSL_OK);
    assert_int_equal(ncsl_config_finalize(&cfg, &err), NCSL_OK);
    assert_int_equal(cfg.js.timeout_ms, 3000);
    assert_true(cfg.note_count >= 1);
    assert_non_null(strstr(cfg.notes[0], "TimeoutMs"));

    /* per-call memory must fit the enclave's */
    ncsl_config_defaults(&cfg);
    assert_int_equal(load(&cfg, "{\"Tee\":{\"Occlum\":{\"MaxMemoryMB\":256}}}", &err), NCSL_OK);
    assert_int_equal(ncsl_config_finalize(&cfg, &err), NCSL_E_CONFIG);
    assert_string_equal(err.field, "JavaScript.MaxMemoryMB");
}

/* "Fetch": defaults (fetch off), a full section, and every way an entry can be wrong. */
static void test_fetch_section(void **state) {
    (void)state;
    ncsl_config cfg;
    ncsl_err err;
    ncsl_config_defaults(&cfg);
    assert_int_equal(cfg.fetch.allowed_host_count, 0);
    assert_false(cfg.fetch.allow_private_networks);
    assert_int_equal(cfg.fetch.max_requests_per_call, 16);
    assert_int_equal(cfg.fetch.max_response_bytes, 8u << 20);
    assert_int_equal(cfg.fetch.max_request_bytes, 1u << 20);
    assert_int_equal(cfg.fetch.timeout_ms, 10000);
    assert_int_equal(cfg.fetch.max_concurrent, 256);

    assert_int_equal(
        load(&cfg,
             "{\"Fetch\":{\"AllowedHosts\":[\"API.Example.com\",\"*.svc.example.org:8443\","
             "\"127.0.0.1:8080\",\"[::1]\",\"*\",\"example.net.\"],"
             "\"AllowPrivateNetworks\":true,\"MaxRequestsPerCall\":3,"
             "\"MaxResponseBytes\":1024,\"MaxRequestBytes\":0,\"TimeoutMs\":250,"
             "\"MaxConcurrent\":2}}",
             &err),
        NCSL_OK);
    assert_int_equal(cfg.fetch.allowed_host_count, 6);
    assert_string_equal(cfg.fetch.allowed_hosts[0], "api.example.com"); /* lower-cased */
    assert_string_equal(cfg.fetch.allowed_hosts[1], "*.svc.example.org:8443");
    assert_string_equal(cfg.fetch.allowed_hosts[3], "[::1]");
    assert_true(cfg.fetch.allow_private_networks);
    assert_int_equal(cfg.fetch.max_requests_per_call, 3);
    assert_int_equal(cfg.fetch.max_response_bytes, 1024);
    assert_int_equal(cfg.fetch.max_request_bytes, 0);
    assert_int_equal(cfg.fetch.timeout_ms, 250);
    assert_int_equal(cfg.fetch.max_concurrent, 2);
    assert_int_equal(ncsl_config_finalize(&cfg, &err), NCSL_OK);
    /* an empty list: fetch off again */
    assert_int_equal(load(&cfg, "{\"Fetch\":{\"AllowedHosts\":[]}}", &err), NCSL_OK);
    assert_int_equal(cfg.fetch.allowed_host_count, 0);

    static const bad_case cases[] = {
        {"{\"Fetch\":[]}", "Fetch", "expected an object"},
        {"{\"Fetch\":{\"Nope\":1}}", "Fetch.Nope", "unknown setting"},
        {"{\"Fetch\":{\"AllowedHosts\":\"example.com\"}}", "Fetch.AllowedHosts",
         "expected an array of strings"},
        {"{\"Fetch\":{\"AllowedHosts\":[1]}}", "Fetch.AllowedHosts[0]", "expected a string"},
        {"{\"Fetch\":{\"AllowedHosts\":[\"ok.com\",\"\"]}}", "Fetch.AllowedHosts[1]", "empty"},
        {"{\"Fetch\":{\"AllowedHosts\":[\"http://x.com\"]}}", "Fetch.AllowedHosts[0]", "not a URL"},
        {"{\"Fetch\":{\"AllowedHosts\":[\"x.com/path\"]}}", "Fetch.AllowedHosts[0]", "not a URL"},
        {"{\"Fetch\":{\"AllowedHosts\":[\"a..b\"]}}", "Fetch.AllowedHosts[0]", "expected a host"},
        {"{\"Fetch\":{\"AllowedHosts\":[\"x.com:0\"]}}", "Fetch.AllowedHosts[0]", "port"},
        {"{\"Fetch\":{\"AllowedHosts\":[\"x.com:70000\"]}}", "Fetch.AllowedHosts[0]", "port"},
        {"{\"Fetch\":{\"AllowedHosts\":[\"x.com:\"]}}", "Fetch.AllowedHosts[0]", "port"},
        {"{\"Fetch\":{\"AllowedHosts\":[\"::1\"]}}", "Fetch.AllowedHosts[0]", "brackets"},
        {"{\"Fetch\":{\"AllowedHosts\":[\"[zz]\"]}}", "Fetch.AllowedHosts[0]", "IPv6"},
        {"{\"Fetch\":{\"AllowedHosts\":[\"[::1\"]}}", "Fetch.AllowedHosts[0]", "IPv6"},
        {"{\"Fetch\":{\"AllowedHosts\":[\"*.\"]}}", "Fetch.AllowedHosts[0]", "expected a host"},
        {"{\"Fetch\":{\"AllowedHosts\":[\"ex ample.com\"]}}", "Fetch.AllowedHosts[0]",
         "expected a host"},
        {"{\"Fetch\":{\"AllowPrivateNetworks\":1}}", "Fetch.AllowPrivateNetworks", "true or false"},
        {"{\"Fetch\":{\"MaxRequestsPerCall\":0}}", "Fetch.MaxRequestsPerCall", "positive"},
        {"{\"Fetch\":{\"MaxRequestsPerCall\":10001}}", "Fetch.MaxRequestsPerCall", "between"},
        {"{\"Fetch\":{\"MaxResponseBytes\":\"8M\"}}", "Fetch.MaxResponseBytes", "integer"},
        {"{\"Fetch\":{\"MaxResponseBytes\":2147483648}}", "Fetch.MaxResponseBytes", "between"},
        {"{\"Fetch\":{\"MaxRequestBytes\":-1}}", "Fetch.MaxRequestBytes", "non-negative"},
        {"{\"Fetch\":{\"TimeoutMs\":0}}", "Fetch.TimeoutMs", "positive"},
        {"{\"Fetch\":{\"TimeoutMs\":1.5}}", "Fetch.TimeoutMs", "positive integer"},
        {"{\"Fetch\":{\"MaxConcurrent\":70000}}", "Fetch.MaxConcurrent", "between"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(&err, 0, sizeof(err));
        ncsl_config_defaults(&cfg);
        ncsl_status st = load(&cfg, cases[i].json, &err);
        if (st != NCSL_E_CONFIG || strcmp(err.field, cases[i].field) != 0 ||
            !strstr(err.message, cases[i].message_part)) {
            print_error("case %zu %s: st=%d field='%s' message='%s'\n", i, cases[i].json, st,
                        err.field, err.message);
            fail();
        }
        assert_int_equal(cfg.fetch.allowed_host_count, 0); /* never half a list */
    }
    /* 129 entries: too many; 128 are fine */
    char json[8192];
    for (int n = 128; n <= 129; n++) {
        size_t len = (size_t)snprintf(json, sizeof(json), "{\"Fetch\":{\"AllowedHosts\":[");
        for (int i = 0; i < n; i++) {
            len += (size_t)snprintf(json + len, sizeof(json) - len, "%s\"h%d.example.com\"",
                                    i ? "," : "", i);
        }
        snprintf(json + len, sizeof(json) - len, "]}}");
        ncsl_config_defaults(&cfg);
        ncsl_status st = load(&cfg, json, &err);
        if (n == 128) {
            assert_int_equal(st, NCSL_OK);
            assert_int_equal(cfg.fetch.allowed_host_count, 128);
            assert_string_equal(cfg.fetch.allowed_hosts[127], "h127.example.com");
        } else {
            assert_int_equal(st, NCSL_E_CONFIG);
            assert_string_equal(err.field, "Fetch.AllowedHosts");
            assert_non_null(strstr(err.message, "at most 128"));
        }
    }
    /* a 300-byte entry */
    char longhost[400];
    memset(longhost, 'a', 300);
    longhost[300] = '\0';
    snprintf(json, sizeof(json), "{\"Fetch\":{\"AllowedHosts\":[\"%s\"]}}", longhost);
    ncsl_config_defaults(&cfg);
    assert_int_equal(load(&cfg, json, &err), NCSL_E_CONFIG);
    assert_string_equal(err.field, "Fetch.AllowedHosts[0]");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_seed_tee_block),
        cmocka_unit_test(test_errors_name_the_key),
        cmocka_unit_test(test_duplicate_and_malformed),
        cmocka_unit_test(test_full_file),
        cmocka_unit_test(test_tee_type_and_env),
        cmocka_unit_test(test_listen),
        cmocka_unit_test(test_max_threads),
        cmocka_unit_test(test_isolation),
        cmocka_unit_test(test_max_execution_time),
        cmocka_unit_test(test_fetch_section),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
