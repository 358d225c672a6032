/*
 * The `Neo` global (src/js/js_neo.c): Neo.keys.get without and with identity keys (the same key
 * as ncsl_keys_derive_p256 for the call's user, function and name; stable across calls; another
 * user or function gets another key; derived once per call; the private key unreachable),
 * signatures over strings and every kind of view checked in C with ncsl_keys_p256_verify, bad
 * names and the per-call cap, Neo.address (a known vector, the uncompressed form, invalid keys),
 * and Neo.secureRandom (types, ranges, uniformity, no modulo bias on a crafted max, BigInts up to
 * 4096 bits, a replaced global BigInt), plus gas.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <cmocka.h>

#include "crypto/crypto.h"
#include "js/js.h"
#include "js_fixture.h"
#include "keys/keys.h"
#include "keys/keys_int.h"
#include "receipt/receipt.h"

static ncsl_js_runtime *g_rt;
static ncsl_keys *g_keys; /* fixed identity: d = 01..20, x = 21..40 */

static ncsl_status run_as(const char *code, const char *input, const char *user, const char *fn,
                          uint64_t gas_limit, ncsl_js_outcome *o) {
    ncsl_js_call call = {
        .code = code,
        .code_len = strlen(code),
        .input_json = input,
        .input_len = input ? strlen(input) : 0,
        .limits = js_fixture_limits(),
        .user_id = user,
        .function_id = fn,
    };
    call.limits.gas_limit = gas_limit;
    ncsl_err err;
    return ncsl_js_run(g_rt, &call, o, &err);
}

static json_t *run_json_as(const char *code, const char *input, const char *user, const char *fn) {
    ncsl_js_outcome o;
    ncsl_status st = run_as(code, input, user, fn, 0, &o);
    return js_fixture_result_json(st, &o);
}

static json_t *run_json(const char *code, const char *input) {
    return run_json_as(code, input, "user-1", "fn-1");
}

static int setup(void **state) {
    (void)state;
    uint8_t d[32], x[32];
    for (int i = 0; i < 32; i++) {
        d[i] = (uint8_t)(i + 1);
        x[i] = (uint8_t)(i + 33);
    }
    if (ncsl__keys_from_private(d, x, &g_keys, NULL) != NCSL_OK) {
        return -1;
    }
    return ncsl_js_runtime_create(&g_rt, NULL) == NCSL_OK ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    ncsl_js_set_identity_keys(NULL);
    ncsl_js_runtime_destroy(g_rt);
    ncsl_keys_destroy(g_keys);
    return 0;
}

static void unhex(const char *hex, uint8_t *out, size_t len) {
    size_t got = 0;
    assert_non_null(hex);
    assert_int_equal(ncsl_crypto_hex_decode(hex, strlen(hex), out, len, &got, NULL), NCSL_OK);
    assert_int_equal(got, len);
}

/* t(f): the error name and message f throws, caught in JS (['ok', result] when it does not) */
#define JS_T                                                                                       \
    "const t = (f) => { try { return ['ok', String(f())]; } catch (e) { return [e.name, "          \
    "e.message]; } };\n"

static void expect_error(json_t *pair, const char *name, const char *msg_has) {
    const char *n = json_string_value(json_array_get(pair, 0));
    const char *m = json_string_value(json_array_get(pair, 1));
    if (!n || !m || strcmp(n, name) != 0 || !strstr(m, msg_has)) {
        fprintf(stderr, "got %s: %s; want %s with '%s'\n", n ? n : "?", m ? m : "?", name, msg_has);
        fail();
    }
}

/* ------------------------------------------------------------------------- Neo.keys */

