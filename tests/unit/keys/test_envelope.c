/*
 * Secret envelopes (src/keys/envelope.h): the known-answer vector of docs/secrets.md (made by an
 * independent implementation), round trips with identity keys made on the simulation TEE, and
 * every way an envelope must be refused: another user, another name, another enclave key, each
 * member changed (every ciphertext bit), truncated or extended ciphertext, wrong lengths,
 * non-hex and non-canonical base64, unknown or missing members, oversize values, values that
 * are not text. Errors name the member and never carry the value.
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
#include "keys/envelope.h"
#include "keys/keys.h"
#include "keys/keys_int.h"
#include "keys/trust_util.h"
#include "ncsl_test_util.h"
#include "tee/tee.h"

/* The worked example of docs/secrets.md: RFC 7748 section 6.1's Bob is the enclave, Alice's
 * key the sender's one-time key. */
#define KAT_ENCLAVE_PRIV "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"
#define KAT_ENCLAVE_PUB "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"
#define KAT_EPH_PRIV "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"
#define KAT_EPH_PUB "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
#define KAT_NONCE "000102030405060708090a0b"
#define KAT_USER "7c9e6679-7425-40de-944b-e07fc1f90ae7"
#define KAT_NAME "API_KEY"
#define KAT_VALUE "s3cr3t-value"
#define KAT_CIPHERTEXT "uvIDsH8vs0l+CzrChY9snNU3z0OpTp6x+4bfsQ=="

#define LIMIT 4096u
#define VALUE "correct horse battery staple"

/* ------------------------------------------------------------------------- helpers */

static void unhex(const char *hex, uint8_t *out, size_t len) {
    size_t got = 0;
    assert_int_equal(ncsl_crypto_hex_decode(hex, strlen(hex), out, len, &got, NULL), NCSL_OK);
    assert_int_equal(got, len);
}

/* The enclave of the known-answer vector. */
static ncsl_keys *kat_enclave(void) {
    uint8_t d[32] = {[31] = 3};
    uint8_t x[32];
    unhex(KAT_ENCLAVE_PRIV, x, 32);
    ncsl_keys *k = NULL;
    assert_int_equal(ncsl__keys_from_private(d, x, &k, NULL), NCSL_OK);
    return k;
}

static ncsl_keys *random_enclave(void) {
    ncsl_keys *k = NULL;
    assert_int_equal(ncsl_keys_create_ephemeral(NULL, &k, NULL), NCSL_OK);
    return k;
}

static json_t *seal_to(const ncsl_keys *enclave, const char *user, const char *name,
                       const void *value, size_t len) {
    uint8_t pub[32];
    ncsl_keys_encryption_pub(enclave, pub);
    json_t *env = NULL;
    ncsl_err err;
    ncsl_status st = ncsl_keys_envelope_seal(pub, user, name, value, len, &env, &err);
    if (st != NCSL_OK) {
        fprintf(stderr, "seal: %d %s: %s\n", st, err.field, err.message);
    }
    assert_int_equal(st, NCSL_OK);
    assert_non_null(env);
    return env;
}

/* Opens `env` and requires status `expect` (and, on failure, error field `field`, a message
 * without VALUE and no output). On success returns the value (caller frees with
 * ncsl_keys_envelope_free) with *len. */
static char *open_expect(const ncsl_keys *k, const json_t *env, const char *user, const char *name,
                         size_t max, ncsl_status expect, const char *field, size_t *len,
                         ncsl_err *err) {
    char *pt = (char *)0x1;
    size_t n = 99;
    ncsl_err_clear(err);
    ncsl_status st = ncsl_keys_envelope_open(k, env, user, name, max, &pt, &n, err);
    if (st != expect || (field && strcmp(err->field, field) != 0)) {
        fprintf(stderr, "open: want %d (%s), got %d %s: %s\n", expect, field ? field : "", st,
                err->field, err->message);
    }
    assert_int_equal(st, expect);
    if (st != NCSL_OK) {
        assert_null(pt);
        assert_int_equal(n, 0);
        assert_int_equal(err->code, expect);
        if (field) {
            assert_string_equal(err->field, field);
        }
        assert_null(strstr(err->message, VALUE));
        assert_null(strstr(err->message, KAT_VALUE));
        return NULL;
    }
    assert_non_null(pt);
    assert_int_equal(pt[n], '\0');
    if (len) {
        *len = n;
    }
    return pt;
}

