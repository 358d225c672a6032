/*
 * The Gramine TEE backend: NCSL running inside a gramine-sgx enclave, talking to it through the
 * /dev/attestation pseudo-files (REFERENCE.md section 2; gramineproject/gramine
 * libos/src/fs/dev/attestation.c, Documentation/attestation.rst).
 *
 * What Gramine offers, and what this backend makes of it:
 *   attestation_type   "dcap", "epid" or "none"; present only under gramine-sgx. Absent means
 *                      gramine-direct (no enclave at all): open refuses (NCSL_E_UNSUPPORTED) and
 *                      ncsl_tee_open's Auto falls back to simulation. "none" is an SGX enclave
 *                      whose manifest turned remote attestation off (no `quote` file), and
 *                      "epid" gives EPID quotes NCSL cannot verify: both refused with the
 *                      manifest setting that fixes it (sgx.remote_attestation = "dcap").
 *   report             this enclave's EREPORT (432 bytes), read once at open: MRENCLAVE,
 *                      MRSIGNER, attributes, ISV product id and SVN come from its body.
 *   user_report_data   written with the 64 bytes, then
 *   quote              read (at most 8192 bytes, Gramine's QUOTE_MAX_SIZE): a DCAP quote over
 *                      them, checked (ncsl__tee_sgx_quote_check) before it is returned.
 *   keys/_sgx_mrenclave, keys/_sgx_mrsigner
 *                      16-byte SGX sealing KEYS (EGETKEY with policy MRENCLAVE / MRSIGNER,
 *                      Gramine's own key request: current CPU/ISV/CONFIG SVNs, key id 0), not
 *                      measurements. seal_key reads the one for the policy and turns it into the
 *                      32-byte NCSL seal root with HKDF-SHA256, info
 *                      "ncsl-tee-gramine-sealkey-v1" || policy byte; the raw key is wiped.
 *   random             getrandom(2), which Gramine answers inside the enclave.
 *
 * Locking: the pseudo-files are one state per process and not thread-safe (writing
 * user_report_data and reading quote are two steps), so every access of every handle holds
 * g_gramine_lock: a process-wide lock for a process-wide resource (the one global state of this
 * file, see STYLE.md "Global state").
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tee/tee_int.h"

#define GRAMINE_QUOTE_MAX 8192u
#define GRAMINE_TYPE_MAX 64u
#define GRAMINE_SEAL_INFO "ncsl-tee-gramine-sealkey-v1"

/* Guards every use of the /dev/attestation files of this process (see the file comment). */
static pthread_mutex_t g_gramine_lock = PTHREAD_MUTEX_INITIALIZER;

typedef struct gramine_state {
    char *dir;
    char *user_report_data; /* <dir>/user_report_data */
    char *quote;            /* <dir>/quote */
    char *key_mrenclave;    /* <dir>/keys/_sgx_mrenclave */
    char *key_mrsigner;     /* <dir>/keys/_sgx_mrsigner */
    ncsl__tee_sgx_identity id;
} gramine_state;

static const char *gramine_name(void) {
    return "gramine";
}

/*
 * Reads `path` to its end into `buf` (caller-owned, `cap` bytes). *got is the number of bytes
 * read; *over is set when the file holds more than `cap` bytes. Short reads are repeated;
 * NCSL_E_NOT_FOUND when the file is missing, NCSL_E_TEE for other failures (message names the
 * file). Call with g_gramine_lock held.
 */