static void test_keys_without_provider(void **unused) {
    (void)unused;
    ncsl_js_set_identity_keys(NULL);
    json_t *r = run_json(JS_T "function main() { return [t(() => Neo.keys.get('oracle')), typeof "
                              "Neo.address, typeof Neo.secureRandom(3)]; }",
                         NULL);
    expect_error(json_array_get(r, 0), "Error", "Neo.keys needs the daemon's identity keys");
    assert_string_equal(json_string_value(json_array_get(r, 1)), "function");
    assert_string_equal(json_string_value(json_array_get(r, 2)), "number");
    json_decref(r);
}

static void c_derive(const char *user, const char *fn, const char *name, uint8_t pub[33],
                     char address[NCSL_NEO_ADDRESS_SIZE]) {
    ncsl_keys_derived *d = NULL;
    assert_int_equal(ncsl_keys_derive_p256(g_keys, user, fn, name, &d, NULL), NCSL_OK);
    ncsl_keys_derived_pub(d, pub);
    ncsl_keys_derived_destroy(d);
    assert_int_equal(ncsl_receipt_neo_address(pub, address, NULL), NCSL_OK);
}

static void test_keys_derivation(void **unused) {
    (void)unused;
    static const char code[] =
        "function main() {\n"
        "  const a = Neo.keys.get('oracle'), again = Neo.keys.get('oracle');\n"
        "  const b = Neo.keys.get('other.key-2_x');\n"
        "  return [a.publicKey, a.address, again.publicKey, b.publicKey, b.address, a.name,\n"
        "          a !== again, Neo.address(a.publicKey)];\n"
        "}\n";
    ncsl_js_set_identity_keys(g_keys);
    uint8_t pub[33], got[33];
    char address[NCSL_NEO_ADDRESS_SIZE];

    uint64_t before = ncsl_js_identity_key_derivations();
    json_t *r = run_json_as(code, NULL, "user-1", "fn-1");
    /* 'oracle' asked twice: derived once; 'other.key-2_x' once */
    assert_int_equal(ncsl_js_identity_key_derivations() - before, 2);
    c_derive("user-1", "fn-1", "oracle", pub, address);
    unhex(json_string_value(json_array_get(r, 0)), got, 33);
    assert_memory_equal(got, pub, 33);
    assert_string_equal(json_string_value(json_array_get(r, 1)), address);
    assert_string_equal(json_string_value(json_array_get(r, 7)), address);
    assert_string_equal(json_string_value(json_array_get(r, 0)),
                        json_string_value(json_array_get(r, 2)));
    assert_string_equal(json_string_value(json_array_get(r, 5)), "oracle");
    assert_true(json_is_true(json_array_get(r, 6))); /* a fresh object each time */
    c_derive("user-1", "fn-1", "other.key-2_x", pub, address);
    unhex(json_string_value(json_array_get(r, 3)), got, 33);
    assert_memory_equal(got, pub, 33);
    assert_string_equal(json_string_value(json_array_get(r, 4)), address);
    /* the known-answer vector of test_keys_derive.c, seen from JS */
    assert_string_equal(json_string_value(json_array_get(r, 0)),
                        "03bb884b715393bc63c2cd955474bf845879f0ad17e7c7af6dfa079b4f1c4b8bc9");

    /* the next call: the same key; another user or function: another key */
    json_t *r2 = run_json_as(code, NULL, "user-1", "fn-1");
    json_t *r3 = run_json_as(code, NULL, "user-2", "fn-1");
    json_t *r4 = run_json_as(code, NULL, "user-1", "fn-2");
    json_t *r5 = run_json_as(code, NULL, NULL, NULL);
    const char *k1 = json_string_value(json_array_get(r, 0));
    assert_string_equal(json_string_value(json_array_get(r2, 0)), k1);
    assert_string_not_equal(json_string_value(json_array_get(r3, 0)), k1);
    assert_string_not_equal(json_string_value(json_array_get(r4, 0)), k1);
    assert_string_not_equal(json_string_value(json_array_get(r3, 0)),
                            json_string_value(json_array_get(r4, 0)));
    c_derive("", "", "oracle", pub, address);
    unhex(json_string_value(json_array_get(r5, 0)), got, 33);
    assert_memory_equal(got, pub, 33);
    json_decref(r);
    json_decref(r2);
    json_decref(r3);
    json_decref(r4);
    json_decref(r5);
}

