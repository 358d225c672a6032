/*
 * receipt: signed execution receipts (DESIGN.md section 6) and the Neo N3 helpers needed to check
 * them on chain. docs/receipts.md is the reference for users (with a worked example).
 *
 * ---------------------------------------------------------------------------------------------
 * A receipt, as JSON (every member required, no others allowed; hex is lowercase):
 *   executionId  string, 1..256 bytes of UTF-8 (NCSL uses a UUID v4)
 *   functionId   string, 0..1024 bytes ("" for code run without a deployed function)
 *   userId       string, 0..1024 bytes
 *   codeHash     hex, 32 bytes: SHA-256 of the function's source
 *   inputHash    hex, 32 bytes: SHA-256 of the input JSON text
 *   outputHash   hex, 32 bytes: SHA-256 of the result JSON text
 *   timestamp    RFC 3339 UTC with exactly 3 fraction digits ("2026-11-24T15:00:00.123Z")
 *   signingKey   hex, 33 bytes: the enclave's compressed P-256 public key
 *   signature    hex, 64 bytes: ECDSA P-256 / SHA-256, raw r || s, over the message below
 *
 * The signed message (THIS IS A CONTRACT: receipts already issued and on-chain verifiers depend
 * on it; a change needs a new domain tag), all integers big-endian:
 *   15 bytes  "NCSL-RECEIPT-v1" (ASCII, no NUL)
 *    2 bytes  length of executionId in bytes, then its UTF-8 bytes
 *    2 bytes  length of functionId, then its bytes
 *    2 bytes  length of userId, then its bytes
 *   32 bytes  codeHash
 *   32 bytes  inputHash
 *   32 bytes  outputHash
 *    8 bytes  timestamp in milliseconds since 1970-01-01T00:00:00Z
 *   33 bytes  signingKey
 * Length = 15 + 6 + |executionId| + |functionId| + |userId| + 137. The signature is over these
 * bytes (ECDSA hashes them with SHA-256), exactly what Neo's
 * CryptoLib.verifyWithECDsa(message, signingKey, signature, 23) checks.
 * ---------------------------------------------------------------------------------------------
 */
#ifndef NCSL_RECEIPT_H
#define NCSL_RECEIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "keys/keys.h"
#include "ncsl/ncsl.h"

#define NCSL_RECEIPT_DOMAIN "NCSL-RECEIPT-v1"
#define NCSL_RECEIPT_DOMAIN_SIZE 15u
#define NCSL_RECEIPT_MAX_EXECUTION_ID 256u /* bytes */
#define NCSL_RECEIPT_MAX_ID 1024u          /* functionId, userId: bytes */
#define NCSL_RECEIPT_HASH_SIZE 32u
/* The message without the three strings. */
#define NCSL_RECEIPT_FIXED_SIZE (NCSL_RECEIPT_DOMAIN_SIZE + 6u + 3u * 32u + 8u + 33u)

/* What to sign. Every pointer is borrowed for the call. */
typedef struct ncsl_receipt_input {
    const char *execution_id; /* NUL-terminated UTF-8, 1..256 bytes */
    const char *function_id;  /* NULL or NUL-terminated UTF-8, 0..1024 bytes (NULL = "") */
    const char *user_id;      /* likewise */
    uint8_t code_hash[NCSL_RECEIPT_HASH_SIZE];
    uint8_t input_hash[NCSL_RECEIPT_HASH_SIZE];
    uint8_t output_hash[NCSL_RECEIPT_HASH_SIZE];
    uint64_t timestamp_ms; /* 0: now */
} ncsl_receipt_input;

/* A receipt. Caller-owned struct; the strings belong to it and are freed by
 * ncsl_receipt_cleanup (zero the struct, or let a function below fill it, before use). */
typedef struct ncsl_receipt {
    char *execution_id; /* NUL-terminated UTF-8 */
    char *function_id;
    char *user_id;
    uint8_t code_hash[NCSL_RECEIPT_HASH_SIZE];
    uint8_t input_hash[NCSL_RECEIPT_HASH_SIZE];
    uint8_t output_hash[NCSL_RECEIPT_HASH_SIZE];
    uint64_t timestamp_ms;
    uint8_t signing_key[NCSL_KEYS_P256_PUB_SIZE];
    uint8_t signature[NCSL_KEYS_P256_SIG_SIZE];
} ncsl_receipt;

/* Frees the strings and zeroes the struct (caller-owned). NULL does nothing; calling it twice is
 * safe. */
void ncsl_receipt_cleanup(ncsl_receipt *r);

/*
 * The signed message of `r` (borrowed; the signature is not part of it). On success *msg is a
 * new buffer of *len bytes; the caller frees it with free(). Errors: NCSL_E_INVALID_ARG (a
 * string too long or not UTF-8, a timestamp past 9999: field names it), NCSL_E_NOMEM.
 */
NCSL_NODISCARD ncsl_status ncsl_receipt_encode(const ncsl_receipt *r, uint8_t **msg, size_t *len,
                                               ncsl_err *err);

/*
 * Builds and signs a receipt: copies `in` (borrowed), sets signing_key to `keys`' public key,
 * encodes and signs with `keys` (borrowed). `out` is caller-owned and overwritten (not freed
 * first); on success release it with ncsl_receipt_cleanup, on failure it is zeroed.
 * Thread-safe for concurrent calls with the same keys. Errors: NCSL_E_INVALID_ARG (field names
 * the input member), NCSL_E_NOMEM, NCSL_E_CRYPTO.
 */
