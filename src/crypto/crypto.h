/*
 * crypto: thin wrappers over OpenSSL 3 (EVP interfaces only) shared by the subsystems that need
 * hashing, randomness, key derivation and hex. Sealing (AES-256-GCM blobs bound to a record
 * identity) lives in seal.h. Depends on common and OpenSSL's libcrypto.
 *
 * Every function is thread-safe (no state of its own) and reports failures as an ncsl_status plus
 * details in an optional, caller-owned ncsl_err. Messages never contain key material or inputs.
 */
#ifndef NCSL_CRYPTO_H
#define NCSL_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "ncsl/ncsl.h"

#define NCSL_CRYPTO_SHA256_SIZE 32u
/* RFC 5869: at most 255 blocks of output. */
#define NCSL_CRYPTO_HKDF_SHA256_MAX_OUT (255u * NCSL_CRYPTO_SHA256_SIZE)

/* SHA-256 of `len` bytes at `data` (borrowed; may be NULL only when len == 0) into `out`
 * (caller-owned, 32 bytes). NCSL_E_CRYPTO if OpenSSL fails. */
NCSL_NODISCARD ncsl_status ncsl_crypto_sha256(const void *data, size_t len,
                                              uint8_t out[NCSL_CRYPTO_SHA256_SIZE], ncsl_err *err);

/* Fills `buf` (caller-owned, `len` bytes) from OpenSSL's CSPRNG (RAND_bytes). On failure the
 * buffer is wiped and NCSL_E_CRYPTO is returned: never use its contents then. */
NCSL_NODISCARD ncsl_status ncsl_crypto_random(void *buf, size_t len, ncsl_err *err);

/*
 * HKDF-SHA256 (RFC 5869, extract then expand) through EVP_KDF "HKDF".
 * ikm: input keying material, borrowed, must be non-empty. salt: borrowed, NULL/0 means no salt
 * (RFC 5869: a string of 32 zero bytes). info: borrowed, NULL/0 means empty.
 * out: caller-owned, out_len bytes, 1..NCSL_CRYPTO_HKDF_SHA256_MAX_OUT. Treat it as a secret; on
 * failure it is wiped. NCSL_E_INVALID_ARG for bad sizes, NCSL_E_CRYPTO if OpenSSL fails.
 */
NCSL_NODISCARD ncsl_status ncsl_crypto_hkdf_sha256(const uint8_t *ikm, size_t ikm_len,
                                                   const uint8_t *salt, size_t salt_len,
                                                   const uint8_t *info, size_t info_len,
                                                   uint8_t *out, size_t out_len, ncsl_err *err);

/* Lowercase hex of `len` bytes at `in` (borrowed) into `out` (caller-owned, out_size bytes),
 * NUL-terminated. out_size must be at least 2 * len + 1, else NCSL_E_INVALID_ARG (field "out")
 * and nothing is written. */
NCSL_NODISCARD ncsl_status ncsl_crypto_hex_encode(const void *in, size_t len, char *out,
                                                  size_t out_size, ncsl_err *err);

/*
 * Strict hex decoding of exactly `hex_len` characters at `hex` (borrowed; need not be
 * NUL-terminated): only [0-9a-fA-F], even length, no prefix ("0x"), no whitespace, no separators.
 * Writes hex_len / 2 bytes to `out` (caller-owned, out_size bytes) and that count to *out_len.
 * Errors (NCSL_E_INVALID_ARG): odd length (field "hex"), a non-hex character (field "hex", the
 * message gives its offset, never the input), out too small (field "out"). On any failure the
 * bytes already written to `out` are wiped (the value may be a key) and *out_len is 0.
 */
NCSL_NODISCARD ncsl_status ncsl_crypto_hex_decode(const char *hex, size_t hex_len, uint8_t *out,
                                                  size_t out_size, size_t *out_len, ncsl_err *err);

/* Constant-time comparison of two `len`-byte buffers (borrowed): 1 if equal, 0 if not. */
int ncsl_crypto_equal(const void *a, const void *b, size_t len);

#endif
