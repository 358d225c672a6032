/*
 * The trust commands' shared parts (cli_trust.h): verification options, JSON documents and
 * ncsld envelopes, verdict output.
 */
#include "cli_trust.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/common.h"
#include "crypto/crypto.h"

#define PEM_MAX ((size_t)64 * 1024)

/* ------------------------------------------------------------------ verification options */

size_t ncsl_cli_verify_opts(ncsl_cli_verify_args *a, bool proof_level, ncsl_cli_opt *opts) {
    const ncsl_cli_opt all[NCSL_CLI_VERIFY_PROOF_OPTS] = {
        {"--at", NULL, &a->at, NULL},
        {"--root", NULL, &a->root, NULL},
        {"--allow-simulation", NULL, NULL, &a->allow_sim},
        {"--simulation-root", NULL, &a->sim_root, NULL},
        {"--data-dir", NULL, &a->data_dir, NULL},
        {"--config", NULL, &a->config, NULL},
        {"--collateral", NULL, &a->collateral, NULL},
        /* proof level: */
        {"--allow-debug", NULL, NULL, &a->allow_debug},
        {"--nonce", NULL, &a->nonce, NULL},
        {"--expect-mrenclave", NULL, &a->expect_mrenclave, NULL},
        {"--expect-mrsigner", NULL, &a->expect_mrsigner, NULL},
    };
    size_t n = proof_level ? NCSL_CLI_VERIFY_PROOF_OPTS : NCSL_CLI_VERIFY_QUOTE_OPTS;
    memcpy(opts, all, n * sizeof(all[0]));
    return n;
}

void ncsl_cli_verify_usage(FILE *f, bool proof_level) {
    if (proof_level) {
        fprintf(f,
                "  --nonce HEX            the nonce you sent to 'ncsl attest' (hex, at most 64\n"
                "                         bytes): the proof must carry exactly it, which shows\n"
                "                         it is fresh (\"\" requires a proof without a nonce)\n"
                "  --expect-mrenclave HEX the enclave measurement you expect (32 bytes)\n"
                "  --expect-mrsigner HEX  the enclave signer you expect (32 bytes)\n"
                "  --allow-debug          accept a DEBUG enclave (the host can read its memory)\n");
    }
    fprintf(f,
            "  --allow-simulation     accept NCSL's simulation TEE, checked against one\n"
            "                         installation's simulation root (reported as\n"
            "                         \"simulation\": it proves nothing about hardware)\n"
            "  --simulation-root PEM  that root's certificate (default: the one in --data-dir)\n"
            "  --data-dir DIR         the installation whose simulation root to pin (default:\n"
            "                         the config's Server.DataDir, ./ncsl-data)\n"
            "  --config FILE          NCSL configuration file (for its Server.DataDir)\n"
            "  --at TIME              check certificates (and collateral) as of TIME (RFC 3339,\n"
            "                         e.g. 2024-01-01T00:00:00Z, or seconds since the epoch);\n"
            "                         default: now\n"
            "  --root PEM             pin this Intel SGX Root CA certificate instead of the\n"
            "                         built-in one\n"
            "  --collateral DIR       also check Intel's collateral for the platform (TCB info,\n"
            "                         QE identity, CRLs: sgx_quote_collateral.json, or\n"
            "                         tcb_info.json, qe_identity.json, tcb_signing_chain.pem,\n"
            "                         root_ca_crl.der, pck_ca_crl.der) and report the TCB\n"
            "                         status; hardware quotes only\n");
}

bool ncsl_cli_parse_hex(const char *cmd, const char *opt, const char *text, uint8_t *out,
                        size_t max, bool exact, size_t *len) {
    size_t n = strlen(text);
    size_t got = 0;
    if (n > 2 * max || ncsl_crypto_hex_decode(text, n, out, max, &got, NULL) != NCSL_OK ||
        (exact && got != max)) {
        ncsl_cli_errorf("%s: %s must be hex (0-9, a-f, an even number of digits) of %s %zu bytes",
                        cmd, opt, exact ? "exactly" : "at most", max);
        return false;
    }
    *len = got;
    return true;
}