static void open_ok(const ncsl_keys *k, const json_t *env, const char *user, const char *name,
                    const char *want) {
    ncsl_err err;
    size_t n = 0;
    char *pt = open_expect(k, env, user, name, LIMIT, NCSL_OK, NULL, &n, &err);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(pt, want, n);
    ncsl_keys_envelope_free(pt, n);
}

/* A copy of `env` with member `name` set to `v` (stolen; NULL deletes the member). */
static json_t *with(const json_t *env, const char *name, json_t *v) {
    json_t *c = json_deep_copy(env);
    assert_non_null(c);
    if (v) {
        assert_int_equal(json_object_set_new(c, name, v), 0);
    } else {
        assert_int_equal(json_object_del(c, name), 0);
    }
    return c;
}

static json_t *with_str(const json_t *env, const char *name, const char *s) {
    return with(env, name, json_string(s));
}

/* The ciphertext member, decoded (caller frees). */
static uint8_t *ciphertext_of(const json_t *env, size_t *len) {
    const char *s = json_string_value(json_object_get(env, "ciphertext"));
    assert_non_null(s);
    uint8_t *ct = NULL;
    assert_int_equal(ncsl__trust_base64_decode(s, strlen(s), &ct, len, NULL), NCSL_OK);
    return ct;
}

static json_t *with_ciphertext(const json_t *env, const uint8_t *ct, size_t len) {
    char *b64 = ncsl__trust_base64_encode(ct, len);
    assert_non_null(b64);
    json_t *c = with_str(env, "ciphertext", b64);
    free(b64);
    return c;
}

/* The message every authentication failure has: captured once, compared everywhere. */
static char g_auth_message[512];

static void expect_auth_failure(const ncsl_keys *k, const json_t *env, const char *user,
                                const char *name) {
    ncsl_err err;
    open_expect(k, env, user, name, LIMIT, NCSL_E_INVALID_ARG, "encryptedValue", NULL, &err);
    if (!g_auth_message[0]) {
        snprintf(g_auth_message, sizeof(g_auth_message), "%s", err.message);
        assert_non_null(strstr(err.message, "does not authenticate"));
    }
    assert_string_equal(err.message, g_auth_message);
}

/* ------------------------------------------------------------------------- known answer */

static void test_known_answer_vector(void **unused) {
    uint8_t enc_pub[32], eph[32], nonce[12];
    unhex(KAT_ENCLAVE_PUB, enc_pub, 32);
    unhex(KAT_EPH_PRIV, eph, 32);
    unhex(KAT_NONCE, nonce, 12);
    json_t *env = NULL;
    ncsl_err err;
    assert_int_equal(ncsl__keys_envelope_seal_with(enc_pub, KAT_USER, KAT_NAME, KAT_VALUE,
                                                   strlen(KAT_VALUE), eph, nonce, &env, &err),
                     NCSL_OK);
    /* Exactly the documented envelope, members in the documented order. */
    char *text = json_dumps(env, JSON_COMPACT);
    assert_string_equal(text, "{\"alg\":\"ncsl-x25519-hkdf-sha256-aes256gcm-v1\","
                              "\"encryptionKey\":\"" KAT_ENCLAVE_PUB "\","
                              "\"ephemeralKey\":\"" KAT_EPH_PUB "\","
                              "\"nonce\":\"" KAT_NONCE "\","
                              "\"ciphertext\":\"" KAT_CIPHERTEXT "\"}");
    free(text);

    ncsl_keys *k = kat_enclave();
    uint8_t pub[32];
    ncsl_keys_encryption_pub(k, pub);
    assert_memory_equal(pub, enc_pub, 32);
    open_ok(k, env, KAT_USER, KAT_NAME, KAT_VALUE);

    /* Made by Python's `cryptography` from the same inputs: a value that is not UTF-8
     * (ff fe) and one with a NUL byte (61 00 62) authenticate, and are still refused. */
    static const char *const not_text[] = {"Nj8Nqf0COpYIo8HNVZqUc/r1",
                                           "qMECraQPIQkf6o8GVA+/er9+NQ=="};
    for (size_t i = 0; i < 2; i++) {
        json_t *bad = with_str(env, "ciphertext", not_text[i]);
        open_expect(k, bad, KAT_USER, KAT_NAME, LIMIT, NCSL_E_INVALID_ARG, "encryptedValue", NULL,
                    &err);
        assert_non_null(strstr(err.message, "not UTF-8 text"));
        json_decref(bad);
    }
    json_decref(env);
    ncsl_keys_destroy(k);
}

