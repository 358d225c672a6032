/*
 * crypto: SHA-256 and HKDF against published vectors, strict hex, and the sealed-blob contract
 * (seal.h): known-answer vectors made with an independent implementation (Python `cryptography`),
 * round trips, and rejection of every single-bit flip, every truncation, a moved blob, another
 * installation's key and each header field change, always without returning data.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/common.h"
#include "crypto/crypto.h"
#include "crypto/seal.h"

#define LABEL "secret/alice/api-key"

/* A pointer unseal must overwrite with NULL on failure. */
static uint8_t g_sentinel_byte;
#define SENTINEL (&g_sentinel_byte)

static void from_hex(const char *hex, uint8_t *out, size_t out_size, size_t *out_len) {
    ncsl_err err;
    if (ncsl_crypto_hex_decode(hex, strlen(hex), out, out_size, out_len, &err) != NCSL_OK) {
        fail_msg("test vector does not decode: %s", err.message);
    }
}

static void assert_hex_equal(const uint8_t *got, size_t len, const char *want_hex) {
    char hex[2 * 64 + 1];
    assert_true(len <= 64);
    assert_int_equal(ncsl_crypto_hex_encode(got, len, hex, sizeof(hex), NULL), NCSL_OK);
    assert_string_equal(hex, want_hex);
}

static void fill_root(uint8_t *root, size_t len, uint8_t start) {
    for (size_t i = 0; i < len; i++) {
        root[i] = (uint8_t)(start + i);
    }
}

/* Unseal must fail with `code` (and `field` when not NULL), and hand back no data. */
static void expect_unseal_fails(const uint8_t *root, size_t root_len, const char *label,
                                const uint8_t *blob, size_t blob_len, ncsl_status code,
                                const char *field, const char *what) {
    uint8_t *plain = SENTINEL;
    size_t plain_len = 12345;
    ncsl_err err;
    ncsl_err_clear(&err);
    ncsl_status st = ncsl_unseal(root, root_len, label, blob, blob_len, &plain, &plain_len, &err);
    if (st == NCSL_OK) {
        ncsl_unseal_free(plain, plain_len);
        fail_msg("%s: unseal succeeded", what);
    }
    if (plain != NULL || plain_len != 0) {
        fail_msg("%s: failed unseal returned data", what);
    }
    if (st != code || err.code != code) {
        fail_msg("%s: status %d (%s: %s), want %d", what, (int)st, err.field, err.message,
                 (int)code);
    }
    if (field && strcmp(err.field, field) != 0) {
        fail_msg("%s: field '%s', want '%s'", what, err.field, field);
    }
    assert_true(err.message[0] != '\0');
}

static void seal_ok(const uint8_t *root, size_t root_len, ncsl_seal_policy policy,
                    const char *label, const uint8_t *plain, size_t plain_len, uint8_t **blob,
                    size_t *blob_len) {
    ncsl_err err;
    ncsl_status st =
        ncsl_seal(root, root_len, policy, label, plain, plain_len, blob, blob_len, &err);
    if (st != NCSL_OK) {
        fail_msg("seal failed: %d %s", (int)st, err.message);
    }
    assert_non_null(*blob);
    assert_int_equal(*blob_len, plain_len + NCSL_SEAL_OVERHEAD);
}

/* ------------------------------------------------------------------------- primitives */

static void test_sha256_vectors(void **state) {
    (void)state;
    /* FIPS 180-2 appendix B.1 and B.2, and the empty message. */
    static const struct {
        const char *msg;
        const char *digest;
    } cases[] = {
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    };
    for (size_t i = 0; i < NCSL_ARRAY_LEN(cases); i++) {
        uint8_t d[NCSL_CRYPTO_SHA256_SIZE];
        assert_int_equal(ncsl_crypto_sha256(cases[i].msg, strlen(cases[i].msg), d, NULL), NCSL_OK);
        assert_hex_equal(d, sizeof(d), cases[i].digest);
    }
    uint8_t d[NCSL_CRYPTO_SHA256_SIZE];
    assert_int_equal(ncsl_crypto_sha256(NULL, 0, d, NULL), NCSL_OK);
    assert_hex_equal(d, sizeof(d), cases[2].digest);
    assert_int_equal(ncsl_crypto_sha256(NULL, 1, d, NULL), NCSL_E_INVALID_ARG);
}

