/*
 * The identity hand-off to worker processes (ncsl_keys_private_export / _import, keys.h): a
 * re-created handle signs for the original public key, derives the same Neo.keys keys and does
 * the same ECDH; the material is the sealed record's layout; export refuses a short buffer
 * without writing; import rejects every malformed, out-of-range or inconsistent input (each byte
 * changed in turn) with an error that never quotes the material, and never aborts.
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

#define D_OFF 12u /* record offsets (keys.h) */
#define X_OFF 44u
#define PUB_OFF 76u
#define XPUB_OFF 109u
#define SUM_OFF 141u

/* Recomputes the checksum after a change, so the check behind it is what rejects it. */
static void resum(uint8_t *m) {
    assert_int_equal(ncsl_crypto_sha256(m, SUM_OFF, m + SUM_OFF, NULL), NCSL_OK);
}

static ncsl_keys *fresh(void) {
    ncsl_keys *k = NULL;
    ncsl_err err;
    assert_int_equal(ncsl_keys_create_ephemeral(NULL, &k, &err), NCSL_OK);
    return k;
}

static void export_ok(const ncsl_keys *k, uint8_t buf[NCSL_KEYS_PRIVATE_SIZE]) {
    size_t n = NCSL_KEYS_PRIVATE_SIZE;
    ncsl_err err;
    assert_int_equal(ncsl_keys_private_export(k, buf, &n, &err), NCSL_OK);
    assert_int_equal(n, NCSL_KEYS_PRIVATE_SIZE);
}

/* The error of importing `len` bytes at `buf`: *out stays NULL, the message quotes nothing of
 * the private keys (hex of d and x, either case) nor the checksum. */
static ncsl_status import_fails(const uint8_t *buf, size_t len, const uint8_t *orig) {
    ncsl_keys *k = (ncsl_keys *)(uintptr_t)1; /* must be reset to NULL */
    ncsl_err err;
    ncsl_err_clear(&err);
    uint8_t *copy = malloc(len ? len : 1); /* exact size: ASan catches a read past it */
    assert_non_null(copy);
    if (len) {
        memcpy(copy, buf, len);
    }
    ncsl_status st = ncsl_keys_private_import(copy, len, &k, &err);
    free(copy);
    assert_int_not_equal(st, NCSL_OK);
    assert_null(k);
    assert_int_equal(err.code, st);
    assert_true(err.message[0] != '\0');
    char hex[65];
    for (int part = 0; part < 2; part++) {
        const uint8_t *secret = orig + (part ? X_OFF : D_OFF);
        assert_int_equal(ncsl_crypto_hex_encode(secret, 8, hex, sizeof(hex), NULL), NCSL_OK);
        assert_null(strstr(err.message, hex));
        for (char *c = hex; *c; c++) {
            if (*c >= 'a' && *c <= 'f') {
                *c = (char)(*c - 'a' + 'A');
            }
        }
        assert_null(strstr(err.message, hex));
    }
    return st;
}

