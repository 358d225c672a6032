/*
 * tee: backend selection and the forwarders to the chosen backend's ops table.
 *
 * Selection order (DESIGN.md section 5): simulation when forced or requested; Occlum and Gramine
 * when requested (not built yet: NCSL_E_UNSUPPORTED); Auto probes Occlum, then Gramine, then
 * falls back to simulation. A detected Occlum or Gramine under Auto is an error, not a silent
 * fallback: running inside an enclave with simulated attestation is a configuration mistake the
 * operator must make explicitly (simulation_forced).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include "tee_int.h"

struct ncsl_tee {
    const ncsl_tee_ops *ops;
    void *state; /* owned; released by ops->close */
    char reason[NCSL_TEE_REASON_SIZE];
};

void ncsl_tee_options_default(ncsl_tee_options *opts) {
    if (opts) {
        memset(opts, 0, sizeof(*opts));
        opts->type = NCSL_TEE_AUTO;
    }
}

static bool is_char_device(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISCHR(st.st_mode);
}

/* REFERENCE.md 1: uname sysname "Occlum" and /dev/sgx a character device (on a plain host with
 * the in-kernel driver /dev/sgx is a directory). */
static bool detect_occlum(void) {
    struct utsname u;
    return uname(&u) == 0 && strcmp(u.sysname, "Occlum") == 0 && is_char_device("/dev/sgx");
}

/* REFERENCE.md 2: /dev/attestation exists under gramine-direct and gramine-sgx. */
static bool detect_gramine(void) {
    struct stat st;
    return stat("/dev/attestation", &st) == 0;
}

static bool host_has_sgx_device(void) {
    return is_char_device("/dev/sgx_enclave") || is_char_device("/dev/sgx/enclave");
}

/* Picks the ops table and fills `reason`. */
static ncsl_status select_backend(const ncsl_tee_options *opts, const ncsl_tee_ops **ops,
                                  char *reason, size_t reason_size, ncsl_err *err) {
    *ops = NULL;
    if (opts->simulation_forced) {
        snprintf(reason, reason_size,
                 "simulation forced (Tee.SimulationMode or "
                 "OCCLUM_SIMULATION=1)");
        *ops = &ncsl__tee_sim_ops;
        return NCSL_OK;
    }
    switch (opts->type) {
    case NCSL_TEE_SIMULATION:
        snprintf(reason, reason_size, "simulation requested (Tee.Type Simulation)");
        *ops = &ncsl__tee_sim_ops;
        return NCSL_OK;
    case NCSL_TEE_OCCLUM:
        return ncsl_err_set(err, NCSL_E_UNSUPPORTED, "type",
                            "the Occlum TEE backend is not built into this NCSL yet; use "
                            "Tee.Type Simulation (or OCCLUM_SIMULATION=1) for now");
    case NCSL_TEE_GRAMINE:
        return ncsl_err_set(err, NCSL_E_UNSUPPORTED, "type",
                            "the Gramine TEE backend is not built into this NCSL yet; use "
                            "Tee.Type Simulation for now");
    case NCSL_TEE_AUTO:
        break;
    default:
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "type", "unknown TEE type %d",
                            (int)opts->type);
    }
    if (detect_occlum()) {
        return ncsl_err_set(err, NCSL_E_UNSUPPORTED, "type",
                            "Tee.Type Auto detected Occlum (uname sysname \"Occlum\", /dev/sgx is "
                            "a character device), but the Occlum backend is not built yet; set "
                            "Tee.SimulationMode true (or OCCLUM_SIMULATION=1) to run simulated");
    }
    if (detect_gramine()) {
        return ncsl_err_set(err, NCSL_E_UNSUPPORTED, "type",
                            "Tee.Type Auto detected Gramine (/dev/attestation exists), but the "
                            "Gramine backend is not built yet; set Tee.SimulationMode true to "
                            "run simulated");
    }
    if (host_has_sgx_device()) {
        snprintf(reason, reason_size,
                 "an SGX device exists but the process is not inside Occlum or Gramine");
    } else {
        snprintf(reason, reason_size, "no /dev/sgx device and not inside Occlum or Gramine");
    }
    *ops = &ncsl__tee_sim_ops;
    return NCSL_OK;
}

