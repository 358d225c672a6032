/*
 * tee: one interface to the trusted execution environment NCSL runs in (DESIGN.md section 5).
 *
 * A backend is a table of function pointers (ncsl_tee_ops, in the style of Redis's
 * ConnectionType); an opened ncsl_tee is that table plus the backend's private state. Callers use
 * the ncsl_tee_* wrappers below and never look inside.
 *
 * Backends (all three are always built; they use nothing but libc and OpenSSL):
 *   "simulation" (sim/tee_sim.c): no hardware; quotes chain to a per-installation root.
 *   "occlum" (occlum/tee_occlum.c): inside an Occlum LibOS enclave, through the ioctls of
 *       Occlum's /dev/sgx (REFERENCE.md section 1).
 *   "gramine" (gramine/tee_gramine.c): inside a gramine-sgx enclave, through the
 *       /dev/attestation pseudo-files (REFERENCE.md section 2).
 * Selection is described at ncsl_tee_open.
 *
 * Thread safety: open/close are not thread-safe against other calls on the same handle; every
 * other operation may be called concurrently once open returned (the hardware backends serialize
 * their device access internally).
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

/*
 * The system calls the Occlum backend reaches the SGX device through. NULL in the options means
 * the real ones: open(2), ioctl(2), close(2). Tests install a fake SGX driver here (this is the
 * only seam: the backend's own code runs unchanged). Each function returns what the system call
 * returns and sets errno the same way; `user` is passed back unchanged.
 */
typedef struct ncsl_tee_sgx_transport {
    int (*open)(void *user, const char *path, int flags);
    int (*ioctl)(void *user, int fd, unsigned long request, void *arg);
    int (*close)(void *user, int fd);
    void *user;
} ncsl_tee_sgx_transport;

/* Options for ncsl_tee_open. Caller-owned; fill with ncsl_tee_options_default. Every string is
 * borrowed for the call and copied where the handle needs it later. */
typedef struct ncsl_tee_options {
    ncsl_tee_type type;     /* default NCSL_TEE_AUTO */
    const char *data_dir;   /* required by simulation (its state lives in <data_dir>/tee/).
                               NULL: "./ncsl-data" */
    bool simulation_forced; /* Tee.SimulationMode / OCCLUM_SIMULATION=1: simulation, whatever
                               `type` says */
    bool debug;             /* simulation: set the DEBUG attribute in the measurement */

    /* Where the hardware backends find their interfaces. NULL: the real paths. */
    const char *occlum_device; /* NULL: "/dev/sgx" */
    const char *gramine_dir;   /* NULL: "/dev/attestation" */
    /* Detection input: the kernel name Occlum reports. NULL: uname(2)'s sysname. Tests set it
     * to drive Auto selection; a deployment leaves it NULL. */
    const char *sysname;
    /* Occlum only: NULL for the real system calls. Borrowed for the handle's lifetime (the
     * struct is copied at open; its `user` must outlive the handle). */
    const ncsl_tee_sgx_transport *sgx_transport;
    /* Occlum only: how often one quoting ioctl is tried while the quoting service answers
     * EBUSY (0: 20, the count of Occlum's own test) and the first sleep between tries in
     * milliseconds (0: 5), doubled after each try, at most 500 ms per sleep (nanosleep: Occlum
     * has no timers, and signals are no sleep primitive). The defaults wait about 6.6 s in
     * all before giving up with NCSL_E_TEE_UNAVAILABLE. */
    unsigned occlum_busy_tries;
    unsigned occlum_busy_backoff_ms;
} ncsl_tee_options;

/*
 * The backend vtable. `state` is what the backend's open returned. Every function reports
 * failures as a status plus details in `err` (may be NULL); messages never hold secrets.
 */
