/*
 * Receipts: the byte encoding against a known answer (computed independently with Python), a
 * receipt signed by another signer (the OpenSSL command line) verifying, sign -> JSON -> verify,
 * every field altered, a wrong expected key, strict parsing with errors naming the field, input
 * limits, and the Neo N3 address vectors.
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
#include "keys/trust_util.h"
#include "receipt/receipt.h"

/* The worked example of docs/receipts.md. Test key (a published Neo test account; never use it
 * for anything real): private 84180ac9...27a5, public 033a4d05...7f1b. */
#define KAT_EXEC_ID "5f0c6b1e-8a2d-4c3b-9e7f-1a2b3c4d5e6f"
#define KAT_FUNCTION_ID "price-oracle"
#define KAT_USER_ID "user-42"
#define KAT_CODE "function main(input) { return { result: input.value * 2 }; }"
#define KAT_INPUT "{\"value\":42}"
#define KAT_OUTPUT "{\"result\":84}"
#define KAT_TIMESTAMP "2026-11-24T15:00:00.123Z"
#define KAT_TIMESTAMP_MS 1795532400123ull
#define KAT_PRIVATE "84180ac9d6eb6fba207ea4ef9d2200102d1ebeb4b9c07e2c6a738a42742e27a5"
#define KAT_PUB "033a4d051b04b7fc0230d2b1aaedfd5a84be279a5361a7358db665ad7857787f1b"
#define KAT_CODE_HASH "aa07b1052f89d0d2a08411ec7ef360a08607f7ecd8468adb0381639816b0763d"
#define KAT_INPUT_HASH "dc60e632a90329ccfd34fbe904d94704dbbb6669575185e26389854ff64139c3"
#define KAT_OUTPUT_HASH "6ee80ff7e55dcb98c1febae90aa31220326ec29847cd1d8844213d20adadf177"
/* The 213-byte message (Python: struct.pack and hashlib, not this library). */
#define KAT_MESSAGE                                                                                \
    "4e43534c2d524543454950542d7631"                                                               \
    "0024"                                                                                         \
    "35663063366231652d386132642d346333622d396537662d316132623363346435653666"                     \
    "000c"                                                                                         \
    "70726963652d6f7261636c65"                                                                     \
    "0007"                                                                                         \
    "757365722d3432"                                                                               \
    "aa07b1052f89d0d2a08411ec7ef360a08607f7ecd8468adb0381639816b0763d"                             \
    "dc60e632a90329ccfd34fbe904d94704dbbb6669575185e26389854ff64139c3"                             \
    "6ee80ff7e55dcb98c1febae90aa31220326ec29847cd1d8844213d20adadf177"                             \
    "000001a20e1225fb"                                                                             \
    "033a4d051b04b7fc0230d2b1aaedfd5a84be279a5361a7358db665ad7857787f1b"
/* Made with `openssl dgst -sha256 -sign` over KAT_MESSAGE, DER converted to r || s (low s). */
#define KAT_SIGNATURE                                                                              \
    "edf9795ae16b115c3c1bf295cc4f90228ea7176eb90dc65b8aa1341905de1b50"                             \
    "696779d26430084f85e6f9642373817287be73d9ba710c77650c86859733f9d1"

static void unhex(const char *hex, uint8_t *out, size_t len) {
    size_t got = 0;
    assert_int_equal(ncsl_crypto_hex_decode(hex, strlen(hex), out, len, &got, NULL), NCSL_OK);
    assert_int_equal(got, len);
}

static void sha(const char *s, uint8_t out[32]) {
    assert_int_equal(ncsl_crypto_sha256(s, strlen(s), out, NULL), NCSL_OK);
}

static void kat_input(ncsl_receipt_input *in) {
    memset(in, 0, sizeof(*in));
    in->execution_id = KAT_EXEC_ID;
    in->function_id = KAT_FUNCTION_ID;
    in->user_id = KAT_USER_ID;
    sha(KAT_CODE, in->code_hash);
    sha(KAT_INPUT, in->input_hash);
    sha(KAT_OUTPUT, in->output_hash);
    in->timestamp_ms = KAT_TIMESTAMP_MS;
}

