/*
 * Your secrets on a running ncsld (user key):
 *   ncsl secrets put NAME [--value-file F] [--encrypt]   value from F or stdin, never from argv
 *   ncsl secrets list                                     names, sizes and dates: never values
 *   ncsl secrets rm NAME
 * The value is read by cli_envelope.c (hidden at a terminal) and wiped after use. With
 * --encrypt it is sealed to the enclave's attested encryption key first (docs/secrets.md):
 * a proof for a fresh random nonce is fetched and verified here, as `ncsl verify` would, and
 * only the envelope is sent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_envelope.h"
#include "cli_http.h"
#include "common/common.h"
#include "crypto/crypto.h"

/* ncsld's limit is Limits.MaxSecretBytes (4096 by default): a larger value is sent and ncsld
 * says what its limit is. */
#define VALUE_MAX ((size_t)64 * 1024)
#define PATH_MAX_LEN 256
#define NONCE_SIZE 32u

static void put_usage(FILE *f) {
    fprintf(f,
            "usage: ncsl secrets put NAME [--value-file FILE] [--encrypt [proof options]]\n"
            "\n"
            "Stores secret NAME (PUT /api/v1/secrets/NAME); your functions read it as\n"
            "SECRETS.NAME. The value comes from FILE, else from standard input (typed at a\n"
            "terminal: hidden, one line). It is never taken on the command line, where ps shows\n"
            "it to every user of the machine.\n"
            "\n"
            "options:\n"
            "  --value-file FILE      read the value from FILE ('-' = stdin, the default)\n"
            "  --strip-newline        drop one final newline (\"\\n\" or \"\\r\\n\") of the value\n"
            "  --encrypt              encrypt the value to the enclave first, so the host never\n"
            "                         sees it: fetches a proof for a fresh random nonce\n"
            "                         (GET /api/v1/attestation) and your user id (GET\n"
            "                         /api/v1/me), verifies the proof as 'ncsl verify' does,\n"
            "                         and sends only {\"encryptedValue\"} (docs/secrets.md)\n"
            "\n"
            "proof options (with --encrypt; as in 'ncsl verify'):\n"
            "  --expect-mrenclave HEX, --expect-mrsigner HEX, --allow-debug,\n"
            "  --allow-simulation, --simulation-root PEM, --at TIME, --root PEM,\n"
            "  --collateral DIR (--data-dir and --config also name the installation whose\n"
            "  simulation root --allow-simulation pins)\n"
            "\n");
    ncsl_cli_client_usage(f);
}

/* The proof options of `ncsl verify` (cli_trust.h) that --encrypt takes: all but --nonce (a
 * fresh one is made here) and --data-dir/--config (the client's own, shared). Appends them to
 * `opts` at *n. */
static void add_proof_opts(ncsl_cli_verify_args *va, ncsl_cli_opt *opts, size_t *n) {
    ncsl_cli_opt vopts[NCSL_CLI_VERIFY_PROOF_OPTS];
    size_t nv = ncsl_cli_verify_opts(va, true, vopts);
    for (size_t i = 0; i < nv; i++) {
        const char *name = vopts[i].name;
        if (strcmp(name, "--nonce") != 0 && strcmp(name, "--data-dir") != 0 &&
            strcmp(name, "--config") != 0) {
            opts[(*n)++] = vopts[i];
        }
    }
}

static bool proof_opts_used(const ncsl_cli_verify_args *va) {
    return va->at || va->root || va->sim_root || va->collateral || va->allow_sim ||
           va->expect_mrenclave || va->expect_mrsigner || va->allow_debug;
}

/*
 * --encrypt: a fresh proof and the caller's user id from ncsld, the proof verified with `va`,
 * then the value sealed to it. On 0, *envelope (caller frees with json_decref) is ready to send.
 */
