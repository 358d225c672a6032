/*
 * Encrypting secret values to an attested enclave (cli_envelope.h): proof first, then the value.
 */
#include "cli_envelope.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "common/common.h"
#include "keys/envelope.h"

/* ------------------------------------------------------------------ the proof */

int ncsl_cli_attested_encryption_key(const char *cmd, const char *source, const json_t *proof,
                                     const ncsl_cli_verify_args *a,
                                     uint8_t enc_pub[NCSL_KEYS_X25519_SIZE]) {
    int rc = NCSL_CLI_EXIT_FAIL;
    ncsl_cli_verify_ctx ctx;
    ncsl_proof_verify_opts o;
    ncsl_proof_verdict v;

    memset(enc_pub, 0, NCSL_KEYS_X25519_SIZE);
    memset(&ctx, 0, sizeof(ctx));
    if (!ncsl_cli_verify_check(cmd, a, &ctx, &o)) {
        return NCSL_CLI_EXIT_USAGE;
    }
    if (!ncsl_cli_verify_load(cmd, a, &ctx, &o) || !ncsl_cli_proof_verify(cmd, proof, &o, &v)) {
        goto out;
    }
    if (!v.valid) {
        ncsl_cli_errorf("%s: %s: the attestation proof is not valid, refusing to encrypt to it: %s",
                        cmd, source, ncsl_cli_proof_reason(&v, a));
        goto out;
    }
    if (v.quote.tee_kind == NCSL_ATTEST_TEE_SIMULATION) {
        ncsl_cli_errorf("%s: warning: the proof is of NCSL's simulation TEE (allowed by "
                        "--allow-simulation): the host of that ncsld can read what is encrypted "
                        "to it",
                        cmd);
    }
    memcpy(enc_pub, v.encryption_key, NCSL_KEYS_X25519_SIZE);
    rc = NCSL_CLI_EXIT_OK;
out:
    ncsl_cli_verify_cleanup(&ctx);
    return rc;
}

int ncsl_cli_seal_secret(const char *cmd, const uint8_t enc_pub[NCSL_KEYS_X25519_SIZE],
                         const char *user_id, const char *name, const void *value, size_t len,
                         json_t **out) {
    ncsl_err err;
    ncsl_err_clear(&err);
    if (ncsl_keys_envelope_seal(enc_pub, user_id, name, value, len, out, &err) != NCSL_OK) {
        /* The message names the problem, never the value. */
        ncsl_cli_errorf("%s: cannot encrypt the value: %s", cmd, err.message);
        return NCSL_CLI_EXIT_FAIL;
    }
    return NCSL_CLI_EXIT_OK;
}

int ncsl_cli_seal_secret_to_proof(const char *cmd, const char *source, const json_t *proof,
                                  const ncsl_cli_verify_args *a, const char *user_id,
                                  const char *name, const void *value, size_t len, json_t **out) {
    uint8_t enc_pub[NCSL_KEYS_X25519_SIZE];
    *out = NULL;
    int rc = ncsl_cli_attested_encryption_key(cmd, source, proof, a, enc_pub);
    return rc != NCSL_CLI_EXIT_OK
               ? rc
               : ncsl_cli_seal_secret(cmd, enc_pub, user_id, name, value, len, out);
}

/* ------------------------------------------------------------------ the value */

/* The terminal's settings while echo is off, so a signal can restore them (one prompt per
 * process at a time; the only process-wide state of this file). */
static struct termios g_saved_tty;
static volatile sig_atomic_t g_tty_saved;

static void restore_tty_and_reraise(int sig) {
    if (g_tty_saved) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &g_saved_tty);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

/*
 * One line from the terminal with echo off into `buf` (max bytes; *len gets the count). Returns
 * 0, 1 when the line is longer than `max` (the rest of it is consumed), -1 when reading fails.
 */
