/*
 * Secret envelopes: a secret value encrypted by a client to the enclave's attested X25519
 * encryption key (ncsl_keys_encryption_pub, the proof's "encryptionKey"), so that only the
 * enclave can read it, bound to one user and one secret name. The body of
 * PUT /api/v1/secrets/{name} {"encryptedValue": ENVELOPE}; docs/secrets.md is the contract a
 * client in any language implements, with a worked example.
 *
 * ---------------------------------------------------------------------------------------------
 * ENVELOPE, a JSON object with exactly these members (no others; hex lowercase; THIS IS A
 * CONTRACT: a change gets a new "alg"):
 *   alg            "ncsl-x25519-hkdf-sha256-aes256gcm-v1"
 *   encryptionKey  hex, 32 bytes: the enclave key it was made for (a proof's encryptionKey)
 *   ephemeralKey   hex, 32 bytes: the sender's one-time X25519 public key
 *   nonce          hex, 12 bytes: the AES-GCM nonce
 *   ciphertext     standard base64 with padding (RFC 4648 section 4, canonical) of the AES-GCM
 *                  ciphertext followed by its 16-byte tag (plaintext length + 16 bytes)
 * With
 *   shared = X25519(ephemeral private key, encryptionKey)      (never all zero)
 *   key    = HKDF-SHA256(ikm = shared, salt = ephemeralKey || encryptionKey (64 bytes),
 *                        info = the alg string in ASCII, length 32)
 *   aad    = "ncsl-secret-v1" 0x00 userId 0x00 name            (ASCII/UTF-8, no terminator)
 *   ciphertext || tag = AES-256-GCM(key, nonce, aad, plaintext)
 * The plaintext is the secret value: UTF-8 text without NUL bytes (what a JSON string in
 * {"value": "..."} can carry), 0 bytes or more.
 * ---------------------------------------------------------------------------------------------
 *
 * Errors name the JSON member as "encryptedValue.<member>" (the body member the envelope
 * travels in) and never contain the plaintext.
 *
 * Thread safety: every function may be called concurrently (ncsl_keys allows it; no state).
 */
#ifndef NCSL_KEYS_ENVELOPE_H
#define NCSL_KEYS_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "keys/keys.h"
#include "ncsl/ncsl.h"

#define NCSL_KEYS_ENVELOPE_ALG "ncsl-x25519-hkdf-sha256-aes256gcm-v1"
#define NCSL_KEYS_ENVELOPE_AAD_LABEL "ncsl-secret-v1"
#define NCSL_KEYS_ENVELOPE_NONCE_SIZE 12u
#define NCSL_KEYS_ENVELOPE_TAG_SIZE 16u
/* The body member an envelope travels in; the prefix of every error field. */
#define NCSL_KEYS_ENVELOPE_FIELD "encryptedValue"
/* The largest plaintext the format carries (Limits.MaxSecretBytes can be at most this); each
 * caller passes its own, usually smaller, limit. */
#define NCSL_KEYS_ENVELOPE_MAX_PLAINTEXT (16u * 1024u * 1024u)
/* Longest user id and secret name (bytes) an envelope binds. */
#define NCSL_KEYS_ENVELOPE_MAX_ID 255u

/*
 * Client side: encrypts `len` bytes at `plaintext` (borrowed; NULL only when len is 0; UTF-8
 * without NUL bytes, at most NCSL_KEYS_ENVELOPE_MAX_PLAINTEXT bytes) to the enclave encryption
 * key `enclave_pub` (borrowed, 32 bytes; take it from a VERIFIED proof) for the user `user_id`
 * and the secret `name` (borrowed NUL-terminated strings, 1..NCSL_KEYS_ENVELOPE_MAX_ID bytes,
 * exactly as the server knows them: the user id as GET /api/v1/me returns it). A fresh
 * ephemeral key and nonce come from OpenSSL's CSPRNG.
 * On success *out is a new JSON object as above (caller frees with json_decref); it holds no
 * secret. Errors: NCSL_E_INVALID_ARG (field "plaintext", "user_id", "name"; not UTF-8 text),
 * NCSL_E_PAYLOAD_TOO_LARGE (field "plaintext"), NCSL_E_KEY_INVALID (field "enclave_pub": a
 * small-order point), NCSL_E_NOMEM, NCSL_E_CRYPTO.
 */
