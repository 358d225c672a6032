/* Helpers shared by the TEE interface tests; see tee_test_util.h. */
#include "tee_test_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "attest/attest.h"
#include "crypto/crypto.h"

char *tt_tmp_dir(const char *tag) {
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    if (!base || !*base) {
        base = P_tmpdir;
    }
    snprintf(tmpl, sizeof(tmpl), "%s/%s-XXXXXX", base, tag);
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return strdup(d);
}

void tt_rm_rf(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0) {
        return;
    }
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (d) {
            struct dirent *e;
            while ((e = readdir(d)) != NULL) {
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
                    continue;
                }
                char *sub = tt_path(path, e->d_name);
                tt_rm_rf(sub);
                free(sub);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

char *tt_path(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    assert_non_null(p);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

void tt_write_file(const char *dir, const char *name, const void *data, size_t len) {
    char *p = tt_path(dir, name);
    (void)unlink(p);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    if (len > 0) {
        assert_int_equal(write(fd, data, len), (ssize_t)len);
    }
    assert_int_equal(close(fd), 0);
    free(p);
}

ncsl_tee *tt_open_sim(const char *data_dir) {
    ncsl_tee_options o;
    ncsl_tee *tee = NULL;
    ncsl_err err;
    ncsl_tee_options_default(&o);
    o.type = NCSL_TEE_SIMULATION;
    o.data_dir = data_dir;
    ncsl_status st = ncsl_tee_open(&o, &tee, &err);
    if (st != NCSL_OK) {
        fprintf(stderr, "simulation open: %s\n", err.message);
    }
    assert_int_equal(st, NCSL_OK);
    return tee;
}

static void put16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)(v & 0xff);
    p[1] = (uint8_t)(v >> 8);
}

void tt_make_report(const ncsl_tee_measurement *m, const uint8_t cpu_svn[16], uint16_t isv_prod_id,
                    uint16_t isv_svn, uint16_t config_svn, const uint8_t report_data[64],
                    uint8_t out[432]) {
    memset(out, 0, 432);
    memcpy(out + 0, cpu_svn, 16);
    memcpy(out + 48, m->attributes, 16);
    memcpy(out + 64, m->mr_enclave, 32);
    memcpy(out + 128, m->mr_signer, 32);
    put16(out + 256, isv_prod_id);
    put16(out + 258, isv_svn);
    put16(out + 260, config_svn);
    if (report_data) {
        memcpy(out + 320, report_data, 64);
    }
    memset(out + 384, 0x4b, 32); /* key_id */
    memset(out + 416, 0x3c, 16); /* mac */
}

void tt_assert_sim_quote(ncsl_tee *sim, const uint8_t *quote, size_t len,
                         const uint8_t report_data[64]) {
    ncsl_quote_verify_opts o;
    ncsl_quote_verdict v;
    ncsl_err err;
    ncsl_tee_measurement m;
    size_t root_len = 0;
    const char *root = ncsl_tee_attestation_root_pem(sim, &root_len);
    assert_non_null(root);
    assert_int_equal(ncsl_tee_measure(sim, &m, &err), NCSL_OK);
    ncsl_attest_quote_verify_opts_default(&o);
    o.allow_simulation = true;
    o.simulation_root_pem = root;
    o.simulation_root_pem_len = root_len;
    ncsl_status st = ncsl_attest_quote_verify(quote, len, &o, &v, &err);
    if (st != NCSL_OK) {
        fprintf(stderr, "verify: %s\n", v.reason);
    }
    assert_int_equal(st, NCSL_OK);
    assert_true(v.valid);
    assert_int_equal(v.tee_kind, NCSL_ATTEST_TEE_SIMULATION);
    assert_memory_equal(v.report_data, report_data, 64);
    assert_memory_equal(v.mr_enclave, m.mr_enclave, 32);
    assert_memory_equal(v.mr_signer, m.mr_signer, 32);
}

void tt_expected_seal_key(const uint8_t *ikm, size_t ikm_len, const char *prefix, uint8_t policy,
                          uint8_t out[32]) {
    uint8_t info[128];
    size_t n = strlen(prefix);
    ncsl_err err;
    assert_true(n + 1 <= sizeof(info));
    memcpy(info, prefix, n);
    info[n] = policy;
    assert_int_equal(ncsl_crypto_hkdf_sha256(ikm, ikm_len, NULL, 0, info, n + 1, out, 32, &err),
                     NCSL_OK);
}