static ncsl_keys *kat_keys(void) {
    uint8_t d[32], x[32] = {1};
    ncsl_keys *k = NULL;
    unhex(KAT_PRIVATE, d, 32);
    assert_int_equal(ncsl__keys_from_private(d, x, &k, NULL), NCSL_OK);
    return k;
}

static json_t *kat_json(void) {
    json_t *j = json_object();
    json_object_set_new(j, "executionId", json_string(KAT_EXEC_ID));
    json_object_set_new(j, "functionId", json_string(KAT_FUNCTION_ID));
    json_object_set_new(j, "userId", json_string(KAT_USER_ID));
    json_object_set_new(j, "codeHash", json_string(KAT_CODE_HASH));
    json_object_set_new(j, "inputHash", json_string(KAT_INPUT_HASH));
    json_object_set_new(j, "outputHash", json_string(KAT_OUTPUT_HASH));
    json_object_set_new(j, "timestamp", json_string(KAT_TIMESTAMP));
    json_object_set_new(j, "signingKey", json_string(KAT_PUB));
    json_object_set_new(j, "signature", json_string(KAT_SIGNATURE));
    return j;
}

/* ------------------------------------------------------------------------- encoding */

static void test_encoding_known_answer(void **unused) {
    ncsl_receipt_input in;
    kat_input(&in);
    ncsl_keys *k = kat_keys();
    ncsl_receipt r;
    ncsl_err err;
    assert_int_equal(ncsl_receipt_sign(k, &in, &r, &err), NCSL_OK);
    char hex[65];
    assert_int_equal(ncsl_crypto_hex_encode(r.code_hash, 32, hex, sizeof(hex), NULL), NCSL_OK);
    assert_string_equal(hex, KAT_CODE_HASH);

    uint8_t *msg = NULL;
    size_t len = 0;
    assert_int_equal(ncsl_receipt_encode(&r, &msg, &len, &err), NCSL_OK);
    uint8_t want[213];
    assert_int_equal(strlen(KAT_MESSAGE), 2 * sizeof(want));
    unhex(KAT_MESSAGE, want, sizeof(want));
    assert_int_equal(len, sizeof(want));
    assert_int_equal(len, NCSL_RECEIPT_FIXED_SIZE + strlen(KAT_EXEC_ID) + strlen(KAT_FUNCTION_ID) +
                              strlen(KAT_USER_ID));
    assert_memory_equal(msg, want, sizeof(want));
    free(msg);

    /* Our signature verifies over exactly those bytes with the raw P-256 helper (the check a Neo
     * contract does with CryptoLib.verifyWithECDsa(message, key, signature, 23)). */
    uint8_t pub[33];
    unhex(KAT_PUB, pub, 33);
    assert_int_equal(ncsl_keys_p256_verify(pub, want, sizeof(want), r.signature, &err), NCSL_OK);

    /* The JSON: members in order, timestamp canonical. */
    json_t *j = NULL;
    assert_int_equal(ncsl_receipt_to_json(&r, &j, &err), NCSL_OK);
    static const char *const order[] = {"executionId", "functionId", "userId",
                                        "codeHash",    "inputHash",  "outputHash",
                                        "timestamp",   "signingKey", "signature"};
    size_t i = 0;
    const char *key;
    json_t *val;
    json_object_foreach(j, key, val) {
        assert_string_equal(key, order[i]);
        i++;
    }
    assert_int_equal(i, 9);
    assert_string_equal(json_string_value(json_object_get(j, "timestamp")), KAT_TIMESTAMP);
    assert_string_equal(json_string_value(json_object_get(j, "signingKey")), KAT_PUB);
    assert_string_equal(json_string_value(json_object_get(j, "outputHash")), KAT_OUTPUT_HASH);
    json_decref(j);
    ncsl_receipt_cleanup(&r);
    ncsl_receipt_cleanup(&r); /* twice is fine */
    ncsl_receipt_cleanup(NULL);
    ncsl_keys_destroy(k);
}