bool ncsl_cli_verify_check(const char *cmd, const ncsl_cli_verify_args *a, ncsl_cli_verify_ctx *ctx,
                           ncsl_proof_verify_opts *o) {
    ncsl_proof_verify_opts_default(o);
    if (a->at && !ncsl_cli_parse_time(a->at, &o->quote.at_time)) {
        ncsl_cli_errorf("%s: --at '%s' is not an RFC 3339 time (2024-01-01T00:00:00Z) or seconds "
                        "since the epoch",
                        cmd, a->at);
        return false;
    }
    if ((a->sim_root || a->data_dir) && !a->allow_sim) {
        ncsl_cli_errorf("%s: --simulation-root/--data-dir only matter with --allow-simulation",
                        cmd);
        return false;
    }
    if (a->sim_root && a->data_dir) {
        ncsl_cli_errorf("%s: give one of --simulation-root and --data-dir (both name the "
                        "simulation root)",
                        cmd);
        return false;
    }
    o->allow_debug = a->allow_debug;
    size_t len = 0;
    if (a->nonce) {
        if (!ncsl_cli_parse_hex(cmd, "--nonce", a->nonce, ctx->nonce, sizeof(ctx->nonce), false,
                                &len)) {
            return false;
        }
        o->check_nonce = true;
        o->expected_nonce = len ? ctx->nonce : NULL;
        o->expected_nonce_len = len;
    }
    if (a->expect_mrenclave) {
        if (!ncsl_cli_parse_hex(cmd, "--expect-mrenclave", a->expect_mrenclave, ctx->mr_enclave,
                                sizeof(ctx->mr_enclave), true, &len)) {
            return false;
        }
        o->expected_mr_enclave = ctx->mr_enclave;
    }
    if (a->expect_mrsigner) {
        if (!ncsl_cli_parse_hex(cmd, "--expect-mrsigner", a->expect_mrsigner, ctx->mr_signer,
                                sizeof(ctx->mr_signer), true, &len)) {
            return false;
        }
        o->expected_mr_signer = ctx->mr_signer;
    }
    return true;
}

bool ncsl_cli_verify_load(const char *cmd, const ncsl_cli_verify_args *a, ncsl_cli_verify_ctx *ctx,
                          ncsl_proof_verify_opts *o) {
    if (a->root) {
        ctx->root_pem = ncsl_cli_read_file(a->root, PEM_MAX, &o->quote.root_pem_len);
        if (!ctx->root_pem) {
            ncsl_cli_errorf("%s: cannot read --root %s: %s", cmd, a->root, strerror(errno));
            return false;
        }
        o->quote.root_pem = ctx->root_pem;
    }
    if (a->allow_sim) {
        ctx->sim_root_pem = ncsl_cli_sim_root(a->sim_root, a->config, a->data_dir,
                                              &o->quote.simulation_root_pem_len);
        if (!ctx->sim_root_pem) {
            return false;
        }
        o->quote.allow_simulation = true;
        o->quote.simulation_root_pem = ctx->sim_root_pem;
    }
    if (a->collateral) {
        ncsl_err err;
        ncsl_err_clear(&err);
        if (ncsl_attest_collateral_load_dir(a->collateral, &ctx->collateral, &err) != NCSL_OK) {
            /* The loader's message already names the file. */
            ncsl_cli_errorf("%s: --collateral %s: %s", cmd, a->collateral, err.message);
            return false;
        }
        o->quote.collateral = ctx->collateral;
    }
    return true;
}

void ncsl_cli_verify_cleanup(ncsl_cli_verify_ctx *ctx) {
    free(ctx->root_pem);
    free(ctx->sim_root_pem);
    ncsl_attest_collateral_destroy(ctx->collateral);
    ctx->root_pem = NULL;
    ctx->sim_root_pem = NULL;
    ctx->collateral = NULL;
}

/* ------------------------------------------------------------------ verdicts */

