/*
 * Receipt generator for the Neo N3 interop test (tests/interop/neo_interop.js): signs receipts
 * with NCSL's own code (ncsl_receipt_sign) under two fresh ephemeral keys and prints one JSON
 * object per line:
 *
 *   {"case": NAME, "receipt": {...receipt JSON...}, "message": HEX (ncsl_receipt_encode),
 *    "neoAddress": ADDR (ncsl_receipt_neo_address), "verificationScript": HEX,
 *    "scriptHash": HEX (RIPEMD160(SHA256(script)), the byte order Neo stores it)}
 *
 * The cases vary what an independent encoder could get wrong: empty ids, non-ASCII ids (some
 * lines with \u escapes and surrogate pairs, some with raw UTF-8), the longest ids allowed with
 * multi-byte characters (bytes != characters), the shortest executionId, the smallest and largest
 * timestamps, extreme hash bytes, and the current time. Every case is signed twice, once with a
 * nonce from the signing key's precomputed pool and once on the normal path (member "path":
 * "pool" or "fresh"; the key's counters confirm which path each signature took).
 *
 *   ncsl_interop_gen_receipts      (no arguments; exit 0 on success, 1 on any failure)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "crypto/crypto.h"
#include "keys/keys.h"
#include "keys/keys_int.h"
#include "receipt/receipt.h"

/* A test case: NULL strings mean "" for functionId/userId (the API allows both). */
typedef struct gen_case {
    const char *name;
    int key; /* 0 or 1: which of the two keys signs */
    const char *execution_id;
    const char *function_id;
    const char *user_id;
    const char *code;   /* codeHash = SHA-256(code), unless fill_hash is used */
    const char *input;  /* inputHash = SHA-256(input) */
    const char *output; /* outputHash = SHA-256(output) */
    int fill_hash;      /* >= 0: all three hashes are this byte, then 0xff, 0x80 */
    uint64_t timestamp_ms;
    size_t dump_flags; /* extra json_dumps flags (JSON_ENSURE_ASCII) */
} gen_case;

static int fail(const char *what, const ncsl_err *err) {
    fprintf(stderr, "gen_receipts: %s: %s\n", what, err->message);
    return 1;
}

static int hex_member(json_t *obj, const char *key, const uint8_t *data, size_t len) {
    char *hex = malloc(2 * len + 1);
    ncsl_err err;
    if (!hex || ncsl_crypto_hex_encode(data, len, hex, 2 * len + 1, &err) != NCSL_OK) {
        free(hex);
        return -1;
    }
    int rc = json_object_set_new(obj, key, json_string(hex));
    free(hex);
    return rc;
}

