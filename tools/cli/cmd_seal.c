/*
 * `ncsl seal` / `ncsl unseal`: seal data to this installation's TEE for one record, and back.
 *
 * The blob format is src/crypto/seal.h's (version 1); the label is the record's identity and is
 * authenticated, so a blob only unseals under the label it was sealed with. The default policy
 * is MRSIGNER: on the simulation TEE every NCSL binary of one installation shares the signer, so
 * `ncsld` can unseal what `ncsl seal` made; MRENCLAVE binds the blob to this exact binary.
 *
 * Unsealed data goes to stdout (or --out, mode 0600) and is wiped from memory afterwards; it is
 * never printed in an error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "common/common.h"
#include "crypto/seal.h"
#include "tee/tee.h"

typedef struct seal_args {
    const char *label;
    const char *policy;
    const char *data_dir;
    const char *config;
    const char *in;
    const char *out;
    bool force;
} seal_args;

static void seal_usage(FILE *f) {
    fprintf(f,
            "usage: ncsl seal --label LABEL [options] < DATA > BLOB\n"
            "\n"
            "Seals DATA (at most 64 MiB) to this installation's TEE for the record LABEL and\n"
            "writes the binary sealed blob. Only 'ncsl unseal --label LABEL' on the same\n"
            "installation (and, for --policy mrenclave, the same binary) gets DATA back.\n"
            "\n"
            "options:\n"
            "  --label LABEL    the record's identity, e.g. secret/alice/api-key (required;\n"
            "                   1..1024 bytes)\n"
            "  --policy P       mrsigner (default: any NCSL build of this signer can unseal) or\n"
            "                   mrenclave (only this exact binary can unseal)\n"
            "  --in FILE        read DATA from FILE instead of standard input\n"
            "  --out FILE       write the blob to FILE (mode 0600) instead of standard output\n"
            "  --force          write the binary blob even when standard output is a terminal\n"
            "  --data-dir DIR   the installation's data directory (default: the config's\n"
            "                   Server.DataDir, ./ncsl-data)\n"
            "  --config FILE    NCSL configuration file (Tee and Server sections)\n"
            "  -h, --help       show this help and exit\n"
            "\n"
            "Exit status: 0 sealed; 1 failed; 2 bad usage.\n");
}

static void unseal_usage(FILE *f) {
    fprintf(f, "usage: ncsl unseal --label LABEL [options] < BLOB > DATA\n"
               "\n"
               "Unseals a blob made by 'ncsl seal' (or by ncsld) on this installation. Fails,\n"
               "without printing any of the data, when the blob was changed in any way, was\n"
               "sealed for another label, or by another installation.\n"
               "\n"
               "options:\n"
               "  --label LABEL    the label the blob was sealed with (required)\n"
               "  --in FILE        read the blob from FILE instead of standard input\n"
               "  --out FILE       write the data to FILE (mode 0600) instead of standard output\n"
               "  --data-dir DIR   the installation's data directory (default ./ncsl-data)\n"
               "  --config FILE    NCSL configuration file\n"
               "  -h, --help       show this help and exit\n"
               "\n"
               "Exit status: 0 unsealed; 1 failed (tampered, wrong label, other installation,\n"
               "unreadable); 2 bad usage.\n");
}

/* Returns 0 to go on, 1 for help, -1 on bad usage. */
static int parse(const char *cmd, int argc, char **argv, seal_args *a, bool sealing) {
    memset(a, 0, sizeof(*a));
    const ncsl_cli_opt opts[] = {
        {"--label", NULL, &a->label, NULL},
        {"--data-dir", NULL, &a->data_dir, NULL},
        {"--config", NULL, &a->config, NULL},
        {"--in", NULL, &a->in, NULL},
        {"--out", NULL, &a->out, NULL},
        /* seal only: */
        {"--policy", NULL, &a->policy, NULL},
        {"--force", NULL, NULL, &a->force},
    };
    size_t nopts = sealing ? NCSL_ARRAY_LEN(opts) : NCSL_ARRAY_LEN(opts) - 2;
    const char *pos[1];
    size_t npos = 0;
    int rc = ncsl_cli_parse(cmd, argc, argv, opts, nopts, pos, 0, &npos,
                            sealing ? seal_usage : unseal_usage);
    if (rc != 0) {
        return rc;
    }
    if (!a->label || !*a->label) {
        ncsl_cli_errorf("%s: --label is required: the record's identity, e.g. secret/alice/key",
                        cmd);
        return -1;
    }
    if (strlen(a->label) > NCSL_SEAL_MAX_LABEL) {
        ncsl_cli_errorf("%s: --label is longer than %u bytes", cmd, NCSL_SEAL_MAX_LABEL);
        return -1;
    }
    return 0;
}