/* ------------------------------------------------------------------------- round trips */

static void test_round_trip_on_the_simulation_tee(void **unused) {
    char *dir = ncsl_test_tmpdir_make("ncsl-envelope-test");
    ncsl_tee *tee = ncsl_test_open_sim_tee(dir);
    ncsl_keys *k = NULL;
    ncsl_err err;
    assert_int_equal(ncsl_keys_load_or_create(tee, dir, NULL, &k, &err), NCSL_OK);

    json_t *a = seal_to(k, KAT_USER, "API_KEY", VALUE, strlen(VALUE));
    json_t *b = seal_to(k, KAT_USER, "API_KEY", VALUE, strlen(VALUE));
    open_ok(k, a, KAT_USER, "API_KEY", VALUE);
    open_ok(k, b, KAT_USER, "API_KEY", VALUE);
    /* Fresh one-time key and nonce each time. */
    assert_string_not_equal(json_string_value(json_object_get(a, "ephemeralKey")),
                            json_string_value(json_object_get(b, "ephemeralKey")));
    assert_string_not_equal(json_string_value(json_object_get(a, "ciphertext")),
                            json_string_value(json_object_get(b, "ciphertext")));
    /* Exactly the five members; the ciphertext is the value plus the tag. */
    assert_int_equal(json_object_size(a), 5);
    size_t ct_len = 0;
    uint8_t *ct = ciphertext_of(a, &ct_len);
    assert_int_equal(ct_len, strlen(VALUE) + 16);
    assert_false(ncsl_test_mem_contains(ct, ct_len, VALUE, strlen(VALUE)));
    free(ct);
    char *text = json_dumps(a, 0);
    assert_null(strstr(text, VALUE));
    free(text);

    /* The same keys after a restart still open it. */
    ncsl_keys_destroy(k);
    assert_int_equal(ncsl_keys_load_or_create(tee, dir, NULL, &k, &err), NCSL_OK);
    assert_false(ncsl_keys_created(k));
    open_ok(k, a, KAT_USER, "API_KEY", VALUE);

    /* UTF-8 beyond ASCII, and the empty value (the ciphertext is the tag alone). */
    const char *utf8 = "p\xc3\xa4ss \xe2\x9c\x93 \xf0\x9f\x94\x91";
    json_t *u = seal_to(k, KAT_USER, "U", utf8, strlen(utf8));
    open_ok(k, u, KAT_USER, "U", utf8);
    json_t *e = seal_to(k, KAT_USER, "EMPTY", NULL, 0);
    ct = ciphertext_of(e, &ct_len);
    assert_int_equal(ct_len, 16);
    free(ct);
    open_ok(k, e, KAT_USER, "EMPTY", "");
    size_t n = 1;
    char *pt = open_expect(k, e, KAT_USER, "EMPTY", 0, NCSL_OK, NULL, &n, &err);
    assert_int_equal(n, 0);
    assert_string_equal(pt, "");
    ncsl_keys_envelope_free(pt, n);

    json_decref(a);
    json_decref(b);
    json_decref(u);
    json_decref(e);
    ncsl_keys_destroy(k);
    ncsl_tee_close(tee);
    ncsl_test_tmpdir_remove(dir);
}

