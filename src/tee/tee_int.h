/*
 * Internals of src/tee shared across its files (ncsl__tee_*). Not for other subsystems.
 */
#ifndef NCSL_TEE_INT_H
#define NCSL_TEE_INT_H

#include "common/common.h"
#include "tee/tee.h"

/* The simulation backend (sim/tee_sim.c). */
extern const ncsl_tee_ops ncsl__tee_sim_ops;

/* Names of the simulation's files under <data_dir>/tee/. */
#define NCSL_TEE_SIM_DIR "tee"
#define NCSL_TEE_SIM_SECRET_FILE "platform.secret"
#define NCSL_TEE_SIM_SECRET_SIZE 32u

/* Which simulated private key ncsl__tee_sim_test_private_scalar reads. */
typedef enum ncsl__tee_sim_key {
    NCSL__TEE_SIM_KEY_PCK = 1,         /* PCK leaf: signs the QE report */
    NCSL__TEE_SIM_KEY_ATTESTATION = 2, /* QE attestation key: signs the ISV report */
} ncsl__tee_sim_key;

/* TEST ONLY: the 32-byte private scalar of one simulated key of an open simulation handle, so
 * tests can check that it never appears in clear on disk. `out` is caller-owned; a secret. */
NCSL_NODISCARD ncsl_status ncsl__tee_sim_test_private_scalar(ncsl_tee *tee, ncsl__tee_sim_key which,
                                                             uint8_t out[32], ncsl_err *err);

/* The backend state of an open handle (borrowed). */
void *ncsl__tee_state(ncsl_tee *tee);

#endif /* NCSL_TEE_INT_H */
