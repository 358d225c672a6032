/*
 * `ncsl attest`: fetches an attestation proof from a running ncsld
 * (GET <url>/api/v1/attestation?nonce=HEX) and prints it, ready for `ncsl verify`.
 *
 * The URL is --url, else the one ncsld wrote to <data dir>/ncsld.url when it started, else the
 * configured listen address (http://127.0.0.1:8080 by default). Only http and https, no
 * redirects, bounded time and size: the answer is checked by `ncsl verify`, not trusted here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "cli_http.h"
#include "cli_trust.h"
#include "common/common.h"
#include "crypto/crypto.h"

#define DEFAULT_TIMEOUT_S 30u

typedef struct attest_args {
    const char *nonce;
    const char *url;
    const char *data_dir;
    const char *config;
    const char *out;
    const char *timeout;
} attest_args;

static void attest_usage(FILE *f) {
    fprintf(f,
            "usage: ncsl attest [options]\n"
            "\n"
            "Asks a running ncsld for an attestation proof (GET /api/v1/attestation) and prints\n"
            "it as JSON. The proof binds the enclave's signing and encryption keys and your\n"
            "nonce to a TEE quote; check it with 'ncsl verify PROOF.json --nonce HEX'.\n"
            "\n"
            "options:\n"
            "  --nonce HEX      a fresh random challenge (hex, at most 64 bytes), e.g.\n"
            "                   $(openssl rand -hex 32); the proof then shows it is fresh\n"
            "  --url URL        ncsld's address, e.g. http://127.0.0.1:8080 (default: the URL\n"
            "                   ncsld wrote to DATA_DIR/ncsld.url, else the configured\n"
            "                   Server.Listen, else http://127.0.0.1:8080)\n"
            "  --data-dir DIR   the installation whose ncsld.url to read (default: the config's\n"
            "                   Server.DataDir, ./ncsl-data)\n"
            "  --config FILE    NCSL configuration file (Server.DataDir, Server.Listen)\n"
            "  --out FILE       write the proof to FILE instead of standard output\n"
            "  --timeout SECS   give up after SECS seconds (1..600, default 30)\n"
            "  -h, --help       show this help and exit\n"
            "\n"
            "Exit status: 0 a proof was printed; 1 ncsld could not be reached or answered an\n"
            "error (its code and message are shown); 2 bad usage.\n");
}

int ncsl_cli_cmd_attest(int argc, char **argv) {
    attest_args a;
    memset(&a, 0, sizeof(a));
    const ncsl_cli_opt opts[] = {
        {"--nonce", NULL, &a.nonce, NULL},       {"--url", NULL, &a.url, NULL},
        {"--data-dir", NULL, &a.data_dir, NULL}, {"--config", NULL, &a.config, NULL},
        {"--out", NULL, &a.out, NULL},           {"--timeout", NULL, &a.timeout, NULL},
    };
    const char *pos[1];
    size_t npos = 0;
    int rc = ncsl_cli_parse("attest", argc, argv, opts, NCSL_ARRAY_LEN(opts), pos, 0, &npos,
                            attest_usage);
    if (rc != 0) {
        return rc > 0 ? NCSL_CLI_EXIT_OK : NCSL_CLI_EXIT_USAGE;
    }
    if (a.url && (a.data_dir || a.config)) {
        ncsl_cli_errorf("attest: --url names the server; --data-dir/--config only serve to find "
                        "it: give one or the other");
        return NCSL_CLI_EXIT_USAGE;
    }
    uint64_t timeout_s = DEFAULT_TIMEOUT_S;
    if (a.timeout && !ncsl_cli_parse_u64(a.timeout, 1, 600, &timeout_s)) {
        ncsl_cli_errorf("attest: --timeout '%s' is not a number of seconds in 1..600", a.timeout);
        return NCSL_CLI_EXIT_USAGE;
    }
    uint8_t nonce[NCSL_PROOF_MAX_NONCE];
    size_t nonce_len = 0;
    char nonce_hex[2 * NCSL_PROOF_MAX_NONCE + 1] = "";
    if (a.nonce) {
        if (!ncsl_cli_parse_hex("attest", "--nonce", a.nonce, nonce, sizeof(nonce), false,
                                &nonce_len)) {
            return NCSL_CLI_EXIT_USAGE;
        }
        /* Lowercase, as the proof will carry it. */
        if (ncsl_crypto_hex_encode(nonce, nonce_len, nonce_hex, sizeof(nonce_hex), NULL) !=
            NCSL_OK) {
            return NCSL_CLI_EXIT_FAIL;
        }
    }

    int exit_code = NCSL_CLI_EXIT_FAIL;
    ncsl_cli_http_response resp;
    memset(&resp, 0, sizeof(resp));
    json_t *doc = NULL;
    char *text = NULL;
    ncsl_cli_target t;
    char url[NCSL_CLI_URL_MAX + 64 + 2 * NCSL_PROOF_MAX_NONCE];
    /* --url, else this installation's ncsld.url; not NCSL_URL, which names the API server of
     * the client commands. */
    int trc = ncsl_cli_target_find("attest", a.url, false, a.data_dir, a.config, &t);
    if (trc != 0) {
        return trc;
    }
    snprintf(url, sizeof(url), "%s/api/v1/attestation%s%s", t.base, nonce_len ? "?nonce=" : "",
             nonce_hex);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        ncsl_cli_errorf("attest: cannot initialise libcurl");
        return NCSL_CLI_EXIT_FAIL;
    }
    const ncsl_cli_http_request req = {
        .method = "GET", .url = url, .timeout_s = (unsigned)timeout_s};
    if (ncsl_cli_http_perform("attest", &t, &req, &resp) != NCSL_CLI_HTTP_ANSWERED) {
        goto out;
    }
    json_t *proof = NULL;
    doc = ncsl_cli_http_envelope("attest", &t, &resp, false, &proof);
    if (!doc) {
        goto out;
    }
    char source[NCSL_CLI_URL_MAX + 32];
    snprintf(source, sizeof(source), "%s (HTTP %ld)", t.base, resp.status);
    /* The real checks are `ncsl verify`'s; this one only catches a server that ignored the
     * nonce, before the user saves a useless proof. */
    const char *got = json_string_value(json_object_get(proof, "nonce"));
    if (!got || strcmp(got, nonce_hex) != 0) {
        ncsl_cli_errorf("attest: %s answered a proof for another nonce than the one sent", source);
        goto out;
    }
    text = json_dumps(proof, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (!text) {
        ncsl_cli_errorf("attest: out of memory");
        goto out;
    }
    size_t len = strlen(text);
    text[len] = '\n'; /* json_dumps' NUL becomes the final newline; the length says where */
    if (ncsl_cli_write_output(a.out, text, len + 1, 0644)) {
        exit_code = NCSL_CLI_EXIT_OK;
    }
out:
    free(text);
    json_decref(doc);
    ncsl_cli_http_response_cleanup(&resp);
    curl_global_cleanup();
    return exit_code;
}