/* sign() signs SHA-256 of the bytes (strings as UTF-8); C verifies each signature. */
static void test_keys_sign_verify(void **unused) {
    (void)unused;
    static const char code[] = JS_T
        "function main() {\n"
        "  const k = Neo.keys.get('signer');\n"
        "  const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');\n"
        "  const raw = new Uint8Array([0, 1, 2, 255, 254, 3]);\n"
        "  const padded = new Uint8Array(10); padded.set(raw, 2);\n"
        "  const inputs = ['oracle answer: 42', 'h\\u00e9llo \\u{1F600}', 'a\\ud800b', '', raw,\n"
        "                  raw.buffer, padded.subarray(2, 8), new DataView(padded.buffer, 2, 6)];\n"
        "  const sigs = inputs.map((m) => k.sign(m));\n"
        "  const s0 = sigs[0];\n"
        "  const flipped = s0.slice(); flipped[10] ^= 0x40;\n"
        "  return {\n"
        "    pub: k.publicKey,\n"
        "    sigs: sigs.map(hex),\n"
        "    types: sigs.every((s) => s instanceof Uint8Array && s.length === 64),\n"
        "    verify: [k.verify('oracle answer: 42', s0), k.verify('oracle answer: 43', s0),\n"
        "             k.verify('oracle answer: 42', flipped), k.verify('oracle answer: 42',\n"
        "             s0.subarray(1)), k.verify(raw, sigs[4].buffer), k.verify(padded.subarray(2, "
        "8), new DataView(sigs[5].buffer)),\n"
        "             Neo.keys.get('other').verify('oracle answer: 42', s0)],\n"
        "    errors: [t(() => k.sign(42)), t(() => k.sign()), t(() => k.verify('x', 'sig')),\n"
        "             t(() => k.sign.call({}, 'x')), t(() => (0, k.verify)('x', s0))],\n"
        "  };\n"
        "}\n";
    ncsl_js_set_identity_keys(g_keys);
    json_t *r = run_json(code, NULL);
    uint8_t pub[33], sig[64];
    unhex(json_string_value(json_object_get(r, "pub")), pub, 33);
    static const struct {
        const char *bytes;
        size_t len;
    } msgs[] = {
        {"oracle answer: 42", 17},
        {"h\xc3\xa9llo \xf0\x9f\x98\x80", 11},
        {"a\xef\xbf\xbd"
         "b",
         5},
        {"", 0},
        {"\x00\x01\x02\xff\xfe\x03", 6},
        {"\x00\x01\x02\xff\xfe\x03", 6},
        {"\x00\x01\x02\xff\xfe\x03", 6},
        {"\x00\x01\x02\xff\xfe\x03", 6},
    };
    json_t *sigs = json_object_get(r, "sigs");
    assert_int_equal(json_array_size(sigs), 8);
    for (size_t i = 0; i < 8; i++) {
        unhex(json_string_value(json_array_get(sigs, i)), sig, 64);
        /* exactly what CryptoLib.verifyWithECDsa(message, pubkey, sig, 23) checks: ECDSA P-256 over
         * SHA-256 of the raw message, r || s */
        assert_int_equal(ncsl_keys_p256_verify(pub, msgs[i].bytes, msgs[i].len, sig, NULL),
                         NCSL_OK);
        assert_true(memcmp(sig + 32, ncsl__keys_p256_half_order, 32) <= 0);
    }
    assert_true(json_is_true(json_object_get(r, "types")));
    char *v = json_dumps(json_object_get(r, "verify"), JSON_COMPACT);
    assert_string_equal(v, "[true,false,false,false,true,true,false]");
    free(v);
    json_t *errors = json_object_get(r, "errors");
    expect_error(json_array_get(errors, 0), "TypeError", "key.sign: bytes");
    expect_error(json_array_get(errors, 1), "TypeError", "key.sign: bytes");
    expect_error(json_array_get(errors, 2), "TypeError", "key.verify: signature");
    expect_error(json_array_get(errors, 3), "TypeError", "key.sign: `this`");
    expect_error(json_array_get(errors, 4), "TypeError", "key.verify: `this`");
    json_decref(r);
}