static ncsl_status read_file(const char *path, uint8_t *buf, size_t cap, size_t *got, bool *over,
                             ncsl_err *err) {
    ncsl_status st = NCSL_OK;
    uint8_t extra;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    *got = 0;
    *over = false;
    if (fd < 0) {
        return ncsl_err_set(err, errno == ENOENT ? NCSL_E_NOT_FOUND : NCSL_E_TEE, NULL,
                            "cannot open %s: %s", path, strerror(errno));
    }
    while (*got < cap) {
        ssize_t n = read(fd, buf + *got, cap - *got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            st = ncsl_err_set(err, NCSL_E_TEE, NULL, "cannot read %s: %s", path, strerror(errno));
            goto out;
        }
        if (n == 0) {
            goto out;
        }
        *got += (size_t)n;
    }
    for (;;) { /* full: is there more? */
        ssize_t n = read(fd, &extra, 1);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            st = ncsl_err_set(err, NCSL_E_TEE, NULL, "cannot read %s: %s", path, strerror(errno));
            goto out;
        }
        *over = n > 0;
        break;
    }
out:
    close(fd);
    return st;
}

/* Reads a file that must hold exactly `size` bytes. Call with g_gramine_lock held. */
static ncsl_status read_exact(const char *path, uint8_t *buf, size_t size, const char *what,
                              ncsl_err *err) {
    size_t got = 0;
    bool over = false;
    ncsl_status st = read_file(path, buf, size, &got, &over, err);
    if (st == NCSL_OK && (got != size || over)) {
        st = ncsl_err_set(err, NCSL_E_TEE, NULL, "%s holds %s%zu bytes, not the %zu of %s", path,
                          over ? "more than " : "", got, size, what);
    }
    if (st != NCSL_OK) {
        ncsl_wipe(buf, size);
    }
    return st;
}

/* Writes `len` bytes to an existing file and closes it; Gramine stores what was written when
 * the file is closed, so close's result counts. Call with g_gramine_lock held. */
static ncsl_status write_file(const char *path, const uint8_t *data, size_t len, ncsl_err *err) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        return ncsl_err_set(err, NCSL_E_TEE, NULL, "cannot open %s for writing: %s", path,
                            strerror(errno));
    }
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, data + done, len - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            int e = n < 0 ? errno : EIO;
            close(fd);
            return ncsl_err_set(err, NCSL_E_TEE, NULL, "cannot write %s: %s", path, strerror(e));
        }
        done += (size_t)n;
    }
    if (close(fd) != 0) {
        return ncsl_err_set(err, NCSL_E_TEE, NULL, "writing %s failed on close: %s", path,
                            strerror(errno));
    }
    return NCSL_OK;
}

/* Checks <dir>/attestation_type: only "dcap" lets NCSL attest. */
static ncsl_status check_attestation_type(const char *dir, ncsl_err *err) {
    ncsl_status st = NCSL_OK;
    char *path = ncsl_path_join(dir, "attestation_type");
    uint8_t buf[GRAMINE_TYPE_MAX];
    size_t got = 0;
    bool over = false;

    if (!path) {
        return ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
    }
    pthread_mutex_lock(&g_gramine_lock);
    st = read_file(path, buf, sizeof(buf) - 1, &got, &over, err);
    pthread_mutex_unlock(&g_gramine_lock);
    if (st == NCSL_E_NOT_FOUND) {
        st = ncsl_err_set(err, NCSL_E_UNSUPPORTED, "type",
                          "%s has no attestation_type: this is gramine-direct, which runs without "
                          "an SGX enclave; run under gramine-sgx, or set Tee.SimulationMode true "
                          "to run simulated",
                          dir);
        goto out;
    }
    if (st != NCSL_OK) {
        goto out;
    }
    while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == '\0' || buf[got - 1] == ' ')) {
        got--;
    }
    buf[got] = 0;
    if (over || memchr(buf, 0, got)) {
        st = ncsl_err_set(err, NCSL_E_TEE, NULL, "%s does not hold an attestation type", path);
    } else if (strcmp((char *)buf, "dcap") == 0) {
        st = NCSL_OK;
    } else if (strcmp((char *)buf, "none") == 0) {
        st = ncsl_err_set(err, NCSL_E_UNSUPPORTED, "type",
                          "Gramine reports attestation_type \"none\" (%s): the enclave's manifest "
                          "turns remote attestation off, so it cannot produce quotes; set "
                          "sgx.remote_attestation = \"dcap\" in the manifest, or "
                          "Tee.SimulationMode true to run simulated",
                          path);
    } else if (strcmp((char *)buf, "epid") == 0) {
        st = ncsl_err_set(err, NCSL_E_UNSUPPORTED, "type",
                          "Gramine reports attestation_type \"epid\" (%s): NCSL produces and "
                          "verifies DCAP quotes only; set sgx.remote_attestation = \"dcap\" in the "
                          "manifest",
                          path);
    } else {
        st = ncsl_err_set(err, NCSL_E_UNSUPPORTED, "type",
                          "Gramine reports an unknown attestation_type \"%.32s\" (%s); NCSL needs "
                          "\"dcap\"",
                          (char *)buf, path);
    }