static void test_hkdf_rfc5869(void **state) {
    (void)state;
    uint8_t ikm[22], salt[13], info[10], okm[42];
    memset(ikm, 0x0b, sizeof(ikm));
    fill_root(salt, sizeof(salt), 0x00);
    fill_root(info, sizeof(info), 0xf0);
    /* RFC 5869 A.1 (test case 1). */
    assert_int_equal(ncsl_crypto_hkdf_sha256(ikm, sizeof(ikm), salt, sizeof(salt), info,
                                             sizeof(info), okm, sizeof(okm), NULL),
                     NCSL_OK);
    char hex[2 * sizeof(okm) + 1];
    assert_int_equal(ncsl_crypto_hex_encode(okm, sizeof(okm), hex, sizeof(hex), NULL), NCSL_OK);
    assert_string_equal(hex, "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
                             "34007208d5b887185865");
    /* RFC 5869 A.3 (test case 3): no salt, no info -- the form the seal key uses for salt. */
    assert_int_equal(
        ncsl_crypto_hkdf_sha256(ikm, sizeof(ikm), NULL, 0, NULL, 0, okm, sizeof(okm), NULL),
        NCSL_OK);
    assert_int_equal(ncsl_crypto_hex_encode(okm, sizeof(okm), hex, sizeof(hex), NULL), NCSL_OK);
    assert_string_equal(hex, "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
                             "9d201395faa4b61a96c8");

    ncsl_err err;
    assert_int_equal(ncsl_crypto_hkdf_sha256(ikm, sizeof(ikm), NULL, 0, NULL, 0, okm, 0, &err),
                     NCSL_E_INVALID_ARG);
    uint8_t *big = malloc(NCSL_CRYPTO_HKDF_SHA256_MAX_OUT + 1);
    assert_non_null(big);
    assert_int_equal(ncsl_crypto_hkdf_sha256(ikm, sizeof(ikm), NULL, 0, NULL, 0, big,
                                             NCSL_CRYPTO_HKDF_SHA256_MAX_OUT, &err),
                     NCSL_OK);
    assert_int_equal(ncsl_crypto_hkdf_sha256(ikm, sizeof(ikm), NULL, 0, NULL, 0, big,
                                             NCSL_CRYPTO_HKDF_SHA256_MAX_OUT + 1, &err),
                     NCSL_E_INVALID_ARG);
    assert_string_equal(err.field, "out_len");
    free(big);
    assert_int_equal(ncsl_crypto_hkdf_sha256(NULL, 0, NULL, 0, NULL, 0, okm, 32, &err),
                     NCSL_E_INVALID_ARG);
    assert_string_equal(err.field, "ikm");
}

static void test_random(void **state) {
    (void)state;
    uint8_t a[32], b[32];
    assert_int_equal(ncsl_crypto_random(a, sizeof(a), NULL), NCSL_OK);
    assert_int_equal(ncsl_crypto_random(b, sizeof(b), NULL), NCSL_OK);
    assert_memory_not_equal(a, b, sizeof(a));
    assert_int_equal(ncsl_crypto_random(NULL, 0, NULL), NCSL_OK);
    assert_int_equal(ncsl_crypto_random(NULL, 1, NULL), NCSL_E_INVALID_ARG);
    assert_true(ncsl_crypto_equal(a, a, sizeof(a)));
    assert_false(ncsl_crypto_equal(a, b, sizeof(a)));
}