/* Nothing on a key object or its prototype leads to the private key. */
static void test_keys_opacity(void **unused) {
    (void)unused;
    static const char code[] =
        "function main() {\n"
        "  const k = Neo.keys.get('oracle');\n"
        "  const proto = Object.getPrototypeOf(k);\n"
        "  const all = [];\n"
        "  for (let o = k; o && o !== Object.prototype; o = Object.getPrototypeOf(o))\n"
        "    all.push(...Reflect.ownKeys(o).map(String));\n"
        "  return { own: Reflect.ownKeys(k), proto: Reflect.ownKeys(proto).sort(), all,\n"
        "           json: JSON.stringify(k), frozenPub: (k.publicKey = 'x', k.publicKey),\n"
        "           keysObj: Object.keys(Neo.keys), neo: Object.getOwnPropertyNames(Neo).sort() "
        "};\n"
        "}\n";
    ncsl_js_set_identity_keys(g_keys);
    json_t *r = run_json(code, NULL);
    char *s = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS);
    uint8_t pub[33];
    char address[NCSL_NEO_ADDRESS_SIZE], pub_hex[67], want[1024];
    c_derive("user-1", "fn-1", "oracle", pub, address);
    assert_int_equal(ncsl_crypto_hex_encode(pub, 33, pub_hex, sizeof(pub_hex), NULL), NCSL_OK);
    snprintf(
        want, sizeof(want),
        "{\"all\":[\"name\",\"publicKey\",\"address\",\"sign\",\"verify\"],\"frozenPub\":\"%s\","
        "\"json\":\"{\\\"name\\\":\\\"oracle\\\",\\\"publicKey\\\":\\\"%s\\\",\\\"address\\\":"
        "\\\"%s\\\"}\",\"keysObj\":[],\"neo\":[\"address\",\"keys\",\"secureRandom\"],"
        "\"own\":[\"name\",\"publicKey\",\"address\"],\"proto\":[\"sign\",\"verify\"]}",
        pub_hex, pub_hex, address);
    assert_string_equal(s, want);
    free(s);
    json_decref(r);
}

static void test_keys_names(void **unused) {
    (void)unused;
    static const char code[] = JS_T
        "function main() {\n"
        "  const out = [t(() => Neo.keys.get('')), t(() => Neo.keys.get('a'.repeat(65))),\n"
        "    t(() => Neo.keys.get('a b')), t(() => Neo.keys.get('caf\\u00e9')),\n"
        "    t(() => Neo.keys.get('a/b')), t(() => Neo.keys.get(5)), t(() => Neo.keys.get()),\n"
        "    Neo.keys.get('a'.repeat(64)).name.length];\n"
        "  for (let i = 0; i < 63; i++) Neo.keys.get('k' + i);\n"
        "  for (let i = 0; i < 100; i++) Neo.keys.get('k0'); // cached\n"
        "  out.push(t(() => Neo.keys.get('one-too-many')));\n"
        "  return out;\n"
        "}\n";
    ncsl_js_set_identity_keys(g_keys);
    json_t *r = run_json(code, NULL);
    for (size_t i = 0; i < 5; i++) {
        expect_error(json_array_get(r, i), "TypeError", "Neo.keys.get: name must be 1 to 64");
    }
    expect_error(json_array_get(r, 5), "TypeError", "Neo.keys.get: name must be a string");
    expect_error(json_array_get(r, 6), "TypeError", "Neo.keys.get: name must be a string");
    assert_int_equal(json_integer_value(json_array_get(r, 7)), 64);
    /* 'a'*64 plus k0..k62: 64 names; the 65th is refused */
    expect_error(json_array_get(r, 8), "RangeError", "at most 64 different key names");
    json_decref(r);
}