/* The quote verifier's reason for a simulation quote when simulation was not allowed
 * (src/attest/quote_verify.c). Every other failure keeps the library's reason. */
#define SIM_REFUSED_MARK "simulation is not allowed"

static json_t *time_or_null(int64_t t) {
    char buf[32];
    time_t tt = (time_t)t;
    struct tm tm;
    if (t <= 0 || !gmtime_r(&tt, &tm) ||
        strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        return json_null();
    }
    return json_string(buf);
}

static json_t *str_or_null(const char *s) {
    return s && *s ? json_string(s) : json_null();
}

/* "INTEL-SA-00289,INTEL-SA-00615" -> ["INTEL-SA-00289", "INTEL-SA-00615"]. */
static json_t *advisory_array(const char *ids) {
    json_t *arr = json_array();
    const char *p = ids;
    while (arr && *p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n > 0 && json_array_append_new(arr, json_stringn(p, n)) != 0) {
            json_decref(arr);
            return NULL;
        }
        p += n + (end ? 1 : 0);
    }
    return arr;
}

static const char g_sim_refused[] =
    "simulation is not allowed: this comes from NCSL's simulation TEE, which proves nothing about "
    "hardware; to accept it as simulation, pass --allow-simulation (it is then checked against the "
    "simulation root of the installation in --data-dir, or of --simulation-root PEM)";

/* The quote was refused only because simulation was not allowed. */
static bool sim_refused(const ncsl_quote_verdict *q, const ncsl_cli_verify_args *a) {
    return !a->allow_sim && !q->valid && q->failed_step == NCSL_ATTEST_STEP_PCK_CHAIN &&
           strstr(q->reason, SIM_REFUSED_MARK) != NULL;
}

const char *ncsl_cli_proof_reason(const ncsl_proof_verdict *v, const ncsl_cli_verify_args *a) {
    if (v->failed_check == NCSL_PROOF_CHECK_QUOTE && sim_refused(&v->quote, a)) {
        return g_sim_refused;
    }
    return v->reason;
}

bool ncsl_cli_verdict_amend(json_t *o, const char *reason_key, const ncsl_quote_verdict *q,
                            const ncsl_cli_verify_args *a) {
    int rc = 0;
    if (reason_key && sim_refused(q, a)) {
        rc |= json_object_set_new(o, reason_key, json_string(g_sim_refused));
    }
    if (a->collateral) {
        bool eval = q->tcb_status_id != NCSL_ATTEST_TCB_NONE;
        rc |= json_object_set_new(o, "tcbStatus", str_or_null(q->tcb_status));
        rc |= json_object_set_new(o, "tcbDate", str_or_null(q->tcb_date));
        rc |= json_object_set_new(o, "qeTcbStatus", str_or_null(q->qe_tcb_status));
        rc |= json_object_set_new(o, "advisoryIds",
                                  eval ? advisory_array(q->advisory_ids) : json_null());
        rc |=
            json_object_set_new(o, "advisoryIdsTruncated", json_boolean(q->advisory_ids_truncated));
        rc |= json_object_set_new(o, "tcbEvaluationDataNumber",
                                  eval ? json_integer(q->tcb_eval_data_number) : json_null());
        rc |= json_object_set_new(o, "collateralExpired", json_boolean(q->collateral_expired));
        rc |= json_object_set_new(o, "collateralExpiresAt", time_or_null(q->collateral_expires_at));
    }
    return rc == 0;
}

json_t *ncsl_cli_proof_verdict_json(const ncsl_proof_verdict *v, const ncsl_cli_verify_args *a) {
    json_t *j = ncsl_proof_verdict_to_json(v);
    /* The proof's reason is its first failed check: rewrite it only when that is the quote. */
    if (j && !ncsl_cli_verdict_amend(j, v->failed_check == NCSL_PROOF_CHECK_QUOTE ? "reason" : NULL,
                                     &v->quote, a)) {
        json_decref(j);
        return NULL;
    }
    return j;
}

