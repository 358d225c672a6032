/*
 * The simulation TEE backend: first open and reopen of a data directory (platform secret, PKI,
 * measurement, seal keys), refusal of an unsafe platform secret, quotes checked by the attest
 * verifier (allowed simulation, not allowed, another installation's root, Intel's root, bit
 * flips), and no private key in clear on disk.
 */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "attest/attest.h"
#include "crypto/crypto.h"
#include "ncsl_test_util.h"
#include "tee/tee.h"
#include "tee/tee_int.h"

/* ------------------------------------------------------------------------- helpers */

static char *tee_path(const char *data_dir, const char *name) {
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s/tee/%s", data_dir, name);
    return strdup(buf);
}

/* ------------------------------------------------------------------------- tests */

static void test_open_creates_state_and_reopen_is_stable(void **unused) {
    char *dir = ncsl_test_tmpdir_make("ncsl-tee-test");
    ncsl_err err;
    ncsl_tee *tee = ncsl_test_open_sim_tee_expect(dir, false, NCSL_OK, &err);
    assert_string_equal(ncsl_tee_name(tee), "simulation");
    assert_int_equal(ncsl_tee_get_kind(tee), NCSL_TEE_KIND_SIMULATION);

    char *secret = tee_path(dir, "platform.secret");
    struct stat sb;
    assert_int_equal(stat(secret, &sb), 0);
    assert_true(S_ISREG(sb.st_mode));
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(sb.st_size, 32);
    char tdir[4096];
    snprintf(tdir, sizeof(tdir), "%s/tee", dir);
    assert_int_equal(stat(tdir, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0700);

    ncsl_tee_measurement m1, m2;
    assert_int_equal(ncsl_tee_measure(tee, &m1, &err), NCSL_OK);
    assert_false(m1.debug);
    assert_int_equal(m1.isv_prod_id, 0);
    assert_int_equal(m1.isv_svn, 0);
    assert_int_equal(m1.attributes[0] & 0x2, 0);
    size_t root_len1 = 0;
    const char *root1 = ncsl_tee_attestation_root_pem(tee, &root_len1);
    assert_non_null(root1);
    assert_non_null(strstr(root1, "BEGIN CERTIFICATE"));
    char *root1_copy = strndup(root1, root_len1);
    uint8_t k_enc1[32], k_sig1[32], k_enc2[32], k_sig2[32];
    assert_int_equal(ncsl_tee_seal_key(tee, NCSL_SEAL_POLICY_MRENCLAVE, k_enc1, &err), NCSL_OK);
    assert_int_equal(ncsl_tee_seal_key(tee, NCSL_SEAL_POLICY_MRSIGNER, k_sig1, &err), NCSL_OK);
    assert_memory_not_equal(k_enc1, k_sig1, 32);
    assert_int_equal(ncsl_tee_seal_key(tee, (ncsl_seal_policy)7, k_enc2, &err), NCSL_E_INVALID_ARG);
    uint8_t r1[16] = {0}, r2[16] = {0};
    assert_int_equal(ncsl_tee_random(tee, r1, sizeof(r1), &err), NCSL_OK);
    assert_int_equal(ncsl_tee_random(tee, r2, sizeof(r2), &err), NCSL_OK);
    assert_memory_not_equal(r1, r2, sizeof(r1));
    ncsl_tee_close(tee);

    /* Reopen: same identity, same root, same keys. */
    tee = ncsl_test_open_sim_tee_expect(dir, false, NCSL_OK, &err);
    assert_int_equal(ncsl_tee_measure(tee, &m2, &err), NCSL_OK);
    assert_memory_equal(&m1, &m2, sizeof(m1));
    size_t root_len2 = 0;
    const char *root2 = ncsl_tee_attestation_root_pem(tee, &root_len2);
    assert_int_equal(root_len1, root_len2);
    assert_memory_equal(root1_copy, root2, root_len1);
    assert_int_equal(ncsl_tee_seal_key(tee, NCSL_SEAL_POLICY_MRENCLAVE, k_enc2, &err), NCSL_OK);
    assert_int_equal(ncsl_tee_seal_key(tee, NCSL_SEAL_POLICY_MRSIGNER, k_sig2, &err), NCSL_OK);
    assert_memory_equal(k_enc1, k_enc2, 32);
    assert_memory_equal(k_sig1, k_sig2, 32);
    ncsl_tee_close(tee);

    /* mr_enclave is the SHA-256 of this executable. */
    size_t exe_len = 0;
    uint8_t *exe = ncsl_test_read_file("/proc/self/exe", &exe_len);
    uint8_t h[32];
    assert_int_equal(ncsl_crypto_sha256(exe, exe_len, h, &err), NCSL_OK);
    assert_memory_equal(h, m1.mr_enclave, 32);
    free(exe);

    /* Another installation: other signer, other keys, same enclave. */
    char *dir2 = ncsl_test_tmpdir_make("ncsl-tee-test");
    tee = ncsl_test_open_sim_tee_expect(dir2, false, NCSL_OK, &err);
    assert_int_equal(ncsl_tee_measure(tee, &m2, &err), NCSL_OK);
    assert_memory_equal(m1.mr_enclave, m2.mr_enclave, 32);
    assert_memory_not_equal(m1.mr_signer, m2.mr_signer, 32);
    assert_int_equal(ncsl_tee_seal_key(tee, NCSL_SEAL_POLICY_MRENCLAVE, k_enc2, &err), NCSL_OK);
    assert_memory_not_equal(k_enc1, k_enc2, 32);
    ncsl_tee_close(tee);

    ncsl_tee_close(NULL);
    free(root1_copy);
    free(secret);
    ncsl_test_tmpdir_remove(dir2);
    ncsl_test_tmpdir_remove(dir);
}

static void test_backend_selection(void **unused) {
    char *dir = ncsl_test_tmpdir_make("ncsl-tee-test");
    ncsl_err err;
    ncsl_tee_options o;
    ncsl_tee *tee = NULL;

    ncsl_tee_options_default(&o);
    assert_int_equal(o.type, NCSL_TEE_AUTO);
    o.data_dir = dir;
    if (access("/dev/attestation", F_OK) == 0) {
        skip(); /* running under Gramine: Auto is not simulation */
    }
    assert_int_equal(ncsl_tee_open(&o, &tee, &err), NCSL_OK);
    assert_string_equal(ncsl_tee_name(tee), "simulation");
    assert_non_null(strstr(ncsl_tee_reason(tee), "Auto: not in Occlum"));
    assert_non_null(strstr(ncsl_tee_reason(tee), "using simulation"));
    ncsl_tee_close(tee);

    o.type = NCSL_TEE_OCCLUM;
    assert_int_equal(ncsl_tee_open(&o, &tee, &err), NCSL_E_UNSUPPORTED);
    assert_null(tee);
    assert_non_null(strstr(err.message, "Occlum"));
    o.type = NCSL_TEE_GRAMINE;
    assert_int_equal(ncsl_tee_open(&o, &tee, &err), NCSL_E_UNSUPPORTED);
    assert_non_null(strstr(err.message, "Gramine"));
    o.simulation_forced = true; /* forced wins over the type */
    assert_int_equal(ncsl_tee_open(&o, &tee, &err), NCSL_OK);
    assert_non_null(strstr(ncsl_tee_reason(tee), "forced"));
    ncsl_tee_close(tee);

    /* debug sets the DEBUG attribute */
    o.debug = true;
    ncsl_tee_measurement m;
    assert_int_equal(ncsl_tee_open(&o, &tee, &err), NCSL_OK);
    assert_int_equal(ncsl_tee_measure(tee, &m, &err), NCSL_OK);
    assert_true(m.debug);
    assert_int_equal(m.attributes[0] & 0x2, 0x2);
    ncsl_tee_close(tee);
    ncsl_test_tmpdir_remove(dir);
}

static void test_unsafe_platform_secret_refused(void **unused) {
    char *dir = ncsl_test_tmpdir_make("ncsl-tee-test");
    ncsl_err err;
    ncsl_tee *tee = ncsl_test_open_sim_tee_expect(dir, false, NCSL_OK, &err);
    ncsl_tee_close(tee);
    char *secret = tee_path(dir, "platform.secret");

    assert_int_equal(chmod(secret, 0644), 0);
    tee = ncsl_test_open_sim_tee_expect(dir, false, NCSL_E_TEE_INSECURE_FILE, &err);
    assert_null(tee);
    assert_non_null(strstr(err.message, secret));
    assert_non_null(strstr(err.message, "chmod 600"));

    assert_int_equal(chmod(secret, 0600), 0);
    tee = ncsl_test_open_sim_tee_expect(dir, false, NCSL_OK, &err);
    ncsl_tee_close(tee);

    /* wrong size */
    assert_int_equal(truncate(secret, 31), 0);
    tee = ncsl_test_open_sim_tee_expect(dir, false, NCSL_E_TEE_INSECURE_FILE, &err);
    assert_non_null(strstr(err.message, secret));
    assert_non_null(strstr(err.message, "31 bytes"));

    /* not a regular file */
    assert_int_equal(unlink(secret), 0);
    assert_int_equal(mkdir(secret, 0700), 0);
    tee = ncsl_test_open_sim_tee_expect(dir, false, NCSL_E_TEE_INSECURE_FILE, &err);
    assert_non_null(strstr(err.message, "not a regular file"));
    assert_int_equal(rmdir(secret), 0);

    /* a new secret (file removed) cannot unseal the old PKI keys: an error, not a new PKI */
    tee = ncsl_test_open_sim_tee_expect(dir, false, NCSL_E_SEAL_INTEGRITY, &err);
    assert_non_null(strstr(err.message, "sim_pck.key.sealed"));

    free(secret);
    ncsl_test_tmpdir_remove(dir);
}

static void test_keys_sealed_on_disk(void **unused) {
    char *dir = ncsl_test_tmpdir_make("ncsl-tee-test");
    ncsl_err err;
    ncsl_tee *tee = ncsl_test_open_sim_tee_expect(dir, false, NCSL_OK, &err);
    uint8_t pck[32], att[32];
    assert_int_equal(ncsl__tee_sim_test_private_scalar(tee, NCSL__TEE_SIM_KEY_PCK, pck, &err),
                     NCSL_OK);
    assert_int_equal(
        ncsl__tee_sim_test_private_scalar(tee, NCSL__TEE_SIM_KEY_ATTESTATION, att, &err), NCSL_OK);
    ncsl_tee_close(tee);

    static const char *const sealed[] = {"sim_pck.key.sealed", "sim_qe_att.key.sealed"};
    for (size_t i = 0; i < 2; i++) {
        char *p = tee_path(dir, sealed[i]);
        struct stat sb;
        assert_int_equal(stat(p, &sb), 0);
        assert_int_equal(sb.st_mode & 0777, 0600);
        size_t n = 0;
        uint8_t *b = ncsl_test_read_file(p, &n);
        assert_memory_equal(b, "NCSLSEAL", 8);
        free(b);
        free(p);
    }
    char tdir[4096];
    snprintf(tdir, sizeof(tdir), "%s/tee", dir);
    DIR *d = opendir(tdir);
    assert_non_null(d);
    struct dirent *e;
    int files = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') {
            continue;
        }
        char *p = tee_path(dir, e->d_name);
        size_t n = 0;
        uint8_t *b = ncsl_test_read_file(p, &n);
        assert_false(ncsl_test_mem_contains(b, n, "PRIVATE KEY", 11));
        assert_false(ncsl_test_mem_contains(b, n, pck, sizeof(pck)));
        assert_false(ncsl_test_mem_contains(b, n, att, sizeof(att)));
        free(b);
        free(p);
        files++;
    }
    closedir(d);
    assert_int_equal(files, 6); /* secret, 3 certificates, 2 sealed keys; no temp files */
    ncsl_test_tmpdir_remove(dir);
}