typedef struct ncsl_tee_ops {
    ncsl_tee_kind kind;
    /* Static backend name: "simulation", "occlum" or "gramine". */
    const char *(*name)(void);
    /* Creates the backend state. `opts` is borrowed (never NULL). On success *state is owned by
     * the handle and released with close. */
    ncsl_status (*open)(const ncsl_tee_options *opts, void **state, ncsl_err *err);
    /* Releases the state, wiping secrets. NULL does nothing. */
    void (*close)(void *state);
    /* Fills *out (caller-owned). */
    ncsl_status (*measure)(void *state, ncsl_tee_measurement *out, ncsl_err *err);
    /* A quote over `report_data` (borrowed, 64 bytes). On success *quote is a new buffer of
     * *len bytes; the caller frees it with free(). Hardware backends check that the platform's
     * answer is a DCAP v3 quote over these report data for this enclave (NCSL_E_TEE when not)
     * and return NCSL_E_TEE_UNAVAILABLE when the quoting service is not ready or stays busy. */
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

/* Defaults: Auto, data_dir NULL ("./ncsl-data"), not forced, no debug, the real device paths,
 * uname and system calls. `opts` is borrowed. */
void ncsl_tee_options_default(ncsl_tee_options *opts);

/* Defaults, then what a finalized configuration (borrowed) says: Tee.Type, Tee.Debug, simulation
 * forced by Tee.SimulationMode or OCCLUM_SIMULATION, and Server.DataDir (borrowed from `cfg`:
 * it must outlive the open call). */
void ncsl_tee_options_from_config(ncsl_tee_options *opts, const ncsl_config *cfg);

/*
 * Picks the backend and opens it. `opts` (NULL: defaults) is borrowed; what the handle keeps is
 * copied. ncsl_tee_reason says which backend was chosen and why.
 *
 * Selection:
 *   - simulation_forced, or type Simulation: simulation.
 *   - type Occlum: Occlum when detected (sysname "Occlum" and occlum_device is a character
 *     device), else NCSL_E_UNSUPPORTED naming what is missing.
 *   - type Gramine: Gramine when gramine_dir exists and holds attestation_type (gramine-sgx),
 *     else NCSL_E_UNSUPPORTED (no directory: not inside Gramine; no attestation_type:
 *     gramine-direct, which has no SGX).
 *   - Auto: Occlum when detected; sysname "Occlum" without the device is an error (an enclave
 *     that cannot attest must not silently run simulated). Then Gramine when gramine-sgx is
 *     detected. gramine-direct (the directory without attestation_type) has no enclave, so Auto
 *     falls back to simulation, and so it does when neither is present.
 * A detected enclave whose backend then fails to open is an error, never a fallback: running
 * simulated inside an enclave is a choice the operator makes explicitly (simulation_forced).
 *
 * On success the caller closes *out with ncsl_tee_close. Errors: NCSL_E_INVALID_ARG,
 * NCSL_E_UNSUPPORTED (backend not detected, or the enclave is configured so that NCSL cannot
 * attest: Gramine without DCAP remote attestation), NCSL_E_TEE (the device or files answered
 * wrongly: the message names the file or ioctl and errno), NCSL_E_NOMEM; from the simulation
 * backend also NCSL_E_TEE_INSECURE_FILE (platform secret unsafe: the message names the file and
 * the fix), NCSL_E_TEE_STATE, NCSL_E_IO, NCSL_E_CRYPTO, NCSL_E_SEAL_INTEGRITY.
 */
NCSL_NODISCARD ncsl_status ncsl_tee_open(const ncsl_tee_options *opts, ncsl_tee **out,
                                         ncsl_err *err);

/*
 * Which backend ncsl_tee_open would pick for `opts` (NULL: defaults) and why, without opening it:
 * the same read-only probes (uname, stat), nothing is created (`ncsl check` reports it). On
 * success *name is the static backend name ("simulation", "occlum", "gramine"), *kind its kind
 * and `reason` (caller-owned, reason_size bytes, NCSL_TEE_REASON_SIZE is enough) says why.
 * Errors: the selection errors of ncsl_tee_open (NCSL_E_UNSUPPORTED naming what is missing,
 * NCSL_E_INVALID_ARG); the backend's own open may still fail later.
 */
NCSL_NODISCARD ncsl_status ncsl_tee_select(const ncsl_tee_options *opts, const char **name,
                                           ncsl_tee_kind *kind, char *reason, size_t reason_size,
                                           ncsl_err *err);

/* Wipes the backend's secrets and frees the handle. NULL does nothing. */
void ncsl_tee_close(ncsl_tee *tee);

/* Backend name ("simulation", "occlum", "gramine"), kind, and why this backend was chosen
 * (static / borrowed from the handle, never NULL). */
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
