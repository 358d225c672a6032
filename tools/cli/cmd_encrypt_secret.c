/*
 * `ncsl encrypt-secret --proof PROOF.json --user USER_ID --name NAME [--value-file F]`: verifies
 * an attestation proof of ncsld (as `ncsl verify` does) and encrypts a secret value to the
 * encryption key it attests, for one user and one secret name (docs/secrets.md). Prints the
 * envelope, the "encryptedValue" of PUT /api/v1/secrets/{name}.
 *
 * The value never comes from the command line (other users see argv): it is read from a file
 * or standard input, after the proof was accepted.
 */
#include <stdio.h>
#include <string.h>

#include "cli_envelope.h"
#include "common/common.h"
#include "keys/envelope.h"

static void es_usage(FILE *f) {
    fprintf(f,
            "usage: ncsl encrypt-secret --proof PROOF.json --user USER_ID --name NAME [options]\n"
            "                           [< VALUE]\n"
            "\n"
            "Verifies the attestation proof of ncsld (as 'ncsl verify' does, with the options\n"
            "below) and encrypts a secret value to the enclave encryption key it attests\n"
            "(X25519 + HKDF-SHA256 + AES-256-GCM, bound to USER_ID and NAME; see\n"
            "docs/secrets.md). Prints the envelope as JSON: send it as\n"
            "  PUT /api/v1/secrets/NAME  {\"encryptedValue\": ENVELOPE}\n"
            "(--body prints that whole body). Only that enclave can decrypt it, only for that\n"
            "user and secret name. A proof that does not verify is refused.\n"
            "\n"
            "The value is read from --value-file or standard input, never from the command\n"
            "line. On a terminal it is asked for with echo off (one line). From a file or pipe\n"
            "every byte counts, a final newline too, unless --strip-newline is given. It must\n"
            "be UTF-8 text without NUL bytes.\n"
            "\n"
            "options:\n"
            "  --proof PROOF.json     the enclave's attestation proof (required): bare, as\n"
            "                         'ncsl attest' prints it, or the response of\n"
            "                         GET /api/v1/attestation ('-' reads it from stdin; the\n"
            "                         value then needs --value-file)\n"
            "  --user USER_ID         your user id (required): \"userId\" of GET /api/v1/me\n"
            "  --name NAME            the secret's name (required): [A-Za-z_][A-Za-z0-9_]*, at\n"
            "                         most 64 characters\n"
            "  --value-file FILE      read the value from FILE (default: standard input)\n"
            "  --strip-newline        drop one final newline (\\n or \\r\\n) from the value\n"
            "  --max-size BYTES       the largest value to accept (default %u, ncsld's default\n"
            "                         Limits.MaxSecretBytes)\n"
            "  --body                 print {\"encryptedValue\": ENVELOPE}, the request body\n"
            "proof options:\n",
            NCSL_CLI_SECRET_MAX_DEFAULT);
    ncsl_cli_verify_usage(f, true);
    fprintf(f, "  -h, --help             show this help and exit\n"
               "\n"
               "Exit status: 0 the envelope was printed; 1 the proof is not valid (or could not\n"
               "be read), or the value could not be read or encrypted; 2 bad usage.\n");
}