static int read_hidden_line(const char *cmd, char *buf, size_t max, size_t *len) {
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
    struct sigaction sa, old[NCSL_ARRAY_LEN(sigs)];
    struct termios quiet;
    bool hidden = false;

    if (tcgetattr(STDIN_FILENO, &g_saved_tty) == 0) {
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = restore_tty_and_reraise;
        sigemptyset(&sa.sa_mask);
        for (size_t i = 0; i < NCSL_ARRAY_LEN(sigs); i++) {
            sigaction(sigs[i], &sa, &old[i]);
        }
        quiet = g_saved_tty;
        quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
        g_tty_saved = 1;
        hidden = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
    }
    /* Only once echo is off: what is typed after the prompt is never shown. */
    fprintf(stderr, "%s: secret value (input %s, Enter ends it): ", cmd,
            hidden ? "hidden" : "NOT hidden");
    fflush(stderr);
    size_t n = 0;
    bool too_long = false;
    int c;
    while ((c = getchar()) != EOF && c != '\n') {
        if (n < max) {
            buf[n++] = (char)c;
        } else {
            too_long = true;
        }
    }
    bool failed = c == EOF && ferror(stdin);
    int saved_errno = errno;
    if (n > 0 && buf[n - 1] == '\r') {
        buf[--n] = '\0';
    }
    if (g_tty_saved) {
        if (hidden) {
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &g_saved_tty);
        }
        g_tty_saved = 0;
        for (size_t i = 0; i < NCSL_ARRAY_LEN(sigs); i++) {
            sigaction(sigs[i], &old[i], NULL);
        }
    }
    fputc('\n', stderr);
    *len = n;
    errno = saved_errno;
    return failed ? -1 : too_long ? 1 : 0;
}

char *ncsl_cli_read_secret_value(const char *cmd, const char *path, bool strip_newline, size_t max,
                                 const char *max_opt, size_t *len) {
    bool from_stdin = !path || strcmp(path, "-") == 0;
    const char *name = from_stdin ? "standard input" : path;
    char *buf = NULL;
    size_t n = 0;
    size_t read_len = 0;

    *len = 0;
    if (from_stdin && isatty(STDIN_FILENO)) {
        buf = calloc(1, max + 1);
        if (!buf) {
            ncsl_cli_errorf("%s: out of memory", cmd);
            return NULL;
        }
        int rc = read_hidden_line(cmd, buf, max, &n);
        if (rc != 0) {
            if (rc < 0) {
                ncsl_cli_errorf("%s: cannot read the value from the terminal: %s", cmd,
                                strerror(errno));
            } else {
                ncsl_cli_errorf("%s: the value is longer than %zu bytes (%s)", cmd, max, max_opt);
            }
            ncsl_cli_secret_value_free(buf, max);
            return NULL;
        }
        read_len = n;
    } else {
        /* Room for a line end that --strip-newline removes. ncsl_cli_read_file allocates once
         * for sizes this small, so no copy of the value is left behind by a realloc. */
        buf = ncsl_cli_read_file(from_stdin ? "-" : path, max + 2, &read_len);
        if (!buf) {
            if (errno == EFBIG) {
                ncsl_cli_errorf("%s: the value in %s is larger than %zu bytes (%s)", cmd, name, max,
                                max_opt);
            } else {
                ncsl_cli_errorf("%s: cannot read the value from %s: %s", cmd, name,
                                strerror(errno));
            }
            return NULL;
        }
        n = read_len;
        if (strip_newline && n > 0 && buf[n - 1] == '\n') {
            n -= n > 1 && buf[n - 2] == '\r' ? 2 : 1;
        }
    }
    if (n > max || n == 0) {
        if (n > max) {
            ncsl_cli_errorf("%s: the value in %s is %zu bytes, more than %zu (%s)", cmd, name, n,
                            max, max_opt);
        } else {
            ncsl_cli_errorf("%s: the value read from %s is empty", cmd, name);
        }
        ncsl_cli_secret_value_free(buf, read_len);
        return NULL;
    }
    /* Wipe the line end --strip-newline removed. */
    ncsl_wipe(buf + n, read_len - n);
    *len = n;
    return buf;
}

void ncsl_cli_secret_value_free(char *value, size_t len) {
    if (value) {
        ncsl_wipe(value, len + 1);
        free(value);
    }
}

/* ------------------------------------------------------------------ names */

bool ncsl_cli_secret_name_ok(const char *name) {
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > 64 || (name[0] >= '0' && name[0] <= '9')) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_')) {
            return false;
        }
    }
    return true;
}

bool ncsl_cli_user_id_normalize(const char *text, char out[NCSL_CLI_USER_ID_SIZE]) {
    if (!text || strlen(text) != NCSL_CLI_USER_ID_SIZE - 1) {
        return false;
    }
    for (size_t i = 0; i < NCSL_CLI_USER_ID_SIZE - 1; i++) {
        char c = text[i];
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (c >= 'A' && c <= 'F') {
            c = (char)(c - 'A' + 'a');
        }
        if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return false;
        }
        out[i] = c;
    }
    out[NCSL_CLI_USER_ID_SIZE - 1] = '\0';
    return true;
}
