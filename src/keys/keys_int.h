/*
 * Internals of src/keys shared across its files (ncsl__keys_*). Not for other subsystems, except
 * the TEST ONLY functions, which unit tests use.
 */
#ifndef NCSL_KEYS_INT_H
#define NCSL_KEYS_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "keys/keys.h"

/* The P-256 group order n and n / 2 (rounded down), big-endian. */
extern const uint8_t ncsl__keys_p256_order[32];
extern const uint8_t ncsl__keys_p256_half_order[32];

/* Big-endian comparison of two 32-byte numbers: <0, 0, >0. Not constant-time (public data). */
int ncsl__keys_cmp32(const uint8_t a[32], const uint8_t b[32]);

/* A new EVP_PKEY for the compressed point `pub` (borrowed), or NULL (invalid point, or out of
 * memory: both are "cannot use this key"). Caller frees with EVP_PKEY_free. */
EVP_PKEY *ncsl__keys_p256_pkey_from_pub(const uint8_t pub[NCSL_KEYS_P256_PUB_SIZE]);

/* ncsl_keys_p256_verify with the key as an EVP_PKEY (borrowed, public or private): the checks
 * and results of that function, without importing the point again. */
NCSL_NODISCARD ncsl_status ncsl__keys_p256_verify_pkey(EVP_PKEY *k, const void *msg, size_t len,
                                                       const uint8_t sig[NCSL_KEYS_P256_SIG_SIZE],
                                                       ncsl_err *err);

/* The compressed public key of a P-256 EVP_PKEY (borrowed) into `out`. false on failure. */
bool ncsl__keys_p256_pub_of(EVP_PKEY *k, uint8_t out[NCSL_KEYS_P256_PUB_SIZE]);

/*
 * TEST ONLY: an ephemeral identity from given private keys (`d`: P-256 scalar, big-endian, in
 * [1, n-1]; `x`: X25519 private key; both borrowed), so tests can use known-answer vectors.
 * Caller frees *out with ncsl_keys_destroy. NCSL_E_INVALID_ARG for a scalar out of range.
 */
NCSL_NODISCARD ncsl_status ncsl__keys_from_private(const uint8_t d[32], const uint8_t x[32],
                                                   ncsl_keys **out, ncsl_err *err);

/* TEST ONLY: copies the private keys of `keys` into `d` and `x` (caller-owned; secrets), so
 * tests can check that they never appear in clear on disk. */
NCSL_NODISCARD ncsl_status ncsl__keys_test_private(const ncsl_keys *keys, uint8_t d[32],
                                                   uint8_t x[32], ncsl_err *err);

#endif /* NCSL_KEYS_INT_H */