int ncsl_cli_cmd_encrypt_secret(int argc, char **argv) {
    const char *cmd = "encrypt-secret";
    ncsl_cli_verify_args a;
    memset(&a, 0, sizeof(a));
    const char *proof_path = NULL;
    const char *user = NULL;
    const char *name = NULL;
    const char *value_file = NULL;
    const char *max_size = NULL;
    bool strip_newline = false;
    bool body = false;
    ncsl_cli_opt opts[NCSL_CLI_VERIFY_PROOF_OPTS + 7];
    size_t nopts = ncsl_cli_verify_opts(&a, true, opts);
    opts[nopts++] = (ncsl_cli_opt){"--proof", NULL, &proof_path, NULL};
    opts[nopts++] = (ncsl_cli_opt){"--user", NULL, &user, NULL};
    opts[nopts++] = (ncsl_cli_opt){"--name", NULL, &name, NULL};
    opts[nopts++] = (ncsl_cli_opt){"--value-file", NULL, &value_file, NULL};
    opts[nopts++] = (ncsl_cli_opt){"--max-size", NULL, &max_size, NULL};
    opts[nopts++] = (ncsl_cli_opt){"--strip-newline", NULL, NULL, &strip_newline};
    opts[nopts++] = (ncsl_cli_opt){"--body", NULL, NULL, &body};
    const char *pos[1];
    size_t npos = 0;
    int rc = ncsl_cli_parse(cmd, argc, argv, opts, nopts, pos, 0, &npos, es_usage);
    if (rc != 0) {
        return rc > 0 ? NCSL_CLI_EXIT_OK : NCSL_CLI_EXIT_USAGE;
    }

    /* Usage first: nothing is read before the command line is known to be right. */
    char user_id[NCSL_CLI_USER_ID_SIZE];
    uint64_t max = NCSL_CLI_SECRET_MAX_DEFAULT;
    if (!proof_path || !user || !name) {
        ncsl_cli_errorf("%s: %s is required (see 'ncsl %s --help')", cmd,
                        !proof_path ? "--proof PROOF.json"
                        : !user     ? "--user USER_ID"
                                    : "--name NAME",
                        cmd);
        return NCSL_CLI_EXIT_USAGE;
    }
    if (!ncsl_cli_user_id_normalize(user, user_id)) {
        ncsl_cli_errorf("%s: --user must be your user id, a UUID (\"userId\" of GET /api/v1/me), "
                        "not a name or an API key",
                        cmd);
        return NCSL_CLI_EXIT_USAGE;
    }
    if (!ncsl_cli_secret_name_ok(name)) {
        ncsl_cli_errorf("%s: --name must be a secret name: a letter or '_', then letters, digits "
                        "or '_', at most 64 characters",
                        cmd);
        return NCSL_CLI_EXIT_USAGE;
    }
    if (max_size && !ncsl_cli_parse_u64(max_size, 1, NCSL_KEYS_ENVELOPE_MAX_PLAINTEXT, &max)) {
        ncsl_cli_errorf("%s: --max-size must be a number of bytes in 1..%u", cmd,
                        NCSL_KEYS_ENVELOPE_MAX_PLAINTEXT);
        return NCSL_CLI_EXIT_USAGE;
    }
    ncsl_cli_verify_ctx ctx;
    ncsl_proof_verify_opts o;
    memset(&ctx, 0, sizeof(ctx));
    if (!ncsl_cli_verify_check(cmd, &a, &ctx, &o)) { /* checked again when the proof is */
        return NCSL_CLI_EXIT_USAGE;
    }
    bool value_from_stdin = !value_file || strcmp(value_file, "-") == 0;
    if (strcmp(proof_path, "-") == 0 && value_from_stdin) {
        ncsl_cli_errorf("%s: the proof and the value cannot both be read from stdin: give the "
                        "value with --value-file FILE",
                        cmd);
        return NCSL_CLI_EXIT_USAGE;
    }

    int exit_code = NCSL_CLI_EXIT_FAIL;
    json_t *envelope = NULL;
    json_t *wrapped = NULL;
    char *value = NULL;
    size_t len = 0;
    uint8_t enc_pub[NCSL_KEYS_X25519_SIZE];
    json_t *doc = ncsl_cli_read_json(cmd, "proof", proof_path);
    json_t *proof = doc ? ncsl_cli_envelope_data(cmd, proof_path, doc) : NULL;
    if (!proof) {
        goto out;
    }
    /* The proof before the value: nobody types a secret for an enclave that is refused. */
    exit_code = ncsl_cli_attested_encryption_key(cmd, proof_path, proof, &a, enc_pub);
    if (exit_code != NCSL_CLI_EXIT_OK) {
        goto out;
    }
    exit_code = NCSL_CLI_EXIT_FAIL;
    value =
        ncsl_cli_read_secret_value(cmd, value_file, strip_newline, (size_t)max, "--max-size", &len);
    if (!value) {
        goto out;
    }
    if (ncsl_cli_seal_secret(cmd, enc_pub, user_id, name, value, len, &envelope) !=
        NCSL_CLI_EXIT_OK) {
        goto out;
    }
    if (body) {
        wrapped = json_object();
        if (!wrapped || json_object_set(wrapped, NCSL_KEYS_ENVELOPE_FIELD, envelope) != 0) {
            ncsl_cli_errorf("%s: out of memory", cmd);
            goto out;
        }
    }
    if (ncsl_cli_print_json(wrapped ? wrapped : envelope)) {
        exit_code = NCSL_CLI_EXIT_OK;
    }
out:
    ncsl_cli_secret_value_free(value, len);
    json_decref(wrapped);
    json_decref(envelope);
    json_decref(doc);
    return exit_code;
}
