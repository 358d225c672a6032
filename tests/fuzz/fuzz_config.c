/*
 * Fuzz target `config`: the JSON configuration file (ncsl_config_load_json over the defaults),
 * then the cross-field checks (ncsl_config_finalize) when it loaded. The strings the loader
 * fills must stay NUL-terminated within their fixed-size arrays.
 */
#include <stdint.h>
#include <string.h>

#include "config/config.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    ncsl_fuzz_quiet_logs();
    return 0;
}

#define TERMINATED(arr) (memchr((arr), '\0', sizeof(arr)) != NULL)

/* ncsl_config is about 25 KiB: keep it off the (small) fuzzer thread stack. */
static ncsl_config g_cfg;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ncsl_err err;
    ncsl_config_defaults(&g_cfg);
    if (ncsl_config_load_json(&g_cfg, (const char *)data, size, &err) != NCSL_OK) {
        NCSL_FUZZ_CHECK(err.code == NCSL_E_CONFIG || err.code == NCSL_E_NOMEM);
        return 0;
    }
    NCSL_FUZZ_CHECK(TERMINATED(g_cfg.server.listen_host));
    NCSL_FUZZ_CHECK(TERMINATED(g_cfg.server.data_dir));
    NCSL_FUZZ_CHECK(TERMINATED(g_cfg.tee.enclave_path));
    NCSL_FUZZ_CHECK(TERMINATED(g_cfg.tee.occlum.instance_dir));
    NCSL_FUZZ_CHECK(TERMINATED(g_cfg.tee.occlum.log_level));
    NCSL_FUZZ_CHECK(TERMINATED(g_cfg.tee.occlum.node_js_path));
    NCSL_FUZZ_CHECK(TERMINATED(g_cfg.tee.occlum.temp_dir));
    NCSL_FUZZ_CHECK(g_cfg.unused_count <= NCSL_CONFIG_MAX_UNUSED);
    for (size_t i = 0; i < g_cfg.unused_count; i++) {
        NCSL_FUZZ_CHECK(TERMINATED(g_cfg.unused[i]));
        (void)ncsl_config_unused_reason(g_cfg.unused[i]);
    }
    if (ncsl_config_finalize(&g_cfg, &err) == NCSL_OK) {
        NCSL_FUZZ_CHECK(g_cfg.note_count <= NCSL_CONFIG_MAX_NOTES);
        for (size_t i = 0; i < g_cfg.note_count; i++) {
            NCSL_FUZZ_CHECK(TERMINATED(g_cfg.notes[i]));
        }
    } else {
        NCSL_FUZZ_CHECK(err.code == NCSL_E_CONFIG);
    }
    return 0;
}