NCSL_NODISCARD ncsl_status ncsl_keys_envelope_seal(const uint8_t enclave_pub[NCSL_KEYS_X25519_SIZE],
                                                   const char *user_id, const char *name,
                                                   const void *plaintext, size_t len, json_t **out,
                                                   ncsl_err *err);

/*
 * Server side: opens `envelope` (borrowed; the value of the body's "encryptedValue") with the
 * enclave's keys (borrowed) for the user `user_id` and the secret `name` (borrowed, as in
 * ncsl_keys_envelope_seal). `max_plaintext` is the caller's limit on the value (bytes, at most
 * NCSL_KEYS_ENVELOPE_MAX_PLAINTEXT; the secrets route passes Limits.MaxSecretBytes).
 * On success *plaintext is a new buffer of *len bytes plus a NUL byte (not counted); the caller
 * frees it with ncsl_keys_envelope_free(*plaintext, *len), which wipes it. On failure
 * *plaintext is NULL and *len 0: no unauthenticated byte reaches the caller.
 * Errors (field "encryptedValue" or "encryptedValue.<member>"):
 *   NCSL_E_INVALID_ARG     not an object, an unknown or missing member, an unknown alg, wrong
 *                          length, not lowercase hex, not canonical base64, a ciphertext
 *                          shorter than the tag; the envelope was made for another encryption
 *                          key (field "encryptedValue.encryptionKey"; the message says the
 *                          enclave's key changed or the proof was another enclave's); it does
 *                          not authenticate (field "encryptedValue": changed in any way, or made
 *                          for another user, secret name or enclave key; one error for all);
 *                          the value is not UTF-8 text without NUL bytes
 *   NCSL_E_KEY_INVALID     ephemeralKey is a small-order point (field
 *                          "encryptedValue.ephemeralKey")
 *   NCSL_E_PAYLOAD_TOO_LARGE  the value is over max_plaintext (field
 *                          "encryptedValue.ciphertext"; checked before any decryption)
 *   NCSL_E_INVALID_ARG     (field "keys", "user_id", "name", "max_plaintext") bad arguments
 *   NCSL_E_NOMEM, NCSL_E_CRYPTO
 */
NCSL_NODISCARD ncsl_status ncsl_keys_envelope_open(const ncsl_keys *keys, const json_t *envelope,
                                                   const char *user_id, const char *name,
                                                   size_t max_plaintext, char **plaintext,
                                                   size_t *len, ncsl_err *err);

/* Wipes `len` bytes plus the trailing NUL and frees `plaintext` (takes ownership; from
 * ncsl_keys_envelope_open). NULL does nothing. */
void ncsl_keys_envelope_free(char *plaintext, size_t len);

/*
 * TEST ONLY: ncsl_keys_envelope_seal with a given ephemeral X25519 private key (`eph_priv`, raw
 * RFC 7748 32 bytes) and `nonce` (both borrowed), for known-answer vectors (docs/secrets.md).
 * Never use a fixed key or nonce for real secrets.
 */
NCSL_NODISCARD ncsl_status ncsl__keys_envelope_seal_with(
    const uint8_t enclave_pub[NCSL_KEYS_X25519_SIZE], const char *user_id, const char *name,
    const void *plaintext, size_t len, const uint8_t eph_priv[NCSL_KEYS_X25519_SIZE],
    const uint8_t nonce[NCSL_KEYS_ENVELOPE_NONCE_SIZE], json_t **out, ncsl_err *err);

#endif /* NCSL_KEYS_ENVELOPE_H */
