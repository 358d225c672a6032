/*
 * Opening this installation's TEE from the command line, with the same configuration sources as
 * ncsld, so `ncsl seal` and `ncsld` share one platform secret and one simulation root.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "config/config.h"
#include "tee/tee.h"

/* The simulation root's file under the data dir (src/tee/sim/tee_sim.c writes it). */
#define SIM_ROOT_RELPATH "tee/sim_root_ca.pem"
#define SIM_ROOT_MAX ((size_t)64 * 1024)

bool ncsl_cli_load_config(const char *config_file, ncsl_config *cfg) {
    ncsl_err err;
    ncsl_err_clear(&err);
    ncsl_config_defaults(cfg);
    if (config_file && ncsl_config_load_file(cfg, config_file, &err) != NCSL_OK) {
        ncsl_cli_errorf("config %s: %s%s%s", config_file, err.field[0] ? err.field : "",
                        err.field[0] ? ": " : "", err.message);
        return false;
    }
    ncsl_config_apply_env(cfg, NULL);
    if (ncsl_config_finalize(cfg, &err) != NCSL_OK) {
        ncsl_cli_errorf("config: %s: %s", err.field, err.message);
        return false;
    }
    return true;
}

char *ncsl_cli_sim_root(const char *pem_file, const char *config_file, const char *data_dir,
                        size_t *len) {
    char path[NCSL_CONFIG_PATH_MAX + 32];
    if (pem_file) {
        snprintf(path, sizeof(path), "%s", pem_file);
    } else {
        ncsl_config cfg;
        if (!ncsl_cli_load_config(config_file, &cfg)) {
            return NULL;
        }
        snprintf(path, sizeof(path), "%s/%s", data_dir ? data_dir : cfg.server.data_dir,
                 SIM_ROOT_RELPATH);
    }
    char *pem = ncsl_cli_read_file(path, SIM_ROOT_MAX, len);
    if (!pem) {
        ncsl_cli_errorf("cannot read the simulation root CA %s: %s%s", path, strerror(errno),
                        pem_file ? ""
                                 : " (this installation has none yet: pass --data-dir of the "
                                   "installation that made the quote, or --simulation-root FILE)");
    }
    return pem;
}

struct ncsl_tee *ncsl_cli_open_tee(const char *config_file, const char *data_dir) {
    ncsl_err err;
    ncsl_err_clear(&err);
    ncsl_config cfg;
    if (!ncsl_cli_load_config(config_file, &cfg)) {
        return NULL;
    }
    ncsl_tee_options opts;
    ncsl_tee_options_from_config(&opts, &cfg);
    if (data_dir) {
        opts.data_dir = data_dir;
    }
    ncsl_tee *tee = NULL;
    if (ncsl_tee_open(&opts, &tee, &err) != NCSL_OK) {
        ncsl_cli_errorf("cannot open the TEE (data dir %s): %s", opts.data_dir, err.message);
        return NULL;
    }
    return tee;
}