static void test_hex(void **state) {
    (void)state;
    uint8_t out[8];
    size_t n = 99;
    ncsl_err err;

    assert_int_equal(ncsl_crypto_hex_decode("00ff7Fa0", 8, out, sizeof(out), &n, &err), NCSL_OK);
    assert_int_equal(n, 4);
    assert_memory_equal(out, "\x00\xff\x7f\xa0", 4);
    char enc[9];
    assert_int_equal(ncsl_crypto_hex_encode(out, 4, enc, sizeof(enc), NULL), NCSL_OK);
    assert_string_equal(enc, "00ff7fa0"); /* always lowercase */
    assert_int_equal(ncsl_crypto_hex_encode(out, 4, enc, 8, &err), NCSL_E_INVALID_ARG);
    assert_string_equal(err.field, "out");
    assert_int_equal(ncsl_crypto_hex_decode("", 0, out, sizeof(out), &n, NULL), NCSL_OK);
    assert_int_equal(n, 0);

    static const struct {
        const char *hex;
        size_t len;
        const char *field;
    } bad[] = {
        {"abc", 3, "hex"},    /* odd length */
        {"0", 1, "hex"},      /* odd length */
        {"0g", 2, "hex"},     /* non-hex */
        {"g0", 2, "hex"},     /* non-hex, first nibble */
        {"0x00", 4, "hex"},   /* prefix */
        {"00 11", 5, "hex"},  /* whitespace (and odd) */
        {"00 1", 4, "hex"},   /* whitespace */
        {"0011\n", 5, "hex"}, /* trailing newline */
        {"00\0"
         "1",
         4, "hex"},                        /* NUL inside the given length */
        {"-1", 2, "hex"},                  /* sign */
        {"\xc3\xa9", 2, "hex"},            /* non-ASCII */
        {"001122334455667788", 18, "out"}, /* 9 bytes into 8 */
    };
    for (size_t i = 0; i < NCSL_ARRAY_LEN(bad); i++) {
        memset(out, 0xAA, sizeof(out));
        n = 99;
        ncsl_err_clear(&err);
        ncsl_status st = ncsl_crypto_hex_decode(bad[i].hex, bad[i].len, out, sizeof(out), &n, &err);
        if (st != NCSL_E_INVALID_ARG || n != 0 || strcmp(err.field, bad[i].field) != 0) {
            fail_msg("bad hex case %zu: st=%d n=%zu field=%s", i, (int)st, n, err.field);
        }
    }
    /* A failure after some bytes were decoded wipes them. */
    memset(out, 0xAA, sizeof(out));
    assert_int_equal(ncsl_crypto_hex_decode("ffffzz", 6, out, sizeof(out), &n, &err),
                     NCSL_E_INVALID_ARG);
    assert_int_equal(out[0], 0);
    assert_int_equal(out[1], 0);
    assert_non_null(strstr(err.message, "offset 4"));
}

/* ------------------------------------------------------------------------- seal key */

static void test_seal_key_vectors(void **state) {
    (void)state;
    uint8_t root[32], key[NCSL_SEAL_KEY_SIZE];
    fill_root(root, sizeof(root), 0);
    /* HKDF-SHA256(root = 00..1f, no salt, "ncsl-seal-v1" || policy), computed independently. */
    assert_int_equal(ncsl_seal_key(root, 32, NCSL_SEAL_POLICY_MRENCLAVE, key, NULL), NCSL_OK);
    assert_hex_equal(key, sizeof(key),
                     "605ded855739dd8773bde765db0a208eff2a0e1bf6f83b2e70223d6d105339c8");
    assert_int_equal(ncsl_seal_key(root, 32, NCSL_SEAL_POLICY_MRSIGNER, key, NULL), NCSL_OK);
    assert_hex_equal(key, sizeof(key),
                     "7c68c2a4465ac9a581553e972ed1b9e03f64ef6dbe731ad09cf9385601f1560c");

    static const size_t bad_lens[] = {0, 1, 15, 17, 24, 31, 33, 64};
    for (size_t i = 0; i < NCSL_ARRAY_LEN(bad_lens); i++) {
        ncsl_err err;
        memset(key, 0xAA, sizeof(key));
        assert_int_equal(ncsl_seal_key(root, bad_lens[i], NCSL_SEAL_POLICY_MRENCLAVE, key, &err),
                         NCSL_E_INVALID_ARG);
        assert_string_equal(err.field, "root_key");
        assert_int_equal(key[0], 0); /* wiped */
    }
    ncsl_err err;
    assert_int_equal(ncsl_seal_key(root, 32, (ncsl_seal_policy)0, key, &err), NCSL_E_INVALID_ARG);
    assert_string_equal(err.field, "policy");
    assert_int_equal(ncsl_seal_key(root, 32, (ncsl_seal_policy)3, key, &err), NCSL_E_INVALID_ARG);
    assert_int_equal(ncsl_seal_key(NULL, 32, NCSL_SEAL_POLICY_MRENCLAVE, key, &err),
                     NCSL_E_INVALID_ARG);
}

