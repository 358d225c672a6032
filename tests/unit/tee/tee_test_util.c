/* Helpers shared by the TEE interface tests; see tee_test_util.h. */
#include "tee_test_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "attest/attest.h"
#include "crypto/crypto.h"

void tt_write_file(const char *dir, const char *name, const void *data, size_t len) {
    char *p = ncsl_test_path(dir, name);
    /* Replaces whatever is there (a FIFO of the fake device too) by a new regular file. */
    (void)unlink(p);
    ncsl_test_write_file(p, data, len);
    free(p);
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