/* ------------------------------------------------------------------------- Neo.address */

static void test_address(void **unused) {
    (void)unused;
    static const char code[] =
        JS_T "function main(i) {\n"
             "  return [Neo.address(i.docs), Neo.address(i.docs.toUpperCase()), Neo.address(i.b),\n"
             "    Neo.address(i.bFull), t(() => Neo.address(i.docs.slice(2))),\n"
             "    t(() => Neo.address('04' + i.docs.slice(2))), t(() => Neo.address('05' + "
             "i.docs.slice(2))),\n"
             "    t(() => Neo.address('02' + 'ff'.repeat(32))),\n"
             "    t(() => Neo.address(i.docs.slice(0, 64) + 'zz')),\n"
             "    t(() => Neo.address(i.bFull.slice(0, 128) + '00')), t(() => Neo.address(42)),\n"
             "    t(() => Neo.address('0x' + i.docs))];\n"
             "}\n";
    /* docs/receipts.md's example key and address (checked by neon-core in interop_neo), and a key
     * whose address and uncompressed form neon-core computed */
    static const char input[] =
        "{\"docs\":\"033a4d051b04b7fc0230d2b1aaedfd5a84be279a5361a7358db665ad7857787f1b\","
        "\"b\":\"02a2fc115ffa02918309b0a9655e83b0488c151db9c186b0ece1af9477fdd2d938\","
        "\"bFull\":\"04a2fc115ffa02918309b0a9655e83b0488c151db9c186b0ece1af9477fdd2d93801974a384af"
        "c5e2fd7d71a75b4bd66ddacf3c5d2ed3bb4ede2ba39fb4128d0b2\"}";
    json_t *r = run_json(code, input);
    assert_string_equal(json_string_value(json_array_get(r, 0)),
                        "NM7Aky765FG8NhhwtxjXRx7jEL1cnw7PBP");
    assert_string_equal(json_string_value(json_array_get(r, 1)),
                        "NM7Aky765FG8NhhwtxjXRx7jEL1cnw7PBP");
    assert_string_equal(json_string_value(json_array_get(r, 2)),
                        "NRXySpVD5RLPTAQ41YE7rBQGt4CiFV8ukY");
    assert_string_equal(json_string_value(json_array_get(r, 3)),
                        "NRXySpVD5RLPTAQ41YE7rBQGt4CiFV8ukY");
    expect_error(json_array_get(r, 4), "TypeError", "Neo.address: publicKey must be the hex");
    expect_error(json_array_get(r, 5), "TypeError", "Neo.address: publicKey is not a point");
    expect_error(json_array_get(r, 6), "TypeError", "Neo.address: publicKey is not a point");
    expect_error(json_array_get(r, 7), "TypeError", "Neo.address: publicKey is not a point");
    expect_error(json_array_get(r, 8), "TypeError", "Neo.address: publicKey must be the hex");
    expect_error(json_array_get(r, 9), "TypeError", "Neo.address: publicKey is not a point");
    expect_error(json_array_get(r, 10), "TypeError", "Neo.address: publicKey must be a hex string");
    expect_error(json_array_get(r, 11), "TypeError", "Neo.address: publicKey must be the hex");
    json_decref(r);
}

/* ------------------------------------------------------------------------- secureRandom */