/* A blob made by an independent implementation from the seal.h text: the format contract. */
static void test_unseal_known_blob(void **state) {
    (void)state;
    static const char blob_hex[] =
        "4e43534c5345414c01020000a0a1a2a3a4a5a6a7a8a9aaab8313cc5e828bd972aead2c1fb548d2d4d0e79483"
        "3835a20d049e150cb16ef40143a0d8";
    uint8_t root[16], blob[64];
    size_t blob_len = 0;
    fill_root(root, sizeof(root), 0);
    from_hex(blob_hex, blob, sizeof(blob), &blob_len);
    assert_int_equal(blob_len, 59);

    ncsl_seal_info info;
    assert_int_equal(ncsl_seal_blob_info(blob, blob_len, &info, NULL), NCSL_OK);
    assert_int_equal(info.version, 1);
    assert_int_equal(info.policy, NCSL_SEAL_POLICY_MRSIGNER);
    assert_int_equal(info.plain_len, 19);

    uint8_t *plain = NULL;
    size_t plain_len = 0;
    ncsl_err err;
    assert_int_equal(
        ncsl_unseal(root, sizeof(root), LABEL, blob, blob_len, &plain, &plain_len, &err), NCSL_OK);
    assert_int_equal(plain_len, 19);
    assert_string_equal((const char *)plain, "hello, sealed world");
    ncsl_unseal_free(plain, plain_len);
    expect_unseal_fails(root, sizeof(root), "secret/alice/api-kez", blob, blob_len,
                        NCSL_E_SEAL_INTEGRITY, "blob", "known blob, other label");
}

/* ------------------------------------------------------------------------- round trips */

static void test_roundtrip_sizes(void **state) {
    (void)state;
    static const size_t sizes[] = {0, 1, 15, 16, 17, 4096, 1024 * 1024};
    static const ncsl_seal_policy policies[] = {NCSL_SEAL_POLICY_MRENCLAVE,
                                                NCSL_SEAL_POLICY_MRSIGNER};
    static const size_t root_lens[] = {16, 32};
    uint8_t root[32];
    fill_root(root, sizeof(root), 0x40);
    uint8_t *data = malloc(1024 * 1024);
    assert_non_null(data);
    for (size_t i = 0; i < 1024 * 1024; i++) {
        data[i] = (uint8_t)(i * 31 + 7);
    }
    for (size_t s = 0; s < NCSL_ARRAY_LEN(sizes); s++) {
        for (size_t p = 0; p < NCSL_ARRAY_LEN(policies); p++) {
            for (size_t r = 0; r < NCSL_ARRAY_LEN(root_lens); r++) {
                uint8_t *blob = NULL, *plain = NULL;
                size_t blob_len = 0, plain_len = 99;
                ncsl_err err;
                seal_ok(root, root_lens[r], policies[p], LABEL, sizes[s] ? data : NULL, sizes[s],
                        &blob, &blob_len);
                assert_memory_equal(blob, "NCSLSEAL", 8);
                assert_int_equal(blob[8], 1);
                assert_int_equal(blob[9], (uint8_t)policies[p]);
                assert_int_equal(blob[10], 0);
                assert_int_equal(blob[11], 0);
                if (sizes[s] >= 16) { /* not stored in clear */
                    assert_memory_not_equal(blob + 24, data, 16);
                }
                ncsl_status st = ncsl_unseal(root, root_lens[r], LABEL, blob, blob_len, &plain,
                                             &plain_len, &err);
                if (st != NCSL_OK) {
                    fail_msg("size %zu policy %d root %zu: %s", sizes[s], (int)policies[p],
                             root_lens[r], err.message);
                }
                assert_non_null(plain);
                assert_int_equal(plain_len, sizes[s]);
                if (sizes[s]) {
                    assert_memory_equal(plain, data, sizes[s]);
                }
                assert_int_equal(plain[plain_len], 0);
                ncsl_unseal_free(plain, plain_len);
                ncsl_seal_blob_free(blob);
            }
        }
    }
    free(data);
}

static void test_nonce_is_fresh(void **state) {
    (void)state;
    uint8_t root[32];
    fill_root(root, sizeof(root), 1);
    const uint8_t msg[] = "the same plaintext";
    uint8_t *a = NULL, *b = NULL;
    size_t a_len = 0, b_len = 0;
    seal_ok(root, 32, NCSL_SEAL_POLICY_MRENCLAVE, LABEL, msg, sizeof(msg), &a, &a_len);
    seal_ok(root, 32, NCSL_SEAL_POLICY_MRENCLAVE, LABEL, msg, sizeof(msg), &b, &b_len);
    assert_int_equal(a_len, b_len);
    assert_memory_equal(a, b, NCSL_SEAL_OFF_NONCE); /* same header up to the nonce */
    assert_memory_not_equal(a + NCSL_SEAL_OFF_NONCE, b + NCSL_SEAL_OFF_NONCE, NCSL_SEAL_NONCE_SIZE);
    assert_memory_not_equal(a + NCSL_SEAL_OFF_CIPHERTEXT, b + NCSL_SEAL_OFF_CIPHERTEXT,
                            a_len - NCSL_SEAL_OFF_CIPHERTEXT);
    ncsl_seal_blob_free(a);
    ncsl_seal_blob_free(b);
}