static void test_round_trip(void **state) {
    (void)state;
    ncsl_err err;
    ncsl_keys *a = fresh();
    uint8_t buf[NCSL_KEYS_PRIVATE_SIZE];
    export_ok(a, buf);

    /* the sealed record's layout, with a's private and public keys */
    uint8_t d[32], x[32], pub[33], xpub[32];
    assert_int_equal(ncsl__keys_test_private(a, d, x, &err), NCSL_OK);
    ncsl_keys_signing_pub_compressed(a, pub);
    ncsl_keys_encryption_pub(a, xpub);
    assert_memory_equal(buf, NCSL_KEYS_RECORD_MAGIC, 8);
    assert_int_equal(buf[8], NCSL_KEYS_RECORD_VERSION);
    assert_memory_equal(buf + D_OFF, d, 32);
    assert_memory_equal(buf + X_OFF, x, 32);
    assert_memory_equal(buf + PUB_OFF, pub, 33);
    assert_memory_equal(buf + XPUB_OFF, xpub, 32);
    uint8_t sum[32];
    assert_int_equal(ncsl_crypto_sha256(buf, SUM_OFF, sum, NULL), NCSL_OK);
    assert_memory_equal(buf + SUM_OFF, sum, 32);

    ncsl_keys *b = NULL;
    assert_int_equal(ncsl_keys_private_import(buf, sizeof(buf), &b, &err), NCSL_OK);
    ncsl_wipe(buf, sizeof(buf));
    uint8_t pub_b[33], xpub_b[32];
    ncsl_keys_signing_pub_compressed(b, pub_b);
    ncsl_keys_encryption_pub(b, xpub_b);
    assert_memory_equal(pub_b, pub, 33);
    assert_memory_equal(xpub_b, xpub, 32);
    assert_string_equal(ncsl_keys_path(b), "");
    assert_false(ncsl_keys_created(b));

    /* no signing thread until the first signature */
    ncsl_keys_presign_stats ps;
    ncsl_keys_presign_stats_get(b, &ps);
    assert_false(ps.running);

    /* signatures of the re-created handle verify against the ORIGINAL public key */
    for (int i = 0; i < 8; i++) {
        char msg[32];
        uint8_t sig[64];
        snprintf(msg, sizeof(msg), "receipt %d", i);
        assert_int_equal(ncsl_keys_sign(b, msg, strlen(msg), sig, &err), NCSL_OK);
        assert_int_equal(ncsl_keys_p256_verify(pub, msg, strlen(msg), sig, &err), NCSL_OK);
        sig[5] ^= 1;
        assert_int_equal(ncsl_keys_p256_verify(pub, msg, strlen(msg), sig, &err),
                         NCSL_E_SIGNATURE_INVALID);
    }

    /* Neo.keys derivations are equal */
    static const char *const ids[][3] = {
        {"u1", "f1", "a"}, {"u1", "f2", "a"}, {"", "", "k.-_9"}, {"user", "fn", "main"}};
    for (size_t i = 0; i < NCSL_ARRAY_LEN(ids); i++) {
        ncsl_keys_derived *da = NULL, *db = NULL;
        assert_int_equal(ncsl_keys_derive_p256(a, ids[i][0], ids[i][1], ids[i][2], &da, &err),
                         NCSL_OK);
        assert_int_equal(ncsl_keys_derive_p256(b, ids[i][0], ids[i][1], ids[i][2], &db, &err),
                         NCSL_OK);
        uint8_t pa[33], pb[33], sig[64];
        ncsl_keys_derived_pub(da, pa);
        ncsl_keys_derived_pub(db, pb);
        assert_memory_equal(pa, pb, 33);
        assert_int_equal(ncsl_keys_derived_sign(db, "m", 1, sig, &err), NCSL_OK);
        assert_int_equal(ncsl_keys_derived_verify(da, "m", 1, sig, &err), NCSL_OK);
        ncsl_keys_derived_destroy(da);
        ncsl_keys_derived_destroy(db);
    }

    /* the same ECDH */
    ncsl_keys *peer = fresh();
    uint8_t peer_pub[32], s1[32], s2[32];
    ncsl_keys_encryption_pub(peer, peer_pub);
    assert_int_equal(ncsl_keys_ecdh(a, peer_pub, s1, &err), NCSL_OK);
    assert_int_equal(ncsl_keys_ecdh(b, peer_pub, s2, &err), NCSL_OK);
    assert_memory_equal(s1, s2, 32);

    /* a larger buffer is fine: *len says how much was written */
    uint8_t big[NCSL_KEYS_PRIVATE_SIZE + 16];
    size_t n = sizeof(big);
    assert_int_equal(ncsl_keys_private_export(b, big, &n, &err), NCSL_OK);
    assert_int_equal(n, NCSL_KEYS_PRIVATE_SIZE);
    export_ok(a, buf);
    assert_memory_equal(big, buf, NCSL_KEYS_PRIVATE_SIZE);

    ncsl_wipe(d, sizeof(d));
    ncsl_wipe(x, sizeof(x));
    ncsl_wipe(buf, sizeof(buf));
    ncsl_wipe(big, sizeof(big));
    ncsl_keys_destroy(peer);
    ncsl_keys_destroy(b);
    ncsl_keys_destroy(a);
}

static void test_export_arguments(void **state) {
    (void)state;
    ncsl_err err;
    ncsl_keys *k = fresh();
    uint8_t buf[NCSL_KEYS_PRIVATE_SIZE];
    size_t n = sizeof(buf);
    assert_int_equal(ncsl_keys_private_export(NULL, buf, &n, &err), NCSL_E_INVALID_ARG);
    assert_string_equal(err.field, "keys");
    assert_int_equal(ncsl_keys_private_export(k, NULL, &n, &err), NCSL_E_INVALID_ARG);
    assert_string_equal(err.field, "buf");
    assert_int_equal(ncsl_keys_private_export(k, buf, NULL, &err), NCSL_E_INVALID_ARG);
    assert_string_equal(err.field, "len");
    /* too small: nothing written, *len says what is needed */
    memset(buf, 0xAA, sizeof(buf));
    n = NCSL_KEYS_PRIVATE_SIZE - 1;
    assert_int_equal(ncsl_keys_private_export(k, buf, &n, &err), NCSL_E_INVALID_ARG);
    assert_string_equal(err.field, "buf");
    assert_int_equal(n, NCSL_KEYS_PRIVATE_SIZE);
    for (size_t i = 0; i < sizeof(buf); i++) {
        assert_int_equal(buf[i], 0xAA);
    }
    n = 0;
    assert_int_equal(ncsl_keys_private_export(k, buf, &n, NULL), NCSL_E_INVALID_ARG);
    assert_int_equal(n, NCSL_KEYS_PRIVATE_SIZE);
    ncsl_keys_destroy(k);
}