static int encrypt_value(ncsl_cli_client *c, ncsl_cli_verify_args *va,
                         const ncsl_cli_client_args *ca, const char *name, const char *value,
                         size_t len, json_t **envelope) {
    *envelope = NULL;
    uint8_t nonce[NONCE_SIZE];
    char nonce_hex[2 * NONCE_SIZE + 1];
    if (ncsl_crypto_random(nonce, sizeof(nonce), NULL) != NCSL_OK ||
        ncsl_crypto_hex_encode(nonce, sizeof(nonce), nonce_hex, sizeof(nonce_hex), NULL) !=
            NCSL_OK) {
        ncsl_cli_errorf("%s: cannot make a random nonce", c->cmd);
        return NCSL_CLI_EXIT_FAIL;
    }
    json_t *pdoc = NULL;
    json_t *proof = NULL;
    json_t *mdoc = NULL;
    json_t *me = NULL;
    char path[PATH_MAX_LEN];
    snprintf(path, sizeof(path), "/api/v1/attestation?nonce=%s", nonce_hex);
    int rc = ncsl_cli_client_call(c, "GET", path, NULL, 0, &pdoc, &proof);
    if (rc == 0) {
        rc = ncsl_cli_client_call(c, "GET", "/api/v1/me", NULL, 0, &mdoc, &me);
    }
    if (rc != 0) {
        goto out;
    }
    const char *uid = json_string_value(json_object_get(me, "userId"));
    char user_id[NCSL_CLI_USER_ID_SIZE];
    if (!uid) {
        ncsl_cli_errorf("%s: this API key is not a user's (the admin key?): secrets belong to "
                        "users; use a user's key",
                        c->cmd);
        rc = NCSL_CLI_EXIT_FAIL;
        goto out;
    }
    if (!ncsl_cli_user_id_normalize(uid, user_id)) {
        ncsl_cli_errorf("%s: GET /api/v1/me answered a userId that is not a UUID", c->cmd);
        rc = NCSL_CLI_EXIT_FAIL;
        goto out;
    }
    va->nonce = nonce_hex;
    va->data_dir = ca->data_dir;
    va->config = ca->config;
    char source[NCSL_CLI_URL_MAX + 32];
    snprintf(source, sizeof(source), "the proof from %s", c->target.base);
    rc = ncsl_cli_seal_secret_to_proof(c->cmd, source, proof, va, user_id, name, value, len,
                                       envelope);
    va->nonce = NULL;
out:
    json_decref(mdoc);
    json_decref(pdoc);
    return rc;
}

static int secrets_put(const char *cmd, int argc, char **argv) {
    ncsl_cli_client_args ca;
    ncsl_cli_verify_args va;
    memset(&ca, 0, sizeof(ca));
    memset(&va, 0, sizeof(va));
    const char *value_file = NULL;
    const char *value_arg = NULL;
    bool strip_newline = false;
    bool encrypt = false;
    ncsl_cli_opt opts[4 + NCSL_CLI_VERIFY_PROOF_OPTS];
    size_t nopts = 0;
    opts[nopts++] = (ncsl_cli_opt){"--value-file", NULL, &value_file, NULL};
    opts[nopts++] = (ncsl_cli_opt){"--strip-newline", NULL, NULL, &strip_newline};
    opts[nopts++] = (ncsl_cli_opt){"--encrypt", NULL, NULL, &encrypt};
    opts[nopts++] = (ncsl_cli_opt){"--value", NULL, &value_arg, NULL};
    add_proof_opts(&va, opts, &nopts);
    const char *pos[1];
    size_t npos = 0;
    int rc = ncsl_cli_client_parse(cmd, argc, argv, &ca, opts, nopts, pos, 1, 1, &npos, "NAME",
                                   put_usage);
    if (value_arg) {
        /* Recognised only to be refused, like --api-key. */
        ncsl_wipe((char *)value_arg, strlen(value_arg));
        if (rc < 0) {
            ncsl_cli_errorf("%s: --value is not accepted: a value on the command line is visible "
                            "to every user of the machine (ps); use --value-file FILE or "
                            "standard input",
                            cmd);
            return NCSL_CLI_EXIT_USAGE;
        }
    }
    if (rc >= 0) {
        return rc;
    }
    const char *name = pos[0];
    if (!ncsl_cli_client_secret_name_ok(cmd, "NAME", name)) {
        return NCSL_CLI_EXIT_USAGE;
    }
    if (!encrypt && proof_opts_used(&va)) {
        ncsl_cli_errorf("%s: the proof options (--allow-simulation, --expect-mrenclave...) only "
                        "apply with --encrypt",
                        cmd);
        return NCSL_CLI_EXIT_USAGE;
    }
    bool from_stdin = !value_file || strcmp(value_file, "-") == 0;

    ncsl_cli_client c;
    memset(&c, 0, sizeof(c));
    json_t *body = NULL;
    json_t *doc = NULL;
    json_t *data = NULL;
    json_t *envelope = NULL;
    char *value = NULL;
    size_t len = 0;
    /* Key first: a missing key is found before the user types the value. */
    rc = ncsl_cli_client_open(&c, cmd, &ca, from_stdin);
    if (rc != 0) {
        goto out;
    }
    value = ncsl_cli_read_secret_value(cmd, value_file, strip_newline, VALUE_MAX,
                                       "the most 'ncsl secrets put' sends", &len);
    if (!value) {
        rc = NCSL_CLI_EXIT_USAGE;
        goto out;
    }
    json_t *v = NULL;
    if (encrypt) {
        rc = encrypt_value(&c, &va, &ca, name, value, len, &envelope);
        if (rc != 0) {
            goto out;
        }
        v = json_incref(envelope);
    } else {
        v = json_stringn(value, len);
        if (!v) {
            ncsl_cli_errorf("%s: the value is not UTF-8 text (secrets are strings)", cmd);
            rc = NCSL_CLI_EXIT_USAGE;
            goto out;
        }
    }
    body = json_object();
    if (!body) {
        json_decref(v);
    }
    if (!body || json_object_set_new(body, encrypt ? "encryptedValue" : "value", v) != 0) {
        ncsl_cli_errorf("%s: out of memory", cmd);
        rc = NCSL_CLI_EXIT_FAIL;
        goto out;
    }
    char path[PATH_MAX_LEN];
    snprintf(path, sizeof(path), "/api/v1/secrets/%s", name);
    rc = ncsl_cli_client_call(&c, "PUT", path, body, 0, &doc, &data);
    if (rc == 0) {
        rc = ncsl_cli_client_print(data);
    }
out:
    json_decref(doc);
    json_decref(body); /* jansson wipes what it frees (ncsl_cli_client_open) */
    json_decref(envelope);
    ncsl_cli_secret_value_free(value, len);
    ncsl_cli_client_close(&c);
    return rc;
}