/* ------------------------------------------------------------------------- binding */

static void test_bound_to_user_and_name(void **unused) {
    ncsl_keys *k = random_enclave();
    json_t *env = seal_to(k, "user-1", "API_KEY", VALUE, strlen(VALUE));
    open_ok(k, env, "user-1", "API_KEY", VALUE);
    expect_auth_failure(k, env, "user-2", "API_KEY");
    expect_auth_failure(k, env, "user-1", "API_KEY2");
    expect_auth_failure(k, env, "user-1", "api_key");
    expect_auth_failure(k, env, "user-2", "OTHER");
    json_decref(env);

    /* The separator keeps (user, name) pairs apart: "a" + "bc" is not "ab" + "c". */
    env = seal_to(k, "a", "bc", VALUE, strlen(VALUE));
    expect_auth_failure(k, env, "ab", "c");
    open_ok(k, env, "a", "bc", VALUE);
    json_decref(env);
    ncsl_keys_destroy(k);
}

static void test_other_enclave_key(void **unused) {
    ncsl_keys *ours = random_enclave();
    ncsl_keys *theirs = random_enclave();
    ncsl_err err;
    json_t *env = seal_to(theirs, KAT_USER, "API_KEY", VALUE, strlen(VALUE));
    open_expect(ours, env, KAT_USER, "API_KEY", LIMIT, NCSL_E_INVALID_ARG,
                "encryptedValue.encryptionKey", NULL, &err);
    assert_non_null(strstr(err.message, "another enclave's encryption key"));
    assert_non_null(strstr(err.message, "attestation proof"));
    /* The message names our key, so the client sees which proof to fetch. */
    uint8_t pub[32];
    char hex[65];
    ncsl_keys_encryption_pub(ours, pub);
    assert_int_equal(ncsl_crypto_hex_encode(pub, 32, hex, sizeof(hex), NULL), NCSL_OK);
    assert_non_null(strstr(err.message, hex));

    /* Relabelled as ours, it still does not open: the key is derived from the real one. */
    json_t *relabelled = with_str(env, "encryptionKey", hex);
    expect_auth_failure(ours, relabelled, KAT_USER, "API_KEY");
    json_decref(relabelled);
    open_ok(theirs, env, KAT_USER, "API_KEY", VALUE);
    json_decref(env);
    ncsl_keys_destroy(ours);
    ncsl_keys_destroy(theirs);
}

/* ------------------------------------------------------------------------- tampering */

/* `s` with hex digit `i` changed to another lowercase hex digit. */
static char *flip_hex(const char *s, size_t i) {
    char *c = strdup(s);
    assert_non_null(c);
    c[i] = c[i] == '0' ? '1' : '0';
    return c;
}