/* A receipt signed outside this library verifies: the encoding is what we documented. */
static void test_foreign_signature_verifies(void **unused) {
    json_t *j = kat_json();
    ncsl_receipt r;
    ncsl_err err;
    uint8_t pub[33];
    unhex(KAT_PUB, pub, 33);
    ncsl_status st = ncsl_receipt_verify_json(j, pub, &r, &err);
    if (st != NCSL_OK) {
        fprintf(stderr, "verify: %s\n", err.message);
    }
    assert_int_equal(st, NCSL_OK);
    assert_string_equal(r.execution_id, KAT_EXEC_ID);
    assert_string_equal(r.function_id, KAT_FUNCTION_ID);
    assert_int_equal(r.timestamp_ms, KAT_TIMESTAMP_MS);
    ncsl_receipt_cleanup(&r);

    /* Text form, and without an expected key. */
    char *text = json_dumps(j, JSON_COMPACT);
    assert_int_equal(ncsl_receipt_verify_text(text, strlen(text), NULL, NULL, &err), NCSL_OK);
    free(text);

    /* The high-s twin of that signature verifies too (documented: both halves accepted). */
    uint8_t sig[64];
    unhex(KAT_SIGNATURE, sig, 64);
    unsigned borrow = 0;
    for (int i = 31; i >= 0; i--) {
        unsigned v = (unsigned)ncsl__keys_p256_order[i] - sig[32 + i] - borrow;
        sig[32 + i] = (uint8_t)v;
        borrow = (v >> 8) & 1u;
    }
    char hex[129];
    assert_int_equal(ncsl_crypto_hex_encode(sig, 64, hex, sizeof(hex), NULL), NCSL_OK);
    json_object_set_new(j, "signature", json_string(hex));
    assert_int_equal(ncsl_receipt_verify_json(j, pub, NULL, &err), NCSL_OK);
    json_decref(j);
}

/* ------------------------------------------------------------------------- sign / verify */

static void test_sign_roundtrip(void **unused) {
    ncsl_keys *k = NULL;
    ncsl_err err;
    assert_int_equal(ncsl_keys_create_ephemeral(NULL, &k, &err), NCSL_OK);
    ncsl_receipt_input in;
    kat_input(&in);
    in.function_id = NULL; /* -> "" */
    in.user_id = "\xC3\xBC"
                 "ser-\xE2\x82\xAC"; /* non-ASCII: lengths are UTF-8 bytes */
    in.timestamp_ms = 0;             /* -> now */
    ncsl_receipt r, back;
    assert_int_equal(ncsl_receipt_sign(k, &in, &r, &err), NCSL_OK);
    assert_string_equal(r.function_id, "");
    uint64_t now = ncsl__trust_now_ms();
    assert_true(r.timestamp_ms <= now && r.timestamp_ms + 60000 > now);
    uint8_t pub[33];
    ncsl_keys_signing_pub_compressed(k, pub);
    assert_memory_equal(r.signing_key, pub, 33);
    assert_int_equal(ncsl_receipt_verify(&r, pub, &err), NCSL_OK);

    json_t *j = NULL;
    assert_int_equal(ncsl_receipt_to_json(&r, &j, &err), NCSL_OK);
    assert_int_equal(ncsl_receipt_verify_json(j, pub, &back, &err), NCSL_OK);
    assert_string_equal(back.execution_id, r.execution_id);
    assert_string_equal(back.function_id, "");
    assert_string_equal(back.user_id, in.user_id);
    assert_memory_equal(back.code_hash, r.code_hash, 32);
    assert_memory_equal(back.input_hash, r.input_hash, 32);
    assert_memory_equal(back.output_hash, r.output_hash, 32);
    assert_int_equal(back.timestamp_ms, r.timestamp_ms);
    assert_memory_equal(back.signature, r.signature, 64);
    ncsl_receipt_cleanup(&back);

    /* Wrong expected key: refused even though the signature itself is fine. */
    ncsl_keys *other = NULL;
    uint8_t other_pub[33];
    assert_int_equal(ncsl_keys_create_ephemeral(NULL, &other, &err), NCSL_OK);
    ncsl_keys_signing_pub_compressed(other, other_pub);
    assert_int_equal(ncsl_receipt_verify_json(j, other_pub, NULL, &err), NCSL_E_RECEIPT_INVALID);
    assert_string_equal(err.field, "signingKey");
    assert_int_equal(ncsl_receipt_verify(&r, other_pub, &err), NCSL_E_RECEIPT_INVALID);

    /* Re-signed by another key with its key embedded: valid alone, refused against ours. */
    ncsl_receipt r2;
    assert_int_equal(ncsl_receipt_sign(other, &in, &r2, &err), NCSL_OK);
    assert_int_equal(ncsl_receipt_verify(&r2, NULL, &err), NCSL_OK);
    assert_int_equal(ncsl_receipt_verify(&r2, pub, &err), NCSL_E_RECEIPT_INVALID);
    /* Our signature with their key swapped in: the signature fails. */
    memcpy(r2.signature, r.signature, 64);
    assert_int_equal(ncsl_receipt_verify(&r2, NULL, &err), NCSL_E_RECEIPT_INVALID);
    assert_string_equal(err.field, "signature");
    ncsl_receipt_cleanup(&r2);

    json_decref(j);
    ncsl_receipt_cleanup(&r);
    ncsl_keys_destroy(other);
    ncsl_keys_destroy(k);
}

