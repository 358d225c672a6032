/*
 * Derived P-256 keys (ncsl_keys_derive_p256, behind JavaScript's Neo.keys): the documented formula
 * (recomputed here with OpenSSL's HKDF from the identity's private keys, and a known-answer
 * vector computed independently with Node's crypto), determinism across two loads of the same
 * data directory, independence across user, function and name (length-prefixed: no ambiguity
 * between ("ab", "c") and ("a", "bc")), signatures Neo accepts (verify, low s, tamper), and bad
 * arguments.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/crypto.h"
#include "keys/keys.h"
#include "keys/keys_int.h"
#include "ncsl_test_util.h"
#include "tee/tee.h"

static void unhex(const char *hex, uint8_t *out, size_t len) {
    size_t got = 0;
    assert_int_equal(ncsl_crypto_hex_decode(hex, strlen(hex), out, len, &got, NULL), NCSL_OK);
    assert_int_equal(got, len);
}

static void derive_pub(const ncsl_keys *k, const char *user, const char *fn, const char *name,
                       uint8_t pub[33]) {
    ncsl_keys_derived *d = NULL;
    ncsl_err err;
    ncsl_status st = ncsl_keys_derive_p256(k, user, fn, name, &d, &err);
    if (st != NCSL_OK) {
        fprintf(stderr, "derive: %s\n", err.message);
    }
    assert_int_equal(st, NCSL_OK);
    ncsl_keys_derived_pub(d, pub);
    assert_int_equal(ncsl_keys_p256_validate(pub, &err), NCSL_OK);
    ncsl_keys_derived_destroy(d);
}

/* Fixed identity: d = 01..20, x = 21..40 (the vectors below use it). */
static ncsl_keys *fixed_keys(void) {
    uint8_t d[32], x[32];
    for (int i = 0; i < 32; i++) {
        d[i] = (uint8_t)(i + 1);
        x[i] = (uint8_t)(i + 33);
    }
    ncsl_keys *k = NULL;
    assert_int_equal(ncsl__keys_from_private(d, x, &k, NULL), NCSL_OK);
    return k;
}

static void put_u32(uint8_t *p, size_t *off, const char *s) {
    size_t n = strlen(s);
    p[(*off)++] = (uint8_t)(n >> 24);
    p[(*off)++] = (uint8_t)(n >> 16);
    p[(*off)++] = (uint8_t)(n >> 8);
    p[(*off)++] = (uint8_t)n;
    memcpy(p + *off, s, n);
    *off += n;
}

/* ------------------------------------------------------------------------- the formula */

/* Known answers computed with Node's crypto.hkdfSync and createECDH (not NCSL's code). */
static void test_known_answers(void **unused) {
    (void)unused;
    ncsl_keys *k = fixed_keys();
    uint8_t pub[33], want[33];
    derive_pub(k, "user-1", "fn-1", "oracle", pub);
    unhex("03bb884b715393bc63c2cd955474bf845879f0ad17e7c7af6dfa079b4f1c4b8bc9", want, 33);
    assert_memory_equal(pub, want, 33);
    derive_pub(k, "", "", "a", pub);
    unhex("02a2fc115ffa02918309b0a9655e83b0488c151db9c186b0ece1af9477fdd2d938", want, 33);
    assert_memory_equal(pub, want, 33);
    /* NULL ids mean "" */
    ncsl_keys_derived *d = NULL;
    assert_int_equal(ncsl_keys_derive_p256(k, NULL, NULL, "a", &d, NULL), NCSL_OK);
    ncsl_keys_derived_pub(d, pub);
    assert_memory_equal(pub, want, 33);
    ncsl_keys_derived_destroy(d);
    ncsl_keys_destroy(k);
}

/* The documented formula, recomputed with OpenSSL's HKDF (extract and expand in one) from a
 * random identity's private keys: the derived key is the identity built from that scalar. */