/* ------------------------------------------------------------------------- tampering */

/* The status a single-bit flip at byte `i` must give (see seal.h for the offsets). */
static ncsl_status flip_status(size_t i, const char **field) {
    if (i < NCSL_SEAL_OFF_VERSION) {
        *field = "blob.magic";
        return NCSL_E_SEAL_MALFORMED;
    }
    if (i == NCSL_SEAL_OFF_VERSION) {
        *field = "blob.version";
        return NCSL_E_SEAL_VERSION;
    }
    if (i == NCSL_SEAL_OFF_POLICY) {
        /* No single-bit flip turns 1 into 2 or back: always an unknown policy. */
        *field = "blob.policy";
        return NCSL_E_SEAL_POLICY;
    }
    if (i < NCSL_SEAL_OFF_NONCE) {
        *field = "blob.reserved";
        return NCSL_E_SEAL_MALFORMED;
    }
    *field = "blob";
    return NCSL_E_SEAL_INTEGRITY;
}

static void test_every_bit_flip_fails(void **state) {
    (void)state;
    static const size_t sizes[] = {0, 10};
    uint8_t root[32];
    fill_root(root, sizeof(root), 9);
    size_t flips = 0;
    for (size_t s = 0; s < NCSL_ARRAY_LEN(sizes); s++) {
        for (int pol = NCSL_SEAL_POLICY_MRENCLAVE; pol <= NCSL_SEAL_POLICY_MRSIGNER; pol++) {
            uint8_t *blob = NULL;
            size_t blob_len = 0;
            seal_ok(root, 32, (ncsl_seal_policy)pol, LABEL, (const uint8_t *)"top-secret", sizes[s],
                    &blob, &blob_len);
            /* An exact-size heap copy, so the sanitizer sees any read past the end. */
            uint8_t *copy = malloc(blob_len);
            assert_non_null(copy);
            for (size_t i = 0; i < blob_len; i++) {
                for (int bit = 0; bit < 8; bit++) {
                    char what[64];
                    const char *field = NULL;
                    memcpy(copy, blob, blob_len);
                    copy[i] ^= (uint8_t)(1u << bit);
                    snprintf(what, sizeof(what), "size %zu byte %zu bit %d", sizes[s], i, bit);
                    expect_unseal_fails(root, 32, LABEL, copy, blob_len, flip_status(i, &field),
                                        field, what);
                    flips++;
                }
            }
            free(copy);
            ncsl_seal_blob_free(blob);
        }
    }
    assert_int_equal(flips, 8 * 2 * (2 * NCSL_SEAL_OVERHEAD + 10));
}

static void test_every_truncation_fails(void **state) {
    (void)state;
    uint8_t root[32];
    fill_root(root, sizeof(root), 3);
    uint8_t *blob = NULL;
    size_t blob_len = 0;
    seal_ok(root, 32, NCSL_SEAL_POLICY_MRSIGNER, LABEL, (const uint8_t *)"0123456789abcdef", 16,
            &blob, &blob_len);
    for (size_t len = 0; len < blob_len; len++) {
        char what[64];
        uint8_t *copy = malloc(len ? len : 1);
        assert_non_null(copy);
        memcpy(copy, blob, len);
        snprintf(what, sizeof(what), "truncated to %zu", len);
        if (len < NCSL_SEAL_OVERHEAD) {
            expect_unseal_fails(root, 32, LABEL, copy, len, NCSL_E_SEAL_MALFORMED, "blob.length",
                                what);
        } else {
            expect_unseal_fails(root, 32, LABEL, copy, len, NCSL_E_SEAL_INTEGRITY, "blob", what);
        }
        free(copy);
    }
    /* Extended by one byte, or with the tag moved: also an integrity failure. */
    uint8_t *longer = malloc(blob_len + 1);
    assert_non_null(longer);
    memcpy(longer, blob, blob_len);
    longer[blob_len] = 0;
    expect_unseal_fails(root, 32, LABEL, longer, blob_len + 1, NCSL_E_SEAL_INTEGRITY, "blob",
                        "extended by one byte");
    free(longer);
    expect_unseal_fails(root, 32, LABEL, NULL, 0, NCSL_E_INVALID_ARG, "blob", "NULL blob");
    ncsl_seal_blob_free(blob);
}