/* Signs case `c` with `keys`, on the pool path when `pool` (the caller filled the pool). */
static int emit(ncsl_keys *keys, const gen_case *c, bool pool) {
    ncsl_keys_presign_stats before, after;
    ncsl_receipt_input in;
    ncsl_receipt r;
    ncsl_err err;
    memset(&in, 0, sizeof(in));
    in.execution_id = c->execution_id;
    in.function_id = c->function_id;
    in.user_id = c->user_id;
    in.timestamp_ms = c->timestamp_ms;
    if (c->fill_hash >= 0) {
        memset(in.code_hash, c->fill_hash, sizeof(in.code_hash));
        memset(in.input_hash, 0xff, sizeof(in.input_hash));
        memset(in.output_hash, 0x80, sizeof(in.output_hash));
    } else if (ncsl_crypto_sha256(c->code, strlen(c->code), in.code_hash, &err) != NCSL_OK ||
               ncsl_crypto_sha256(c->input, strlen(c->input), in.input_hash, &err) != NCSL_OK ||
               ncsl_crypto_sha256(c->output, strlen(c->output), in.output_hash, &err) != NCSL_OK) {
        return fail("sha256", &err);
    }
    ncsl_keys_presign_stats_get(keys, &before);
    if (ncsl_receipt_sign(keys, &in, &r, &err) != NCSL_OK) {
        return fail(c->name, &err);
    }
    ncsl_keys_presign_stats_get(keys, &after);
    if (after.used - before.used != (pool ? 1u : 0u)) {
        fprintf(stderr, "gen_receipts: %s: signed on the %s path, not the %s path\n", c->name,
                pool ? "normal" : "pool", pool ? "pool" : "normal");
        ncsl_receipt_cleanup(&r);
        return 1;
    }

    int rc = 1;
    uint8_t *msg = NULL;
    size_t msg_len = 0;
    json_t *line = NULL, *receipt = NULL;
    char *text = NULL;
    char address[NCSL_NEO_ADDRESS_SIZE];
    uint8_t script[NCSL_NEO_VERIFICATION_SCRIPT_SIZE];
    uint8_t script_hash[NCSL_NEO_SCRIPT_HASH_SIZE];
    if (ncsl_receipt_encode(&r, &msg, &msg_len, &err) != NCSL_OK) {
        fail("encode", &err);
        goto out;
    }
    if (ncsl_receipt_neo_address(r.signing_key, address, &err) != NCSL_OK) {
        fail("neo address", &err);
        goto out;
    }
    ncsl_receipt_neo_verification_script(r.signing_key, script);
    if (ncsl_receipt_neo_script_hash(script, sizeof(script), script_hash, &err) != NCSL_OK) {
        fail("script hash", &err);
        goto out;
    }
    if (ncsl_receipt_to_json(&r, &receipt, &err) != NCSL_OK) {
        fail("to_json", &err);
        goto out;
    }
    line = json_object();
    if (!line || json_object_set_new(line, "case", json_string(c->name)) != 0 ||
        json_object_set_new(line, "path", json_string(pool ? "pool" : "fresh")) != 0 ||
        json_object_set(line, "receipt", receipt) != 0 ||
        hex_member(line, "message", msg, msg_len) != 0 ||
        json_object_set_new(line, "neoAddress", json_string(address)) != 0 ||
        hex_member(line, "verificationScript", script, sizeof(script)) != 0 ||
        hex_member(line, "scriptHash", script_hash, sizeof(script_hash)) != 0) {
        fprintf(stderr, "gen_receipts: %s: cannot build the output line\n", c->name);
        goto out;
    }
    text = json_dumps(line, JSON_COMPACT | c->dump_flags);
    if (!text || printf("%s\n", text) < 0) {
        fprintf(stderr, "gen_receipts: %s: cannot write the output line\n", c->name);
        goto out;
    }
    rc = 0;
out:
    free(text);
    json_decref(line);
    json_decref(receipt);
    free(msg);
    ncsl_receipt_cleanup(&r);
    return rc;
}

/* Appends `unit` to `buf` (size `size`) until its byte length reaches `bytes` exactly, padding
 * with ASCII 'x' when a whole unit no longer fits. */
static void fill(char *buf, size_t size, const char *unit, size_t bytes) {
    size_t n = 0, u = strlen(unit);
    while (n + u <= bytes && n + u < size) {
        memcpy(buf + n, unit, u);
        n += u;
    }
    while (n < bytes && n + 1 < size) {
        buf[n++] = 'x';
    }
    buf[n] = '\0';
}