NCSL_NODISCARD ncsl_status ncsl_receipt_sign(const ncsl_keys *keys, const ncsl_receipt_input *in,
                                             ncsl_receipt *out, ncsl_err *err);

/* The receipt as a JSON object with the members above, in that order (caller frees with
 * json_decref). `r` is borrowed. Errors: NCSL_E_INVALID_ARG, NCSL_E_NOMEM. */
NCSL_NODISCARD ncsl_status ncsl_receipt_to_json(const ncsl_receipt *r, json_t **out, ncsl_err *err);

/*
 * Parses a receipt JSON object (borrowed) strictly: every member present with the right type,
 * length and lowercase hex, no unknown members, a canonical timestamp and a valid signingKey
 * point. Does NOT check the signature. `out` is caller-owned and overwritten; on success release
 * it with ncsl_receipt_cleanup, on failure it is zeroed. Errors: NCSL_E_RECEIPT_MALFORMED (field
 * names the member), NCSL_E_NOMEM.
 */
NCSL_NODISCARD ncsl_status ncsl_receipt_from_json(const json_t *json, ncsl_receipt *out,
                                                  ncsl_err *err);

/*
 * Checks the signature of `r` (borrowed) with its embedded signing_key and, when
 * `expected_key` (borrowed, 33 bytes) is not NULL, that signing_key equals it (take it from a
 * verified attestation proof: a valid signature alone says nothing about who signed).
 * NCSL_OK only when both hold. Errors: NCSL_E_RECEIPT_INVALID (field "signature" or
 * "signingKey"), NCSL_E_INVALID_ARG, NCSL_E_NOMEM.
 */
NCSL_NODISCARD ncsl_status ncsl_receipt_verify(const ncsl_receipt *r, const uint8_t *expected_key,
                                               ncsl_err *err);

/*
 * ncsl_receipt_from_json then ncsl_receipt_verify. When `out` (caller-owned, may be NULL) is
 * given and the receipt parsed, it receives the receipt (also when the signature is wrong, for
 * diagnostics); release it with ncsl_receipt_cleanup. Errors: those of both.
 */
NCSL_NODISCARD ncsl_status ncsl_receipt_verify_json(const json_t *json, const uint8_t *expected_key,
                                                    ncsl_receipt *out, ncsl_err *err);

/* As ncsl_receipt_verify_json for JSON text (`text`, borrowed, `len` bytes); duplicate member
 * names are refused (NCSL_E_RECEIPT_MALFORMED). */
NCSL_NODISCARD ncsl_status ncsl_receipt_verify_text(const char *text, size_t len,
                                                    const uint8_t *expected_key, ncsl_receipt *out,
                                                    ncsl_err *err);

/* ----------------------------------------------------------------------- Neo N3 */

#define NCSL_NEO_SCRIPT_HASH_SIZE 20u
#define NCSL_NEO_VERIFICATION_SCRIPT_SIZE 40u
#define NCSL_NEO_ADDRESS_VERSION 0x35u
#define NCSL_NEO_ADDRESS_SIZE 35u /* 34 characters + NUL */

/* The standard single-signature verification script of a compressed public key (borrowed):
 * 0x0C 0x21 <33 bytes> 0x41 0x56 0xE7 0xB3 0x27 (PUSHDATA1 33, SYSCALL System.Crypto.CheckSig),
 * into `out` (caller-owned). */
void ncsl_receipt_neo_verification_script(const uint8_t pub[NCSL_KEYS_P256_PUB_SIZE],
                                          uint8_t out[NCSL_NEO_VERIFICATION_SCRIPT_SIZE]);

/* A script's hash: RIPEMD160(SHA256(script)) (`script` borrowed; `out` caller-owned), in the
 * byte order Neo stores it (displayed reversed as 0x...). NCSL_E_UNSUPPORTED when this OpenSSL
 * has no RIPEMD160 (the default provider has it since OpenSSL 3.0.7), NCSL_E_CRYPTO. */
NCSL_NODISCARD ncsl_status ncsl_receipt_neo_script_hash(const uint8_t *script, size_t len,
                                                        uint8_t out[NCSL_NEO_SCRIPT_HASH_SIZE],
                                                        ncsl_err *err);

/* The address of a script hash: Base58Check(0x35 || hash), 34 characters + NUL into `out`
 * (caller-owned). Errors: NCSL_E_CRYPTO. */
NCSL_NODISCARD ncsl_status ncsl_receipt_neo_address_from_script_hash(
    const uint8_t hash[NCSL_NEO_SCRIPT_HASH_SIZE], char out[NCSL_NEO_ADDRESS_SIZE], ncsl_err *err);

/* The Neo N3 address of a compressed P-256 public key (borrowed; validated): the address of its
 * verification script's hash. Errors: NCSL_E_KEY_INVALID (field "pub"), and those above. */
NCSL_NODISCARD ncsl_status ncsl_receipt_neo_address(const uint8_t pub[NCSL_KEYS_P256_PUB_SIZE],
                                                    char out[NCSL_NEO_ADDRESS_SIZE], ncsl_err *err);

#endif /* NCSL_RECEIPT_H */
