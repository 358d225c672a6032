/*
 * tee: one interface to the trusted execution environment NCSL runs in (DESIGN.md section 5).
 *
 * A backend is a table of function pointers (ncsl_tee_ops, in the style of Redis's
 * ConnectionType); an opened ncsl_tee is that table plus the backend's private state. Callers use
 * the ncsl_tee_* wrappers below and never look inside.
 *
 * Backends: "simulation" (src/tee/sim/tee_sim.c) is the only one built so far. Occlum and Gramine
 * are detected (cheaply: uname sysname "Occlum" plus /dev/sgx as a character device;
 * /dev/attestation exists) but not implemented: requesting them, or running Auto where one is
 * detected, returns NCSL_E_UNSUPPORTED with a message naming the way out (simulation).
 *
 * Thread safety: open/close are not thread-safe against other calls on the same handle; every
 * other operation may be called concurrently once open returned.
 */
#ifndef NCSL_TEE_H
#define NCSL_TEE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h" /* ncsl_tee_type only (an enum: no link dependency on ncsl_config) */
#include "crypto/seal.h"   /* ncsl_seal_policy */
#include "ncsl/ncsl.h"

#define NCSL_TEE_REPORT_DATA_SIZE 64u
#define NCSL_TEE_SEAL_KEY_SIZE 32u
#define NCSL_TEE_REASON_SIZE 192u

typedef struct ncsl_tee ncsl_tee;

/* What kind of TEE a backend is: only hardware quotes prove anything to a third party. */
typedef enum ncsl_tee_kind {
    NCSL_TEE_KIND_SIMULATION = 1, /* no hardware protection; quotes chain to a local root */
    NCSL_TEE_KIND_HARDWARE = 2,   /* SGX (Occlum, Gramine) */
} ncsl_tee_kind;

/* The enclave's identity, as it appears in its quotes' ISV report body. Every field is a copy. */
typedef struct ncsl_tee_measurement {
    uint8_t mr_enclave[32];
    uint8_t mr_signer[32];
    uint8_t attributes[16]; /* flags u64 LE, then xfrm u64 LE (SGX layout) */
    uint16_t isv_prod_id;
    uint16_t isv_svn;
    bool debug; /* attributes flags & 0x2 */
} ncsl_tee_measurement;

/* Options for ncsl_tee_open. Caller-owned; fill with ncsl_tee_options_default. */
typedef struct ncsl_tee_options {
    ncsl_tee_type type;     /* default NCSL_TEE_AUTO */
    const char *data_dir;   /* borrowed for the call; required by simulation (its state lives
                               in <data_dir>/tee/). NULL: "./ncsl-data" */
    bool simulation_forced; /* Tee.SimulationMode / OCCLUM_SIMULATION=1: simulation, whatever
                               `type` says */
    bool debug;             /* simulation: set the DEBUG attribute in the measurement */
} ncsl_tee_options;

/*
 * The backend vtable. `state` is what the backend's open returned. Every function reports
 * failures as a status plus details in `err` (may be NULL); messages never hold secrets.
 */
typedef struct ncsl_tee_ops {
    ncsl_tee_kind kind;
    /* Static backend name ("simulation"). */
    const char *(*name)(void);
    /* Creates the backend state. `opts` is borrowed (never NULL). On success *state is owned by
     * the handle and released with close. */
    ncsl_status (*open)(const ncsl_tee_options *opts, void **state, ncsl_err *err);
    /* Releases the state, wiping secrets. NULL does nothing. */
    void (*close)(void *state);
    /* Fills *out (caller-owned). */
    ncsl_status (*measure)(void *state, ncsl_tee_measurement *out, ncsl_err *err);
    /* A quote over `report_data` (borrowed, 64 bytes). On success *quote is a new buffer of
     * *len bytes; the caller frees it with free(). */
    ncsl_status (*quote)(void *state, const uint8_t report_data[NCSL_TEE_REPORT_DATA_SIZE],
                         uint8_t **quote, size_t *len, ncsl_err *err);
    /* The 32-byte root sealing key for `policy` into `key` (caller-owned, a secret: wipe it). */
    ncsl_status (*seal_key)(void *state, ncsl_seal_policy policy,
                            uint8_t key[NCSL_TEE_SEAL_KEY_SIZE], ncsl_err *err);
    /* `len` random bytes into `buf` (caller-owned). */
    ncsl_status (*random)(void *state, void *buf, size_t len, ncsl_err *err);
    /* The PEM root certificate a verifier pins for this backend's quotes (borrowed from the
     * state, NUL-terminated; *len without the NUL), or NULL when the backend's quotes chain to
     * Intel's root (hardware). May be NULL as a function: same meaning. */
    const char *(*attestation_root_pem)(void *state, size_t *len);
} ncsl_tee_ops;

/* Defaults: Auto, data_dir NULL ("./ncsl-data"), not forced, no debug. `opts` is borrowed. */
void ncsl_tee_options_default(ncsl_tee_options *opts);

/*
 * Picks the backend and opens it. `opts` (NULL: defaults) is borrowed; data_dir is copied.
 * Selection: simulation_forced or type Simulation -> simulation; Occlum/Gramine ->
 * NCSL_E_UNSUPPORTED (not built yet); Auto -> Occlum if detected, else Gramine if detected (both
 * NCSL_E_UNSUPPORTED for now), else simulation, with the reason in ncsl_tee_reason.
 * On success the caller closes *out with ncsl_tee_close. Errors from the simulation backend:
 * NCSL_E_TEE_INSECURE_FILE (platform secret unsafe: the message names the file and the fix),
 * NCSL_E_TEE_STATE, NCSL_E_IO, NCSL_E_CRYPTO, NCSL_E_NOMEM, NCSL_E_SEAL_INTEGRITY.
 */
NCSL_NODISCARD ncsl_status ncsl_tee_open(const ncsl_tee_options *opts, ncsl_tee **out,
                                         ncsl_err *err);

/* Wipes the backend's secrets and frees the handle. NULL does nothing. */
void ncsl_tee_close(ncsl_tee *tee);

/* Backend name ("simulation"), kind, and why this backend was chosen (static / borrowed from
 * the handle, never NULL). */
const char *ncsl_tee_name(const ncsl_tee *tee);
ncsl_tee_kind ncsl_tee_get_kind(const ncsl_tee *tee);
const char *ncsl_tee_reason(const ncsl_tee *tee);
/* The backend's ops table (static, borrowed). */
const ncsl_tee_ops *ncsl_tee_get_ops(const ncsl_tee *tee);

/* Forwarders to the ops table; same contracts as the ops above. */
NCSL_NODISCARD ncsl_status ncsl_tee_measure(ncsl_tee *tee, ncsl_tee_measurement *out,
                                            ncsl_err *err);
NCSL_NODISCARD ncsl_status ncsl_tee_get_quote(ncsl_tee *tee,
                                              const uint8_t report_data[NCSL_TEE_REPORT_DATA_SIZE],
                                              uint8_t **quote, size_t *len, ncsl_err *err);
NCSL_NODISCARD ncsl_status ncsl_tee_seal_key(ncsl_tee *tee, ncsl_seal_policy policy,
                                             uint8_t key[NCSL_TEE_SEAL_KEY_SIZE], ncsl_err *err);
NCSL_NODISCARD ncsl_status ncsl_tee_random(ncsl_tee *tee, void *buf, size_t len, ncsl_err *err);
/* See ncsl_tee_ops.attestation_root_pem. Borrowed from the handle; NULL for hardware. */
const char *ncsl_tee_attestation_root_pem(ncsl_tee *tee, size_t *len);

#endif /* NCSL_TEE_H */