bool ncsl_cli_proof_verify(const char *cmd, const json_t *proof, const ncsl_proof_verify_opts *o,
                           ncsl_proof_verdict *v) {
    ncsl_err err;
    ncsl_err_clear(&err);
    /* A rejected proof is an answer (the verdict); only a setup failure is not. */
    ncsl_status st = ncsl_proof_verify(proof, o, v, &err);
    if (st == NCSL_OK || v->failed_check != NCSL_PROOF_CHECK_SETUP) {
        return true;
    }
    const char *opt = strstr(err.field, "simulation_root_pem") ? "the simulation root: "
                      : strstr(err.field, "root_pem")          ? "--root: "
                                                               : "";
    ncsl_cli_errorf("%s: the proof could not be checked: %s%s", cmd, opt, err.message);
    return false;
}

/* ------------------------------------------------------------------ JSON documents */

json_t *ncsl_cli_read_json(const char *cmd, const char *what, const char *path) {
    const char *name = strcmp(path, "-") == 0 ? "standard input" : path;
    size_t len = 0;
    char *text = ncsl_cli_read_file(path, NCSL_CLI_JSON_MAX, &len);
    if (!text) {
        if (errno == EFBIG) {
            ncsl_cli_errorf("%s: cannot read %s: larger than %zu bytes, not a %s", cmd, name,
                            NCSL_CLI_JSON_MAX, what);
        } else {
            ncsl_cli_errorf("%s: cannot read %s: %s", cmd, name, strerror(errno));
        }
        return NULL;
    }
    json_error_t jerr;
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    free(text);
    if (!doc) {
        ncsl_cli_errorf("%s: %s is not a JSON %s: line %d column %d: %s", cmd, name, what,
                        jerr.line, jerr.column, jerr.text);
        return NULL;
    }
    if (!json_is_object(doc)) {
        ncsl_cli_errorf("%s: %s is not a %s: expected a JSON object", cmd, name, what);
        json_decref(doc);
        return NULL;
    }
    return doc;
}

/* Copies at most 300 bytes of server text into `out` with control characters as '?', so a
 * hostile server cannot drive the terminal. */
static const char *clean(const char *s, char *out, size_t size) {
    size_t n = 0;
    for (; s && *s && n + 1 < size && n < 300; s++) {
        unsigned char c = (unsigned char)*s;
        out[n++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    out[n] = '\0';
    return out;
}

void ncsl_cli_print_api_error(const char *cmd, const char *source, const json_t *error) {
    char code[320];
    char msg[320];
    char field[320];
    clean(json_string_value(json_object_get(error, "code")), code, sizeof(code));
    clean(json_string_value(json_object_get(error, "message")), msg, sizeof(msg));
    clean(json_string_value(json_object_get(error, "field")), field, sizeof(field));
    ncsl_cli_errorf("%s: %s: ncsld answered an error: %s: %s%s%s%s", cmd, source,
                    code[0] ? code : "(no code)", msg[0] ? msg : "(no message)",
                    field[0] ? " (field " : "", field, field[0] ? ")" : "");
}

json_t *ncsl_cli_envelope_data(const char *cmd, const char *source, json_t *doc) {
    json_t *success = json_object_get(doc, "success");
    if (!success) {
        return doc;
    }
    if (json_is_false(success)) {
        ncsl_cli_print_api_error(cmd, source, json_object_get(doc, "error"));
        return NULL;
    }
    json_t *data = json_object_get(doc, "data");
    if (!json_is_true(success) || !json_is_object(data)) {
        ncsl_cli_errorf("%s: %s: not an ncsld response: \"success\" must be true or false and "
                        "\"data\" an object",
                        cmd, source);
        return NULL;
    }
    return data;
}

bool ncsl_cli_print_json(const json_t *j) {
    char *text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (!text) {
        ncsl_cli_errorf("out of memory");
        return false;
    }
    bool ok = ncsl_cli_write_stdout(text, strlen(text)) && ncsl_cli_write_stdout("\n", 1);
    free(text);
    return ok;
}