static void list_usage(FILE *f) {
    fprintf(f, "usage: ncsl secrets list [options]\n"
               "\n"
               "Lists your secrets (GET /api/v1/secrets): names, sizes and dates, never values.\n"
               "\n");
    ncsl_cli_client_usage(f);
}

static void rm_usage(FILE *f) {
    fprintf(f, "usage: ncsl secrets rm NAME [options]\n"
               "\n"
               "Deletes secret NAME (DELETE /api/v1/secrets/NAME).\n"
               "\n");
    ncsl_cli_client_usage(f);
}

static int secrets_list(const char *cmd, int argc, char **argv) {
    ncsl_cli_client_args ca;
    memset(&ca, 0, sizeof(ca));
    const char *pos[1];
    size_t npos = 0;
    int rc = ncsl_cli_client_parse(cmd, argc, argv, &ca, NULL, 0, pos, 0, 0, &npos, "", list_usage);
    if (rc >= 0) {
        return rc;
    }
    return ncsl_cli_client_call_print(cmd, &ca, "GET", "/api/v1/secrets", NULL, 0);
}

static int secrets_rm(const char *cmd, int argc, char **argv) {
    ncsl_cli_client_args ca;
    memset(&ca, 0, sizeof(ca));
    const char *pos[1];
    size_t npos = 0;
    int rc =
        ncsl_cli_client_parse(cmd, argc, argv, &ca, NULL, 0, pos, 1, 1, &npos, "NAME", rm_usage);
    if (rc >= 0) {
        return rc;
    }
    if (!ncsl_cli_client_secret_name_ok(cmd, "NAME", pos[0])) {
        return NCSL_CLI_EXIT_USAGE;
    }
    char path[PATH_MAX_LEN];
    snprintf(path, sizeof(path), "/api/v1/secrets/%s", pos[0]);
    return ncsl_cli_client_call_print(cmd, &ca, "DELETE", path, NULL, 0);
}

int ncsl_cli_cmd_secrets(int argc, char **argv) {
    static const ncsl_cli_verb verbs[] = {
        {"put", "NAME", "store a secret (value from a file or stdin)", secrets_put},
        {"list", "", "list your secrets' names (never values)", secrets_list},
        {"rm", "NAME", "delete a secret", secrets_rm},
    };
    return ncsl_cli_client_dispatch("secrets",
                                    "Manages your secrets on a running ncsld: functions read them "
                                    "as SECRETS.NAME.",
                                    argc, argv, verbs, NCSL_ARRAY_LEN(verbs));
}