static void test_moved_or_foreign_blob_fails(void **state) {
    (void)state;
    uint8_t root[32], other[32];
    fill_root(root, sizeof(root), 0x10);
    fill_root(other, sizeof(other), 0x11);
    uint8_t *blob = NULL;
    size_t blob_len = 0;
    seal_ok(root, 32, NCSL_SEAL_POLICY_MRENCLAVE, LABEL, (const uint8_t *)"pw", 2, &blob,
            &blob_len);

    static const char *const labels[] = {
        "secret/bob/api-key",    /* another user's record */
        "secret/alice/api-key2", /* a longer name */
        "secret/alice/api-ke",   /* a prefix */
        "secret/alice/API-KEY",  /* case matters */
        "",                      /* no label */
    };
    for (size_t i = 0; i < NCSL_ARRAY_LEN(labels); i++) {
        expect_unseal_fails(root, 32, labels[i], blob, blob_len, NCSL_E_SEAL_INTEGRITY, "blob",
                            labels[i]);
    }
    ncsl_err err;
    uint8_t *plain = NULL;
    size_t plain_len = 0;
    assert_int_equal(
        ncsl_unseal(root, 32, "secret/bob/api-key", blob, blob_len, &plain, &plain_len, &err),
        NCSL_E_SEAL_INTEGRITY);
    assert_string_equal(err.message, "sealed blob failed authentication (tampered, moved to "
                                     "another record, or sealed by another installation)");

    /* Another installation: another root key, or a prefix of this one. */
    expect_unseal_fails(other, 32, LABEL, blob, blob_len, NCSL_E_SEAL_INTEGRITY, "blob",
                        "other root key");
    expect_unseal_fails(root, 16, LABEL, blob, blob_len, NCSL_E_SEAL_INTEGRITY, "blob",
                        "16-byte prefix of the root key");
    expect_unseal_fails(root, 24, LABEL, blob, blob_len, NCSL_E_INVALID_ARG, "root_key",
                        "24-byte root key");
    expect_unseal_fails(NULL, 32, LABEL, blob, blob_len, NCSL_E_INVALID_ARG, "root_key",
                        "NULL root key");
    expect_unseal_fails(root, 32, NULL, blob, blob_len, NCSL_E_INVALID_ARG, "aad_label",
                        "NULL label");
    ncsl_seal_blob_free(blob);
}

static void test_policy_binding(void **state) {
    (void)state;
    /* As on SGX, the TEE gives one root key per policy. */
    uint8_t root_mre[32], root_mrs[32], k1[32], k2[32];
    fill_root(root_mre, sizeof(root_mre), 0x20);
    fill_root(root_mrs, sizeof(root_mrs), 0x60);
    uint8_t *blob = NULL;
    size_t blob_len = 0;
    seal_ok(root_mre, 32, NCSL_SEAL_POLICY_MRENCLAVE, LABEL, (const uint8_t *)"k", 1, &blob,
            &blob_len);

    /* MRENCLAVE blob, MRSIGNER root key: rejected. */
    expect_unseal_fails(root_mrs, 32, LABEL, blob, blob_len, NCSL_E_SEAL_INTEGRITY, "blob",
                        "MRSIGNER root key");
    /* One root secret for both (sim): the policy byte selects a different derived key and is in
     * the AAD, so relabelling the blob MRSIGNER fails too. */
    blob[NCSL_SEAL_OFF_POLICY] = NCSL_SEAL_POLICY_MRSIGNER;
    expect_unseal_fails(root_mre, 32, LABEL, blob, blob_len, NCSL_E_SEAL_INTEGRITY, "blob",
                        "policy byte 1 -> 2");
    blob[NCSL_SEAL_OFF_POLICY] = NCSL_SEAL_POLICY_MRENCLAVE;
    uint8_t *plain = NULL;
    size_t plain_len = 0;
    assert_int_equal(ncsl_unseal(root_mre, 32, LABEL, blob, blob_len, &plain, &plain_len, NULL),
                     NCSL_OK);
    ncsl_unseal_free(plain, plain_len);
    ncsl_seal_blob_free(blob);

    seal_ok(root_mre, 32, NCSL_SEAL_POLICY_MRSIGNER, LABEL, (const uint8_t *)"k", 1, &blob,
            &blob_len);
    blob[NCSL_SEAL_OFF_POLICY] = NCSL_SEAL_POLICY_MRENCLAVE;
    expect_unseal_fails(root_mre, 32, LABEL, blob, blob_len, NCSL_E_SEAL_INTEGRITY, "blob",
                        "policy byte 2 -> 1");
    ncsl_seal_blob_free(blob);

    assert_int_equal(ncsl_seal_key(root_mre, 32, NCSL_SEAL_POLICY_MRENCLAVE, k1, NULL), NCSL_OK);
    assert_int_equal(ncsl_seal_key(root_mre, 32, NCSL_SEAL_POLICY_MRSIGNER, k2, NULL), NCSL_OK);
    assert_memory_not_equal(k1, k2, sizeof(k1));
    ncsl_wipe(k1, sizeof(k1));
    ncsl_wipe(k2, sizeof(k2));
}

