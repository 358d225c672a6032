/*
 * The `crypto` global (src/js/js_crypto.c): FIPS 180 digests (SHA-1/256/384/512 of "abc", the
 * empty message, the 448- and 896-bit messages and one million 'a'), RFC 4231 HMAC test cases 1-7
 * with SHA-256/384/512 through importKey/sign/verify, crypto.sha256 (strings as UTF-8, lone
 * surrogates as U+FFFD, every kind of view), randomness (UUID format and uniqueness, in-place
 * fills, byte distribution), bad arguments (each with its error class and the argument named),
 * key opacity, gas and per-call freshness.
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

static ncsl_js_runtime *g_rt;

static ncsl_status run_limits(const char *code, const char *input, uint64_t gas_limit,
                              ncsl_js_outcome *o) {
    ncsl_js_call call = {
        .code = code,
        .code_len = strlen(code),
        .input_json = input,
        .input_len = input ? strlen(input) : 0,
        .limits = js_fixture_limits(),
    };
    call.limits.gas_limit = gas_limit;
    ncsl_err err;
    return ncsl_js_run(g_rt, &call, o, &err);
}

/* Runs `code` and returns its parsed result (caller frees with json_decref); fails the test
 * when the call fails. */
static json_t *run_json(const char *code, const char *input) {
    ncsl_js_outcome o;
    ncsl_status st = run_limits(code, input, 0, &o);
    return js_fixture_result_json(st, &o);
}

static int setup(void **state) {
    (void)state;
    return ncsl_js_runtime_create(&g_rt, NULL) == NCSL_OK ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    ncsl_js_runtime_destroy(g_rt);
    return 0;
}

/* JS helpers shared by the cases below. */
#define JS_HELPERS                                                                                 \
    "const hex = (b) => Array.from(b instanceof ArrayBuffer ? new Uint8Array(b) : b,"              \
    " (x) => x.toString(16).padStart(2, '0')).join('');\n"                                         \
    "const unhex = (h) => Uint8Array.from(h.match(/../g) || [], (x) => parseInt(x, 16));\n"        \
    "const ascii = (s) => Uint8Array.from(s, (c) => c.charCodeAt(0));\n"

/* ------------------------------------------------------------------------- digests */

typedef struct digest_case {
    const char *alg;
    const char *msg; /* ASCII */
    int repeat;      /* > 0: `repeat` copies of msg[0] instead */
    const char *hex;
} digest_case;

#define M448 "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
#define M896                                                                                       \
    "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmno" \
    "p"                                                                                            \
    "qrsmnopqrstnopqrstu"