out:
    free(path);
    return st;
}

/* ------------------------------------------------------------------------- ops */

static void gramine_close(void *state) {
    gramine_state *s = state;
    if (!s) {
        return;
    }
    free(s->dir);
    free(s->user_report_data);
    free(s->quote);
    free(s->key_mrenclave);
    free(s->key_mrsigner);
    ncsl_wipe(s, sizeof(*s));
    free(s);
}

static ncsl_status gramine_open(const ncsl_tee_options *opts, void **state, ncsl_err *err) {
    ncsl_status st = NCSL_OK;
    gramine_state *s = NULL;
    char *report_path = NULL;
    const char *dir = opts->gramine_dir ? opts->gramine_dir : NCSL_TEE_GRAMINE_DIR_DEFAULT;
    uint8_t report[NCSL_TEE_SGX_REPORT_SIZE];
    struct stat sb;

    *state = NULL;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        return ncsl_err_set(err, NCSL_E_UNSUPPORTED, "type",
                            "%s is not a directory: not running inside Gramine", dir);
    }
    s = calloc(1, sizeof(*s));
    if (!s) {
        return ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory (Gramine state)");
    }
    s->dir = ncsl_strdup(dir);
    s->user_report_data = ncsl_path_join(dir, "user_report_data");
    s->quote = ncsl_path_join(dir, "quote");
    s->key_mrenclave = ncsl_path_join(dir, "keys/_sgx_mrenclave");
    s->key_mrsigner = ncsl_path_join(dir, "keys/_sgx_mrsigner");
    report_path = ncsl_path_join(dir, "report");
    if (!s->dir || !s->user_report_data || !s->quote || !s->key_mrenclave || !s->key_mrsigner ||
        !report_path) {
        st = ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
        goto out;
    }
    st = check_attestation_type(dir, err);
    if (st != NCSL_OK) {
        goto out;
    }
    /* The report's user data and target info are whatever was written last: only the body's
     * identity fields are used, and they do not depend on either. */
    pthread_mutex_lock(&g_gramine_lock);
    st = read_exact(report_path, report, sizeof(report), "an SGX report (sgx_report_t)", err);
    pthread_mutex_unlock(&g_gramine_lock);
    if (st == NCSL_E_NOT_FOUND) {
        st = ncsl_err_set(err, NCSL_E_TEE, NULL,
                          "%s is missing although attestation_type is present: not a gramine-sgx "
                          "/dev/attestation",
                          report_path);
    }
    if (st != NCSL_OK) {
        goto out;
    }
    st = ncsl__tee_sgx_report_decode(report, report_path, &s->id, err);
    if (st != NCSL_OK) {
        goto out;
    }
    *state = s;
    s = NULL;
out:
    free(report_path);
    gramine_close(s);
    return st;
}

static ncsl_status gramine_measure(void *state, ncsl_tee_measurement *out, ncsl_err *err) {
    const gramine_state *s = state;
    *out = s->id.m;
    return NCSL_OK;
}