static void test_formula_random_identity(void **unused) {
    (void)unused;
    static const char *const names[] = {"oracle", "a", "x.y-z_0", "A123456789"};
    for (int round = 0; round < 4; round++) {
        ncsl_keys *k = NULL;
        ncsl_err err;
        uint8_t d[32], x[32], ikm[64], info[256], scalar[32], pub[33], want[33];
        assert_int_equal(ncsl_keys_create_ephemeral(NULL, &k, &err), NCSL_OK);
        assert_int_equal(ncsl__keys_test_private(k, d, x, &err), NCSL_OK);
        memcpy(ikm, d, 32);
        memcpy(ikm + 32, x, 32);
        const char *user = round % 2 ? "user-b" : "";
        const char *fn = round % 3 ? "function/7" : "f";
        size_t off = strlen(NCSL_KEYS_DERIVE_INFO);
        memcpy(info, NCSL_KEYS_DERIVE_INFO, off);
        put_u32(info, &off, user);
        put_u32(info, &off, fn);
        put_u32(info, &off, names[round]);
        info[off++] = 0; /* counter 0: out of range with probability 2^-32 */
        assert_int_equal(ncsl_crypto_hkdf_sha256(ikm, 64, (const uint8_t *)NCSL_KEYS_DERIVE_SALT,
                                                 strlen(NCSL_KEYS_DERIVE_SALT), info, off, scalar,
                                                 32, &err),
                         NCSL_OK);
        ncsl_keys *from_scalar = NULL;
        assert_int_equal(ncsl__keys_from_private(scalar, x, &from_scalar, &err), NCSL_OK);
        ncsl_keys_signing_pub_compressed(from_scalar, want);
        derive_pub(k, user, fn, names[round], pub);
        assert_memory_equal(pub, want, 33);
        /* and it is not the identity's own key */
        uint8_t id_pub[33];
        ncsl_keys_signing_pub_compressed(k, id_pub);
        assert_memory_not_equal(pub, id_pub, 33);
        ncsl_keys_destroy(from_scalar);
        ncsl_keys_destroy(k);
    }
}

/* ------------------------------------------------------------------------- determinism */

static void test_same_data_dir_same_keys(void **unused) {
    (void)unused;
    char *dir = ncsl_test_tmpdir_make("ncsl-derive-test");
    ncsl_err err;
    uint8_t a[33], b[33], c[33];
    ncsl_tee *tee = ncsl_test_open_sim_tee(dir);
    ncsl_keys *k = NULL;
    assert_int_equal(ncsl_keys_load_or_create(tee, dir, NULL, &k, &err), NCSL_OK);
    derive_pub(k, "user-1", "fn-1", "oracle", a);
    ncsl_keys_destroy(k);
    ncsl_tee_close(tee);

    /* a restart: a new TEE handle, the identity unsealed again */
    tee = ncsl_test_open_sim_tee(dir);
    assert_int_equal(ncsl_keys_load_or_create(tee, dir, NULL, &k, &err), NCSL_OK);
    assert_false(ncsl_keys_created(k));
    derive_pub(k, "user-1", "fn-1", "oracle", b);
    assert_memory_equal(a, b, 33);
    ncsl_keys_destroy(k);
    ncsl_tee_close(tee);

    /* another installation (another identity): another key for the same inputs */
    char *dir2 = ncsl_test_tmpdir_make("ncsl-derive-test2");
    tee = ncsl_test_open_sim_tee(dir2);
    assert_int_equal(ncsl_keys_load_or_create(tee, dir2, NULL, &k, &err), NCSL_OK);
    derive_pub(k, "user-1", "fn-1", "oracle", c);
    assert_memory_not_equal(a, c, 33);
    ncsl_keys_destroy(k);
    ncsl_tee_close(tee);
    ncsl_test_tmpdir_remove(dir);
    ncsl_test_tmpdir_remove(dir2);
}

static void test_inputs_separate_keys(void **unused) {
    (void)unused;
    /* every pair of these must give different keys */
    static const char *const in[][3] = {
        {"user-1", "fn-1", "oracle"},
        {"user-2", "fn-1", "oracle"},
        {"user-1", "fn-2", "oracle"},
        {"user-1", "fn-1", "oracle2"},
        {"user-1", "fn-1", "Oracle"},
        {"ab", "c", "k"},
        {"a", "bc", "k"},
        {"", "abc", "k"},
        {"abc", "", "k"},
        {"", "", "k"},
    };
    enum { N = sizeof(in) / sizeof(in[0]) };
    uint8_t pubs[N][33];
    ncsl_keys *k = fixed_keys();
    for (size_t i = 0; i < N; i++) {
        derive_pub(k, in[i][0], in[i][1], in[i][2], pubs[i]);
        for (size_t j = 0; j < i; j++) {
            assert_memory_not_equal(pubs[i], pubs[j], 33);
        }
    }
    /* the same inputs again: the same key */
    uint8_t again[33];
    derive_pub(k, in[0][0], in[0][1], in[0][2], again);
    assert_memory_equal(again, pubs[0], 33);
    ncsl_keys_destroy(k);
}

/* ------------------------------------------------------------------------- signatures */