static void test_every_member_tampered(void **unused) {
    ncsl_keys *k = random_enclave();
    ncsl_err err;
    json_t *env = seal_to(k, KAT_USER, "API_KEY", VALUE, strlen(VALUE));

    /* Every hex digit of ephemeralKey and nonce. */
    const char *members[] = {"ephemeralKey", "nonce"};
    for (size_t m = 0; m < 2; m++) {
        const char *v = json_string_value(json_object_get(env, members[m]));
        for (size_t i = 0; i < strlen(v); i++) {
            char *f = flip_hex(v, i);
            json_t *bad = with_str(env, members[m], f);
            ncsl_status st = ncsl_keys_envelope_open(k, bad, KAT_USER, "API_KEY", LIMIT,
                                                     &(char *){NULL}, &(size_t){0}, &err);
            /* A changed ephemeral key may happen to be a small-order point: refused too. */
            if (st == NCSL_E_KEY_INVALID) {
                assert_string_equal(err.field, "encryptedValue.ephemeralKey");
            } else {
                expect_auth_failure(k, bad, KAT_USER, "API_KEY");
            }
            json_decref(bad);
            free(f);
        }
    }
    /* Every hex digit of encryptionKey: no longer ours. */
    const char *ek = json_string_value(json_object_get(env, "encryptionKey"));
    for (size_t i = 0; i < strlen(ek); i++) {
        char *f = flip_hex(ek, i);
        json_t *bad = with_str(env, "encryptionKey", f);
        open_expect(k, bad, KAT_USER, "API_KEY", LIMIT, NCSL_E_INVALID_ARG,
                    "encryptedValue.encryptionKey", NULL, &err);
        json_decref(bad);
        free(f);
    }
    /* Every bit of the ciphertext and the tag. */
    size_t len = 0;
    uint8_t *ct = ciphertext_of(env, &len);
    for (size_t i = 0; i < len; i++) {
        for (unsigned bit = 0; bit < 8; bit++) {
            uint8_t *f = ncsl_test_flipped_copy(ct, len, i, (uint8_t)(1u << bit));
            json_t *bad = with_ciphertext(env, f, len);
            expect_auth_failure(k, bad, KAT_USER, "API_KEY");
            json_decref(bad);
            free(f);
        }
    }
    /* Truncated by one byte, extended by one, ciphertext without its tag. */
    json_t *bad = with_ciphertext(env, ct, len - 1);
    expect_auth_failure(k, bad, KAT_USER, "API_KEY");
    json_decref(bad);
    uint8_t *longer = calloc(1, len + 1);
    memcpy(longer, ct, len);
    bad = with_ciphertext(env, longer, len + 1);
    expect_auth_failure(k, bad, KAT_USER, "API_KEY");
    json_decref(bad);
    free(longer);
    bad = with_ciphertext(env, ct, len - 16);
    expect_auth_failure(k, bad, KAT_USER, "API_KEY");
    json_decref(bad);
    /* Shorter than a tag, and empty. */
    for (size_t n = 0; n < 16; n += 15) {
        bad = with_ciphertext(env, ct, n);
        open_expect(k, bad, KAT_USER, "API_KEY", LIMIT, NCSL_E_INVALID_ARG,
                    "encryptedValue.ciphertext", NULL, &err);
        assert_non_null(strstr(err.message, "shorter than the 16-byte tag"));
        json_decref(bad);
    }
    free(ct);
    open_ok(k, env, KAT_USER, "API_KEY", VALUE); /* the original still opens */
    json_decref(env);
    ncsl_keys_destroy(k);
}

/* ------------------------------------------------------------------------- format */