static const digest_case g_digests[] = {
    {"SHA-1", "abc", 0, "a9993e364706816aba3e25717850c26c9cd0d89d"},
    {"SHA-1", "", 0, "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
    {"SHA-1", M448, 0, "84983e441c3bd26ebaae4aa1f95129e5e54670f1"},
    {"SHA-1", M896, 0, "a49b2446a02c645bf419f995b67091253a04a259"},
    {"SHA-1", "a", 1000000, "34aa973cd4c4daa4f61eeb2bdbad27316534016f"},
    {"SHA-256", "abc", 0, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
    {"SHA-256", "", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    {"SHA-256", M448, 0, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    {"SHA-256", M896, 0, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
    {"SHA-256", "a", 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
    {"SHA-384", "abc", 0,
     "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c82"
     "5a7"},
    {"SHA-384", "", 0,
     "38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da274edebfe76f65fbd51ad2f14898b"
     "95b"},
    {"SHA-384", M448, 0,
     "3391fdddfc8dc7393707a65b1b4709397cf8b1d162af05abfe8f450de5f36bc6b0455a8520bc4e6f5fe95b1fe3c84"
     "52b"},
    {"SHA-384", M896, 0,
     "09330c33f71147e83d192fc782cd1b4753111b173b3b05d22fa08086e3b0f712fcc7c71a557e2db966c3e9fa91746"
     "039"},
    {"SHA-384", "a", 1000000,
     "9d0e1809716474cb086e834e310a4a1ced149e9c00f248527972cec5704c2a5b07b8b3dc38ecc4ebae97ddd87f3d8"
     "985"},
    {"SHA-512", "abc", 0,
     "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3fee"
     "bbd454d4423643ce80e2a9ac94fa54ca49f"},
    {"SHA-512", "", 0,
     "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877ee"
     "c2f63b931bd47417a81a538327af927da3e"},
    {"SHA-512", M448, 0,
     "204a8fc6dda82f0a0ced7beb8e08a41657c16ef468b228a8279be331a703c33596fd15c13b1b07f9aa1d3bea57789"
     "ca031ad85c7a71dd70354ec631238ca3445"},
    {"SHA-512", M896, 0,
     "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018501d289e4900f7e4331b99dec4b54"
     "33ac7d329eeb6dd26545e96e55b874be909"},
    {"SHA-512", "a", 1000000,
     "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973ebde0ff244877ea60a4cb0432ce577c"
     "31beb009c5c2c49aa2e4eadb217ad8cc09b"},
};

static void test_digest_vectors(void **unused) {
    (void)unused;
    static const char code[] = JS_HELPERS
        "async function main(cases) {\n"
        "  const out = [];\n"
        "  for (const [alg, msg, rep] of cases) {\n"
        "    const data = rep ? new Uint8Array(rep).fill(msg.charCodeAt(0)) : ascii(msg);\n"
        "    const d = await crypto.subtle.digest(alg, data);\n"
        "    if (!(d instanceof ArrayBuffer)) throw new Error('not an ArrayBuffer');\n"
        "    out.push(hex(d));\n"
        "  }\n"
        "  return out;\n"
        "}\n";
    json_t *in = json_array();
    for (size_t i = 0; i < sizeof(g_digests) / sizeof(g_digests[0]); i++) {
        json_array_append_new(
            in, json_pack("[ssi]", g_digests[i].alg, g_digests[i].msg, g_digests[i].repeat));
    }
    char *input = json_dumps(in, JSON_COMPACT);
    json_t *out = run_json(code, input);
    assert_int_equal(json_array_size(out), sizeof(g_digests) / sizeof(g_digests[0]));
    for (size_t i = 0; i < json_array_size(out); i++) {
        const char *got = json_string_value(json_array_get(out, i));
        if (!got || strcmp(got, g_digests[i].hex) != 0) {
            fprintf(stderr, "%s of case %zu: got %s\n", g_digests[i].alg, i, got ? got : "?");
        }
        assert_non_null(got);
        assert_string_equal(got, g_digests[i].hex);
    }
    free(input);
    json_decref(in);
    json_decref(out);
}

/* Algorithm names in any case, as strings or {name}; every kind of BufferSource; only the view's
 * bytes are hashed. */
static void test_digest_forms(void **unused) {
    (void)unused;
    static const char code[] = JS_HELPERS
        "async function main() {\n"
        "  const abc = ascii('abc');\n"
        "  const big = new Uint8Array(16); big.set(abc, 5);\n"
        "  const u16 = new Uint16Array(abc.length * 2); // bytes 61 00 62 00 63 00 ...\n"
        "  const forms = [\n"
        "    crypto.subtle.digest('sha-256', abc),\n"
        "    crypto.subtle.digest({ name: 'Sha-256' }, abc.buffer),\n"
        "    crypto.subtle.digest('SHA-256', big.subarray(5, 8)),\n"
        "    crypto.subtle.digest('SHA-256', new DataView(big.buffer, 5, 3)),\n"
        "    crypto.subtle.digest('SHA-256', new Uint8Array(0)),\n"
        "    crypto.subtle.digest('SHA-256', new ArrayBuffer(0)),\n"
        "    crypto.subtle.digest('SHA-256', new Int8Array(abc.buffer)),\n"
        "  ];\n"
        "  const out = (await Promise.all(forms)).map(hex);\n"
        "  out.push(crypto.sha256('abc'), crypto.sha256(abc), crypto.sha256(abc.buffer),\n"
        "           crypto.sha256(new DataView(big.buffer, 5, 3)), crypto.sha256(''),\n"
        "           crypto.sha256('h\\u00e9llo \\u{1F600}'), crypto.sha256('a\\ud800b'),\n"
        "           crypto.sha256('\\udc00'));\n"
        "  return out;\n"
        "}\n";
    static const char abc[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    static const char empty[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    /* UTF-8 of the strings, lone surrogates as EF BF BD (what TextEncoder and Node write) */
    static const char *const utf8[] = {"h\xc3\xa9llo \xf0\x9f\x98\x80",
                                       "a\xef\xbf\xbd"
                                       "b",
                                       "\xef\xbf\xbd"};
    json_t *out = run_json(code, NULL);
    const char *want[15] = {abc, abc, abc, abc, empty, empty, abc, abc, abc, abc, abc, empty};
    char hex[3][65];
    for (int i = 0; i < 3; i++) {
        uint8_t md[32];
        assert_int_equal(ncsl_crypto_sha256(utf8[i], strlen(utf8[i]), md, NULL), NCSL_OK);
        assert_int_equal(ncsl_crypto_hex_encode(md, 32, hex[i], sizeof(hex[i]), NULL), NCSL_OK);
        want[12 + i] = hex[i];
    }
    assert_int_equal(json_array_size(out), 15);
    for (size_t i = 0; i < 15; i++) {
        assert_string_equal(json_string_value(json_array_get(out, i)), want[i]);
    }
    json_decref(out);
}

/* ------------------------------------------------------------------------- HMAC */

typedef struct hmac_case {
    int rfc_case;
    const char *key_hex;
    const char *data_hex;
    const char *hash;
    const char *mac_hex; /* full MAC (case 5: the RFC's 128-bit truncation, compared as prefix) */
} hmac_case;

#define K1 "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"
#define D1 "4869205468657265"
#define K2 "4a656665"
#define D2 "7768617420646f2079612077616e7420666f72206e6f7468696e673f"
#define K3 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define D3                                                                                         \
    "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd" \
    "dd"                                                                                           \
    "dddddd"
#define K4 "0102030405060708090a0b0c0d0e0f10111213141516171819"
#define D4                                                                                         \
    "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd" \
    "cd"                                                                                           \
    "cdcdcd"
#define K5 "0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c"
#define D5 "546573742057697468205472756e636174696f6e"
/* 131 bytes of 0xaa: built in JS ("aa".repeat(131)) */
#define K67 "*aa131"
#define D6                                                                                         \
    "54657374205573696e67204c6172676572205468616e20426c6f636b2d53697a65204b6579202d2048617368204b" \
    "6579204669727374"
#define D7                                                                                         \
    "5468697320697320612074657374207573696e672061206c6172676572207468616e20626c6f636b2d73697a6520" \
    "6b657920616e642061206c6172676572207468616e20626c6f636b2d73697a6520646174612e20546865206b6579" \
    "206e6565647320746f20626520686173686564206265666f7265206265696e672075736564206279207468652048" \
    "4d"                                                                                           \
    "414320616c676f726974686d2e"

static const hmac_case g_hmacs[] = {
    {1, K1, D1, "SHA-256", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
    {1, K1, D1, "SHA-384",
     "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9"
     "cb6"},
    {1, K1, D1, "SHA-512",
     "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f"
     "4e4be9d914eeb61f1702e696c203a126854"},
    {2, K2, D2, "SHA-256", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
    {2, K2, D2, "SHA-384",
     "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21"
     "649"},
    {2, K2, D2, "SHA-512",
     "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e"
     "6fdcaeab1a34d4a6b4b636e070a38bce737"},
    {3, K3, D3, "SHA-256", "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
    {3, K3, D3, "SHA-384",
     "88062608d3e6ad8a0aa2ace014c8a86f0aa635d947ac9febe83ef4e55966144b2a5ab39dc13814b94e3ab6e101a34"
     "f27"},
    {3, K3, D3, "SHA-512",
     "fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39bf3e848279a722c806b485a47e67c"
     "807b946a337bee8942674278859e13292fb"},
    {4, K4, D4, "SHA-256", "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
    {4, K4, D4, "SHA-384",
     "3e8a69b7783c25851933ab6290af6ca77a9981480850009cc5577c6e1f573b4e6801dd23c4a7d679ccf8a386c674c"
     "ffb"},
    {4, K4, D4, "SHA-512",
     "b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3dba91ca5c11aa25eb4d679275cc5788"
     "063a5f19741120c4f2de2adebeb10a298dd"},
    {5, K5, D5, "SHA-256", "a3b6167473100ee06e0c796c2955552b"},
    {5, K5, D5, "SHA-384", "3abf34c3503b2a23a46efc619baef897"},
    {5, K5, D5, "SHA-512", "415fad6271580a531d4179bc891d87a6"},
    {6, K67, D6, "SHA-256", "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
    {6, K67, D6, "SHA-384",
     "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c60c2ef6ab4030fe8296248df163f44"
     "952"},
    {6, K67, D6, "SHA-512",
     "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd2215d6a1"
     "e5295e64f73f63f0aec8b915a985d786598"},
    {7, K67, D7, "SHA-256", "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
    {7, K67, D7, "SHA-384",
     "6617178e941f020d351e2f254e8fd32c602420feb0b8fb9adccebb82461e99c5a678cc31e799176d3860e6110c465"
     "23e"},
    {7, K67, D7, "SHA-512",
     "e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944b6022cac3c4982b10d5eeb55c3e4d"
     "e15134676fb6de0446065c97440fa8c6a58"},
};

static void test_hmac_rfc4231(void **unused) {
    (void)unused;
    /* for each case: the MAC, verify of the MAC (true), of a flipped MAC (false), of a MAC one
     * byte short (false), and of the MAC over other data (false) */
    static const char code[] = JS_HELPERS
        "async function main(cases) {\n"
        "  const out = [];\n"
        "  for (const [keyHex, dataHex, hash] of cases) {\n"
        "    const keyBytes = keyHex === '*aa131' ? unhex('aa'.repeat(131)) : unhex(keyHex);\n"
        "    const data = unhex(dataHex);\n"
        "    const key = await crypto.subtle.importKey('raw', keyBytes, { name: 'HMAC', hash },\n"
        "                                              false, ['sign', 'verify']);\n"
        "    const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, data));\n"
        "    const flipped = mac.slice(); flipped[flipped.length - 1] ^= 1;\n"
        "    out.push([hex(mac),\n"
        "      await crypto.subtle.verify({ name: 'hmac' }, key, mac, data),\n"
        "      await crypto.subtle.verify('HMAC', key, flipped, data),\n"
        "      await crypto.subtle.verify('HMAC', key, mac.subarray(1), data),\n"
        "      await crypto.subtle.verify('HMAC', key, mac.buffer, ascii('other')),\n"
        "      key.algorithm.length]);\n"
        "  }\n"
        "  return out;\n"
        "}\n";
    json_t *in = json_array();
    size_t n = sizeof(g_hmacs) / sizeof(g_hmacs[0]);
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(
            in, json_pack("[sss]", g_hmacs[i].key_hex, g_hmacs[i].data_hex, g_hmacs[i].hash));
    }
    char *input = json_dumps(in, JSON_COMPACT);
    json_t *out = run_json(code, input);
    assert_int_equal(json_array_size(out), n);
    for (size_t i = 0; i < n; i++) {
        json_t *r = json_array_get(out, i);
        const char *mac = json_string_value(json_array_get(r, 0));
        assert_non_null(mac);
        if (strncmp(mac, g_hmacs[i].mac_hex, strlen(g_hmacs[i].mac_hex)) != 0) {
            fprintf(stderr, "RFC 4231 case %d %s: got %s\n", g_hmacs[i].rfc_case, g_hmacs[i].hash,
                    mac);
        }
        if (g_hmacs[i].rfc_case == 5) {
            assert_memory_equal(mac, g_hmacs[i].mac_hex, strlen(g_hmacs[i].mac_hex));
        } else {
            assert_string_equal(mac, g_hmacs[i].mac_hex);
        }
        assert_true(json_is_true(json_array_get(r, 1)));
        assert_true(json_is_false(json_array_get(r, 2)));
        assert_true(json_is_false(json_array_get(r, 3)));
        assert_true(json_is_false(json_array_get(r, 4)));
        size_t key_len = g_hmacs[i].key_hex[0] == '*' ? 131 : strlen(g_hmacs[i].key_hex) / 2;
        assert_int_equal(json_integer_value(json_array_get(r, 5)), (json_int_t)key_len * 8);
    }
    free(input);
    json_decref(in);
    json_decref(out);
}

/* ------------------------------------------------------------------------- bad arguments */

typedef struct bad_case {
    const char *expr;    /* awaited inside an async main */
    const char *name;    /* the error's name */
    const char *msg_has; /* a substring of its message (the argument's name) */
    int dom;             /* 1: must be a DOMException; 0: must not */
} bad_case;

#define KEY(usages, ext)                                                                           \
    "await crypto.subtle.importKey('raw', new Uint8Array(16), {name: 'HMAC', hash: "               \
    "'SHA-256'}, " ext ", " usages ")"
#define IMPORT(fmt, data, alg, usages)                                                             \
    "crypto.subtle.importKey(" fmt ", " data ", " alg ", false, " usages ")"

static const bad_case g_bad[] = {
    /* getRandomValues */
    {"crypto.getRandomValues(new Float32Array(2))", "TypeMismatchError", "integer typed array", 1},
    {"crypto.getRandomValues(new Float64Array(2))", "TypeMismatchError", "argument 1", 1},
    {"crypto.getRandomValues(new DataView(new ArrayBuffer(4)))", "TypeMismatchError", "DataView",
     1},
    {"crypto.getRandomValues([1, 2])", "TypeError", "crypto.getRandomValues: argument 1", 0},
    {"crypto.getRandomValues(new ArrayBuffer(4))", "TypeError", "argument 1", 0},
    {"crypto.getRandomValues()", "TypeError", "argument 1", 0},
    {"crypto.getRandomValues(new Uint8Array(65537))", "QuotaExceededError", "65536", 1},
    {"crypto.getRandomValues(new Uint32Array(16385))", "QuotaExceededError", "65540 bytes", 1},
    {"crypto.getRandomValues(new BigInt64Array(8193))", "QuotaExceededError", "limit", 1},
    /* randomBytes, sha256 */
    {"crypto.randomBytes(-1)", "RangeError", "crypto.randomBytes: size", 0},
    {"crypto.randomBytes(65537)", "RangeError", "size", 0},
    {"crypto.randomBytes(1.5)", "RangeError", "size", 0},
    {"crypto.randomBytes(NaN)", "RangeError", "size", 0},
    {"crypto.randomBytes('4')", "TypeError", "crypto.randomBytes: size", 0},
    {"crypto.randomBytes()", "TypeError", "size", 0},
    {"crypto.sha256(42)", "TypeError", "crypto.sha256: data", 0},
    {"crypto.sha256({ length: 3 })", "TypeError", "crypto.sha256: data", 0},
    {"crypto.sha256()", "TypeError", "crypto.sha256: data", 0},
    /* digest */
    {"crypto.subtle.digest('MD5', new Uint8Array(1))", "NotSupportedError",
     "crypto.subtle.digest: algorithm", 1},
    {"crypto.subtle.digest({ name: 'SHA-3' }, new Uint8Array(1))", "NotSupportedError", "SHA-3", 1},
    {"crypto.subtle.digest('SHA256', new Uint8Array(1))", "NotSupportedError", "SHA-256", 1},
    {"crypto.subtle.digest(42, new Uint8Array(1))", "TypeError", "crypto.subtle.digest: algorithm",
     0},
    {"crypto.subtle.digest({}, new Uint8Array(1))", "TypeError", "algorithm.name", 0},
    {"crypto.subtle.digest('SHA-256', 'abc')", "TypeError", "crypto.subtle.digest: data", 0},
    {"crypto.subtle.digest('SHA-256')", "TypeError", "crypto.subtle.digest: data", 0},
    {"crypto.subtle.digest('SHA-256', [1, 2, 3])", "TypeError", "data", 0},
    /* importKey */
    {IMPORT("'jwk'", "new Uint8Array(16)", "{name: 'HMAC', hash: 'SHA-256'}", "['sign']"),
     "NotSupportedError", "format", 1},
    {IMPORT("'bogus'", "new Uint8Array(16)", "{name: 'HMAC', hash: 'SHA-256'}", "['sign']"),
     "TypeError", "crypto.subtle.importKey: format", 0},
    {IMPORT("'raw'", "new Uint8Array(16)", "{name: 'AES-GCM'}", "['sign']"), "NotSupportedError",
     "algorithm", 1},
    {IMPORT("'raw'", "new Uint8Array(16)", "'HMAC'", "['sign']"), "TypeError", "algorithm", 0},
    {IMPORT("'raw'", "new Uint8Array(16)", "{name: 'HMAC'}", "['sign']"), "TypeError",
     "algorithm.hash", 0},
    {IMPORT("'raw'", "new Uint8Array(16)", "{name: 'HMAC', hash: 'MD5'}", "['sign']"),
     "NotSupportedError", "algorithm.hash", 1},
    {IMPORT("'raw'", "new Uint8Array(16)", "{name: 'HMAC', hash: {name: 7}}", "['sign']"),
     "TypeError", "algorithm.hash.name", 0},
    {IMPORT("'raw'", "new Uint8Array(16)", "{name: 'HMAC', hash: 'SHA-256'}", "['encrypt']"),
     "SyntaxError", "keyUsages", 1},
    {IMPORT("'raw'", "new Uint8Array(16)", "{name: 'HMAC', hash: 'SHA-256'}", "[]"), "SyntaxError",
     "keyUsages", 1},
    {IMPORT("'raw'", "new Uint8Array(16)", "{name: 'HMAC', hash: 'SHA-256'}", "'sign'"),
     "TypeError", "keyUsages", 0},
    {IMPORT("'raw'", "new Uint8Array(16)", "{name: 'HMAC', hash: 'SHA-256'}", "['sgn']"),
     "TypeError", "keyUsages[0]", 0},
    {IMPORT("'raw'", "new Uint8Array(16)", "{name: 'HMAC', hash: 'SHA-256'}", "['sign', 5]"),
     "TypeError", "keyUsages[1]", 0},
    {IMPORT("'raw'", "new Uint8Array(16)", "{name: 'HMAC', hash: 'SHA-256'}",
            "new Array(17).fill('sign')"),
     "TypeError", "keyUsages", 0},
    {IMPORT("'raw'", "'0123456789abcdef'", "{name: 'HMAC', hash: 'SHA-256'}", "['sign']"),
     "TypeError", "crypto.subtle.importKey: keyData", 0},
    {IMPORT("'raw'", "new Uint8Array(0)", "{name: 'HMAC', hash: 'SHA-256'}", "['sign']"),
     "DataError", "keyData", 1},
    {IMPORT("'raw'", "new Uint8Array(65537)", "{name: 'HMAC', hash: 'SHA-256'}", "['sign']"),
     "RangeError", "keyData is 65537 bytes", 0},
    {IMPORT("'raw'", "new Uint8Array(16)", "{name: 'HMAC', hash: 'SHA-256', length: 120}",
            "['sign']"),
     "DataError", "algorithm.length", 1},
    {IMPORT("'raw'", "new Uint8Array(16)", "{name: 'HMAC', hash: 'SHA-256', length: 129}",
            "['sign']"),
     "DataError", "algorithm.length", 1},
    {IMPORT("'raw'", "new Uint8Array(16)", "{name: 'HMAC', hash: 'SHA-256', length: 127}",
            "['sign']"),
     "NotSupportedError", "algorithm.length", 1},
    {IMPORT("'raw'", "new Uint8Array(16)", "{name: 'HMAC', hash: 'SHA-256', length: '128'}",
            "['sign']"),
     "TypeError", "algorithm.length", 0},
    /* sign, verify, exportKey */
    {"crypto.subtle.sign('HMAC', {}, new Uint8Array(1))", "TypeError", "crypto.subtle.sign: key",
     0},
    {"crypto.subtle.sign('ECDSA', " KEY("['sign']", "false") ", new Uint8Array(1))",
     "NotSupportedError", "crypto.subtle.sign: algorithm", 1},
    {"crypto.subtle.sign('HMAC', " KEY("['verify']", "false") ", new Uint8Array(1))",
     "InvalidAccessError", "sign", 1},
    {"crypto.subtle.verify('HMAC', " KEY("['sign']", "false") ", new Uint8Array(32), "
                                                              "new Uint8Array(1))",
     "InvalidAccessError", "verify", 1},
    {"crypto.subtle.sign('HMAC', " KEY("['sign']", "false") ", 'text')", "TypeError",
     "crypto.subtle.sign: data", 0},
    {"crypto.subtle.verify('HMAC', " KEY("['verify']", "false") ", 'sig', new Uint8Array(1))",
     "TypeError", "crypto.subtle.verify: signature", 0},
    {"crypto.subtle.verify('HMAC', " KEY("['verify']", "false") ", new Uint8Array(32))",
     "TypeError", "crypto.subtle.verify: data", 0},
    {"crypto.subtle.exportKey('raw', " KEY("['sign']", "false") ")", "InvalidAccessError",
     "extractable", 1},
    {"crypto.subtle.exportKey('jwk', " KEY("['sign']", "true") ")", "NotSupportedError", "format",
     1},
    {"crypto.subtle.exportKey('raw', {})", "TypeError", "crypto.subtle.exportKey: key", 0},
    /* hostile views: a DataView whose getters lie is checked against its real buffer */
    {"crypto.subtle.digest('SHA-256', Object.defineProperty(new DataView(new ArrayBuffer(4)), "
     "'byteLength', {get: () => 1 << 30}))",
     "TypeError", "out of its buffer", 0},
    {"crypto.subtle.digest('SHA-256', Object.defineProperty(new DataView(new ArrayBuffer(4)), "
     "'byteOffset', {get: () => -1}))",
     "TypeError", "out of its buffer", 0},
    /* a throwing getter rejects with its own error */
    {"crypto.subtle.digest({ get name() { throw new RangeError('mine'); } }, new Uint8Array(1))",
     "RangeError", "mine", 0},
};

static void test_bad_arguments(void **unused) {
    (void)unused;
    for (size_t i = 0; i < sizeof(g_bad) / sizeof(g_bad[0]); i++) {
        char code[2048];
        snprintf(code, sizeof(code),
                 "async function main() {\n"
                 "  try { const r = await (async () => %s)(); return ['ok', String(r)]; }\n"
                 "  catch (e) { return [e.name, String(e.message), e instanceof DOMException]; }\n"
                 "}\n",
                 g_bad[i].expr);
        json_t *r = run_json(code, NULL);
        const char *name = json_string_value(json_array_get(r, 0));
        const char *msg = json_string_value(json_array_get(r, 1));
        if (!name || !msg || strcmp(name, g_bad[i].name) != 0 || !strstr(msg, g_bad[i].msg_has) ||
            json_is_true(json_array_get(r, 2)) != (g_bad[i].dom != 0)) {
            fprintf(stderr, "case %zu `%s`: got %s: %s (DOMException: %d), want %s with '%s'\n", i,
                    g_bad[i].expr, name ? name : "?", msg ? msg : "?",
                    json_is_true(json_array_get(r, 2)), g_bad[i].name, g_bad[i].msg_has);
            fail();
        }
        json_decref(r);
    }
}

/* The subtle methods return a rejected promise (they do not throw); the others throw. */
static void test_subtle_rejects(void **unused) {
    (void)unused;
    static const char code[] =
        "function main() {\n"
        "  const out = [];\n"
        "  for (const f of [() => crypto.subtle.digest('MD5', new Uint8Array(1)),\n"
        "                   () => crypto.subtle.importKey('raw', 1, {}, false, []),\n"
        "                   () => crypto.subtle.sign('HMAC', null, null),\n"
        "                   () => crypto.subtle.verify(),\n"
        "                   () => crypto.subtle.exportKey()]) {\n"
        "    let p;\n"
        "    try { p = f(); } catch (e) { out.push('threw'); continue; }\n"
        "    p.catch(() => {});\n"
        "    out.push(p instanceof Promise);\n"
        "  }\n"
        "  try { crypto.sha256(1); out.push('no throw'); } catch (e) { out.push(e.name); }\n"
        "  return out;\n"
        "}\n";
    json_t *r = run_json(code, NULL);
    char *s = json_dumps(r, JSON_COMPACT);
    assert_string_equal(s, "[true,true,true,true,true,\"TypeError\"]");
    free(s);
    json_decref(r);
}

/* ------------------------------------------------------------------------- randomness */

static void test_random(void **unused) {
    (void)unused;
    static const char code[] =
        "function main() {\n"
        "  const re = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;\n"
        "  const seen = new Set();\n"
        "  let bad = 0;\n"
        "  for (let i = 0; i < 1000; i++) {\n"
        "    const u = crypto.randomUUID();\n"
        "    if (!re.test(u)) bad++;\n"
        "    seen.add(u);\n"
        "  }\n"
        "  // in place, same object, every integer type, only the view's bytes\n"
        "  const types = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array,\n"
        "                 Int32Array, Uint32Array, BigInt64Array, BigUint64Array];\n"
        "  const same = types.map((T) => { const a = new T(64); return crypto.getRandomValues(a) "
        "=== a && a.some((x) => x != 0); });\n"
        "  const outer = new Uint8Array(64);\n"
        "  crypto.getRandomValues(outer.subarray(16, 32));\n"
        "  const only = outer.subarray(0, 16).every((x) => x === 0) &&\n"
        "    outer.subarray(32).every((x) => x === 0) && outer.subarray(16, 32).some((x) => x);\n"
        "  const empty = crypto.getRandomValues(new Uint8Array(0)).length;\n"
        "  // byte distribution of 64 KiB: chi-square with 255 degrees of freedom\n"
        "  const big = crypto.getRandomValues(new Uint8Array(65536));\n"
        "  const counts = new Array(256).fill(0);\n"
        "  for (const b of big) counts[b]++;\n"
        "  const chi = counts.reduce((s, c) => s + (c - 256) ** 2 / 256, 0);\n"
        "  const rb = crypto.randomBytes(32), rb2 = crypto.randomBytes(32);\n"
        "  return { uuids: seen.size, bad, same, only, empty, chi,\n"
        "           rb: rb instanceof Uint8Array && rb.length === 32,\n"
        "           differ: rb.some((x, i) => x !== rb2[i]), zero: crypto.randomBytes(0).length,\n"
        "           max: crypto.randomBytes(65536).length };\n"
        "}\n";
    json_t *r = run_json(code, NULL);
    assert_int_equal(json_integer_value(json_object_get(r, "uuids")), 1000);
    assert_int_equal(json_integer_value(json_object_get(r, "bad")), 0);
    json_t *same = json_object_get(r, "same");
    assert_int_equal(json_array_size(same), 9);
    for (size_t i = 0; i < 9; i++) {
        assert_true(json_is_true(json_array_get(same, i)));
    }
    assert_true(json_is_true(json_object_get(r, "only")));
    assert_int_equal(json_integer_value(json_object_get(r, "empty")), 0);
    double chi = json_number_value(json_object_get(r, "chi"));
    /* mean 255, standard deviation about 22.6: [130, 400] is more than 5 deviations */
    assert_true(chi > 130 && chi < 400);
    assert_true(json_is_true(json_object_get(r, "rb")));
    assert_true(json_is_true(json_object_get(r, "differ")));
    assert_int_equal(json_integer_value(json_object_get(r, "zero")), 0);
    assert_int_equal(json_integer_value(json_object_get(r, "max")), 65536);
    json_decref(r);
}

/* ------------------------------------------------------------------------- keys */

/* A CryptoKey shows only what the Web Crypto API shows; its bytes only through exportKey of an
 * extractable key. */
static void test_key_opacity(void **unused) {
    (void)unused;
    static const char code[] = JS_HELPERS
        "async function main() {\n"
        "  const bytes = unhex('5a'.repeat(20) + 'c3'.repeat(12));\n"
        "  const key = await crypto.subtle.importKey('raw', bytes,\n"
        "      { name: 'hmac', hash: { name: 'sha-512' } }, false, ['verify', 'sign', 'sign']);\n"
        "  bytes.fill(0); // the key keeps its own copy\n"
        "  const ext = await crypto.subtle.importKey('raw', unhex('0102'), \n"
        "      { name: 'HMAC', hash: 'SHA-1', length: 16 }, true, ['sign']);\n"
        "  key.type = 'public'; // read-only\n"
        "  key.algorithm.hash.name = 'SHA-1'; // frozen\n"
        "  const mac = await crypto.subtle.sign('HMAC', key, ascii('x'));\n"
        "  return {\n"
        "    names: Object.getOwnPropertyNames(key).sort(),\n"
        "    proto: Object.getOwnPropertyNames(Object.getPrototypeOf(key)),\n"
        "    json: JSON.stringify(key), str: String(key),\n"
        "    type: key.type, extractable: key.extractable, usages: key.usages,\n"
        "    algorithm: key.algorithm, hashAfter: key.algorithm.hash.name,\n"
        "    macLen: mac.byteLength,\n"
        "    exported: hex(await crypto.subtle.exportKey('raw', ext)),\n"
        "    extAlg: ext.algorithm,\n"
        "  };\n"
        "}\n";
    json_t *r = run_json(code, NULL);
    char *s = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(
        s,
        "{\"algorithm\":{\"hash\":{\"name\":\"SHA-512\"},\"length\":256,\"name\":\"HMAC\"},"
        "\"exported\":\"0102\",\"extAlg\":{\"hash\":{\"name\":\"SHA-1\"},\"length\":16,"
        "\"name\":\"HMAC\"},\"extractable\":false,\"hashAfter\":\"SHA-512\",\"json\":"
        "\"{\\\"type\\\":\\\"secret\\\",\\\"extractable\\\":false,\\\"algorithm\\\":{\\\"name\\\":"
        "\\\"HMAC\\\",\\\"hash\\\":{\\\"name\\\":\\\"SHA-512\\\"},\\\"length\\\":256},"
        "\\\"usages\\\":[\\\"sign\\\",\\\"verify\\\"]}\",\"macLen\":64,\"names\":[\"algorithm\","
        "\"extractable\",\"type\",\"usages\"],\"proto\":[],\"str\":\"[object Object]\","
        "\"type\":\"secret\",\"usages\":[\"sign\",\"verify\"]}");
    assert_null(strstr(s, "5a5a"));
    free(s);
    json_decref(r);
}

/* ------------------------------------------------------------------------- gas, freshness */

static void test_gas(void **unused) {
    (void)unused;
    ncsl_js_outcome small, large, capped;
    assert_int_equal(
        run_limits("function main() { return crypto.sha256(new Uint8Array(1)); }", NULL, 0, &small),
        NCSL_OK);
    assert_int_equal(
        run_limits("function main() { return crypto.sha256(new Uint8Array(1 << 20)); }", NULL, 0,
                   &large),
        NCSL_OK);
    /* one gas per started KiB hashed */
    assert_true(large.gas_used >= small.gas_used + 1023);
    /* a digest the call cannot pay for never runs: the call ends with GAS_LIMIT_EXCEEDED */
    assert_int_equal(
        run_limits("async function main() { try { await crypto.subtle.digest('SHA-256', "
                   "new Uint8Array(1 << 20)); } catch (e) { return 'caught'; } }",
                   NULL, 200, &capped),
        NCSL_E_JS_GAS);
    ncsl_js_outcome_cleanup(&small);
    ncsl_js_outcome_cleanup(&large);
    ncsl_js_outcome_cleanup(&capped);
    assert_int_equal(run_limits("function main() { try { crypto.getRandomValues(new "
                                "Uint8Array(65536)); } catch (e) { return 'caught'; } }",
                                NULL, 30, &capped),
                     NCSL_E_JS_GAS);
    ncsl_js_outcome_cleanup(&capped);
}

/* `crypto` is a normal writable global, fresh in every call. */
static void test_fresh_per_call(void **unused) {
    (void)unused;
    json_t *r = run_json("function main() { const t = typeof crypto; crypto.subtle.digest = 1;\n"
                         "  crypto.sha256 = null; const d = delete globalThis.crypto;\n"
                         "  return [t, d, typeof crypto]; }",
                         NULL);
    char *s = json_dumps(r, JSON_COMPACT);
    assert_string_equal(s, "[\"object\",true,\"undefined\"]");
    free(s);
    json_decref(r);
    r = run_json("async function main() { return [typeof crypto.subtle.digest, "
                 "crypto.sha256(''), typeof (crypto = 5), crypto]; }",
                 NULL);
    s = json_dumps(r, JSON_COMPACT);
    assert_string_equal(s, "[\"function\",\"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991"
                           "b7852b855\",\"number\",5]");
    free(s);
    json_decref(r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_digest_vectors), cmocka_unit_test(test_digest_forms),
        cmocka_unit_test(test_hmac_rfc4231),   cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_subtle_rejects), cmocka_unit_test(test_random),
        cmocka_unit_test(test_key_opacity),    cmocka_unit_test(test_gas),
        cmocka_unit_test(test_fresh_per_call),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
