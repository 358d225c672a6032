/*
 * tee: backend selection and the forwarders to the chosen backend's ops table.
 *
 * Selection order (DESIGN.md section 5, details at ncsl_tee_open in tee.h): simulation when
 * forced or requested; Occlum and Gramine when requested and detected; Auto probes Occlum, then
 * Gramine, then falls back to simulation. Detection is cheap and read-only (uname, stat); the
 * backend's open then talks to the device and fails with the reason when it does not answer like
 * the platform it claims to be. A detected enclave is never silently replaced by simulation:
 * running inside an enclave with simulated attestation is a configuration mistake the operator
 * must make explicitly (simulation_forced). gramine-direct is not an enclave, so Auto treats it
 * like a plain host.
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

void ncsl_tee_options_from_config(ncsl_tee_options *opts, const ncsl_config *cfg) {
    ncsl_tee_options_default(opts);
    opts->type = cfg->tee.type;
    opts->simulation_forced = cfg->tee.simulation_mode || cfg->simulation_forced_by_env;
    opts->debug = cfg->tee.debug;
    opts->data_dir = cfg->server.data_dir;
}

static bool is_char_device(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISCHR(st.st_mode);
}

static bool is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

typedef enum occlum_probe {
    OCCLUM_ABSENT,    /* sysname is not "Occlum" */
    OCCLUM_NO_DEVICE, /* inside Occlum, but the device is not a character device */
    OCCLUM_PRESENT,
} occlum_probe;

typedef enum gramine_probe {
    GRAMINE_ABSENT, /* no directory */
    GRAMINE_DIRECT, /* the directory without attestation_type: gramine-direct, no enclave */
    GRAMINE_SGX,
} gramine_probe;

/* What the probes saw, for the messages. */
typedef struct probe {
    char sysname[65];
    const char *device;
    const char *gramine_dir;
    occlum_probe occlum;
    gramine_probe gramine;
} probe;

/* REFERENCE.md 1: uname sysname "Occlum" and /dev/sgx a character device (on a plain host with
 * the in-kernel driver /dev/sgx is a directory). REFERENCE.md 2: /dev/attestation exists under
 * gramine-direct and gramine-sgx; attestation_type only under gramine-sgx (Gramine's
 * attestation.c adds the SGX files only when the host type is Linux-SGX). */
static void run_probes(const ncsl_tee_options *opts, probe *p) {
    struct utsname u;
    memset(p, 0, sizeof(*p));
    if (opts->sysname) {
        snprintf(p->sysname, sizeof(p->sysname), "%s", opts->sysname);
    } else if (uname(&u) == 0) {
        snprintf(p->sysname, sizeof(p->sysname), "%s", u.sysname);
    }
    p->device = opts->occlum_device ? opts->occlum_device : NCSL_TEE_OCCLUM_DEVICE_DEFAULT;
    p->gramine_dir = opts->gramine_dir ? opts->gramine_dir : NCSL_TEE_GRAMINE_DIR_DEFAULT;
    if (strcmp(p->sysname, "Occlum") != 0) {
        p->occlum = OCCLUM_ABSENT;
    } else {
        p->occlum = is_char_device(p->device) ? OCCLUM_PRESENT : OCCLUM_NO_DEVICE;
    }
    p->gramine = GRAMINE_ABSENT;
    if (is_dir(p->gramine_dir)) {
        char path[4096];
        struct stat st;
        int n = snprintf(path, sizeof(path), "%s/attestation_type", p->gramine_dir);
        bool sgx = n > 0 && (size_t)n < sizeof(path) && stat(path, &st) == 0;
        p->gramine = sgx ? GRAMINE_SGX : GRAMINE_DIRECT;
    }
}

static bool host_has_sgx_device(void) {
    return is_char_device("/dev/sgx_enclave") || is_char_device("/dev/sgx/enclave");
}

