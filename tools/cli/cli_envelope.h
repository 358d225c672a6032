/*
 * Encrypting a secret value to an attested enclave (src/keys/envelope.h, docs/secrets.md): the
 * proof is verified exactly as `ncsl verify` does it (same options, cli_trust.h), and only then
 * is the value sealed to the encryptionKey the proof attests. Shared by `ncsl encrypt-secret`
 * and any command that uploads secrets encrypted (`ncsl secrets put --encrypt`).
 *
 * Every function prints its own error ("ncsl: <cmd>: ...") and never prints the value.
 */
#ifndef NCSL_CLI_ENVELOPE_H
#define NCSL_CLI_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "cli_trust.h"
#include "keys/keys.h"

/* ncsld's default Limits.MaxSecretBytes: the default for a value's size limit. */
#define NCSL_CLI_SECRET_MAX_DEFAULT 4096u
/* A user id as GET /api/v1/me returns it: a lowercase UUID, plus NUL. */
#define NCSL_CLI_USER_ID_SIZE 37u

/*
 * Verifies `proof` (borrowed; a bare proof object, e.g. what ncsl_cli_envelope_data gives for a
 * document read with ncsl_cli_read_json) with the verification options `a` (borrowed; the
 * proof-level set of ncsl_cli_verify_opts: --allow-simulation, --nonce, --expect-mrenclave...).
 * `cmd` and `source` (the proof's file name) name things in messages. On success writes the
 * X25519 encryption key the proof attests to `enc_pub` (caller-owned) and returns
 * NCSL_CLI_EXIT_OK; when the proof is of the simulation TEE (allowed by --allow-simulation) it
 * warns on stderr that the host can read what is encrypted to it.
 * Returns NCSL_CLI_EXIT_USAGE for a bad option value, NCSL_CLI_EXIT_FAIL when the proof is
 * rejected ("the attestation proof is not valid, refusing to encrypt to it: <reason>") or could
 * not be checked; `enc_pub` is then zeroed.
 */
int ncsl_cli_attested_encryption_key(const char *cmd, const char *source, const json_t *proof,
                                     const ncsl_cli_verify_args *a,
                                     uint8_t enc_pub[NCSL_KEYS_X25519_SIZE]);

/*
 * Seals `len` bytes at `value` (borrowed; UTF-8 without NUL bytes) to `enc_pub` (borrowed: a key
 * from ncsl_cli_attested_encryption_key, never an unverified one) for `user_id` and `name`
 * (borrowed; as the server knows them, see ncsl_cli_user_id_normalize and
 * ncsl_cli_secret_name_ok). On NCSL_CLI_EXIT_OK *out is the envelope (caller frees with
 * json_decref); else NCSL_CLI_EXIT_FAIL after printing why (never the value), *out NULL.
 */
int ncsl_cli_seal_secret(const char *cmd, const uint8_t enc_pub[NCSL_KEYS_X25519_SIZE],
                         const char *user_id, const char *name, const void *value, size_t len,
                         json_t **out);

/*
 * "Verify this proof and seal to it": ncsl_cli_attested_encryption_key, then
 * ncsl_cli_seal_secret (same arguments). On NCSL_CLI_EXIT_OK *out is the envelope, ready to
 * send as {"encryptedValue": *out} (caller frees with json_decref); otherwise *out is NULL and
 * the exit status is that of the failed step.
 */
int ncsl_cli_seal_secret_to_proof(const char *cmd, const char *source, const json_t *proof,
                                  const ncsl_cli_verify_args *a, const char *user_id,
                                  const char *name, const void *value, size_t len, json_t **out);

/*
 * Reads a secret value, never from the command line: from the file `path`, or from standard
 * input when `path` is NULL or "-". When standard input is a terminal, prompts on stderr and
 * reads one line with echo off (the line end is not part of the value). Otherwise the bytes are
 * taken as they are, except that `strip_newline` removes one trailing "\n" (or "\r\n").
 * Refuses an empty value and one over `max` bytes (`max_opt` names the option that sets it, in
 * the message). Returns a NUL-terminated buffer of *len bytes that the caller frees with
 * ncsl_cli_secret_value_free, or NULL after printing why.
 */
char *ncsl_cli_read_secret_value(const char *cmd, const char *path, bool strip_newline, size_t max,
                                 const char *max_opt, size_t *len);

/* Wipes `len` bytes plus the NUL and frees a value from ncsl_cli_read_secret_value (takes
 * ownership). NULL does nothing. */
void ncsl_cli_secret_value_free(char *value, size_t len);

/* True when `name` is a secret name the API accepts: [A-Za-z_][A-Za-z0-9_]{0,63}. */
bool ncsl_cli_secret_name_ok(const char *name);

/* Copies a user id (a UUID, 8-4-4-4-12 hex digits, any case) in the form the server binds it,
 * lowercase, into `out` (caller-owned). False when `text` is not a UUID. */
bool ncsl_cli_user_id_normalize(const char *text, char out[NCSL_CLI_USER_ID_SIZE]);

#endif
