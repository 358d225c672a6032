/*
 * What the trust commands (verify-quote, verify, verify-receipt, attest) share: the options that
 * say how a quote or an attestation proof is checked, reading JSON documents that may be wrapped
 * in an ncsld response envelope, and printing verdicts. One place, so every command spells and
 * checks the same option the same way.
 */
#ifndef NCSL_CLI_TRUST_H
#define NCSL_CLI_TRUST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "attest/attest.h"
#include "cli.h"
#include "proof/proof.h"

/* Largest JSON document (proof, receipt, response envelope) the commands read. */
#define NCSL_CLI_JSON_MAX ((size_t)1 << 20)

/* ------------------------------------------------------------------ verification options */

/*
 * The verification options as given on the command line (values borrowed from argv).
 * Quote level (verify-quote, verify, verify-receipt): --at, --root, --allow-simulation,
 * --simulation-root, --data-dir, --config, --collateral.
 * Proof level (verify, verify-receipt) adds: --allow-debug, --nonce, --expect-mrenclave,
 * --expect-mrsigner.
 */
typedef struct ncsl_cli_verify_args {
    const char *at;
    const char *root;
    const char *sim_root;
    const char *data_dir;
    const char *config;
    const char *collateral;
    bool allow_sim;
    /* proof level */
    const char *nonce;
    const char *expect_mrenclave;
    const char *expect_mrsigner;
    bool allow_debug;
} ncsl_cli_verify_args;

#define NCSL_CLI_VERIFY_QUOTE_OPTS 7u
#define NCSL_CLI_VERIFY_PROOF_OPTS 11u

/* Writes the option table for `a` (caller-owned, zeroed by the caller) into `opts` (room for
 * NCSL_CLI_VERIFY_PROOF_OPTS entries): the quote-level options, plus the proof-level ones when
 * `proof_level`. Returns the number written. */
size_t ncsl_cli_verify_opts(ncsl_cli_verify_args *a, bool proof_level, ncsl_cli_opt *opts);

/* Prints the help lines of those options (same set as ncsl_cli_verify_opts) to `f`. */
void ncsl_cli_verify_usage(FILE *f, bool proof_level);

/* What the options loaded; the ncsl_proof_verify_opts made from them point into it.
 * Zero it before ncsl_cli_verify_setup; release it with ncsl_cli_verify_cleanup. */
typedef struct ncsl_cli_verify_ctx {
    char *root_pem;
    char *sim_root_pem;
    ncsl_sgx_collateral *collateral;
    uint8_t nonce[NCSL_PROOF_MAX_NONCE];
    uint8_t mr_enclave[32];
    uint8_t mr_signer[32];
} ncsl_cli_verify_ctx;

/*
 * Checks the values of `a` (borrowed) for subcommand `cmd` (errors name the option) and fills
 * `o` (caller-owned; o->quote is what a bare quote check uses). Does not touch any file.
 * Returns false after printing a usage error.
 */
bool ncsl_cli_verify_check(const char *cmd, const ncsl_cli_verify_args *a, ncsl_cli_verify_ctx *ctx,
                           ncsl_proof_verify_opts *o);

/*
 * Loads what the options name (--root, the simulation root with --allow-simulation,
 * --collateral) into `ctx` (caller-owned) and points `o` at it. Returns false after printing
 * why (a file that cannot be read or used: exit status 1).
 */
bool ncsl_cli_verify_load(const char *cmd, const ncsl_cli_verify_args *a, ncsl_cli_verify_ctx *ctx,
                          ncsl_proof_verify_opts *o);

/* Frees what ncsl_cli_verify_load loaded (`ctx` caller-owned; safe to call twice). */
void ncsl_cli_verify_cleanup(ncsl_cli_verify_ctx *ctx);

/*
 * Adds the command-line view to a verdict object `o` (borrowed, changed in place) made from the
 * quote verdict `q` (borrowed):
 *   - when the quote was refused only because simulation is not allowed (`allow_sim` false), the
 *     member `reason_key` is replaced by a reason naming --allow-simulation;
 *   - with --collateral (a->collateral): tcbStatus, tcbDate, qeTcbStatus, advisoryIds,
 *     tcbEvaluationDataNumber, collateralExpired, collateralExpiresAt.
 * Returns false when out of memory.
 */
bool ncsl_cli_verdict_amend(json_t *o, const char *reason_key, const ncsl_quote_verdict *q,
                            const ncsl_cli_verify_args *a);

/* The reason of a rejected proof verdict `v` (borrowed) as the command line gives it: the one
 * naming --allow-simulation when that is why, else v->reason. Static or borrowed from `v`. */
const char *ncsl_cli_proof_reason(const ncsl_proof_verdict *v, const ncsl_cli_verify_args *a);

/* The proof verdict JSON (ncsl_proof_verdict_to_json) amended as above. Caller frees with
 * json_decref; NULL when out of memory. */
json_t *ncsl_cli_proof_verdict_json(const ncsl_proof_verdict *v, const ncsl_cli_verify_args *a);

/*
 * Verifies the proof `proof` (borrowed) with `o` into `v` (caller-owned). Returns false after
 * printing why when the proof could not be judged (a setup error, not the proof's fault: exit
 * status 1); a rejected proof returns true with v->valid false.
 */
bool ncsl_cli_proof_verify(const char *cmd, const json_t *proof, const ncsl_proof_verify_opts *o,
                           ncsl_proof_verdict *v);

/* ------------------------------------------------------------------ JSON documents */

/*
 * Reads the JSON document at `path` ("-" = stdin; at most NCSL_CLI_JSON_MAX bytes; duplicate
 * member names refused) and requires an object. `what` names it in errors ("proof"). Returns a
 * new reference (caller frees with json_decref) or NULL after printing why.
 */
json_t *ncsl_cli_read_json(const char *cmd, const char *what, const char *path);

/*
 * The payload of an ncsld response envelope: for {"success":true,"data":{...}} its data; for a
 * document without "success", the document itself. For {"success":false,"error":{...}} prints
 * "<cmd>: <source>: ncsld answered an error: CODE: message (field F)" and returns NULL. The
 * result is borrowed from `doc`. `source` names where the document came from, in errors.
 */
json_t *ncsl_cli_envelope_data(const char *cmd, const char *source, json_t *doc);

/* Prints "<cmd>: <source>: ncsld answered an error: ..." for an error envelope's "error" member
 * (borrowed; anything else gives a generic message). The server's text is shown with control
 * characters replaced and cut at a sane length. */
void ncsl_cli_print_api_error(const char *cmd, const char *source, const json_t *error);

/* Writes `j` (borrowed) indented, with a final newline, to stdout. False after printing why. */
bool ncsl_cli_print_json(const json_t *j);

/* Strict hex of 0..`max` bytes (`exact`: exactly `max`) from option `opt` of `cmd` into `out`
 * (caller-owned, `max` bytes); *len gets the count. False after printing a usage error. */
bool ncsl_cli_parse_hex(const char *cmd, const char *opt, const char *text, uint8_t *out,
                        size_t max, bool exact, size_t *len);

#endif