ncsl_status ncsl_tee_open(const ncsl_tee_options *opts, ncsl_tee **out, ncsl_err *err) {
    ncsl_status st = NCSL_OK;
    ncsl_tee *tee = NULL;
    ncsl_tee_options defaults;
    const ncsl_tee_ops *ops = NULL;
    char reason[NCSL_TEE_REASON_SIZE] = "";

    if (!out) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "out", "no output handle");
    }
    *out = NULL;
    if (!opts) {
        ncsl_tee_options_default(&defaults);
        opts = &defaults;
    }
    st = select_backend(opts, &ops, reason, sizeof(reason), err);
    if (st != NCSL_OK) {
        goto out;
    }
    tee = calloc(1, sizeof(*tee));
    if (!tee) {
        st = ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory (TEE handle)");
        goto out;
    }
    tee->ops = ops;
    snprintf(tee->reason, sizeof(tee->reason), "%s", reason);
    st = ops->open(opts, &tee->state, err);
    if (st != NCSL_OK) {
        goto out;
    }
    NCSL_LOG_INFO("tee", "TEE backend %s: %s", ops->name(), tee->reason);
    *out = tee;
    tee = NULL;
out:
    free(tee); /* only reached with a handle when the backend's open failed (no state) */
    return st;
}

void ncsl_tee_close(ncsl_tee *tee) {
    if (!tee) {
        return;
    }
    if (tee->ops) {
        tee->ops->close(tee->state);
    }
    free(tee);
}

const char *ncsl_tee_name(const ncsl_tee *tee) {
    return tee && tee->ops ? tee->ops->name() : "none";
}

ncsl_tee_kind ncsl_tee_get_kind(const ncsl_tee *tee) {
    return tee && tee->ops ? tee->ops->kind : NCSL_TEE_KIND_SIMULATION;
}

const char *ncsl_tee_reason(const ncsl_tee *tee) {
    return tee ? tee->reason : "";
}

const ncsl_tee_ops *ncsl_tee_get_ops(const ncsl_tee *tee) {
    return tee ? tee->ops : NULL;
}

void *ncsl__tee_state(ncsl_tee *tee) {
    return tee ? tee->state : NULL;
}

ncsl_status ncsl_tee_measure(ncsl_tee *tee, ncsl_tee_measurement *out, ncsl_err *err) {
    if (!tee || !out) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, tee ? "out" : "tee", "NULL argument");
    }
    return tee->ops->measure(tee->state, out, err);
}

ncsl_status ncsl_tee_get_quote(ncsl_tee *tee, const uint8_t report_data[NCSL_TEE_REPORT_DATA_SIZE],
                               uint8_t **quote, size_t *len, ncsl_err *err) {
    if (quote) {
        *quote = NULL;
    }
    if (len) {
        *len = 0;
    }
    if (!tee || !report_data || !quote || !len) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, NULL, "NULL argument");
    }
    return tee->ops->quote(tee->state, report_data, quote, len, err);
}

ncsl_status ncsl_tee_seal_key(ncsl_tee *tee, ncsl_seal_policy policy,
                              uint8_t key[NCSL_TEE_SEAL_KEY_SIZE], ncsl_err *err) {
    if (!tee || !key) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, tee ? "key" : "tee", "NULL argument");
    }
    return tee->ops->seal_key(tee->state, policy, key, err);
}

ncsl_status ncsl_tee_random(ncsl_tee *tee, void *buf, size_t len, ncsl_err *err) {
    if (!tee || (!buf && len)) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, tee ? "buf" : "tee", "NULL argument");
    }
    return tee->ops->random(tee->state, buf, len, err);
}

const char *ncsl_tee_attestation_root_pem(ncsl_tee *tee, size_t *len) {
    if (len) {
        *len = 0;
    }
    if (!tee || !tee->ops->attestation_root_pem) {
        return NULL;
    }
    return tee->ops->attestation_root_pem(tee->state, len);
}