int main(void) {
    /* Longest ids allowed: 256 bytes of executionId, 1024 of functionId and userId. */
    static char long_exec[NCSL_RECEIPT_MAX_EXECUTION_ID + 1];
    static char long_fn[NCSL_RECEIPT_MAX_ID + 1];
    static char long_user[NCSL_RECEIPT_MAX_ID + 1];
    fill(long_exec, sizeof(long_exec), "\xe2\x82\xac", NCSL_RECEIPT_MAX_EXECUTION_ID); /* euro */
    fill(long_fn, sizeof(long_fn), "fn-", NCSL_RECEIPT_MAX_ID);
    fill(long_user, sizeof(long_user), "\xf0\x9f\x94\x91", NCSL_RECEIPT_MAX_ID); /* key emoji */

    const char *code = "function main(input) { return { result: input.value * 2 }; }";
    const gen_case cases[] = {
        {"typical", 0, "5f0c6b1e-8a2d-4c3b-9e7f-1a2b3c4d5e6f", "price-oracle", "user-42", code,
         "{\"value\":42}", "{\"result\":84}", -1, 1795532400123ull, 0},
        {"empty-function-id", 0, "0b6f1c7e-2a51-4f0e-9d3c-8e7a6b5c4d3e", NULL, "user-42", code,
         "{\"value\":1}", "{\"result\":2}", -1, 0 /* now */, 0},
        {"empty-ids", 1, "7d3e2f10-5c4b-4a39-8827-16f5e4d3c2b1", "", "", "function main(){}",
         "null", "null", -1, 1700000000000ull, 0},
        {"non-ascii-escaped", 0, "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
         "fonction-\xc3\xa9t\xc3\xa9",
         /* usér-Ünïcødé-日本-🔑 (split where a hex escape would swallow the next letter) */
         "us\xc3\xa9r-\xc3\x9cn\xc3\xaf"
         "c\xc3\xb8"
         "d\xc3\xa9-\xe6\x97\xa5\xe6\x9c\xac-\xf0\x9f\x94\x91",
         code, "{\"value\":\"\xc3\xa9\"}", "{}", -1, 1795532400999ull, JSON_ENSURE_ASCII},
        {"non-ascii-raw", 1, "e4d3c2b1-a098-4765-8432-10fedcba9876",
         "\xd1\x84\xd1\x83\xd0\xbd\xd0\xba\xd1\x86\xd0\xb8\xd1\x8f" /* функция */,
         "\xe7\x94\xa8\xe6\x88\xb7-\xf0\x9f\x99\x82" /* 用户-🙂 */, code, "[]", "[1]", -1,
         1795532401000ull, 0},
        {"max-lengths", 0, long_exec, long_fn, long_user, code, "{\"big\":true}", "\"ok\"", -1,
         1795532402345ull, 0},
        {"min-execution-id", 1, "x", "f", "u", code, "0", "0", -1, 1 /* 1970 + 1 ms */, 0},
        {"max-timestamp", 1, "ffffffff-ffff-4fff-bfff-ffffffffffff", "max", "max", NULL, NULL, NULL,
         0x00, 253402300799999ull /* 9999-12-31T23:59:59.999Z */, 0},
    };

    ncsl_keys *keys[2] = {NULL, NULL};
    ncsl_err err;
    int rc = 1;
    for (int i = 0; i < 2; i++) {
        if (ncsl_keys_create_ephemeral(NULL, &keys[i], &err) != NCSL_OK) {
            fail("ephemeral key", &err);
            goto out;
        }
    }
    for (int pool = 1; pool >= 0; pool--) {
        for (int i = 0; i < 2; i++) {
            /* The pool full (the thread starts now), or off. */
            if (ncsl__keys_presign_configure(keys[i], pool ? NCSL__KEYS_PRESIGN_DEFAULT : 0, true,
                                             &err) != NCSL_OK) {
                fail("pool", &err);
                goto out;
            }
            if (pool && !ncsl__keys_presign_wait(keys[i], NCSL__KEYS_PRESIGN_DEFAULT, 30000)) {
                fprintf(stderr, "gen_receipts: the nonce pool did not fill in 30 s\n");
                goto out;
            }
        }
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            if (emit(keys[cases[i].key], &cases[i], pool) != 0) {
                goto out;
            }
        }
    }
    rc = fflush(stdout) == 0 ? 0 : 1;
out:
    ncsl_keys_destroy(keys[0]);
    ncsl_keys_destroy(keys[1]);
    return rc;
}