static ncsl_status gramine_quote(void *state, const uint8_t report_data[NCSL_TEE_REPORT_DATA_SIZE],
                                 uint8_t **quote, size_t *len, ncsl_err *err) {
    gramine_state *s = state;
    ncsl_status st = NCSL_OK;
    uint8_t *buf = NULL;
    size_t got = 0;
    bool over = false;

    *quote = NULL;
    *len = 0;
    buf = malloc(GRAMINE_QUOTE_MAX);
    if (!buf) {
        return ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory (quote)");
    }
    pthread_mutex_lock(&g_gramine_lock);
    st = write_file(s->user_report_data, report_data, NCSL_TEE_REPORT_DATA_SIZE, err);
    if (st == NCSL_OK) {
        st = read_file(s->quote, buf, GRAMINE_QUOTE_MAX, &got, &over, err);
    }
    pthread_mutex_unlock(&g_gramine_lock);
    if (st == NCSL_E_NOT_FOUND) {
        st = ncsl_err_set(err, NCSL_E_TEE, NULL,
                          "%s is missing: this Gramine enclave offers no remote attestation",
                          s->quote);
    }
    if (st != NCSL_OK) {
        goto out;
    }
    if (over) {
        st = ncsl_err_set(err, NCSL_E_TEE, NULL,
                          "%s returned more than %u bytes, Gramine's largest quote", s->quote,
                          GRAMINE_QUOTE_MAX);
        goto out;
    }
    *len = got;
    st = ncsl__tee_sgx_quote_check(buf, len, report_data, &s->id, s->quote, err);
    if (st != NCSL_OK) {
        *len = 0;
        goto out;
    }
    *quote = buf;
    buf = NULL;
out:
    free(buf);
    return st;
}

static ncsl_status gramine_seal_key(void *state, ncsl_seal_policy policy,
                                    uint8_t key[NCSL_TEE_SEAL_KEY_SIZE], ncsl_err *err) {
    gramine_state *s = state;
    ncsl_status st = NCSL_OK;
    uint8_t hw[NCSL_TEE_SGX_HW_KEY_SIZE];
    const char *path = NULL;

    if (policy == NCSL_SEAL_POLICY_MRENCLAVE) {
        path = s->key_mrenclave;
    } else if (policy == NCSL_SEAL_POLICY_MRSIGNER) {
        path = s->key_mrsigner;
    } else {
        ncsl_wipe(key, NCSL_TEE_SEAL_KEY_SIZE);
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "policy", "unknown sealing policy %d",
                            (int)policy);
    }
    pthread_mutex_lock(&g_gramine_lock);
    st = read_exact(path, hw, sizeof(hw), "an SGX sealing key", err);
    pthread_mutex_unlock(&g_gramine_lock);
    if (st == NCSL_E_NOT_FOUND) {
        st = ncsl_err_set(err, NCSL_E_TEE, NULL,
                          "%s is missing: this Gramine does not offer SGX sealing keys under "
                          "/dev/attestation/keys",
                          path);
    }
    if (st == NCSL_OK) {
        st = ncsl__tee_sgx_expand_seal_key(GRAMINE_SEAL_INFO, hw, policy, key, err);
    } else {
        ncsl_wipe(key, NCSL_TEE_SEAL_KEY_SIZE);
    }
    ncsl_wipe(hw, sizeof(hw));
    return st;
}

static ncsl_status gramine_random(void *state, void *buf, size_t len, ncsl_err *err) {
    return ncsl__tee_getrandom(buf, len, err);
}

const ncsl_tee_ops ncsl__tee_gramine_ops = {
    .kind = NCSL_TEE_KIND_HARDWARE,
    .name = gramine_name,
    .open = gramine_open,
    .close = gramine_close,
    .measure = gramine_measure,
    .quote = gramine_quote,
    .seal_key = gramine_seal_key,
    .random = gramine_random,
    .attestation_root_pem = NULL, /* quotes chain to Intel's root */
};