static void test_header_field_errors(void **state) {
    (void)state;
    uint8_t root[32];
    fill_root(root, sizeof(root), 0x33);
    uint8_t *blob = NULL;
    size_t blob_len = 0;
    seal_ok(root, 32, NCSL_SEAL_POLICY_MRSIGNER, LABEL, (const uint8_t *)"abc", 3, &blob,
            &blob_len);
    uint8_t *copy = malloc(blob_len);
    assert_non_null(copy);

    static const struct {
        size_t off;
        uint8_t value;
        ncsl_status code;
        const char *field;
    } cases[] = {
        {0, 'n', NCSL_E_SEAL_MALFORMED, "blob.magic"},
        {7, 'M', NCSL_E_SEAL_MALFORMED, "blob.magic"},
        {8, 0, NCSL_E_SEAL_VERSION, "blob.version"},
        {8, 2, NCSL_E_SEAL_VERSION, "blob.version"},
        {8, 0xff, NCSL_E_SEAL_VERSION, "blob.version"},
        {9, 0, NCSL_E_SEAL_POLICY, "blob.policy"},
        {9, 3, NCSL_E_SEAL_POLICY, "blob.policy"},
        {9, 0xff, NCSL_E_SEAL_POLICY, "blob.policy"},
        {10, 1, NCSL_E_SEAL_MALFORMED, "blob.reserved"},
        {11, 0x80, NCSL_E_SEAL_MALFORMED, "blob.reserved"},
    };
    for (size_t i = 0; i < NCSL_ARRAY_LEN(cases); i++) {
        char what[64];
        ncsl_seal_info info;
        ncsl_err err;
        memcpy(copy, blob, blob_len);
        copy[cases[i].off] = cases[i].value;
        snprintf(what, sizeof(what), "header case %zu", i);
        expect_unseal_fails(root, 32, LABEL, copy, blob_len, cases[i].code, cases[i].field, what);
        assert_int_equal(ncsl_seal_blob_info(copy, blob_len, &info, &err), cases[i].code);
        assert_string_equal(err.field, cases[i].field);
    }
    free(copy);
    ncsl_seal_blob_free(blob);
}

