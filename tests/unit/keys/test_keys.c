/*
 * Enclave identity keys on the simulation TEE: first start and restart (same public keys, file
 * mode, sealed on disk, no private key in clear), tampered / foreign / truncated files refused
 * and never replaced, policy handling, an unsafe keys directory, signatures (verify, bit flips,
 * low-S, range), P-256 point helpers against known vectors, X25519 (RFC 7748 vector), and
 * concurrent signing. (A signature made by another signer is checked in test_receipt.c.)
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
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

#include "crypto/crypto.h"
#include "keys/keys.h"
#include "keys/keys_int.h"
#include "ncsl_test_util.h"
#include "tee/tee.h"

/* ------------------------------------------------------------------------- helpers */

static void unhex(const char *hex, uint8_t *out, size_t len) {
    size_t got = 0;
    assert_int_equal(ncsl_crypto_hex_decode(hex, strlen(hex), out, len, &got, NULL), NCSL_OK);
    assert_int_equal(got, len);
}

static ncsl_keys *load(ncsl_tee *tee, const char *dir, const ncsl_keys_options *o,
                       ncsl_status expect, ncsl_err *err) {
    ncsl_keys *k = NULL;
    ncsl_status st = ncsl_keys_load_or_create(tee, dir, o, &k, err);
    if (st != expect) {
        fprintf(stderr, "keys: %d %s\n", st, err->message);
    }
    assert_int_equal(st, expect);
    if (st == NCSL_OK) {
        assert_non_null(k);
    } else {
        assert_null(k);
    }
    return k;
}

/* ------------------------------------------------------------------------- persistence */

