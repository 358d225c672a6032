/*
 * `ncsl verify-receipt RECEIPT.json [--proof PROOF.json]`: checks an execution receipt's
 * signature (src/receipt) and, with a proof, that the proof is valid and attests the very key
 * that signed the receipt: a valid signature alone only says that *some* key signed it.
 *
 * The receipt may be bare, the data object of an execution, or a whole execution response
 * (data.receipt; error.details.receipt for a failed run). The verdict has the shape of
 * POST /api/v1/receipts/verify's data.
 */
#include <stdio.h>
#include <string.h>

#include "cli_trust.h"
#include "common/common.h"
#include "crypto/crypto.h"
#include "receipt/receipt.h"

static void vr_usage(FILE *f) {
    fprintf(f,
            "usage: ncsl verify-receipt [options] RECEIPT.json\n"
            "\n"
            "Verifies the signature of an execution receipt ('-' reads it from stdin): a bare\n"
            "receipt, or an execute-javascript response whose data (or error.details, for a\n"
            "failed run) carries it. Prints a JSON verdict with the signing key and its Neo N3\n"
            "address.\n"
            "\n"
            "With --proof, also verifies that attestation proof (as 'ncsl verify' does, with the\n"
            "options below) and requires that the receipt was signed by the key it attests\n"
            "(\"attested\": true). Without --proof a valid signature says nothing about which\n"
            "enclave signed.\n"
            "\n"
            "options:\n"
            "  --proof PROOF.json     the attestation proof of the enclave you trust (bare, or\n"
            "                         the response of GET /api/v1/attestation)\n"
            "proof options (only with --proof):\n");
    ncsl_cli_verify_usage(f, true);
    fprintf(f, "  -h, --help             show this help and exit\n"
               "\n"
               "Exit status: 0 the receipt is valid (and, with --proof, attested); 1 it is not\n"
               "(the verdict's reason says why) or it could not be read; 2 bad usage.\n");
}

/* The first proof option given, or NULL. */
static const char *proof_option_given(const ncsl_cli_verify_args *a) {
    const struct {
        bool given;
        const char *name;
    } t[] = {
        {a->at != NULL, "--at"},
        {a->root != NULL, "--root"},
        {a->allow_sim, "--allow-simulation"},
        {a->sim_root != NULL, "--simulation-root"},
        {a->data_dir != NULL, "--data-dir"},
        {a->config != NULL, "--config"},
        {a->collateral != NULL, "--collateral"},
        {a->nonce != NULL, "--nonce"},
        {a->expect_mrenclave != NULL, "--expect-mrenclave"},
        {a->expect_mrsigner != NULL, "--expect-mrsigner"},
        {a->allow_debug, "--allow-debug"},
    };
    for (size_t i = 0; i < NCSL_ARRAY_LEN(t); i++) {
        if (t[i].given) {
            return t[i].name;
        }
    }
    return NULL;
}

/* The receipt object in `doc` (borrowed from it), or NULL after printing why. */
static json_t *find_receipt(const char *source, json_t *doc) {
    json_t *success = json_object_get(doc, "success");
    json_t *data = doc;
    if (json_is_false(success)) {
        /* A failed run is signed too: its receipt is in error.details. */
        json_t *error = json_object_get(doc, "error");
        json_t *rc = json_object_get(json_object_get(error, "details"), "receipt");
        if (json_is_object(rc)) {
            return rc;
        }
        ncsl_cli_print_api_error("verify-receipt", source, error);
        return NULL;
    }
    if (success) {
        data = ncsl_cli_envelope_data("verify-receipt", source, doc);
        if (!data) {
            return NULL;
        }
    }
    json_t *rc = json_object_get(data, "receipt");
    if (!rc) {
        return data;
    }
    if (!json_is_object(rc)) {
        ncsl_cli_errorf("verify-receipt: %s: \"receipt\" is not a JSON object", source);
        return NULL;
    }
    return rc;
}

#define KEY_HEX_SIZE (2 * NCSL_KEYS_P256_PUB_SIZE + 1)

/* Hex of a 33-byte public key into `out` ("" if that fails, which it cannot). */
static const char *key_hex(const uint8_t key[NCSL_KEYS_P256_PUB_SIZE], char out[KEY_HEX_SIZE]) {
    if (ncsl_crypto_hex_encode(key, NCSL_KEYS_P256_PUB_SIZE, out, KEY_HEX_SIZE, NULL) != NCSL_OK) {
        out[0] = '\0';
    }
    return out;
}