static void test_malformed_envelopes(void **unused) {
    ncsl_keys *k = random_enclave();
    ncsl_err err;
    json_t *env = seal_to(k, KAT_USER, "API_KEY", VALUE, strlen(VALUE));
    const char *ek = json_string_value(json_object_get(env, "encryptionKey"));
    char upper[65];
    for (size_t i = 0; i < 65; i++) {
        upper[i] = (char)(ek[i] >= 'a' && ek[i] <= 'f' ? ek[i] - 32 : ek[i]);
    }
    char *ek_0x = NULL;
    assert_true(asprintf(&ek_0x, "0x%.62s", ek) > 0);

    const struct {
        const char *member;
        json_t *value; /* NULL: member removed */
        const char *field;
    } cases[] = {
        {"alg", json_string("ncsl-x25519-hkdf-sha256-aes256gcm-v2"), "encryptedValue.alg"},
        {"alg", json_string(""), "encryptedValue.alg"},
        {"alg", json_string("NCSL-X25519-HKDF-SHA256-AES256GCM-V1"), "encryptedValue.alg"},
        {"alg", json_integer(1), "encryptedValue.alg"},
        {"alg", NULL, "encryptedValue.alg"},
        {"encryptionKey", json_stringn(ek, 62), "encryptedValue.encryptionKey"},
        {"encryptionKey", json_string(upper), "encryptedValue.encryptionKey"},
        {"encryptionKey", json_string(ek_0x), "encryptedValue.encryptionKey"},
        {"encryptionKey", json_null(), "encryptedValue.encryptionKey"},
        {"encryptionKey", NULL, "encryptedValue.encryptionKey"},
        {"ephemeralKey", json_string("00"), "encryptedValue.ephemeralKey"},
        {"ephemeralKey", json_string(""), "encryptedValue.ephemeralKey"},
        {"ephemeralKey",
         json_string("zz9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"),
         "encryptedValue.ephemeralKey"},
        {"ephemeralKey", json_string(KAT_EPH_PUB "00"), "encryptedValue.ephemeralKey"},
        {"ephemeralKey", NULL, "encryptedValue.ephemeralKey"},
        {"nonce", json_string("000102030405060708090a"), "encryptedValue.nonce"},
        {"nonce", json_string("000102030405060708090a0b0c"), "encryptedValue.nonce"},
        {"nonce", json_string("000102030405060708090a0"), "encryptedValue.nonce"},
        {"nonce", json_string("00010203040506070809 a0b"), "encryptedValue.nonce"},
        {"nonce", json_array(), "encryptedValue.nonce"},
        {"nonce", NULL, "encryptedValue.nonce"},
        {"ciphertext", json_string("not base64!"), "encryptedValue.ciphertext"},
        {"ciphertext", json_string("uvIDsH8vs0l+CzrChY9snNU3z0OpTp6x+4bfsQ"),
         "encryptedValue.ciphertext"}, /* padding missing */
        {"ciphertext", json_string("uvIDsH8vs0l+CzrChY9snNU3z0OpTp6x+4bfsR=="),
         "encryptedValue.ciphertext"}, /* unused bits set: not canonical */
        {"ciphertext", json_string("uvIDsH8vs0l-CzrChY9snNU3z0OpTp6x_4bfsQ=="),
         "encryptedValue.ciphertext"}, /* base64url */
        {"ciphertext", json_stringn("uvID\0sH8", 8), "encryptedValue.ciphertext"},
        {"ciphertext", json_true(), "encryptedValue.ciphertext"},
        {"ciphertext", NULL, "encryptedValue.ciphertext"},
        {"extra", json_string("x"), "encryptedValue.extra"},
        {"value", json_string(VALUE), "encryptedValue.value"},
    };
    for (size_t i = 0; i < NCSL_ARRAY_LEN(cases); i++) {
        json_t *bad = with(env, cases[i].member, cases[i].value);
        open_expect(k, bad, KAT_USER, "API_KEY", LIMIT, NCSL_E_INVALID_ARG, cases[i].field, NULL,
                    &err);
        assert_int_equal(strncmp(err.message, "encryptedValue: ", 16), 0);
        json_decref(bad);
    }
    ncsl_err_clear(&err);
    json_t *bad = with_str(env, "alg", "x");
    open_expect(k, bad, KAT_USER, "API_KEY", LIMIT, NCSL_E_INVALID_ARG, "encryptedValue.alg", NULL,
                &err);
    assert_non_null(strstr(err.message, "unsupported alg"));
    json_decref(bad);

    /* Not an object at all. */
    json_t *not_objects[] = {json_null(), json_string("abc"), json_array(), json_integer(0)};
    for (size_t i = 0; i < NCSL_ARRAY_LEN(not_objects); i++) {
        open_expect(k, not_objects[i], KAT_USER, "API_KEY", LIMIT, NCSL_E_INVALID_ARG,
                    "encryptedValue", NULL, &err);
        json_decref(not_objects[i]);
    }
    open_expect(k, NULL, KAT_USER, "API_KEY", LIMIT, NCSL_E_INVALID_ARG, "encryptedValue", NULL,
                &err);

    /* A small-order ephemeral key (0 and 1). */
    bad = with_str(env, "ephemeralKey",
                   "0000000000000000000000000000000000000000000000000000000000000000");
    open_expect(k, bad, KAT_USER, "API_KEY", LIMIT, NCSL_E_KEY_INVALID,
                "encryptedValue.ephemeralKey", NULL, &err);
    json_decref(bad);
    bad = with_str(env, "ephemeralKey",
                   "0100000000000000000000000000000000000000000000000000000000000000");
    open_expect(k, bad, KAT_USER, "API_KEY", LIMIT, NCSL_E_KEY_INVALID,
                "encryptedValue.ephemeralKey", NULL, &err);
    json_decref(bad);

    free(ek_0x);
    json_decref(env);
    ncsl_keys_destroy(k);
}