static void test_secure_random_arguments(void **unused) {
    (void)unused;
    static const char code[] = JS_T
        "function main() {\n"
        "  const ones = [];\n"
        "  for (let i = 0; i < 20; i++) ones.push(Neo.secureRandom(1), Neo.secureRandom(1n));\n"
        "  let inRange = true, sawBig = false, sawHigh = false;\n"
        "  for (let i = 0; i < 200; i++) {\n"
        "    const a = Neo.secureRandom(Number.MAX_SAFE_INTEGER);\n"
        "    const b = Neo.secureRandom(2n ** 64n);\n"
        "    const c = Neo.secureRandom(2n ** 4096n - 1n);\n"
        "    const d = Neo.secureRandom(3);\n"
        "    inRange = inRange && Number.isSafeInteger(a) && a >= 0 && typeof b === 'bigint' &&\n"
        "      b >= 0n && b < 2n ** 64n && c >= 0n && c < 2n ** 4096n - 1n && [0, 1, "
        "2].includes(d);\n"
        "    sawBig = sawBig || c > 2n ** 4000n;\n"
        "    sawHigh = sawHigh || a > 2 ** 52;\n"
        "  }\n"
        "  return { ones: ones.map(String), inRange, sawBig, sawHigh, errors: [\n"
        "    t(() => Neo.secureRandom(0)), t(() => Neo.secureRandom(-1)),\n"
        "    t(() => Neo.secureRandom(1.5)), t(() => Neo.secureRandom(NaN)),\n"
        "    t(() => Neo.secureRandom(Infinity)), t(() => Neo.secureRandom(2 ** 53)),\n"
        "    t(() => Neo.secureRandom('10')), t(() => Neo.secureRandom()),\n"
        "    t(() => Neo.secureRandom(0n)), t(() => Neo.secureRandom(-5n)),\n"
        "    t(() => Neo.secureRandom(2n ** 4096n)), t(() => Neo.secureRandom(10n ** 2000n)),\n"
        "  ] };\n"
        "}\n";
    json_t *r = run_json(code, NULL);
    json_t *ones = json_object_get(r, "ones");
    for (size_t i = 0; i < json_array_size(ones); i++) {
        assert_string_equal(json_string_value(json_array_get(ones, i)), "0");
    }
    assert_true(json_is_true(json_object_get(r, "inRange")));
    assert_true(json_is_true(json_object_get(r, "sawBig")));
    assert_true(json_is_true(json_object_get(r, "sawHigh")));
    json_t *e = json_object_get(r, "errors");
    for (size_t i = 0; i < 6; i++) {
        expect_error(json_array_get(e, i), "RangeError",
                     "Neo.secureRandom: max must be an integer");
    }
    expect_error(json_array_get(e, 6), "TypeError", "Neo.secureRandom: max must be a Number or");
    expect_error(json_array_get(e, 7), "TypeError", "Neo.secureRandom: max must be a Number or");
    for (size_t i = 8; i < 12; i++) {
        expect_error(json_array_get(e, i), "RangeError", "Neo.secureRandom: max must be a BigInt");
    }
    json_decref(r);
}

/* Uniformity: a chi-square test on a small max, and draws below max/2 for a max of about 2/3 of
 * a power of two (where reducing a draw modulo max would make the low half twice as likely:
 * 2/3 of the draws instead of 1/2). */
