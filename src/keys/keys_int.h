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

/* An EVP_PKEY for the compressed point `pub` (borrowed), or NULL (invalid point, or out of
 * memory: both are "cannot use this key"). The key may be shared with other threads (a cache of
 * recent keys): use it read-only. Caller frees its reference with EVP_PKEY_free. */
EVP_PKEY *ncsl__keys_p256_pkey_from_pub(const uint8_t pub[NCSL_KEYS_P256_PUB_SIZE]);

/* ncsl_keys_p256_verify with the key as an EVP_PKEY (borrowed, public or private): the checks
 * and results of that function, without importing the point again. */
NCSL_NODISCARD ncsl_status ncsl__keys_p256_verify_pkey(EVP_PKEY *k, const void *msg, size_t len,
                                                       const uint8_t sig[NCSL_KEYS_P256_SIG_SIZE],
                                                       ncsl_err *err);

/* The compressed public key of a P-256 EVP_PKEY (borrowed) into `out`. false on failure. */
bool ncsl__keys_p256_pub_of(EVP_PKEY *k, uint8_t out[NCSL_KEYS_P256_PUB_SIZE]);

/* s := n - s when s > n / 2 (`s` big-endian, s < n): the low-S twin of a signature's s. */
void ncsl__keys_low_s(uint8_t s[32]);
/* An OpenSSL signature (borrowed) as the 64-byte r || s with low S. NCSL_OK or NCSL_E_CRYPTO. */
struct ECDSA_SIG_st;
ncsl_status ncsl__keys_sig_to_raw(const struct ECDSA_SIG_st *es,
                                  uint8_t sig[NCSL_KEYS_P256_SIG_SIZE], ncsl_err *err);

/* ------------------------------------------------------------------ signer (presign.c) */
/* Signing with the identity's P-256 key, with a pool of precomputed nonces (the design and why
 * it is safe: presign.c and docs/receipts.md). Thread-safe except create/destroy. */
typedef struct ncsl__keys_signer ncsl__keys_signer;

#define NCSL__KEYS_PRESIGN_DEFAULT 64u /* pool size; refilled when it falls to half */
#define NCSL__KEYS_PRESIGN_MAX 4096u

/* A signer for the P-256 private key `key` (borrowed; the signer keeps its own copy). The pool
 * is on (NCSL__KEYS_PRESIGN_DEFAULT) and its thread starts with the first signature. Caller
 * frees *out with ncsl__keys_signer_destroy. NCSL_E_NOMEM, NCSL_E_CRYPTO. */
NCSL_NODISCARD ncsl_status ncsl__keys_signer_create(EVP_PKEY *key, ncsl__keys_signer **out,
                                                    ncsl_err *err);
/* Stops and joins the thread, wipes the pool and the key copy, frees `s`. NULL does nothing. */
void ncsl__keys_signer_destroy(ncsl__keys_signer *s);
/* ECDSA P-256/SHA-256 over `msg` (hashed here) as raw r || s with low s, as ncsl_keys_sign. */
NCSL_NODISCARD ncsl_status ncsl__keys_signer_sign(ncsl__keys_signer *s, const void *msg, size_t len,
                                                  uint8_t sig[NCSL_KEYS_P256_SIG_SIZE],
                                                  ncsl_err *err);
void ncsl__keys_signer_stats(ncsl__keys_signer *s, ncsl_keys_presign_stats *out);
NCSL_NODISCARD ncsl_status ncsl__keys_signer_configure(ncsl__keys_signer *s, size_t capacity,
                                                       bool refill, ncsl_err *err);
bool ncsl__keys_signer_wait(ncsl__keys_signer *s, size_t n, int timeout_ms);

/*
 * TESTS AND BENCHMARKS ONLY: the pool of `keys`' signer. `capacity` 0 switches it off (entries
 * wiped; every signature takes the normal path), up to NCSL__KEYS_PRESIGN_MAX sets its size;
 * `refill` false pauses the background thread (the pool drains, then signing falls back).
 * Not for concurrent use with signing on the same handle from tests that count on the stats.
 * NCSL_E_INVALID_ARG (capacity too large).
 */
NCSL_NODISCARD ncsl_status ncsl__keys_presign_configure(const ncsl_keys *keys, size_t capacity,
                                                        bool refill, ncsl_err *err);
/* TESTS AND BENCHMARKS ONLY: waits up to `timeout_ms` for the pool to hold `n` entries (polls
 * every millisecond). true when it does. */
bool ncsl__keys_presign_wait(const ncsl_keys *keys, size_t n, int timeout_ms);

/*
 * (A worker process gets the identity through ncsl_keys_private_export / _import, keys.h, not
 * through the two functions below.)
 *
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