int ncsl_cli_cmd_verify_receipt(int argc, char **argv) {
    const char *cmd = "verify-receipt";
    ncsl_cli_verify_args a;
    memset(&a, 0, sizeof(a));
    const char *proof_path = NULL;
    ncsl_cli_opt opts[NCSL_CLI_VERIFY_PROOF_OPTS + 1];
    size_t nopts = ncsl_cli_verify_opts(&a, true, opts);
    opts[nopts++] = (ncsl_cli_opt){"--proof", NULL, &proof_path, NULL};
    const char *file = NULL;
    int rc = ncsl_cli_parse_one_file(cmd, argc, argv, opts, nopts, vr_usage, "RECEIPT.json", &file);
    if (rc >= 0) {
        return rc;
    }
    const char *unused = proof_path ? NULL : proof_option_given(&a);
    if (unused) {
        ncsl_cli_errorf("%s: %s only matters with --proof PROOF.json", cmd, unused);
        return NCSL_CLI_EXIT_USAGE;
    }
    if (proof_path && strcmp(proof_path, "-") == 0 && strcmp(file, "-") == 0) {
        ncsl_cli_errorf("%s: the receipt and --proof cannot both be read from stdin", cmd);
        return NCSL_CLI_EXIT_USAGE;
    }
    ncsl_cli_verify_ctx ctx;
    memset(&ctx, 0, sizeof(ctx));
    ncsl_proof_verify_opts o;
    if (!ncsl_cli_verify_check(cmd, &a, &ctx, &o)) {
        return NCSL_CLI_EXIT_USAGE;
    }

    int exit_code = NCSL_CLI_EXIT_FAIL;
    json_t *proof_doc = NULL;
    json_t *proof = NULL;
    json_t *d = NULL;
    ncsl_receipt r;
    memset(&r, 0, sizeof(r));
    json_t *doc = ncsl_cli_read_json(cmd, "receipt", file);
    json_t *receipt = doc ? find_receipt(file, doc) : NULL;
    if (!receipt) {
        goto out;
    }
    if (proof_path) {
        proof_doc = ncsl_cli_read_json(cmd, "proof", proof_path);
        proof = proof_doc ? ncsl_cli_envelope_data(cmd, proof_path, proof_doc) : NULL;
        if (!proof || !ncsl_cli_verify_load(cmd, &a, &ctx, &o)) {
            goto out;
        }
    }

    /* The receipt's form, then its signature by its own key. */
    ncsl_err err;
    ncsl_err_clear(&err);
    char reason[640] = ""; /* room for a 512-byte reason plus a prefix */
    char field[sizeof(err.field)] = "";
    bool parsed = ncsl_receipt_from_json(receipt, &r, &err) == NCSL_OK;
    bool sig_ok = false;
    if (!parsed) {
        snprintf(reason, sizeof(reason), "the receipt is malformed: %s", err.message);
        snprintf(field, sizeof(field), "%s", err.field);
    } else {
        ncsl_err_clear(&err);
        sig_ok = ncsl_receipt_verify(&r, NULL, &err) == NCSL_OK;
        if (!sig_ok) {
            snprintf(reason, sizeof(reason), "%s", err.message);
            snprintf(field, sizeof(field), "%s", err.field);
        }
    }
    /* Then whether the attested key is the one that signed. */
    ncsl_proof_verdict v;
    bool attested = false;
    if (proof) {
        if (!ncsl_cli_proof_verify(cmd, proof, &o, &v)) {
            goto out;
        }
        attested =
            v.valid && sig_ok && memcmp(v.signing_key, r.signing_key, sizeof(r.signing_key)) == 0;
        if (!sig_ok) {
            /* the signature's reason stands */
        } else if (!v.valid) {
            snprintf(reason, sizeof(reason), "the attestation proof is not valid: %s",
                     ncsl_cli_proof_reason(&v, &a));
        } else if (!attested) {
            char want[KEY_HEX_SIZE];
            char got[KEY_HEX_SIZE];
            snprintf(reason, sizeof(reason),
                     "the receipt was not signed by the attested enclave key: the proof attests "
                     "signingKey %s, the receipt is signed by %s",
                     key_hex(v.signing_key, want), key_hex(r.signing_key, got));
            snprintf(field, sizeof(field), "signingKey");
        }
    }
    bool valid = sig_ok && (!proof || attested);
    char address[NCSL_NEO_ADDRESS_SIZE] = "";
    bool have_address = parsed && ncsl_receipt_neo_address(r.signing_key, address, NULL) == NCSL_OK;

    d = json_object();
    int jrc = d ? 0 : -1;
    if (d) {
        jrc |= json_object_set_new(d, "valid", json_boolean(valid));
        jrc |= json_object_set_new(d, "reason", valid ? json_null() : json_string(reason));
        jrc |= json_object_set_new(d, "field", field[0] ? json_string(field) : json_null());
        jrc |= json_object_set_new(d, "signatureValid", json_boolean(sig_ok));
        jrc |= json_object_set_new(d, "executionId",
                                   parsed ? json_string(r.execution_id) : json_null());
        char key[KEY_HEX_SIZE];
        jrc |= json_object_set_new(d, "signingKey",
                                   parsed ? json_string(key_hex(r.signing_key, key)) : json_null());
        jrc |=
            json_object_set_new(d, "neoAddress", have_address ? json_string(address) : json_null());
        jrc |= json_object_set_new(d, "attested", json_boolean(attested));
        jrc |= json_object_set_new(d, "proof",
                                   proof ? ncsl_cli_proof_verdict_json(&v, &a) : json_null());
    }
    if (jrc != 0) {
        ncsl_cli_errorf("%s: out of memory", cmd);
        goto out;
    }
    if (ncsl_cli_print_json(d) && valid) {
        exit_code = NCSL_CLI_EXIT_OK;
    }
out:
    json_decref(d);
    ncsl_receipt_cleanup(&r);
    json_decref(proof_doc);
    json_decref(doc);
    ncsl_cli_verify_cleanup(&ctx);
    return exit_code;
}