static void test_secure_random_uniform(void **unused) {
    (void)unused;
    static const char code[] =
        "function main() {\n"
        "  const counts = new Array(6).fill(0);\n"
        "  for (let i = 0; i < 6000; i++) counts[Neo.secureRandom(6)]++;\n"
        "  const chi = counts.reduce((s, c) => s + (c - 1000) ** 2 / 1000, 0);\n"
        "  const m = Math.floor(2 ** 53 / 3) * 2; // about 2/3 of 2^53\n"
        "  let low = 0;\n"
        "  for (let i = 0; i < 3000; i++) if (Neo.secureRandom(m) < m / 2) low++;\n"
        "  const bm = (2n ** 300n / 3n) * 2n;\n"
        "  let blow = 0;\n"
        "  for (let i = 0; i < 3000; i++) if (Neo.secureRandom(bm) < bm / 2n) blow++;\n"
        "  const sm = 170; // 2/3 of 256: an 8-bit draw modulo 170 would be biased\n"
        "  let slow = 0;\n"
        "  for (let i = 0; i < 3000; i++) if (Neo.secureRandom(sm) < sm / 2) slow++;\n"
        "  return { chi, low: low / 3000, blow: blow / 3000, slow: slow / 3000 };\n"
        "}\n";
    json_t *r = run_json(code, NULL);
    /* chi-square with 5 degrees of freedom: 40 is far past p = 1e-6 (about 35.9) */
    assert_true(json_number_value(json_object_get(r, "chi")) < 40);
    /* 3000 draws: standard deviation about 0.009; modulo bias would give 0.667 */
    for (const char *k = "low"; k; k = strcmp(k, "low") == 0    ? "blow"
                                       : strcmp(k, "blow") == 0 ? "slow"
                                                                : NULL) {
        double f = json_number_value(json_object_get(r, k));
        if (!(f > 0.45 && f < 0.55)) {
            fprintf(stderr, "%s: %f of the draws below max / 2\n", k, f);
            fail();
        }
    }
    json_decref(r);
}

/* A BigInt result above 64 bits goes through the global BigInt function: a replaced one is
 * detected, never trusted. */
static void test_secure_random_replaced_bigint(void **unused) {
    (void)unused;
    json_t *r = run_json(JS_T "function main() { const small = Neo.secureRandom(2n ** 60n);\n"
                              "  globalThis.BigInt = () => 5n;\n"
                              "  return [typeof small, t(() => Neo.secureRandom(2n ** 300n)),\n"
                              "          typeof Neo.secureRandom(2n ** 64n)]; }",
                         NULL);
    assert_string_equal(json_string_value(json_array_get(r, 0)), "bigint");
    expect_error(json_array_get(r, 1), "TypeError", "the global BigInt function was replaced");
    assert_string_equal(json_string_value(json_array_get(r, 2)), "bigint");
    json_decref(r);
}

/* ------------------------------------------------------------------------- gas */

static void test_gas(void **unused) {
    (void)unused;
    ncsl_js_set_identity_keys(g_keys);
    ncsl_js_outcome one, same, two, many;
    assert_int_equal(run_as("function main() { Neo.keys.get('a'); }", NULL, "u", "f", 0, &one),
                     NCSL_OK);
    assert_int_equal(run_as("function main() { Neo.keys.get('a'); Neo.keys.get('a'); }", NULL, "u",
                            "f", 0, &same),
                     NCSL_OK);
    assert_int_equal(run_as("function main() { Neo.keys.get('a'); Neo.keys.get('b'); }", NULL, "u",
                            "f", 0, &two),
                     NCSL_OK);
    /* a derivation costs gas; a cached name does not derive again */
    assert_true(two.gas_used >= one.gas_used + 10);
    assert_true(same.gas_used < two.gas_used);
    /* a gas limit stops a signing loop deterministically */
    assert_int_equal(
        run_as("function main() { const k = Neo.keys.get('a'); for (;;) k.sign('x'); }", NULL, "u",
               "f", 2000, &many),
        NCSL_E_JS_GAS);
    ncsl_js_outcome_cleanup(&one);
    ncsl_js_outcome_cleanup(&same);
    ncsl_js_outcome_cleanup(&two);
    ncsl_js_outcome_cleanup(&many);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys_without_provider),
        cmocka_unit_test(test_keys_derivation),
        cmocka_unit_test(test_keys_sign_verify),
        cmocka_unit_test(test_keys_opacity),
        cmocka_unit_test(test_keys_names),
        cmocka_unit_test(test_address),
        cmocka_unit_test(test_secure_random_arguments),
        cmocka_unit_test(test_secure_random_uniform),
        cmocka_unit_test(test_secure_random_replaced_bigint),
        cmocka_unit_test(test_gas),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
