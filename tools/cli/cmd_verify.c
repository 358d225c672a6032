/*
 * `ncsl verify PROOF.json`: verifies an attestation proof (src/proof: the quote, the binding of
 * the nonce and both public keys in reportData, the measurement, the caller's expectations) and
 * prints the verdict as one JSON object. The proof may be bare (as `ncsl attest` prints it) or
 * the API envelope of GET /api/v1/attestation (as curl saves it).
 */
#include <stdio.h>
#include <string.h>

#include "cli_trust.h"
#include "common/common.h"

static void verify_usage(FILE *f) {
    fprintf(f,
            "usage: ncsl verify [options] PROOF.json\n"
            "\n"
            "Verifies an attestation proof of ncsld ('-' reads it from stdin): a bare proof, as\n"
            "'ncsl attest' prints it, or the response of GET /api/v1/attestation. Checks the\n"
            "quote (signatures and certificate chain to the pinned Intel SGX Root CA), that its\n"
            "reportData binds the nonce and the enclave's signing and encryption keys, the\n"
            "measurement fields, and what you expect (--nonce, --expect-*). Prints a JSON\n"
            "verdict; its signingKey is the key to accept receipts from once the proof is valid.\n"
            "\n"
            "Proofs of NCSL's simulation TEE are refused unless --allow-simulation is given.\n"
            "\n"
            "options:\n");
    ncsl_cli_verify_usage(f, true);
    fprintf(f, "  -h, --help             show this help and exit\n"
               "\n"
               "Exit status: 0 the proof is valid; 1 it is not (the verdict's reason says which\n"
               "check failed) or it could not be read; 2 bad usage.\n");
}

int ncsl_cli_cmd_verify(int argc, char **argv) {
    ncsl_cli_verify_args a;
    memset(&a, 0, sizeof(a));
    ncsl_cli_opt opts[NCSL_CLI_VERIFY_PROOF_OPTS];
    size_t nopts = ncsl_cli_verify_opts(&a, true, opts);
    const char *file = NULL;
    int rc = ncsl_cli_parse_one_file("verify", argc, argv, opts, nopts, verify_usage, "PROOF.json",
                                     &file);
    if (rc >= 0) {
        return rc;
    }
    ncsl_cli_verify_ctx ctx;
    memset(&ctx, 0, sizeof(ctx));
    ncsl_proof_verify_opts o;
    if (!ncsl_cli_verify_check("verify", &a, &ctx, &o)) {
        return NCSL_CLI_EXIT_USAGE;
    }

    int exit_code = NCSL_CLI_EXIT_FAIL;
    json_t *verdict_json = NULL;
    json_t *doc = ncsl_cli_read_json("verify", "proof", file);
    json_t *proof = doc ? ncsl_cli_envelope_data("verify", file, doc) : NULL;
    if (!proof || !ncsl_cli_verify_load("verify", &a, &ctx, &o)) {
        goto out;
    }
    ncsl_proof_verdict v;
    if (!ncsl_cli_proof_verify("verify", proof, &o, &v)) {
        goto out;
    }
    verdict_json = ncsl_cli_proof_verdict_json(&v, &a);
    if (!verdict_json) {
        ncsl_cli_errorf("verify: out of memory");
        goto out;
    }
    if (ncsl_cli_print_json(verdict_json) && v.valid) {
        exit_code = NCSL_CLI_EXIT_OK;
    }
out:
    json_decref(verdict_json);
    json_decref(doc);
    ncsl_cli_verify_cleanup(&ctx);
    return exit_code;
}