static void test_import_rejects(void **state) {
    (void)state;
    ncsl_err err;
    ncsl_keys *a = fresh();
    ncsl_keys *other = fresh();
    uint8_t good[NCSL_KEYS_PRIVATE_SIZE], m[NCSL_KEYS_PRIVATE_SIZE + 1];
    export_ok(a, good);

    /* NULL arguments */
    ncsl_keys *k = NULL;
    assert_int_equal(ncsl_keys_private_import(good, sizeof(good), NULL, &err), NCSL_E_INVALID_ARG);
    assert_int_equal(ncsl_keys_private_import(NULL, sizeof(good), &k, &err), NCSL_E_INVALID_ARG);
    assert_null(k);

    /* wrong lengths: every truncation, one byte more, absurd */
    for (size_t n = 0; n < sizeof(good); n++) {
        assert_int_equal(import_fails(good, n, good), NCSL_E_INVALID_ARG);
    }
    memcpy(m, good, sizeof(good));
    m[sizeof(good)] = 0;
    assert_int_equal(import_fails(m, sizeof(good) + 1, good), NCSL_E_INVALID_ARG);
    assert_int_equal(ncsl_keys_private_import(good, SIZE_MAX, &k, &err), NCSL_E_INVALID_ARG);
    assert_null(k);

    /* magic, version, reserved */
    static const size_t header[] = {0, 7, 8, 9, 11};
    for (size_t i = 0; i < NCSL_ARRAY_LEN(header); i++) {
        memcpy(m, good, sizeof(good));
        m[header[i]] ^= 0x01;
        assert_int_equal(import_fails(m, sizeof(good), good), NCSL_E_INVALID_ARG);
        resum(m);
        assert_int_equal(import_fails(m, sizeof(good), good), NCSL_E_INVALID_ARG);
    }

    /* scalars out of range: 0, n, n + 1, 2^256 - 1 */
    uint8_t bad[4][32] = {{0}};
    memcpy(bad[1], ncsl__keys_p256_order, 32);
    memcpy(bad[2], ncsl__keys_p256_order, 32);
    bad[2][31]++;
    memset(bad[3], 0xff, 32);
    for (int i = 0; i < 4; i++) {
        memcpy(m, good, sizeof(good));
        memcpy(m + D_OFF, bad[i], 32);
        resum(m);
        assert_int_equal(import_fails(m, sizeof(good), good), NCSL_E_KEY_INVALID);
    }

    /* public keys that are not those of the private keys: another identity's, each half */
    uint8_t o[NCSL_KEYS_PRIVATE_SIZE];
    export_ok(other, o);
    memcpy(m, good, sizeof(good));
    memcpy(m + PUB_OFF, o + PUB_OFF, 33);
    resum(m);
    assert_int_equal(import_fails(m, sizeof(good), good), NCSL_E_KEY_INVALID);
    memcpy(m, good, sizeof(good));
    memcpy(m + XPUB_OFF, o + XPUB_OFF, 32);
    resum(m);
    assert_int_equal(import_fails(m, sizeof(good), good), NCSL_E_KEY_INVALID);
    memcpy(m, good, sizeof(good)); /* another identity's private keys under a's public ones */
    memcpy(m + D_OFF, o + D_OFF, 64);
    resum(m);
    assert_int_equal(import_fails(m, sizeof(good), good), NCSL_E_KEY_INVALID);
    memcpy(m, o, sizeof(o)); /* other's whole record is fine */
    assert_int_equal(ncsl_keys_private_import(m, sizeof(o), &k, &err), NCSL_OK);
    ncsl_keys_destroy(k);
    k = NULL;

    /* every byte changed, in turn, is rejected (never accepted as some other identity), with
     * the checksum as is and recomputed; recomputed, only the X25519 bits that clamping
     * ignores pass the public-key check, and they must not pass unnoticed: the checksum is
     * what catches them, so they are rejected without resum only */
    static const uint8_t flips[] = {0x01, 0x80, 0xff};
    unsigned caught_by_checksum_only = 0;
    for (size_t i = 0; i < sizeof(good); i++) {
        for (size_t f = 0; f < sizeof(flips); f++) {
            memcpy(m, good, sizeof(good));
            m[i] ^= flips[f];
            ncsl_status st = import_fails(m, sizeof(good), good);
            assert_true(st == NCSL_E_INVALID_ARG || st == NCSL_E_KEY_INVALID);
            if (i >= SUM_OFF) {
                continue;
            }
            resum(m);
            k = NULL;
            st = ncsl_keys_private_import(m, sizeof(good), &k, &err);
            if (st == NCSL_OK) {
                /* x[0] bits 0-2, x[31] bit 7: same public key, other derivations */
                assert_true((i == X_OFF && (flips[f] & 0x07) == flips[f]) ||
                            (i == X_OFF + 31 && flips[f] == 0x80));
                caught_by_checksum_only++;
                ncsl_keys_destroy(k);
            } else {
                assert_null(k);
            }
        }
    }
    assert_int_equal(caught_by_checksum_only, 2); /* x[0] ^ 0x01, x[31] ^ 0x80 */

    /* the original still imports after all that */
    assert_int_equal(ncsl_keys_private_import(good, sizeof(good), &k, &err), NCSL_OK);
    ncsl_keys_destroy(k);
    ncsl_wipe(good, sizeof(good));
    ncsl_wipe(o, sizeof(o));
    ncsl_wipe(m, sizeof(m));
    ncsl_keys_destroy(other);
    ncsl_keys_destroy(a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_export_arguments),
        cmocka_unit_test(test_import_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