static void test_sign_verify(void **unused) {
    (void)unused;
    ncsl_keys *k = fixed_keys();
    ncsl_keys_derived *d = NULL;
    ncsl_err err;
    uint8_t pub[33], sig[64], id_pub[33];
    const char msg[] = "oracle answer: 42";
    assert_int_equal(ncsl_keys_derive_p256(k, "u", "f", "oracle", &d, &err), NCSL_OK);
    ncsl_keys_derived_pub(d, pub);
    ncsl_keys_signing_pub_compressed(k, id_pub);
    for (int i = 0; i < 16; i++) {
        assert_int_equal(ncsl_keys_derived_sign(d, msg, sizeof(msg) - 1, sig, &err), NCSL_OK);
        /* low s: s <= n / 2 */
        assert_true(memcmp(sig + 32, ncsl__keys_p256_half_order, 32) <= 0);
        assert_int_equal(ncsl_keys_p256_verify(pub, msg, sizeof(msg) - 1, sig, &err), NCSL_OK);
        assert_int_equal(ncsl_keys_derived_verify(d, msg, sizeof(msg) - 1, sig, &err), NCSL_OK);
        /* not the identity's signature, not another message's */
        assert_int_equal(ncsl_keys_p256_verify(id_pub, msg, sizeof(msg) - 1, sig, &err),
                         NCSL_E_SIGNATURE_INVALID);
        assert_int_equal(ncsl_keys_derived_verify(d, msg, sizeof(msg) - 2, sig, &err),
                         NCSL_E_SIGNATURE_INVALID);
        sig[i] ^= 0x01;
        assert_int_equal(ncsl_keys_derived_verify(d, msg, sizeof(msg) - 1, sig, &err),
                         NCSL_E_SIGNATURE_INVALID);
    }
    /* the empty message */
    assert_int_equal(ncsl_keys_derived_sign(d, NULL, 0, sig, &err), NCSL_OK);
    assert_int_equal(ncsl_keys_p256_verify(pub, NULL, 0, sig, &err), NCSL_OK);
    assert_int_equal(ncsl_keys_derived_sign(d, NULL, 1, sig, &err), NCSL_E_INVALID_ARG);
    assert_int_equal(ncsl_keys_derived_sign(NULL, msg, 1, sig, &err), NCSL_E_INVALID_ARG);
    ncsl_keys_derived_destroy(d);
    ncsl_keys_derived_destroy(NULL);
    ncsl_keys_destroy(k);
}

/* ------------------------------------------------------------------------- bad arguments */

static void test_bad_arguments(void **unused) {
    (void)unused;
    ncsl_keys *k = fixed_keys();
    ncsl_keys_derived *d = NULL;
    ncsl_err err;
    char name65[66], long_id[NCSL_KEYS_DERIVE_ID_MAX + 2];
    memset(name65, 'a', 65);
    name65[65] = '\0';
    memset(long_id, 'u', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = '\0';
    static const char *const bad_names[] = {"", "a b", "a/b", "caf\xc3\xa9", "a\nb", "a:b", "*"};
    for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
        assert_int_equal(ncsl_keys_derive_p256(k, "u", "f", bad_names[i], &d, &err),
                         NCSL_E_INVALID_ARG);
        assert_string_equal(err.field, "name");
        assert_null(d);
    }
    assert_int_equal(ncsl_keys_derive_p256(k, "u", "f", name65, &d, &err), NCSL_E_INVALID_ARG);
    assert_string_equal(err.field, "name");
    name65[64] = '\0'; /* 64: the limit */
    assert_int_equal(ncsl_keys_derive_p256(k, "u", "f", name65, &d, &err), NCSL_OK);
    ncsl_keys_derived_destroy(d);
    d = NULL;
    assert_int_equal(ncsl_keys_derive_p256(k, long_id, "f", "n", &d, &err), NCSL_E_INVALID_ARG);
    assert_string_equal(err.field, "user_id");
    assert_int_equal(ncsl_keys_derive_p256(k, "u", long_id, "n", &d, &err), NCSL_E_INVALID_ARG);
    assert_string_equal(err.field, "function_id");
    long_id[NCSL_KEYS_DERIVE_ID_MAX] = '\0'; /* 1024 bytes: the limit */
    assert_int_equal(ncsl_keys_derive_p256(k, long_id, long_id, "n", &d, &err), NCSL_OK);
    ncsl_keys_derived_destroy(d);
    d = NULL;
    assert_int_equal(ncsl_keys_derive_p256(NULL, "u", "f", "n", &d, &err), NCSL_E_INVALID_ARG);
    assert_int_equal(ncsl_keys_derive_p256(k, "u", "f", NULL, &d, &err), NCSL_E_INVALID_ARG);
    assert_int_equal(ncsl_keys_derive_p256(k, "u", "f", "n", NULL, &err), NCSL_E_INVALID_ARG);
    ncsl_keys_destroy(k);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answers),
        cmocka_unit_test(test_formula_random_identity),
        cmocka_unit_test(test_same_data_dir_same_keys),
        cmocka_unit_test(test_inputs_separate_keys),
        cmocka_unit_test(test_sign_verify),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