/* Picks the ops table and fills `reason`. */
static ncsl_status select_backend(const ncsl_tee_options *opts, const ncsl_tee_ops **ops,
                                  char *reason, size_t reason_size, ncsl_err *err) {
    probe p;
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
    case NCSL_TEE_GRAMINE:
    case NCSL_TEE_AUTO:
        break;
    default:
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "type", "unknown TEE type %d",
                            (int)opts->type);
    }
    run_probes(opts, &p);

    if (opts->type == NCSL_TEE_OCCLUM) {
        if (p.occlum == OCCLUM_ABSENT) {
            return ncsl_err_set(err, NCSL_E_UNSUPPORTED, "type",
                                "Tee.Type Occlum, but not running inside Occlum (uname sysname "
                                "is \"%s\", not \"Occlum\"); use Tee.Type Auto or Simulation",
                                p.sysname);
        }
        if (p.occlum == OCCLUM_NO_DEVICE) {
            return ncsl_err_set(err, NCSL_E_UNSUPPORTED, "type",
                                "Tee.Type Occlum: inside Occlum, but %s is not a character "
                                "device (mount devfs at /dev in Occlum.json)",
                                p.device);
        }
        snprintf(reason, reason_size, "Tee.Type Occlum (sysname Occlum, %s is a character device)",
                 p.device);
        *ops = &ncsl__tee_occlum_ops;
        return NCSL_OK;
    }
    if (opts->type == NCSL_TEE_GRAMINE) {
        if (p.gramine == GRAMINE_ABSENT) {
            return ncsl_err_set(err, NCSL_E_UNSUPPORTED, "type",
                                "Tee.Type Gramine, but %s does not exist: not running inside "
                                "Gramine; use Tee.Type Auto or Simulation",
                                p.gramine_dir);
        }
        if (p.gramine == GRAMINE_DIRECT) {
            return ncsl_err_set(err, NCSL_E_UNSUPPORTED, "type",
                                "Tee.Type Gramine, but %s has no attestation_type: this is "
                                "gramine-direct, which runs without an SGX enclave; run under "
                                "gramine-sgx, or use Tee.Type Simulation",
                                p.gramine_dir);
        }
        snprintf(reason, reason_size, "Tee.Type Gramine (%s/attestation_type present: gramine-sgx)",
                 p.gramine_dir);
        *ops = &ncsl__tee_gramine_ops;
        return NCSL_OK;
    }

    /* Auto. */
    if (p.occlum == OCCLUM_PRESENT) {
        snprintf(reason, reason_size,
                 "Auto: inside Occlum (sysname Occlum, %s is a character device)", p.device);
        *ops = &ncsl__tee_occlum_ops;
        return NCSL_OK;
    }
    if (p.occlum == OCCLUM_NO_DEVICE) {
        return ncsl_err_set(err, NCSL_E_UNSUPPORTED, "type",
                            "Tee.Type Auto: inside Occlum (sysname Occlum), but %s is not a "
                            "character device, so the enclave cannot attest (mount devfs at /dev "
                            "in Occlum.json); set Tee.SimulationMode true (or "
                            "OCCLUM_SIMULATION=1) to run simulated",
                            p.device);
    }
    if (p.gramine == GRAMINE_SGX) {
        snprintf(reason, reason_size,
                 "Auto: not in Occlum (sysname %.32s); inside gramine-sgx (%s/attestation_type "
                 "present)",
                 p.sysname, p.gramine_dir);
        *ops = &ncsl__tee_gramine_ops;
        return NCSL_OK;
    }
    if (p.gramine == GRAMINE_DIRECT) {
        snprintf(reason, reason_size,
                 "Auto: not in Occlum (sysname %.32s); %s has no attestation_type (gramine-direct, "
                 "no SGX); using simulation",
                 p.sysname, p.gramine_dir);
    } else {
        snprintf(reason, reason_size,
                 "Auto: not in Occlum (sysname %.32s); not in Gramine (%s absent); using "
                 "simulation%s",
                 p.sysname, p.gramine_dir,
                 host_has_sgx_device() ? " (the host has an SGX device, but NCSL runs outside an "
                                         "enclave)"
                                       : "");
    }
    *ops = &ncsl__tee_sim_ops;
    return NCSL_OK;
}

ncsl_status ncsl_tee_select(const ncsl_tee_options *opts, const char **name, ncsl_tee_kind *kind,
                            char *reason, size_t reason_size, ncsl_err *err) {
    ncsl_tee_options defaults;
    const ncsl_tee_ops *ops = NULL;
    if (!name || !kind || !reason || reason_size == 0) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, NULL, "NULL argument");
    }
    *name = NULL;
    reason[0] = '\0';
    if (!opts) {
        ncsl_tee_options_default(&defaults);
        opts = &defaults;
    }
    ncsl_status st = select_backend(opts, &ops, reason, reason_size, err);
    if (st != NCSL_OK) {
        return st;
    }
    *name = ops->name();
    *kind = ops->kind;
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