static void test_quote_verifies_as_simulation(void **unused) {
    char *dir = ncsl_test_tmpdir_make("ncsl-tee-test");
    char *dir2 = ncsl_test_tmpdir_make("ncsl-tee-test");
    ncsl_err err;
    ncsl_tee *tee = ncsl_test_open_sim_tee_expect(dir, false, NCSL_OK, &err);
    ncsl_tee *other = ncsl_test_open_sim_tee_expect(dir2, false, NCSL_OK, &err);
    ncsl_tee_measurement m;
    assert_int_equal(ncsl_tee_measure(tee, &m, &err), NCSL_OK);
    uint8_t rd[64];
    for (int i = 0; i < 64; i++) {
        rd[i] = (uint8_t)(0xA0 ^ i);
    }
    uint8_t *q = NULL;
    size_t qlen = 0;
    assert_int_equal(ncsl_tee_get_quote(tee, rd, &q, &qlen, &err), NCSL_OK);
    assert_true(qlen > NCSL_SGX_QUOTE_MIN_SIZE);

    ncsl_sgx_quote pq;
    assert_int_equal(ncsl_attest_quote_parse(q, qlen, &pq, &err), NCSL_OK);
    assert_int_equal(pq.version, 3);
    assert_int_equal(pq.att_key_type, 2);
    assert_memory_equal(pq.qe_vendor_id, "NCSL-SIMULATION", 16);

    size_t root_len = 0, other_len = 0;
    const char *root = ncsl_tee_attestation_root_pem(tee, &root_len);
    const char *other_root = ncsl_tee_attestation_root_pem(other, &other_len);

    ncsl_quote_verify_opts o;
    ncsl_quote_verdict v;
    ncsl_attest_quote_verify_opts_default(&o);
    o.allow_simulation = true;
    o.simulation_root_pem = root;
    o.simulation_root_pem_len = root_len;
    ncsl_status st = ncsl_attest_quote_verify(q, qlen, &o, &v, &err);
    if (st != NCSL_OK) {
        fprintf(stderr, "verify: %s\n", v.reason);
    }
    assert_int_equal(st, NCSL_OK);
    assert_true(v.valid);
    assert_int_equal(v.tee_kind, NCSL_ATTEST_TEE_SIMULATION);
    assert_non_null(strstr(v.note, "simulation quote (allowed explicitly)"));
    assert_memory_equal(v.mr_enclave, m.mr_enclave, 32);
    assert_memory_equal(v.mr_signer, m.mr_signer, 32);
    assert_memory_equal(v.report_data, rd, 64);
    assert_memory_equal(v.attributes, m.attributes, 16);
    assert_int_equal(v.isv_prod_id, m.isv_prod_id);
    assert_int_equal(v.isv_svn, m.isv_svn);
    assert_false(v.debug);

    /* Simulation not allowed (default options: the Intel root). */
    assert_int_equal(ncsl_attest_quote_verify(q, qlen, NULL, &v, &err), NCSL_E_ATTEST_CHAIN);
    assert_false(v.valid);
    assert_int_equal(v.tee_kind, NCSL_ATTEST_TEE_NONE);
    assert_non_null(strstr(v.reason, "simulation"));
    assert_non_null(strstr(v.reason, "not allowed"));
    assert_non_null(strstr(err.message, "simulation"));

    /* The sim root given but allow_simulation off: still refused. */
    o.allow_simulation = false;
    assert_int_equal(ncsl_attest_quote_verify(q, qlen, &o, &v, &err), NCSL_E_ATTEST_CHAIN);
    assert_non_null(strstr(v.reason, "not allowed"));

    /* The sim root pinned as the hardware root: never hardware. */
    ncsl_attest_quote_verify_opts_default(&o);
    o.root_pem = root;
    o.root_pem_len = root_len;
    assert_int_equal(ncsl_attest_quote_verify(q, qlen, &o, &v, &err), NCSL_E_ATTEST_CHAIN);
    assert_false(v.valid);
    assert_int_not_equal(v.tee_kind, NCSL_ATTEST_TEE_SGX_HARDWARE);

    /* Another installation's simulation root. */
    ncsl_attest_quote_verify_opts_default(&o);
    o.allow_simulation = true;
    o.simulation_root_pem = other_root;
    o.simulation_root_pem_len = other_len;
    assert_int_equal(ncsl_attest_quote_verify(q, qlen, &o, &v, &err), NCSL_E_ATTEST_CHAIN);
    assert_false(v.valid);
    assert_non_null(strstr(v.reason, "simulation"));

    /* Allowed, but only the Intel root (no simulation root pinned). */
    o.simulation_root_pem = NULL;
    o.simulation_root_pem_len = 0;
    assert_int_equal(ncsl_attest_quote_verify(q, qlen, &o, &v, &err), NCSL_E_ATTEST_CHAIN);
    assert_false(v.valid);

    /* An unusable simulation root is a setup error. */
    o.simulation_root_pem = "not a pem";
    o.simulation_root_pem_len = 9;
    assert_int_equal(ncsl_attest_quote_verify(q, qlen, &o, &v, &err), NCSL_E_INVALID_ARG);
    assert_string_equal(err.field, "simulation_root_pem");

    /* Bit flips: report data, ISV signature, QE report signature. */
    o.simulation_root_pem = root;
    o.simulation_root_pem_len = root_len;
    static const size_t flips[] = {48 + 368, 48 + 368 + 63, 436, 436 + 63, 948, 48 + 112};
    for (size_t i = 0; i < sizeof(flips) / sizeof(flips[0]); i++) {
        q[flips[i]] ^= 0x01;
        assert_int_not_equal(ncsl_attest_quote_verify(q, qlen, &o, &v, &err), NCSL_OK);
        assert_false(v.valid);
        q[flips[i]] ^= 0x01;
    }
    assert_int_equal(ncsl_attest_quote_verify(q, qlen, &o, &v, &err), NCSL_OK);

    /* The other installation's quote does not pass with this root either. */
    uint8_t *q2 = NULL;
    size_t q2len = 0;
    assert_int_equal(ncsl_tee_get_quote(other, rd, &q2, &q2len, &err), NCSL_OK);
    assert_int_equal(ncsl_attest_quote_verify(q2, q2len, &o, &v, &err), NCSL_E_ATTEST_CHAIN);
    free(q2);

    free(q);
    ncsl_tee_close(other);
    ncsl_tee_close(tee);
    ncsl_test_tmpdir_remove(dir2);
    ncsl_test_tmpdir_remove(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_creates_state_and_reopen_is_stable),
        cmocka_unit_test(test_backend_selection),
        cmocka_unit_test(test_unsafe_platform_secret_refused),
        cmocka_unit_test(test_keys_sealed_on_disk),
        cmocka_unit_test(test_quote_verifies_as_simulation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