/* ------------------------------------------------------------------------- limits */

static void test_size_limits(void **unused) {
    ncsl_keys *k = random_enclave();
    ncsl_err err;
    char *big = malloc(LIMIT + 2);
    memset(big, 'v', LIMIT + 1);
    big[LIMIT + 1] = '\0';

    /* Exactly the limit opens; one byte more is refused before decryption. */
    json_t *at = seal_to(k, KAT_USER, "BIG", big, LIMIT);
    size_t n = 0;
    char *pt = open_expect(k, at, KAT_USER, "BIG", LIMIT, NCSL_OK, NULL, &n, &err);
    assert_int_equal(n, LIMIT);
    ncsl_keys_envelope_free(pt, n);
    json_t *over = seal_to(k, KAT_USER, "BIG", big, LIMIT + 1);
    open_expect(k, over, KAT_USER, "BIG", LIMIT, NCSL_E_PAYLOAD_TOO_LARGE,
                "encryptedValue.ciphertext", NULL, &err);
    assert_non_null(strstr(err.message, "4096"));
    pt = open_expect(k, over, KAT_USER, "BIG", LIMIT + 1, NCSL_OK, NULL, &n, &err);
    ncsl_keys_envelope_free(pt, n);
    /* The check is on the decoded length too, not only the text's: a value one byte over the
     * limit whose base64 is as long as the limit's. */
    json_t *small = seal_to(k, KAT_USER, "BIG", big, 10);
    open_expect(k, small, KAT_USER, "BIG", 9, NCSL_E_PAYLOAD_TOO_LARGE, "encryptedValue.ciphertext",
                NULL, &err);
    open_expect(k, small, KAT_USER, "BIG", 0, NCSL_E_PAYLOAD_TOO_LARGE, "encryptedValue.ciphertext",
                NULL, &err);

    /* A huge ciphertext text is refused from its length alone (not even base64). */
    size_t huge_len = (size_t)4 << 20;
    char *huge = malloc(huge_len);
    memset(huge, '!', huge_len);
    json_t *h = with(at, "ciphertext", json_stringn(huge, huge_len));
    open_expect(k, h, KAT_USER, "BIG", LIMIT, NCSL_E_PAYLOAD_TOO_LARGE, "encryptedValue.ciphertext",
                NULL, &err);
    json_decref(h);
    free(huge);

    /* Seal refuses more than the format carries. */
    size_t max = NCSL_KEYS_ENVELOPE_MAX_PLAINTEXT;
    char *too_big = calloc(1, max + 1);
    memset(too_big, 'x', max + 1);
    uint8_t pub[32];
    ncsl_keys_encryption_pub(k, pub);
    json_t *out = NULL;
    assert_int_equal(ncsl_keys_envelope_seal(pub, "u", "n", too_big, max + 1, &out, &err),
                     NCSL_E_PAYLOAD_TOO_LARGE);
    assert_string_equal(err.field, "plaintext");
    assert_null(out);
    free(too_big);

    json_decref(at);
    json_decref(over);
    json_decref(small);
    free(big);
    ncsl_keys_destroy(k);
}

/* ------------------------------------------------------------------------- arguments */