typedef struct alter_case {
    const char *field;
    const char *value;
} alter_case;

/* Each field of a valid receipt changed to another well-formed value: the signature fails. */
static void test_each_field_altered(void **unused) {
    static const alter_case cases[] = {
        {"executionId", "5f0c6b1e-8a2d-4c3b-9e7f-1a2b3c4d5e6e"},
        {"executionId", "5f0c6b1e-8a2d-4c3b-9e7f-1a2b3c4d5e6f "},
        {"functionId", "price-oracle2"},
        {"functionId", ""},
        {"userId", "user-43"},
        {"userId", "user-4"},
        {"codeHash", "ba07b1052f89d0d2a08411ec7ef360a08607f7ecd8468adb0381639816b0763d"},
        {"inputHash", "dc60e632a90329ccfd34fbe904d94704dbbb6669575185e26389854ff64139c2"},
        {"outputHash", "6ee80ff7e55dcb98c1febae90aa31220326ec29847cd1d8844213d20adadf178"},
        /* hashes moved between fields */
        {"inputHash", KAT_OUTPUT_HASH},
        {"timestamp", "2026-11-24T15:00:00.124Z"},
        {"timestamp", "2026-11-24T15:00:01.123Z"},
        /* another valid key (the generator G) */
        {"signingKey", "036b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296"},
        {"signature", "edf9795ae16b115c3c1bf295cc4f90228ea7176eb90dc65b8aa1341905de1b50"
                      "696779d26430084f85e6f9642373817287be73d9ba710c77650c86859733f9d0"},
        {"signature", "fdf9795ae16b115c3c1bf295cc4f90228ea7176eb90dc65b8aa1341905de1b50"
                      "696779d26430084f85e6f9642373817287be73d9ba710c77650c86859733f9d1"},
    };
    /* Moving a byte from one string to the next keeps the concatenation but not the encoding:
     * the length prefixes make it a different message. */
    static const alter_case shift[] = {{"functionId", "price-oracl"}, {"userId", "euser-42"}};

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *j = kat_json();
        json_object_set_new(j, cases[i].field, json_string(cases[i].value));
        ncsl_err err;
        ncsl_status st = ncsl_receipt_verify_json(j, NULL, NULL, &err);
        if (st != NCSL_E_RECEIPT_INVALID) {
            fprintf(stderr, "case %zu (%s): %d %s\n", i, cases[i].field, st, err.message);
        }
        assert_int_equal(st, NCSL_E_RECEIPT_INVALID);
        assert_string_equal(err.field, "signature");
        json_decref(j);
    }
    json_t *j = kat_json();
    for (size_t i = 0; i < 2; i++) {
        json_object_set_new(j, shift[i].field, json_string(shift[i].value));
    }
    ncsl_err err;
    assert_int_equal(ncsl_receipt_verify_json(j, NULL, NULL, &err), NCSL_E_RECEIPT_INVALID);
    json_decref(j);
}