static void test_create_then_reload_same_keys(void **unused) {
    char *dir = ncsl_test_tmpdir_make("ncsl-keys-test");
    ncsl_err err;
    ncsl_tee *tee = ncsl_test_open_sim_tee(dir);
    ncsl_keys *k = load(tee, dir, NULL, NCSL_OK, &err);
    assert_true(ncsl_keys_created(k));
    assert_int_equal(ncsl_keys_policy(k), NCSL_SEAL_POLICY_MRENCLAVE);
    uint8_t sig1[33], enc1[32], sig2[33], enc2[32], d[32], x[32];
    ncsl_keys_signing_pub_compressed(k, sig1);
    ncsl_keys_encryption_pub(k, enc1);
    assert_true(sig1[0] == 0x02 || sig1[0] == 0x03);
    assert_int_equal(ncsl_keys_p256_validate(sig1, &err), NCSL_OK);
    assert_int_equal(ncsl__keys_test_private(k, d, x, &err), NCSL_OK);
    char *path = ncsl_test_path(dir, "keys/identity.sealed");
    assert_string_equal(ncsl_keys_path(k), path);
    ncsl_keys_destroy(k);

    /* The file: 0600 in a 0700 directory, an NCSLSEAL blob, no private key in clear, no temp
     * files left behind. */
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_true(S_ISREG(sb.st_mode));
    assert_int_equal(sb.st_mode & 0777, 0600);
    char *kdir = ncsl_test_path(dir, "keys");
    assert_int_equal(stat(kdir, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0700);
    size_t n = 0;
    uint8_t *blob = ncsl_test_read_file(path, &n);
    assert_int_equal(n, NCSL_KEYS_RECORD_SIZE + 40);
    assert_memory_equal(blob, "NCSLSEAL", 8);
    assert_int_equal(blob[9], NCSL_SEAL_POLICY_MRENCLAVE);
    assert_false(ncsl_test_mem_contains(blob, n, d, sizeof(d)));
    assert_false(ncsl_test_mem_contains(blob, n, x, sizeof(x)));
    assert_false(ncsl_test_mem_contains(blob, n, d, 8)); /* not even a prefix */
    assert_false(ncsl_test_mem_contains(blob, n, "NCSLKEYS", 8));
    free(blob);
    DIR *dd = opendir(kdir);
    assert_non_null(dd);
    int files = 0;
    struct dirent *e;
    while ((e = readdir(dd)) != NULL) {
        files += e->d_name[0] != '.';
    }
    closedir(dd);
    assert_int_equal(files, 1);

    /* Restart: a new TEE handle and the same file give the same keys. */
    ncsl_tee_close(tee);
    tee = ncsl_test_open_sim_tee(dir);
    k = load(tee, dir, NULL, NCSL_OK, &err);
    assert_false(ncsl_keys_created(k));
    ncsl_keys_signing_pub_compressed(k, sig2);
    ncsl_keys_encryption_pub(k, enc2);
    assert_memory_equal(sig1, sig2, 33);
    assert_memory_equal(enc1, enc2, 32);
    uint8_t d2[32], x2[32];
    assert_int_equal(ncsl__keys_test_private(k, d2, x2, &err), NCSL_OK);
    assert_memory_equal(d, d2, 32);
    assert_memory_equal(x, x2, 32);
    ncsl_keys_destroy(k);

    /* create = false only loads. */
    ncsl_keys_options o;
    ncsl_keys_options_default(&o);
    o.create = false;
    k = load(tee, dir, &o, NCSL_OK, &err);
    ncsl_keys_destroy(k);
    assert_int_equal(unlink(path), 0);
    load(tee, dir, &o, NCSL_E_NOT_FOUND, &err);
    assert_non_null(strstr(err.message, path));

    /* A removed file means a new identity (made on purpose by whoever removed it). */
    k = load(tee, dir, NULL, NCSL_OK, &err);
    assert_true(ncsl_keys_created(k));
    ncsl_keys_signing_pub_compressed(k, sig2);
    assert_memory_not_equal(sig1, sig2, 33);
    ncsl_keys_destroy(k);
    ncsl_keys_destroy(NULL);

    ncsl_tee_close(tee);
    free(kdir);
    free(path);
    ncsl_test_tmpdir_remove(dir);
}

/* Every damaged file is an error, and the file is left as it was (never regenerated). */
static void test_tampered_file_refused(void **unused) {
    char *dir = ncsl_test_tmpdir_make("ncsl-keys-test");
    ncsl_err err;
    ncsl_tee *tee = ncsl_test_open_sim_tee(dir);
    ncsl_keys *k = load(tee, dir, NULL, NCSL_OK, &err);
    ncsl_keys_destroy(k);
    char *path = ncsl_test_path(dir, "keys/identity.sealed");
    size_t n = 0;
    uint8_t *orig = ncsl_test_read_file(path, &n);

    /* A bit flip anywhere: magic, version, policy, reserved, nonce, ciphertext, tag. */
    const size_t offsets[] = {0, 8, 10, 12, 23, 24, 24 + 20, 24 + 140, n - 16, n - 1};
    for (size_t i = 0; i < NCSL_ARRAY_LEN(offsets); i++) {
        uint8_t *b = ncsl_test_flipped_copy(orig, n, offsets[i], 0x01);
        ncsl_test_write_file(path, b, n);
        load(tee, dir, NULL, NCSL_E_KEYS_STATE, &err);
        assert_string_equal(err.field, "keys");
        assert_non_null(strstr(err.message, path));
        size_t m = 0;
        uint8_t *now = ncsl_test_read_file(path, &m);
        assert_int_equal(m, n);
        assert_memory_equal(now, b, n); /* untouched */
        free(now);
        free(b);
    }
    /* The policy byte changed to the other valid policy: also refused. */
    uint8_t *b = malloc(n);
    memcpy(b, orig, n);
    b[9] = NCSL_SEAL_POLICY_MRSIGNER;
    ncsl_test_write_file(path, b, n);
    ncsl_keys_options o;
    ncsl_keys_options_default(&o);
    o.policy = NCSL_SEAL_POLICY_MRSIGNER;
    load(tee, dir, &o, NCSL_E_KEYS_STATE, &err);
    free(b);

    /* Truncated, empty, garbage, a directory in its place. */
    ncsl_test_write_file(path, orig, n - 1);
    load(tee, dir, NULL, NCSL_E_KEYS_STATE, &err);
    ncsl_test_write_file(path, orig, 0);
    load(tee, dir, NULL, NCSL_E_KEYS_STATE, &err);
    ncsl_test_write_file(path, (const uint8_t *)"not a sealed blob at all, just text", 35);
    load(tee, dir, NULL, NCSL_E_KEYS_STATE, &err);
    assert_non_null(strstr(err.message, "remove it"));
    assert_int_equal(unlink(path), 0);
    assert_int_equal(mkdir(path, 0700), 0);
    load(tee, dir, NULL, NCSL_E_KEYS_STATE, &err);
    assert_int_equal(rmdir(path), 0);

    /* Restored: loads again. */
    ncsl_test_write_file(path, orig, n);
    k = load(tee, dir, NULL, NCSL_OK, &err);
    assert_false(ncsl_keys_created(k));
    ncsl_keys_destroy(k);

    free(orig);
    free(path);
    ncsl_tee_close(tee);
    ncsl_test_tmpdir_remove(dir);
}

/* A file sealed by another installation (another platform secret) cannot be used here. */
static void test_foreign_file_refused(void **unused) {
    char *a = ncsl_test_tmpdir_make("ncsl-keys-test");
    char *b = ncsl_test_tmpdir_make("ncsl-keys-test");
    ncsl_err err;
    ncsl_tee *ta = ncsl_test_open_sim_tee(a);
    ncsl_tee *tb = ncsl_test_open_sim_tee(b);
    ncsl_keys *k = load(ta, a, NULL, NCSL_OK, &err);
    ncsl_keys_destroy(k);
    k = load(tb, b, NULL, NCSL_OK, &err);
    ncsl_keys_destroy(k);
    char *pa = ncsl_test_path(a, "keys/identity.sealed");
    char *pb = ncsl_test_path(b, "keys/identity.sealed");
    size_t n = 0;
    uint8_t *blob_b = ncsl_test_read_file(pb, &n);
    ncsl_test_write_file(pa, blob_b, n);
    load(ta, a, NULL, NCSL_E_KEYS_STATE, &err);
    assert_non_null(strstr(err.message, "another installation"));
    assert_non_null(strstr(err.message, pa));

    /* The same TEE but another sealing label (a seal blob of another record) is refused too. */
    uint8_t root[32];
    uint8_t *other = NULL;
    size_t other_len = 0;
    uint8_t junk[NCSL_KEYS_RECORD_SIZE] = {0};
    assert_int_equal(ncsl_tee_seal_key(ta, NCSL_SEAL_POLICY_MRENCLAVE, root, &err), NCSL_OK);
    assert_int_equal(ncsl_seal(root, 32, NCSL_SEAL_POLICY_MRENCLAVE, "secret/u/n", junk,
                               sizeof(junk), &other, &other_len, &err),
                     NCSL_OK);
    ncsl_test_write_file(pa, other, other_len);
    load(ta, a, NULL, NCSL_E_KEYS_STATE, &err);
    ncsl_seal_blob_free(other);

    /* Right label and key, but not a key record. */
    assert_int_equal(ncsl_seal(root, 32, NCSL_SEAL_POLICY_MRENCLAVE, NCSL_KEYS_SEAL_LABEL, junk,
                               sizeof(junk), &other, &other_len, &err),
                     NCSL_OK);
    ncsl_test_write_file(pa, other, other_len);
    load(ta, a, NULL, NCSL_E_KEYS_STATE, &err);
    assert_non_null(strstr(err.message, "identity key record"));
    ncsl_seal_blob_free(other);

    /* A record whose stored public key does not match its private key. */
    uint8_t rec[NCSL_KEYS_RECORD_SIZE] = {0};
    memcpy(rec, "NCSLKEYS", 8);
    rec[8] = 1;
    rec[12 + 31] = 1; /* d = 1 */
    rec[44] = 9;      /* some X25519 key */
    rec[76] = 0x02;   /* a wrong public key */
    assert_int_equal(ncsl_seal(root, 32, NCSL_SEAL_POLICY_MRENCLAVE, NCSL_KEYS_SEAL_LABEL, rec,
                               sizeof(rec), &other, &other_len, &err),
                     NCSL_OK);
    ncsl_test_write_file(pa, other, other_len);
    load(ta, a, NULL, NCSL_E_KEYS_STATE, &err);
    assert_non_null(strstr(err.message, "inconsistent"));
    ncsl_seal_blob_free(other);
    ncsl_wipe(root, sizeof(root));

    free(blob_b);
    free(pa);
    free(pb);
    ncsl_tee_close(ta);
    ncsl_tee_close(tb);
    ncsl_test_tmpdir_remove(a);
    ncsl_test_tmpdir_remove(b);
}

static void test_policy(void **unused) {
    char *dir = ncsl_test_tmpdir_make("ncsl-keys-test");
    ncsl_err err;
    ncsl_tee *tee = ncsl_test_open_sim_tee(dir);
    ncsl_keys_options o;
    ncsl_keys_options_default(&o);
    assert_int_equal(o.policy, NCSL_SEAL_POLICY_MRENCLAVE);
    assert_true(o.create);
    o.policy = NCSL_SEAL_POLICY_MRSIGNER;
    ncsl_keys *k = load(tee, dir, &o, NCSL_OK, &err);
    uint8_t p1[33], p2[33];
    ncsl_keys_signing_pub_compressed(k, p1);
    assert_int_equal(ncsl_keys_policy(k), NCSL_SEAL_POLICY_MRSIGNER);
    ncsl_keys_destroy(k);
    /* Configured MRENCLAVE, file MRSIGNER: refused, never silently re-sealed or regenerated. */
    load(tee, dir, NULL, NCSL_E_KEYS_STATE, &err);
    assert_non_null(strstr(err.message, "MRSIGNER"));
    k = load(tee, dir, &o, NCSL_OK, &err);
    ncsl_keys_signing_pub_compressed(k, p2);
    assert_memory_equal(p1, p2, 33);
    ncsl_keys_destroy(k);
    o.policy = (ncsl_seal_policy)9;
    load(tee, dir, &o, NCSL_E_INVALID_ARG, &err);
    assert_string_equal(err.field, "policy");
    load(NULL, dir, NULL, NCSL_E_INVALID_ARG, &err);
    ncsl_tee_close(tee);
    ncsl_test_tmpdir_remove(dir);
}

static void test_unsafe_keys_dir(void **unused) {
    char *dir = ncsl_test_tmpdir_make("ncsl-keys-test");
    ncsl_err err;
    ncsl_tee *tee = ncsl_test_open_sim_tee(dir);
    char *kdir = ncsl_test_path(dir, "keys");
    assert_int_equal(mkdir(kdir, 0700), 0);
    assert_int_equal(chmod(kdir, 0777), 0);
    load(tee, dir, NULL, NCSL_E_TEE_INSECURE_FILE, &err);
    assert_non_null(strstr(err.message, "chmod 700"));
    assert_int_equal(rmdir(kdir), 0);
    /* a symlink to a directory */
    char *target = ncsl_test_path(dir, "elsewhere");
    assert_int_equal(mkdir(target, 0700), 0);
    assert_int_equal(symlink(target, kdir), 0);
    load(tee, dir, NULL, NCSL_E_TEE_INSECURE_FILE, &err);
    assert_non_null(strstr(err.message, "not a directory"));
    free(target);
    free(kdir);
    ncsl_tee_close(tee);
    ncsl_test_tmpdir_remove(dir);
}

/* ------------------------------------------------------------------------- signatures */

static void test_sign_verify(void **unused) {
    ncsl_err err;
    ncsl_keys *k = NULL, *other = NULL;
    assert_int_equal(ncsl_keys_create_ephemeral(NULL, &k, &err), NCSL_OK);
    assert_int_equal(ncsl_keys_create_ephemeral(NULL, &other, &err), NCSL_OK);
    assert_string_equal(ncsl_keys_path(k), "");
    uint8_t pub[33], pub_other[33], sig[64];
    ncsl_keys_signing_pub_compressed(k, pub);
    ncsl_keys_signing_pub_compressed(other, pub_other);
    const char msg[] = "NCSL receipt bytes";
    assert_int_equal(ncsl_keys_sign(k, msg, sizeof(msg) - 1, sig, &err), NCSL_OK);
    assert_int_equal(ncsl_keys_p256_verify(pub, msg, sizeof(msg) - 1, sig, &err), NCSL_OK);

    /* Every single bit flip of the signature fails; so does one in the message. */
    for (size_t bit = 0; bit < 64 * 8; bit++) {
        sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        ncsl_status st = ncsl_keys_p256_verify(pub, msg, sizeof(msg) - 1, sig, &err);
        assert_int_equal(st, NCSL_E_SIGNATURE_INVALID);
        sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    char bad[sizeof(msg)];
    memcpy(bad, msg, sizeof(msg));
    bad[0] ^= 0x20;
    assert_int_equal(ncsl_keys_p256_verify(pub, bad, sizeof(msg) - 1, sig, &err),
                     NCSL_E_SIGNATURE_INVALID);
    assert_int_equal(ncsl_keys_p256_verify(pub, msg, sizeof(msg) - 2, sig, &err),
                     NCSL_E_SIGNATURE_INVALID);
    /* Another key. */
    assert_int_equal(ncsl_keys_p256_verify(pub_other, msg, sizeof(msg) - 1, sig, &err),
                     NCSL_E_SIGNATURE_INVALID);
    assert_string_equal(err.field, "sig");

    /* Empty message. */
    assert_int_equal(ncsl_keys_sign(k, NULL, 0, sig, &err), NCSL_OK);
    assert_int_equal(ncsl_keys_p256_verify(pub, NULL, 0, sig, &err), NCSL_OK);
    assert_int_equal(ncsl_keys_p256_verify(pub, "", 0, sig, &err), NCSL_OK);

    /* Low-S: every signature has s <= n/2; its high-S twin (n - s) still verifies (Neo and
     * OpenSSL accept both). Two signatures of one message differ (random nonces). */
    uint8_t sig2[64];
    for (int i = 0; i < 64; i++) {
        assert_int_equal(ncsl_keys_sign(k, msg, sizeof(msg) - 1, sig, &err), NCSL_OK);
        assert_true(memcmp(sig + 32, ncsl__keys_p256_half_order, 32) <= 0);
    }
    assert_int_equal(ncsl_keys_sign(k, msg, sizeof(msg) - 1, sig2, &err), NCSL_OK);
    assert_memory_not_equal(sig, sig2, 64);
    uint8_t hi[64];
    memcpy(hi, sig, 64);
    unsigned borrow = 0;
    for (int i = 31; i >= 0; i--) {
        unsigned v = (unsigned)ncsl__keys_p256_order[i] - hi[32 + i] - borrow;
        hi[32 + i] = (uint8_t)v;
        borrow = (v >> 8) & 1u;
    }
    assert_true(memcmp(hi + 32, ncsl__keys_p256_half_order, 32) > 0);
    assert_int_equal(ncsl_keys_p256_verify(pub, msg, sizeof(msg) - 1, hi, &err), NCSL_OK);

    /* r or s zero, or >= n. */
    uint8_t z[64];
    memcpy(z, sig, 64);
    memset(z, 0, 32);
    assert_int_equal(ncsl_keys_p256_verify(pub, msg, sizeof(msg) - 1, z, &err),
                     NCSL_E_SIGNATURE_INVALID);
    memcpy(z, sig, 64);
    memcpy(z + 32, ncsl__keys_p256_order, 32);
    assert_int_equal(ncsl_keys_p256_verify(pub, msg, sizeof(msg) - 1, z, &err),
                     NCSL_E_SIGNATURE_INVALID);
    memset(z, 0xFF, 64);
    assert_int_equal(ncsl_keys_p256_verify(pub, msg, sizeof(msg) - 1, z, &err),
                     NCSL_E_SIGNATURE_INVALID);

    /* A bad key is a key error, not a signature error. */
    uint8_t badpub[33];
    memcpy(badpub, pub, 33);
    badpub[0] = 0x04;
    assert_int_equal(ncsl_keys_p256_verify(badpub, msg, sizeof(msg) - 1, sig, &err),
                     NCSL_E_KEY_INVALID);
    assert_string_equal(err.field, "pub");
    assert_int_equal(ncsl_keys_sign(k, NULL, 5, sig, &err), NCSL_E_INVALID_ARG);

    ncsl_keys_destroy(k);
    ncsl_keys_destroy(other);
}

/* Fixed vector (a published Neo N3 test account): private key -> compressed public key; a
 * signature made with the OpenSSL command line over a fixed message verifies. */
static void test_known_key_and_points(void **unused) {
    ncsl_err err;
    uint8_t d[32], x[32] = {9}, pub[33], want[33];
    unhex("84180ac9d6eb6fba207ea4ef9d2200102d1ebeb4b9c07e2c6a738a42742e27a5", d, 32);
    unhex("033a4d051b04b7fc0230d2b1aaedfd5a84be279a5361a7358db665ad7857787f1b", want, 33);
    ncsl_keys *k = NULL;
    assert_int_equal(ncsl__keys_from_private(d, x, &k, &err), NCSL_OK);
    ncsl_keys_signing_pub_compressed(k, pub);
    assert_memory_equal(pub, want, 33);
    ncsl_keys_destroy(k);

    /* Out-of-range scalars: 0 and n. */
    uint8_t zero[32] = {0};
    assert_int_equal(ncsl__keys_from_private(zero, x, &k, &err), NCSL_E_INVALID_ARG);
    assert_int_equal(ncsl__keys_from_private(ncsl__keys_p256_order, x, &k, &err),
                     NCSL_E_INVALID_ARG);

    /* d = 1: the public key is the generator G. */
    uint8_t one[32] = {0};
    one[31] = 1;
    uint8_t g[65], g_want[65], g33[33];
    unhex("046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296"
          "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5",
          g_want, 65);
    assert_int_equal(ncsl__keys_from_private(one, x, &k, &err), NCSL_OK);
    ncsl_keys_signing_pub_compressed(k, g33);
    assert_int_equal(g33[0], 0x03); /* G's y is odd */
    assert_int_equal(ncsl_keys_p256_decompress(g33, g, &err), NCSL_OK);
    assert_memory_equal(g, g_want, 65);
    uint8_t back[33];
    assert_int_equal(ncsl_keys_p256_compress(g, back, &err), NCSL_OK);
    assert_memory_equal(back, g33, 33);
    ncsl_keys_destroy(k);

    /* Compress refuses a point off the curve. */
    g[64] ^= 1;
    assert_int_equal(ncsl_keys_p256_compress(g, back, &err), NCSL_E_KEY_INVALID);
    assert_string_equal(err.field, "point");
    g[64] ^= 1;
    g[0] = 0x02;
    assert_int_equal(ncsl_keys_p256_compress(g, back, &err), NCSL_E_KEY_INVALID);

    /* Validation: bad prefixes, x = 1 (no y on P-256), x = p (out of the field). */
    uint8_t bad[33];
    memcpy(bad, want, 33);
    const uint8_t prefixes[] = {0x00, 0x01, 0x04, 0x05, 0x06, 0x07, 0xFF};
    for (size_t i = 0; i < sizeof(prefixes); i++) {
        bad[0] = prefixes[i];
        assert_int_equal(ncsl_keys_p256_validate(bad, &err), NCSL_E_KEY_INVALID);
    }
    memset(bad, 0, 33);
    bad[0] = 0x02;
    bad[32] = 1;
    assert_int_equal(ncsl_keys_p256_validate(bad, &err), NCSL_E_KEY_INVALID);
    bad[0] = 0x03;
    assert_int_equal(ncsl_keys_p256_validate(bad, &err), NCSL_E_KEY_INVALID);
    unhex("02ffffffff00000001000000000000000000000000ffffffffffffffffffffffff", bad, 33);
    assert_int_equal(ncsl_keys_p256_validate(bad, &err), NCSL_E_KEY_INVALID);
    assert_int_equal(ncsl_keys_p256_decompress(bad, g, &err), NCSL_E_KEY_INVALID);
    memset(bad, 0, 33); /* x = 0 is on the curve (both parities valid) */
    bad[0] = 0x02;
    assert_int_equal(ncsl_keys_p256_validate(bad, &err), NCSL_OK);
    assert_int_equal(ncsl_keys_p256_validate(want, &err), NCSL_OK);
}

static void test_ecdh(void **unused) {
    ncsl_err err;
    /* RFC 7748 section 6.1: Alice's private key, Bob's public key, the shared secret. */
    uint8_t a[32], bob_pub[32], want[32], alice_pub_want[32], got[32], apub[32];
    uint8_t d[32] = {0};
    d[31] = 7;
    unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", a, 32);
    unhex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f", bob_pub, 32);
    unhex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", alice_pub_want, 32);
    unhex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742", want, 32);
    ncsl_keys *k = NULL;
    assert_int_equal(ncsl__keys_from_private(d, a, &k, &err), NCSL_OK);
    ncsl_keys_encryption_pub(k, apub);
    assert_memory_equal(apub, alice_pub_want, 32);
    assert_int_equal(ncsl_keys_ecdh(k, bob_pub, got, &err), NCSL_OK);
    assert_memory_equal(got, want, 32);

    /* Both sides agree for random identities. */
    ncsl_keys *k1 = NULL, *k2 = NULL;
    uint8_t p1[32], p2[32], s1[32], s2[32];
    assert_int_equal(ncsl_keys_create_ephemeral(NULL, &k1, &err), NCSL_OK);
    assert_int_equal(ncsl_keys_create_ephemeral(NULL, &k2, &err), NCSL_OK);
    ncsl_keys_encryption_pub(k1, p1);
    ncsl_keys_encryption_pub(k2, p2);
    assert_int_equal(ncsl_keys_ecdh(k1, p2, s1, &err), NCSL_OK);
    assert_int_equal(ncsl_keys_ecdh(k2, p1, s2, &err), NCSL_OK);
    assert_memory_equal(s1, s2, 32);

    /* Small-order peers (0 and 1) give the all-zero secret: refused, output wiped. */
    uint8_t small[32] = {0};
    memset(got, 0xAA, 32);
    assert_int_equal(ncsl_keys_ecdh(k, small, got, &err), NCSL_E_KEY_INVALID);
    assert_string_equal(err.field, "peer_pub");
    static const uint8_t zeros[32] = {0};
    assert_memory_equal(got, zeros, 32);
    small[0] = 1;
    assert_int_equal(ncsl_keys_ecdh(k, small, got, &err), NCSL_E_KEY_INVALID);

    ncsl_keys_destroy(k);
    ncsl_keys_destroy(k1);
    ncsl_keys_destroy(k2);
}

/* The TEE's generator is used for ephemeral keys too; two identities differ. */
static void test_ephemeral_from_tee(void **unused) {
    char *dir = ncsl_test_tmpdir_make("ncsl-keys-test");
    ncsl_err err;
    ncsl_tee *tee = ncsl_test_open_sim_tee(dir);
    ncsl_keys *a = NULL, *b = NULL;
    assert_int_equal(ncsl_keys_create_ephemeral(tee, &a, &err), NCSL_OK);
    assert_int_equal(ncsl_keys_create_ephemeral(tee, &b, &err), NCSL_OK);
    uint8_t pa[33], pb[33];
    ncsl_keys_signing_pub_compressed(a, pa);
    ncsl_keys_signing_pub_compressed(b, pb);
    assert_memory_not_equal(pa, pb, 33);
    assert_false(ncsl_keys_created(a));
    ncsl_keys_destroy(a);
    ncsl_keys_destroy(b);
    assert_int_equal(ncsl_keys_create_ephemeral(tee, NULL, &err), NCSL_E_INVALID_ARG);
    ncsl_tee_close(tee);
    ncsl_test_tmpdir_remove(dir);
}

/* ------------------------------------------------------------------------- threads */

typedef struct sign_job {
    const ncsl_keys *keys;
    uint8_t pub[33];
    int failures;
    int id;
} sign_job;

static void *sign_many(void *arg) {
    sign_job *j = arg;
    for (int i = 0; i < 200; i++) {
        char msg[64];
        int n = snprintf(msg, sizeof(msg), "thread %d message %d", j->id, i);
        uint8_t sig[64];
        if (ncsl_keys_sign(j->keys, msg, (size_t)n, sig, NULL) != NCSL_OK ||
            ncsl_keys_p256_verify(j->pub, msg, (size_t)n, sig, NULL) != NCSL_OK) {
            j->failures++;
        }
    }
    return NULL;
}

static void test_concurrent_signing(void **unused) {
    ncsl_keys *k = NULL;
    ncsl_err err;
    assert_int_equal(ncsl_keys_create_ephemeral(NULL, &k, &err), NCSL_OK);
    pthread_t th[4];
    sign_job jobs[4];
    for (int i = 0; i < 4; i++) {
        jobs[i].keys = k;
        jobs[i].failures = 0;
        jobs[i].id = i;
        ncsl_keys_signing_pub_compressed(k, jobs[i].pub);
        assert_int_equal(pthread_create(&th[i], NULL, sign_many, &jobs[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(jobs[i].failures, 0);
    }
    ncsl_keys_destroy(k);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_then_reload_same_keys),
        cmocka_unit_test(test_tampered_file_refused),
        cmocka_unit_test(test_foreign_file_refused),
        cmocka_unit_test(test_policy),
        cmocka_unit_test(test_unsafe_keys_dir),
        cmocka_unit_test(test_sign_verify),
        cmocka_unit_test(test_known_key_and_points),
        cmocka_unit_test(test_ecdh),
        cmocka_unit_test(test_ephemeral_from_tee),
        cmocka_unit_test(test_concurrent_signing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