static uint8_t *read_input(const char *in, size_t max, size_t *len) {
    const char *path = in ? in : "-";
    uint8_t *data = (uint8_t *)ncsl_cli_read_file(path, max, len);
    if (!data) {
        if (errno == EFBIG) {
            ncsl_cli_errorf("%s is larger than %zu bytes", strcmp(path, "-") ? path : "stdin", max);
        } else {
            ncsl_cli_errorf("cannot read %s: %s", strcmp(path, "-") ? path : "stdin",
                            strerror(errno));
        }
    }
    return data;
}

int ncsl_cli_cmd_seal(int argc, char **argv) {
    seal_args a;
    int rc = parse("seal", argc, argv, &a, true);
    if (rc != 0) {
        return rc > 0 ? NCSL_CLI_EXIT_OK : NCSL_CLI_EXIT_USAGE;
    }
    ncsl_seal_policy policy = NCSL_SEAL_POLICY_MRSIGNER;
    if (a.policy) {
        if (strcmp(a.policy, "mrsigner") == 0) {
            policy = NCSL_SEAL_POLICY_MRSIGNER;
        } else if (strcmp(a.policy, "mrenclave") == 0) {
            policy = NCSL_SEAL_POLICY_MRENCLAVE;
        } else {
            ncsl_cli_errorf("seal: --policy '%s' is not mrsigner or mrenclave", a.policy);
            return NCSL_CLI_EXIT_USAGE;
        }
    }
    if ((!a.out || strcmp(a.out, "-") == 0) && isatty(STDOUT_FILENO) && !a.force) {
        ncsl_cli_errorf("seal: refusing to write a binary blob to a terminal; redirect it "
                        "(> FILE), use --out FILE, or --force");
        return NCSL_CLI_EXIT_USAGE;
    }
    size_t plain_len = 0;
    uint8_t *plain = read_input(a.in, NCSL_SEAL_MAX_PLAIN, &plain_len);
    if (!plain) {
        return NCSL_CLI_EXIT_FAIL;
    }
    int exit_code = NCSL_CLI_EXIT_FAIL;
    uint8_t root[NCSL_TEE_SEAL_KEY_SIZE];
    uint8_t *blob = NULL;
    size_t blob_len = 0;
    ncsl_err err;
    ncsl_err_clear(&err);
    ncsl_tee *tee = ncsl_cli_open_tee(a.config, a.data_dir);
    if (!tee) {
        goto out;
    }
    if (ncsl_tee_seal_key(tee, policy, root, &err) != NCSL_OK ||
        ncsl_seal(root, sizeof(root), policy, a.label, plain, plain_len, &blob, &blob_len, &err) !=
            NCSL_OK) {
        ncsl_cli_errorf("seal: %s", err.message);
        goto out;
    }
    if (ncsl_cli_write_output(a.out, blob, blob_len, 0600)) {
        exit_code = NCSL_CLI_EXIT_OK;
    }
out:
    ncsl_wipe(root, sizeof(root));
    ncsl_seal_blob_free(blob);
    ncsl_wipe(plain, plain_len);
    free(plain);
    ncsl_tee_close(tee);
    return exit_code;
}

int ncsl_cli_cmd_unseal(int argc, char **argv) {
    seal_args a;
    int rc = parse("unseal", argc, argv, &a, false);
    if (rc != 0) {
        return rc > 0 ? NCSL_CLI_EXIT_OK : NCSL_CLI_EXIT_USAGE;
    }
    size_t blob_len = 0;
    uint8_t *blob = read_input(a.in, NCSL_SEAL_MAX_PLAIN + NCSL_SEAL_OVERHEAD, &blob_len);
    if (!blob) {
        return NCSL_CLI_EXIT_FAIL;
    }
    int exit_code = NCSL_CLI_EXIT_FAIL;
    uint8_t root[NCSL_TEE_SEAL_KEY_SIZE];
    uint8_t *plain = NULL;
    size_t plain_len = 0;
    ncsl_seal_info info;
    ncsl_err err;
    ncsl_err_clear(&err);
    ncsl_tee *tee = NULL;
    /* The header first: a blob that is not one fails before the TEE is touched. */
    if (ncsl_seal_blob_info(blob, blob_len, &info, &err) != NCSL_OK) {
        ncsl_cli_errorf("unseal: not a sealed blob: %s", err.message);
        goto out;
    }
    tee = ncsl_cli_open_tee(a.config, a.data_dir);
    if (!tee) {
        goto out;
    }
    if (ncsl_tee_seal_key(tee, info.policy, root, &err) != NCSL_OK ||
        ncsl_unseal(root, sizeof(root), a.label, blob, blob_len, &plain, &plain_len, &err) !=
            NCSL_OK) {
        ncsl_cli_errorf("unseal: %s", err.message);
        goto out;
    }
    if (ncsl_cli_write_output(a.out, plain, plain_len, 0600)) {
        exit_code = NCSL_CLI_EXIT_OK;
    }
out:
    ncsl_wipe(root, sizeof(root));
    ncsl_unseal_free(plain, plain_len);
    free(blob);
    ncsl_tee_close(tee);
    return exit_code;
}