static void test_bad_arguments(void **unused) {
    ncsl_keys *k = random_enclave();
    ncsl_err err;
    uint8_t pub[32];
    ncsl_keys_encryption_pub(k, pub);
    json_t *out = NULL;
    char long_id[NCSL_KEYS_ENVELOPE_MAX_ID + 2];
    memset(long_id, 'u', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = '\0';

    const struct {
        const char *user;
        const char *name;
        const char *value;
        size_t len;
        ncsl_status st;
        const char *field;
    } seals[] = {
        {NULL, "n", "v", 1, NCSL_E_INVALID_ARG, "user_id"},
        {"", "n", "v", 1, NCSL_E_INVALID_ARG, "user_id"},
        {long_id, "n", "v", 1, NCSL_E_INVALID_ARG, "user_id"},
        {"u", NULL, "v", 1, NCSL_E_INVALID_ARG, "name"},
        {"u", "", "v", 1, NCSL_E_INVALID_ARG, "name"},
        {"u", long_id, "v", 1, NCSL_E_INVALID_ARG, "name"},
        {"u", "n", NULL, 1, NCSL_E_INVALID_ARG, "plaintext"},
        {"u", "n", "a\0b", 3, NCSL_E_INVALID_ARG, "plaintext"},
        {"u", "n", "\xff", 1, NCSL_E_INVALID_ARG, "plaintext"},
        {"u", "n", "\xc3", 1, NCSL_E_INVALID_ARG, "plaintext"},
        {"u", "n", "\xed\xa0\x80", 3, NCSL_E_INVALID_ARG, "plaintext"}, /* a surrogate */
    };
    for (size_t i = 0; i < NCSL_ARRAY_LEN(seals); i++) {
        ncsl_err_clear(&err);
        out = NULL;
        assert_int_equal(ncsl_keys_envelope_seal(pub, seals[i].user, seals[i].name, seals[i].value,
                                                 seals[i].len, &out, &err),
                         seals[i].st);
        assert_string_equal(err.field, seals[i].field);
        assert_null(out);
    }
    assert_int_equal(ncsl_keys_envelope_seal(NULL, "u", "n", "v", 1, &out, &err),
                     NCSL_E_INVALID_ARG);
    assert_int_equal(ncsl_keys_envelope_seal(pub, "u", "n", "v", 1, NULL, &err),
                     NCSL_E_INVALID_ARG);
    /* A small-order enclave key (as a forged proof could carry). */
    static const uint8_t zero[32] = {0};
    assert_int_equal(ncsl_keys_envelope_seal(zero, "u", "n", "v", 1, &out, &err),
                     NCSL_E_KEY_INVALID);
    assert_string_equal(err.field, "enclave_pub");
    assert_null(out);
    /* Longest ids work. */
    long_id[NCSL_KEYS_ENVELOPE_MAX_ID] = '\0';
    json_t *env = seal_to(k, long_id, long_id, VALUE, strlen(VALUE));
    open_ok(k, env, long_id, long_id, VALUE);

    char *pt = NULL;
    size_t n = 0;
    assert_int_equal(ncsl_keys_envelope_open(NULL, env, "u", "n", LIMIT, &pt, &n, &err),
                     NCSL_E_INVALID_ARG);
    assert_string_equal(err.field, "keys");
    assert_int_equal(ncsl_keys_envelope_open(k, env, "", "n", LIMIT, &pt, &n, &err),
                     NCSL_E_INVALID_ARG);
    assert_string_equal(err.field, "user_id");
    assert_int_equal(ncsl_keys_envelope_open(k, env, "u", NULL, LIMIT, &pt, &n, &err),
                     NCSL_E_INVALID_ARG);
    assert_string_equal(err.field, "name");
    assert_int_equal(ncsl_keys_envelope_open(k, env, long_id, long_id,
                                             NCSL_KEYS_ENVELOPE_MAX_PLAINTEXT + 1, &pt, &n, &err),
                     NCSL_E_INVALID_ARG);
    assert_string_equal(err.field, "max_plaintext");
    assert_int_equal(ncsl_keys_envelope_open(k, env, "u", "n", LIMIT, NULL, &n, NULL),
                     NCSL_E_INVALID_ARG);
    assert_null(pt);
    ncsl_keys_envelope_free(NULL, 0);
    json_decref(env);
    ncsl_keys_destroy(k);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answer_vector),
        cmocka_unit_test(test_round_trip_on_the_simulation_tee),
        cmocka_unit_test(test_bound_to_user_and_name),
        cmocka_unit_test(test_other_enclave_key),
        cmocka_unit_test(test_every_member_tampered),
        cmocka_unit_test(test_malformed_envelopes),
        cmocka_unit_test(test_size_limits),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