typedef struct malformed_case {
    const char *field;
    const char *json_value; /* NULL: remove the member */
} malformed_case;

static void test_malformed_fields(void **unused) {
    static const malformed_case cases[] = {
        {"executionId", NULL},
        {"executionId", "\"\""},
        {"executionId", "42"},
        {"executionId", "null"},
        {"executionId", "\"a\\u0000b\""},
        {"functionId", NULL},
        {"functionId", "[]"},
        {"userId", NULL},
        {"userId", "false"},
        {"codeHash", NULL},
        {"codeHash", "\"AA07B1052F89D0D2A08411EC7EF360A08607F7ECD8468ADB0381639816B0763D\""},
        {"codeHash", "\"aa07\""},
        {"inputHash", "\"zz60e632a90329ccfd34fbe904d94704dbbb6669575185e26389854ff64139c3\""},
        {"outputHash", NULL},
        {"timestamp", NULL},
        {"timestamp", "\"2026-11-24T15:00:00Z\""},
        {"timestamp", "\"2026-11-24T15:00:00.123+00:00\""},
        {"timestamp", "1795532400123"},
        {"timestamp", "\"2026-02-30T15:00:00.123Z\""},
        {"signingKey", NULL},
        {"signingKey", "\"043a4d051b04b7fc0230d2b1aaedfd5a84be279a5361a7358db665ad7857787f1b\""},
        {"signingKey", "\"020000000000000000000000000000000000000000000000000000000000000001\""},
        {"signingKey", "\"033a4d\""},
        {"signature", NULL},
        {"signature", "\"00\""},
        {"signature", "\"\""},
        {"extra", "\"x\""},
        {"Signature", "\"x\""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *j = kat_json();
        if (cases[i].json_value) {
            json_error_t jerr;
            json_t *v = json_loads(cases[i].json_value, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
            assert_non_null(v);
            json_object_set_new(j, cases[i].field, v);
        } else {
            json_object_del(j, cases[i].field);
        }
        ncsl_receipt r;
        ncsl_err err;
        ncsl_status st = ncsl_receipt_verify_json(j, NULL, &r, &err);
        if (st != NCSL_E_RECEIPT_MALFORMED || strcmp(err.field, cases[i].field) != 0) {
            fprintf(stderr, "case %zu (%s): %d field '%s': %s\n", i, cases[i].field, st, err.field,
                    err.message);
        }
        assert_int_equal(st, NCSL_E_RECEIPT_MALFORMED);
        assert_string_equal(err.field, cases[i].field);
        assert_non_null(strstr(err.message, cases[i].field));
        assert_null(r.execution_id); /* nothing half-parsed is handed out */
        json_decref(j);
    }
    /* Too long strings. */
    char big[1100];
    memset(big, 'a', sizeof(big));
    big[257] = '\0';
    json_t *j = kat_json();
    json_object_set_new(j, "executionId", json_string(big));
    ncsl_err err;
    assert_int_equal(ncsl_receipt_verify_json(j, NULL, NULL, &err), NCSL_E_RECEIPT_MALFORMED);
    assert_string_equal(err.field, "executionId");
    json_decref(j);
    big[257] = 'a';
    big[1025] = '\0';
    j = kat_json();
    json_object_set_new(j, "userId", json_string(big));
    assert_int_equal(ncsl_receipt_verify_json(j, NULL, NULL, &err), NCSL_E_RECEIPT_MALFORMED);
    assert_string_equal(err.field, "userId");
    json_decref(j);

    /* from_json alone (no signature check) also refuses a key that is not a point. */
    j = kat_json();
    json_object_set_new(
        j, "signingKey",
        json_string("020000000000000000000000000000000000000000000000000000000000000001"));
    ncsl_receipt r;
    assert_int_equal(ncsl_receipt_from_json(j, &r, &err), NCSL_E_RECEIPT_MALFORMED);
    assert_string_equal(err.field, "signingKey");
    json_decref(j);
    j = kat_json();
    assert_int_equal(ncsl_receipt_from_json(j, &r, &err), NCSL_OK);
    assert_string_equal(r.user_id, KAT_USER_ID);
    ncsl_receipt_cleanup(&r);
    json_decref(j);

    /* Not an object, not JSON, duplicates. */
    json_t *arr = json_array();
    assert_int_equal(ncsl_receipt_verify_json(arr, NULL, NULL, &err), NCSL_E_RECEIPT_MALFORMED);
    json_decref(arr);
    assert_int_equal(ncsl_receipt_verify_text("nope", 4, NULL, NULL, &err),
                     NCSL_E_RECEIPT_MALFORMED);
    j = kat_json();
    char *text = json_dumps(j, JSON_COMPACT);
    char dup[2048];
    snprintf(dup, sizeof(dup), "{\"userId\":\"user-42\",%s", text + 1);
    assert_int_equal(ncsl_receipt_verify_text(dup, strlen(dup), NULL, NULL, &err),
                     NCSL_E_RECEIPT_MALFORMED);
    assert_non_null(strstr(err.message, "duplicate"));
    free(text);
    json_decref(j);
}

static void test_sign_limits(void **unused) {
    ncsl_keys *k = kat_keys();
    ncsl_receipt_input in;
    ncsl_receipt r;
    ncsl_err err;
    char big[1100];

    kat_input(&in);
    in.execution_id = "";
    assert_int_equal(ncsl_receipt_sign(k, &in, &r, &err), NCSL_E_INVALID_ARG);
    assert_string_equal(err.field, "executionId");
    assert_null(r.execution_id);
    in.execution_id = NULL;
    assert_int_equal(ncsl_receipt_sign(k, &in, &r, &err), NCSL_E_INVALID_ARG);

    memset(big, 'x', sizeof(big));
    big[256] = '\0';
    in.execution_id = big;
    assert_int_equal(ncsl_receipt_sign(k, &in, &r, &err), NCSL_OK);
    ncsl_receipt_cleanup(&r);
    big[256] = 'x';
    big[257] = '\0';
    assert_int_equal(ncsl_receipt_sign(k, &in, &r, &err), NCSL_E_INVALID_ARG);
    in.execution_id = KAT_EXEC_ID;

    big[257] = 'x';
    big[1024] = '\0';
    in.function_id = big;
    assert_int_equal(ncsl_receipt_sign(k, &in, &r, &err), NCSL_OK);
    /* a long field survives the JSON round trip */
    json_t *j = NULL;
    assert_int_equal(ncsl_receipt_to_json(&r, &j, &err), NCSL_OK);
    assert_int_equal(ncsl_receipt_verify_json(j, NULL, NULL, &err), NCSL_OK);
    json_decref(j);
    ncsl_receipt_cleanup(&r);
    big[1024] = 'x';
    big[1025] = '\0';
    assert_int_equal(ncsl_receipt_sign(k, &in, &r, &err), NCSL_E_INVALID_ARG);
    assert_string_equal(err.field, "functionId");
    in.function_id = KAT_FUNCTION_ID;

    in.user_id = "bad \xC0\xAF utf-8";
    assert_int_equal(ncsl_receipt_sign(k, &in, &r, &err), NCSL_E_INVALID_ARG);
    assert_string_equal(err.field, "userId");
    in.user_id = KAT_USER_ID;

    in.timestamp_ms = 253402300800000ull; /* year 10000 */
    assert_int_equal(ncsl_receipt_sign(k, &in, &r, &err), NCSL_E_INVALID_ARG);
    assert_string_equal(err.field, "timestamp");
    in.timestamp_ms = 253402300799999ull;
    assert_int_equal(ncsl_receipt_sign(k, &in, &r, &err), NCSL_OK);
    ncsl_receipt_cleanup(&r);

    assert_int_equal(ncsl_receipt_sign(NULL, &in, &r, &err), NCSL_E_INVALID_ARG);
    ncsl_keys_destroy(k);
}

/* ------------------------------------------------------------------------- Neo */

static void test_neo_address(void **unused) {
    ncsl_err err;
    char addr[NCSL_NEO_ADDRESS_SIZE];
    uint8_t h[20];

    /* REFERENCE.md: the script hash of the one-byte script 0x01 (RIPEMD160(SHA256(0x01))) has
     * the address NdtB8RXRmJ7Nhw1FPTm7E6HoDZGnDw37nf (also neo3-gogogo's test vector). */
    const uint8_t one = 0x01;
    assert_int_equal(ncsl_receipt_neo_script_hash(&one, 1, h, &err), NCSL_OK);
    uint8_t want_h[20];
    unhex("c51b66bced5e4491001bd702669770dccf440982", want_h, 20);
    assert_memory_equal(h, want_h, 20);
    assert_int_equal(ncsl_receipt_neo_address_from_script_hash(h, addr, &err), NCSL_OK);
    assert_string_equal(addr, "NdtB8RXRmJ7Nhw1FPTm7E6HoDZGnDw37nf");

    /* A published Neo N3 test account (neow3j / NeoSwift test properties): public key ->
     * verification script -> script hash 0x69ecca58... (displayed reversed) -> address. */
    uint8_t pub[33], script[40], want_script[40];
    unhex(KAT_PUB, pub, 33);
    ncsl_receipt_neo_verification_script(pub, script);
    unhex("0c21033a4d051b04b7fc0230d2b1aaedfd5a84be279a5361a7358db665ad7857787f1b4156e7b327",
          want_script, 40);
    assert_memory_equal(script, want_script, 40);
    assert_int_equal(ncsl_receipt_neo_script_hash(script, 40, h, &err), NCSL_OK);
    uint8_t displayed[20];
    unhex("69ecca587293047be4c59159bf8bc399985c160d", displayed, 20);
    for (int i = 0; i < 20; i++) {
        assert_int_equal(h[i], displayed[19 - i]);
    }
    assert_int_equal(ncsl_receipt_neo_address(pub, addr, &err), NCSL_OK);
    assert_string_equal(addr, "NM7Aky765FG8NhhwtxjXRx7jEL1cnw7PBP");
    assert_int_equal(strlen(addr), 34);

    /* An invalid key is refused. */
    pub[0] = 0x04;
    assert_int_equal(ncsl_receipt_neo_address(pub, addr, &err), NCSL_E_KEY_INVALID);
    assert_string_equal(err.field, "pub");

    /* Every address is 34 characters and starts with N (all-zero and all-FF hashes). */
    memset(h, 0, 20);
    assert_int_equal(ncsl_receipt_neo_address_from_script_hash(h, addr, &err), NCSL_OK);
    assert_int_equal(strlen(addr), 34);
    assert_int_equal(addr[0], 'N');
    memset(h, 0xFF, 20);
    assert_int_equal(ncsl_receipt_neo_address_from_script_hash(h, addr, &err), NCSL_OK);
    assert_int_equal(strlen(addr), 34);
    assert_int_equal(addr[0], 'N');
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encoding_known_answer),
        cmocka_unit_test(test_foreign_signature_verifies),
        cmocka_unit_test(test_sign_roundtrip),
        cmocka_unit_test(test_each_field_altered),
        cmocka_unit_test(test_malformed_fields),
        cmocka_unit_test(test_sign_limits),
        cmocka_unit_test(test_neo_address),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