static void test_limits_and_arguments(void **state) {
    (void)state;
    uint8_t root[32];
    fill_root(root, sizeof(root), 0x44);
    uint8_t *blob = SENTINEL;
    size_t blob_len = 7;
    ncsl_err err;

    /* Label: 1024 bytes is the limit. */
    char label[NCSL_SEAL_MAX_LABEL + 2];
    memset(label, 'x', sizeof(label) - 1);
    label[sizeof(label) - 1] = '\0';
    assert_int_equal(ncsl_seal(root, 32, NCSL_SEAL_POLICY_MRENCLAVE, label, (const uint8_t *)"a", 1,
                               &blob, &blob_len, &err),
                     NCSL_E_INVALID_ARG);
    assert_null(blob);
    assert_int_equal(blob_len, 0);
    assert_string_equal(err.field, "aad_label");
    label[NCSL_SEAL_MAX_LABEL] = '\0';
    seal_ok(root, 32, NCSL_SEAL_POLICY_MRENCLAVE, label, (const uint8_t *)"a", 1, &blob, &blob_len);
    uint8_t *plain = NULL;
    size_t plain_len = 0;
    assert_int_equal(ncsl_unseal(root, 32, label, blob, blob_len, &plain, &plain_len, &err),
                     NCSL_OK);
    ncsl_unseal_free(plain, plain_len);
    label[NCSL_SEAL_MAX_LABEL] = 'x';
    expect_unseal_fails(root, 32, label, blob, blob_len, NCSL_E_INVALID_ARG, "aad_label",
                        "label over the limit");
    ncsl_seal_blob_free(blob);

    /* Other bad arguments. */
    blob = SENTINEL;
    assert_int_equal(ncsl_seal(root, 32, (ncsl_seal_policy)3, LABEL, (const uint8_t *)"a", 1, &blob,
                               &blob_len, &err),
                     NCSL_E_INVALID_ARG);
    assert_null(blob);
    assert_string_equal(err.field, "policy");
    assert_int_equal(ncsl_seal(root, 20, NCSL_SEAL_POLICY_MRENCLAVE, LABEL, (const uint8_t *)"a", 1,
                               &blob, &blob_len, &err),
                     NCSL_E_INVALID_ARG);
    assert_string_equal(err.field, "root_key");
    assert_int_equal(
        ncsl_seal(root, 32, NCSL_SEAL_POLICY_MRENCLAVE, LABEL, NULL, 1, &blob, &blob_len, &err),
        NCSL_E_INVALID_ARG);
    assert_string_equal(err.field, "plain");
    assert_int_equal(
        ncsl_seal(root, 32, NCSL_SEAL_POLICY_MRENCLAVE, LABEL, NULL, 0, NULL, &blob_len, &err),
        NCSL_E_INVALID_ARG);
    assert_int_equal(ncsl_unseal(root, 32, LABEL, (const uint8_t *)"x", 1, NULL, &plain_len, &err),
                     NCSL_E_INVALID_ARG);

    /* Plaintext: exactly the limit works, one byte more is refused before any work. */
    uint8_t *big = calloc(1, (size_t)NCSL_SEAL_MAX_PLAIN + NCSL_SEAL_OVERHEAD + 1);
    assert_non_null(big);
    assert_int_equal(ncsl_seal(root, 32, NCSL_SEAL_POLICY_MRENCLAVE, LABEL, big,
                               (size_t)NCSL_SEAL_MAX_PLAIN + 1, &blob, &blob_len, &err),
                     NCSL_E_PAYLOAD_TOO_LARGE);
    assert_null(blob);
    seal_ok(root, 32, NCSL_SEAL_POLICY_MRENCLAVE, LABEL, big, NCSL_SEAL_MAX_PLAIN, &blob,
            &blob_len);
    assert_int_equal(ncsl_unseal(root, 32, LABEL, blob, blob_len, &plain, &plain_len, &err),
                     NCSL_OK);
    assert_int_equal(plain_len, NCSL_SEAL_MAX_PLAIN);
    ncsl_unseal_free(plain, plain_len);
    /* A blob whose ciphertext is over the limit is malformed, whatever its tag. */
    memcpy(big, blob, NCSL_SEAL_HEADER_SIZE);
    expect_unseal_fails(root, 32, LABEL, big, (size_t)NCSL_SEAL_MAX_PLAIN + NCSL_SEAL_OVERHEAD + 1,
                        NCSL_E_SEAL_MALFORMED, "blob.length", "ciphertext over the limit");
    ncsl_seal_blob_free(blob);
    free(big);
}

static void test_status_rows(void **state) {
    (void)state;
    static const ncsl_status codes[] = {NCSL_E_CRYPTO, NCSL_E_SEAL_MALFORMED, NCSL_E_SEAL_VERSION,
                                        NCSL_E_SEAL_POLICY, NCSL_E_SEAL_INTEGRITY};
    for (size_t i = 0; i < NCSL_ARRAY_LEN(codes); i++) {
        assert_string_not_equal(ncsl_status_str(codes[i]), "unknown status");
        assert_int_equal(ncsl_status_http(codes[i]), 500);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_vectors),
        cmocka_unit_test(test_hkdf_rfc5869),
        cmocka_unit_test(test_random),
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_seal_key_vectors),
        cmocka_unit_test(test_unseal_known_blob),
        cmocka_unit_test(test_roundtrip_sizes),
        cmocka_unit_test(test_nonce_is_fresh),
        cmocka_unit_test(test_every_bit_flip_fails),
        cmocka_unit_test(test_every_truncation_fails),
        cmocka_unit_test(test_moved_or_foreign_blob_fails),
        cmocka_unit_test(test_policy_binding),
        cmocka_unit_test(test_header_field_errors),
        cmocka_unit_test(test_limits_and_arguments),
        cmocka_unit_test(test_status_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
