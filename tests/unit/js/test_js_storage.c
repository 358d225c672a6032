/*
 * The JS `storage` global (src/js/js_storage.c) against an in-memory store double: reads through
 * the hooks, the call's overlay of pending writes (get/list see them), the write batch handed
 * over only by a successful call, key/value/quota/pending-key limits, hook failures and hostile
 * code. Table driven; after each case the same runtime must run a normal call.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "js/js.h"
#include "js_fixture.h"
#include "storage_double.h"

#define MIB ((size_t)1 << 20)

/* Settles a promise into its value or "Name: message", so a case can return both. */
static const char g_prelude[] =
    "const R = async (p) => { try { return await p; } "
    "catch (e) { return (e && e.name) + ': ' + (e && e.message); } };\n";

enum { LIM_DEFAULT, LIM_SHORT, LIM_MEM32 };

static ncsl_js_limits limits_of(int which) {
    ncsl_js_limits l = {
        .memory_bytes = 64 * MIB,
        .timeout_ms = 30000, /* not what these tests measure: room for loaded sanitizer runs */
        .stack_bytes = 512 * 1024,
        .max_output_bytes = MIB,
        .max_log_bytes = 4096,
    };
    if (which == LIM_SHORT) {
        l.timeout_ms = 300;
    } else if (which == LIM_MEM32) {
        l.memory_bytes = 32 * MIB;
    }
    return l;
}

/* The store every case starts from: usage 2 + 8 + 4 + 4 + 4 = 22 bytes. */
static void seed(mem_store *m) {
    mem_store_put(m, "a", "1");
    mem_store_put(m, "b", "{\"x\":2}");
    mem_store_put(m, "c", "\"s\"");
    mem_store_put(m, "p/1", "1");
    mem_store_put(m, "p/2", "2");
}

static ncsl_status run(ncsl_js_runtime *rt, mem_store *m, const char *body, int limits,
                       ncsl_js_outcome *o, ncsl_err *err) {
    size_t len = strlen(g_prelude) + strlen(body) + 1;
    char *code = malloc(len);
    assert_non_null(code);
    snprintf(code, len, "%s%s", g_prelude, body);
    ncsl_js_call call = {
        .code = code,
        .code_len = strlen(code),
        .limits = limits_of(limits),
        .storage = m ? &m->hooks : NULL,
    };
    ncsl_status st = ncsl_js_run(rt, &call, o, err);
    free(code);
    return st;
}

static void assert_runtime_healthy(ncsl_js_runtime *rt) {
    ncsl_js_outcome o;
    assert_int_equal(run(rt, NULL, "function main() { return 42; }", LIM_DEFAULT, &o, NULL),
                     NCSL_OK);
    assert_string_equal(o.result_json, "42");
    assert_null(o.storage_writes);
    ncsl_js_outcome_cleanup(&o);
}

/* ------------------------------------------------------------------------- table */
enum { FAIL_NONE, FAIL_GET, FAIL_LIST, FAIL_USAGE };
#define NO_STORAGE 1 /* the call gets no hooks */
#define SEED_BAD 2   /* the store also holds "bad", whose value is not JSON */

typedef struct storage_case {
    const char *name;
    const char *code;
    int flags;          /* NO_STORAGE, SEED_BAD */
    uint64_t quota;     /* hooks.quota_bytes */
    size_t max_key;     /* hooks.max_key_bytes (0: default) */
    size_t max_value;   /* hooks.max_value_bytes (0: default) */
    int fail;           /* which hook fails (NCSL_E_STORE_INTEGRITY) */
    int limits;         /* LIM_* */
    ncsl_status status; /* of ncsl_js_run */
    const char *result; /* exact result JSON, or NULL (not checked) */
    const char *batch;  /* exact mem_batch_text of the writes; "" = no writes */
    long writes;        /* number of writes, or -1 (not checked) */
} storage_case;

#define NOT_SERIALIZABLE "TypeError: storage.set: value must be JSON-serializable"
#define UNAVAILABLE                                                                                \
    "\"Error: storage is available only to deployed functions (POST "                              \
    "/api/v1/functions/{id}/invoke)\""

static const storage_case g_cases[] = {
    /* reads and the overlay */
    {"get stored and absent",
     "async function main() { return [await storage.get('a'), await storage.get('b'), "
     "await storage.get('zz')]; }",
     0, 0, 0, 0, FAIL_NONE, LIM_DEFAULT, NCSL_OK, "[1,{\"x\":2},null]", "", 0},
    {"methods return promises, object frozen",
     "function main() { const p = storage.get('a'); return [p instanceof Promise, "
     "storage.set('k', 1) instanceof Promise, storage.list() instanceof Promise, "
     "Object.isFrozen(storage), Object.getOwnPropertyNames(storage).sort()]; }",
     0, 0, 0, 0, FAIL_NONE, LIM_DEFAULT, NCSL_OK,
     "[true,true,true,true,[\"clear\",\"get\",\"list\",\"remove\",\"set\"]]", "SET k=1", 1},
    {"global cannot be replaced",
     "function main() { storage = 1; try { storage.get = null; } catch (e) {} "
     "try { delete storage.set; } catch (e) {} "
     "const d = Object.getOwnPropertyDescriptor(globalThis, 'storage'); "
     "return [typeof storage.get, typeof storage.set, d.writable, d.configurable]; }",
     0, 0, 0, 0, FAIL_NONE, LIM_DEFAULT, NCSL_OK, "[\"function\",\"function\",false,false]", "", 0},
    {"detached methods",
     "async function main() { const { get, set } = storage; await set('n', 5); "
     "return [await get('n'), await get.call(null, 'a'), await storage.get.call({}, 'c')]; }",
     0, 0, 0, 0, FAIL_NONE, LIM_DEFAULT, NCSL_OK, "[5,1,\"s\"]", "SET n=5", 1},
    {"get after set sees the pending value",
     "async function main() { await storage.set('a', { v: [1, 'x'], t: true }); "
     "return await storage.get('a'); }",
     0, 0, 0, 0, FAIL_NONE, LIM_DEFAULT, NCSL_OK, "{\"v\":[1,\"x\"],\"t\":true}",
     "SET a={\"v\":[1,\"x\"],\"t\":true}", 1},
    {"writes resolve to undefined",
     "async function main() { return [await storage.set('k', null), await storage.remove('k'), "
     "await storage.clear()].map(v => v === undefined); }",
     0, 0, 0, 0, FAIL_NONE, LIM_DEFAULT, NCSL_OK, "[true,true,true]", "CLEAR", 1},
    {"later writes of a key replace earlier ones",
     "async function main() { await storage.set('a', 1); await storage.set('a', 2); "
     "await storage.remove('b'); await storage.set('b', 3); await storage.set('c', 4); "
     "await storage.remove('c'); return 0; }",
     0, 0, 0, 0, FAIL_NONE, LIM_DEFAULT, NCSL_OK, "0", "SET a=2;SET b=3;REMOVE c", 3},
    {"get after remove is null",
     "async function main() { await storage.remove('a'); "
     "return [await storage.get('a'), await storage.get('b')]; }",
     0, 0, 0, 0, FAIL_NONE, LIM_DEFAULT, NCSL_OK, "[null,{\"x\":2}]", "REMOVE a", 1},
    {"list merges pending sets and removes",
     "async function main() { await storage.set('d', 1); await storage.remove('b'); "
     "await storage.set('a', 9); await storage.remove('zz'); "
     "return [await storage.list(), await storage.list('p/'), await storage.list('q'), "
     "await storage.list(undefined)]; }",
     0, 0, 0, 0, FAIL_NONE, LIM_DEFAULT, NCSL_OK,
     "[[\"a\",\"c\",\"d\",\"p/1\",\"p/2\"],[\"p/1\",\"p/2\"],[],[\"a\",\"c\",\"d\",\"p/1\","
     "\"p/2\"]]",
     "SET a=9;REMOVE b;SET d=1;REMOVE zz", 4},
    {"list is sorted bytewise",
     "async function main() { for (const k of ['\\u00e9', 'Z', 'a0', '~']) "
     "await storage.set(k, 0); return await storage.list(); }",
     0, 0, 0, 0, FAIL_NONE, LIM_DEFAULT, NCSL_OK,
     "[\"Z\",\"a\",\"a0\",\"b\",\"c\",\"p/1\",\"p/2\",\"~\",\"\u00e9\"]", NULL, 4},
    {"clear then set",
     "async function main() { await storage.clear(); await storage.set('x', 1); "
     "return [await storage.list(), await storage.get('a'), await storage.get('x')]; }",
     0, 0, 0, 0, FAIL_NONE, LIM_DEFAULT, NCSL_OK, "[[\"x\"],null,1]", "CLEAR;SET x=1", 2},
    {"set, clear, set, remove",
     "async function main() { await storage.set('y', 1); await storage.clear(); "
     "await storage.set('x', 1); await storage.remove('x'); await storage.remove('a'); "
     "return await storage.list(); }",
     0, 0, 0, 0, FAIL_NONE, LIM_DEFAULT, NCSL_OK, "[]", "CLEAR", 1},
    {"unicode key and value",
     "async function main() { await storage.set('\u043a\u043b\u044e\u0447', '\u00e9\u20ac'); "
     "return await storage.get('\u043a\u043b\u044e\u0447'); }",
     0, 0, 0, 0, FAIL_NONE, LIM_DEFAULT, NCSL_OK, "\"\u00e9\u20ac\"",
     "SET \u043a\u043b\u044e\u0447=\"\u00e9\u20ac\"", 1},
    {"a toJSON that writes to storage",
     "async function main() { await storage.set('a', { toJSON() { storage.clear(); "
     "storage.set('z', 1); return 5; } }); return await storage.list(); }",
     0, 0, 0, 0, FAIL_NONE, LIM_DEFAULT, NCSL_OK, "[\"a\",\"z\"]", "CLEAR;SET a=5;SET z=1", 3},
    {"stored value that is not JSON", "async function main() { return R(storage.get('bad')); }",
     SEED_BAD, 0, 0, 0, FAIL_NONE, LIM_DEFAULT, NCSL_OK,
     "\"Error: storage.get: the stored value is not valid JSON\"", "", 0},

    /* no storage (execute-javascript, ncsl run) */
    {"unavailable without hooks",
     "async function main() { return [await R(storage.get('a')), await R(storage.set('a', 1)), "
     "await R(storage.remove('a')), await R(storage.list()), await R(storage.clear())]; }",
     NO_STORAGE, 0, 0, 0, FAIL_NONE, LIM_DEFAULT, NCSL_OK,
     "[" UNAVAILABLE "," UNAVAILABLE "," UNAVAILABLE "," UNAVAILABLE "," UNAVAILABLE "]", "", 0},
    {"unavailable is an Error",
     "async function main() { try { await storage.get('a'); } catch (e) { "
     "return [e instanceof Error, e.name]; } }",
     NO_STORAGE, 0, 0, 0, FAIL_NONE, LIM_DEFAULT, NCSL_OK, "[true,\"Error\"]", "", 0},

    /* keys */
    {"huge key",
     "async function main() { return [await R(storage.set('k'.repeat(2000), 1)), "
     "await R(storage.get('k'.repeat(1e7))), await R(storage.remove('k'.repeat(1025)))]; }",
     0, 0, 0, 0, FAIL_NONE, LIM_DEFAULT, NCSL_OK,
     "[\"RangeError: storage.set: key is 2000 bytes, the limit is 1024\","
     "\"RangeError: storage.get: key is 10000000 bytes, the limit is 1024\","
     "\"RangeError: storage.remove: key is 1025 bytes, the limit is 1024\"]",
     "", 0},
    {"key at the limit in UTF-8 bytes",
     "async function main() { return [await R(storage.set('\\u00e9'.repeat(512), 1)), "
     "await R(storage.set('\\u00e9'.repeat(513), 1))]; }",
     0, 0, 0, 0, FAIL_NONE, LIM_DEFAULT, NCSL_OK,
     "[null,\"RangeError: storage.set: key is 1026 bytes, the limit is 1024\"]", NULL, 1},
    {"key limit from the hooks",
     "async function main() { return [await R(storage.set('abcd', 1)), "
     "await R(storage.set('abcde', 1))]; }",
     0, 0, 4, 0, FAIL_NONE, LIM_DEFAULT, NCSL_OK,
     "[null,\"RangeError: storage.set: key is 5 bytes, the limit is 4\"]", "SET abcd=1", 1},
    {"empty key", "async function main() { return R(storage.set('', 1)); }", 0, 0, 0, 0, FAIL_NONE,
     LIM_DEFAULT, NCSL_OK, "\"RangeError: storage.set: key is empty; keys are 1 to 1024 bytes\"",
     "", 0},
    {"NUL in key",
     "async function main() { return [await R(storage.set('a\\0b', 1)), "
     "await R(storage.get('\\0')), await R(storage.remove('a\\0'))]; }",
     0, 0, 0, 0, FAIL_NONE, LIM_DEFAULT, NCSL_OK,
     "[\"TypeError: storage.set: key must not contain NUL characters\","
     "\"TypeError: storage.get: key must not contain NUL characters\","
     "\"TypeError: storage.remove: key must not contain NUL characters\"]",
     "", 0},
    {"key not a string",
     "async function main() { return [await R(storage.get(1)), await R(storage.get()), "
     "await R(storage.set({ toString() { return 'a'; } }, 1)), "
     "await R(storage.remove(Symbol('s')))]; }",
     0, 0, 0, 0, FAIL_NONE, LIM_DEFAULT, NCSL_OK,
     "[\"TypeError: storage.get: key must be a string\","
     "\"TypeError: storage.get: key must be a string\","
     "\"TypeError: storage.set: key must be a string\","
     "\"TypeError: storage.remove: key must be a string\"]",
     "", 0},
    {"lone surrogate in key",
     "async function main() { return [await R(storage.set('\\ud800x', 1)), "
     "await R(storage.set('\\udfff', 1)), await R(storage.set('\\ud83d\\ude00', 1))]; }",
     0, 0, 0, 0, FAIL_NONE, LIM_DEFAULT, NCSL_OK,
     "[\"TypeError: storage.set: key must be well-formed Unicode (no lone surrogates)\","
     "\"TypeError: storage.set: key must be well-formed Unicode (no lone surrogates)\",null]",
     NULL, 1},
    {"list prefix",
     "async function main() { return [await R(storage.list(5)), "
     "await R(storage.list('x'.repeat(5000))), await R(storage.list('a\\0'))]; }",
     0, 0, 0, 0, FAIL_NONE, LIM_DEFAULT, NCSL_OK,
     "[\"TypeError: storage.list: prefix must be a string\",[],"
     "\"TypeError: storage.list: prefix must not contain NUL characters\"]",
     "", 0},

    /* values */
    {"huge value", "async function main() { return R(storage.set('k', 'x'.repeat(2000))); }", 0, 0,
     0, 1000, FAIL_NONE, LIM_DEFAULT, NCSL_OK,
     "\"RangeError: storage.set: value is 2002 bytes, the limit is 1000\"", "", 0},
    {"huge value, default limit",
     "async function main() { return [await R(storage.set('k', 'x'.repeat(2 << 20))), "
     "await R(storage.set('k', new Array(3e5).fill('abc')))]; }",
     0, 0, 0, 0, FAIL_NONE, LIM_DEFAULT, NCSL_OK,
     "[\"RangeError: storage.set: value is 2097154 bytes, the limit is 1048576\","
     "\"RangeError: storage.set: value is 1800001 bytes, the limit is 1048576\"]",
     "", 0},
    {"value at the limit", "async function main() { return R(storage.set('k', 'x'.repeat(998))); }",
     0, 0, 0, 1000, FAIL_NONE, LIM_DEFAULT, NCSL_OK, "null", NULL, 1},
    {"values that are not JSON-serializable",
     "async function main() { const c = {}; c.self = c; "
     "return [await R(storage.set('k')), await R(storage.set('k', undefined)), "
     "await R(storage.set('k', () => 1)), await R(storage.set('k', Symbol('s'))), "
     "await R(storage.set('k', 10n)), await R(storage.set('k', { n: 1n })), "
     "await R(storage.set('k', c)), await R(storage.set('k', { toJSON() {} })), "
     "await R(storage.set('k', { toJSON() { throw new RangeError('mine'); } }))]; }",
     0, 0, 0, 0, FAIL_NONE, LIM_DEFAULT, NCSL_OK,
     "[\"" NOT_SERIALIZABLE " (not undefined, a function or a symbol); use null, or remove(key)\","
     "\"" NOT_SERIALIZABLE " (not undefined, a function or a symbol); use null, or remove(key)\","
     "\"" NOT_SERIALIZABLE " (not undefined, a function or a symbol); use null, or remove(key)\","
     "\"" NOT_SERIALIZABLE " (not undefined, a function or a symbol); use null, or remove(key)\","
     "\"TypeError: storage.set: a BigInt is not JSON-serializable; store it as a string\","
     "\"TypeError: storage.set: value is not JSON-serializable (BigInt are forbidden in "
     "JSON.stringify)\","
     "\"TypeError: storage.set: value is not JSON-serializable (circular reference)\","
     "\"" NOT_SERIALIZABLE "; JSON.stringify gave undefined\","
     "\"TypeError: storage.set: value is not JSON-serializable (mine)\"]",
     "", 0},
    {"NaN and dates store as JSON does",
     "async function main() { await storage.set('n', [NaN, new Date(0), -0]); "
     "return storage.get('n'); }",
     0, 0, 0, 0, FAIL_NONE, LIM_DEFAULT, NCSL_OK, "[null,\"1970-01-01T00:00:00.000Z\",0]",
     "SET n=[null,\"1970-01-01T00:00:00.000Z\",0]", 1},

    /* pending-key cap */
    {"100k removes of distinct keys",
     "async function main() { let rejected = 0, msg; for (let i = 0; i < 100000; i++) { "
     "try { await storage.remove('k' + i); } catch (e) { rejected++; msg = e.message; } } "
     "return [rejected, msg]; }",
     0, 0, 0, 0, FAIL_NONE, LIM_DEFAULT, NCSL_OK,
     "[90000,\"storage.remove: a call may write at most 10000 distinct keys\"]", NULL, 10000},
    {"100k removes of distinct keys with a quota",
     "async function main() { let rejected = 0; for (let i = 0; i < 100000; i++) { "
     "try { await storage.remove('k' + i); } catch (e) { rejected++; } } return rejected; }",
     0, 1000000, 0, 0, FAIL_NONE, LIM_DEFAULT, NCSL_OK, "90000", NULL, 10000},
    {"100k sets of one key",
     "async function main() { for (let i = 0; i < 100000; i++) await storage.set('k', i); "
     "return storage.get('k'); }",
     0, 0, 0, 0, FAIL_NONE, LIM_DEFAULT, NCSL_OK, "99999", "SET k=99999", 1},
    {"removes after clear need no entry",
     "async function main() { await storage.clear(); for (let i = 0; i < 50000; i++) "
     "await storage.remove('k' + i); return 1; }",
     0, 0, 0, 0, FAIL_NONE, LIM_DEFAULT, NCSL_OK, "1", "CLEAR", 1},
    {"endless distinct sets end at the deadline",
     "async function main() { for (let i = 0; ; i++) { try { await storage.set('k' + i, i); } "
     "catch (e) {} } }",
     0, 0, 0, 0, FAIL_NONE, LIM_SHORT, NCSL_E_JS_TIMEOUT, NULL, "", 0},

    /* quota (stored usage 22 bytes) */
    {"quota exceeded",
     "async function main() { let code, isErr; try { await storage.set('big', 'x'.repeat(30)); "
     "} catch (e) { code = e.code; isErr = e instanceof Error; } "
     "return [await R(storage.set('big', 'x'.repeat(30))), code, isErr, "
     "await R(storage.set('s', 1))]; }",
     0, 40, 0, 0, FAIL_NONE, LIM_DEFAULT, NCSL_OK,
     "[\"QuotaExceededError: storage.set: the function's storage would hold 57 bytes, over its "
     "quota of 40 bytes (22 bytes used now, this write adds 35)\",\"QUOTA_EXCEEDED\",true,null]",
     "SET s=1", 1},
    {"quota: a remove makes room",
     "async function main() { const first = await R(storage.set('n', 'x'.repeat(10))); "
     "await storage.remove('b'); return [first, await R(storage.set('n', 'x'.repeat(10)))]; }",
     0, 30, 0, 0, FAIL_NONE, LIM_DEFAULT, NCSL_OK,
     "[\"QuotaExceededError: storage.set: the function's storage would hold 35 bytes, over its "
     "quota of 30 bytes (22 bytes used now, this write adds 13)\",null]",
     "REMOVE b;SET n=\"xxxxxxxxxx\"", 2},
    {"quota: an overwrite counts the old size once",
     "async function main() { await storage.set('b', 1); await storage.set('z', 'xxxxx'); "
     "await storage.set('z', 'xxxxx'); return R(storage.set('y', 1)); }",
     0, 25, 0, 0, FAIL_NONE, LIM_DEFAULT, NCSL_OK,
     "\"QuotaExceededError: storage.set: the function's storage would hold 26 bytes, over its "
     "quota of 25 bytes (24 bytes used now, this write adds 2)\"",
     "SET b=1;SET z=\"xxxxx\"", 2},
    {"quota: clear frees everything",
     "async function main() { await storage.clear(); return R(storage.set('big', "
     "'x'.repeat(20))); }",
     0, 25, 0, 0, FAIL_NONE, LIM_DEFAULT, NCSL_OK, "null", "CLEAR;SET big=\"xxxxxxxxxxxxxxxxxxxx\"",
     2},
    {"quota: an over-quota function may shrink",
     "async function main() { return [await R(storage.set('b', 1)), "
     "await R(storage.set('q', 1))]; }",
     0, 10, 0, 0, FAIL_NONE, LIM_DEFAULT, NCSL_OK,
     "[null,\"QuotaExceededError: storage.set: the function's storage would hold 18 bytes, over "
     "its quota of 10 bytes (16 bytes used now, this write adds 2)\"]",
     "SET b=1", 1},

    /* hook failures: the hook's message, never a value */
    {"get hook fails",
     "async function main() { try { await storage.get('a'); } catch (e) { "
     "return [e.name, e.message, e.code]; } }",
     0, 0, 0, 0, FAIL_GET, LIM_DEFAULT, NCSL_OK,
     "[\"Error\",\"record kv/u/f/0a1b failed its integrity check\",\"INTEGRITY_ERROR\"]", "", 0},
    {"list hook fails", "async function main() { return R(storage.list('p')); }", 0, 0, 0, 0,
     FAIL_LIST, LIM_DEFAULT, NCSL_OK, "\"Error: record kv/u/f/0a1b failed its integrity check\"",
     "", 0},
    {"usage hook fails", "async function main() { return R(storage.set('a', 2)); }", 0, 100, 0, 0,
     FAIL_USAGE, LIM_DEFAULT, NCSL_OK, "\"Error: record kv/u/f/0a1b failed its integrity check\"",
     "", 0},
    {"uncaught hook failure fails the call",
     "async function main() { await storage.set('x', 1); return storage.get('a'); }", 0, 0, 0, 0,
     FAIL_GET, LIM_DEFAULT, NCSL_E_JS_EXCEPTION, NULL, "", 0},

    /* a failed call hands over nothing */
    {"set then throw",
     "async function main() { await storage.set('a', 2); throw new Error('after'); }", 0, 0, 0, 0,
     FAIL_NONE, LIM_DEFAULT, NCSL_E_JS_EXCEPTION, NULL, "", 0},
    {"set then sync throw", "function main() { storage.set('a', 2); storage.clear(); throw 1; }", 0,
     0, 0, 0, FAIL_NONE, LIM_DEFAULT, NCSL_E_JS_EXCEPTION, NULL, "", 0},
    {"set then timeout", "async function main() { await storage.set('a', 2); for (;;) {} }", 0, 0,
     0, 0, FAIL_NONE, LIM_SHORT, NCSL_E_JS_TIMEOUT, NULL, "", 0},
    {"set then a promise that never settles",
     "async function main() { await storage.set('a', 2); await new Promise(() => {}); }", 0, 0, 0,
     0, FAIL_NONE, LIM_SHORT, NCSL_E_JS_TIMEOUT, NULL, "", 0},
    {"set then a bad result",
     "async function main() { await storage.set('a', 2); return { n: 1n }; }", 0, 0, 0, 0,
     FAIL_NONE, LIM_DEFAULT, NCSL_E_JS_BAD_RESULT, NULL, "", 0},
    {"set then stack overflow",
     "function f() { return f() + 1; }\nasync function main() { await storage.set('a', 2); "
     "return f(); }",
     0, 0, 0, 0, FAIL_NONE, LIM_DEFAULT, NCSL_E_JS_STACK, NULL, "", 0},
    /* the overlay is C memory: it counts against the call's memory limit */
    {"pending values count against the memory limit",
     "async function main() { const v = 'x'.repeat(4 << 20); for (let i = 0; i < 100; i++) { "
     "try { await storage.set('k' + i, v); } catch (e) {} } return 'done'; }",
     0, 0, 0, 16 * MIB, FAIL_NONE, LIM_MEM32, NCSL_E_JS_MEMORY, NULL, "", 0},
};

static void test_table(void **state) {
    ncsl_js_runtime *rt = *state;
    for (size_t i = 0; i < sizeof(g_cases) / sizeof(g_cases[0]); i++) {
        const storage_case *tc = &g_cases[i];
        print_message("case: %s\n", tc->name);
        mem_store m;
        mem_store_init(&m, tc->quota, tc->max_key, tc->max_value);
        seed(&m);
        if (tc->flags & SEED_BAD) {
            mem_store_put(&m, "bad", "{nope");
        }
        snprintf(m.fail_message, sizeof(m.fail_message),
                 "record kv/u/f/0a1b failed its integrity check");
        m.fail_get = tc->fail == FAIL_GET ? NCSL_E_STORE_INTEGRITY : NCSL_OK;
        m.fail_list = tc->fail == FAIL_LIST ? NCSL_E_STORE_INTEGRITY : NCSL_OK;
        m.fail_usage = tc->fail == FAIL_USAGE ? NCSL_E_STORE_INTEGRITY : NCSL_OK;
        ncsl_js_outcome o;
        ncsl_err err;
        ncsl_status st =
            run(rt, (tc->flags & NO_STORAGE) ? NULL : &m, tc->code, tc->limits, &o, &err);
        if (st != tc->status) {
            fail_msg("%s: status %d, want %d (%s: %s)", tc->name, st, tc->status,
                     o.error_name ? o.error_name : "", o.error_message ? o.error_message : "");
        }
        if (tc->result) {
            if (!o.result_json || strcmp(o.result_json, tc->result) != 0) {
                fail_msg("%s: result\n  %s\nwant\n  %s", tc->name,
                         o.result_json ? o.result_json : "(none)", tc->result);
            }
        }
        if (st != NCSL_OK) {
            assert_null(o.storage_writes);
            assert_int_equal(o.storage_write_count, 0);
        }
        if (tc->writes >= 0) {
            assert_int_equal(o.storage_write_count, (size_t)tc->writes);
        }
        if (tc->batch) {
            static char text[1 << 16];
            mem_batch_text(o.storage_writes, o.storage_write_count, text, sizeof(text));
            if (strcmp(text, tc->batch) != 0) {
                fail_msg("%s: batch\n  %s\nwant\n  %s", tc->name, text, tc->batch);
            }
        }
        /* the js layer reads, it never commits */
        assert_int_equal(m.commit_calls, 0);
        if (tc->quota == 0) {
            assert_int_equal(m.usage_calls, 0); /* no quota, no usage lookups */
        }
        ncsl_js_outcome_cleanup(&o);
        mem_store_cleanup(&m);
        assert_runtime_healthy(rt);
    }
}

/* ------------------------------------------------------------------------- other tests */
/* A batch applied to the store is what the next call reads. */
static void test_round_trip(void **state) {
    ncsl_js_runtime *rt = *state;
    mem_store m;
    mem_store_init(&m, 0, 0, 0);
    seed(&m);
    ncsl_js_outcome o;
    assert_int_equal(run(rt, &m,
                         "async function main() { await storage.clear(); "
                         "await storage.set('n', (await storage.get('n') || 0) + 1); "
                         "await storage.set('list', [1, 2]); return 1; }",
                         LIM_DEFAULT, &o, NULL),
                     NCSL_OK);
    assert_int_equal(mem_store_apply(&m, o.storage_writes, o.storage_write_count, NULL), NCSL_OK);
    ncsl_js_outcome_cleanup(&o);
    assert_int_equal(m.count, 2);
    assert_string_equal(mem_store_value(&m, "n"), "1");
    assert_string_equal(mem_store_value(&m, "list"), "[1,2]");

    assert_int_equal(run(rt, &m,
                         "async function main() { await storage.set('n', "
                         "(await storage.get('n')) + 1); return [await storage.get('n'), "
                         "await storage.list()]; }",
                         LIM_DEFAULT, &o, NULL),
                     NCSL_OK);
    assert_string_equal(o.result_json, "[2,[\"list\",\"n\"]]");
    assert_int_equal(mem_store_apply(&m, o.storage_writes, o.storage_write_count, NULL), NCSL_OK);
    ncsl_js_outcome_cleanup(&o);
    assert_string_equal(mem_store_value(&m, "n"), "2");
    mem_store_cleanup(&m);
}

/* Hooks are called lazily and sparingly: usage once per call and only with a quota, get once
 * per key the call touches, nothing after clear(). */
static void test_hook_calls(void **state) {
    ncsl_js_runtime *rt = *state;
    mem_store m;
    mem_store_init(&m, 1000, 0, 0);
    seed(&m);
    ncsl_js_outcome o;
    assert_int_equal(run(rt, &m,
                         "async function main() { for (let i = 0; i < 50; i++) { "
                         "await storage.set('a', i); await storage.set('b', i); "
                         "await storage.remove('c'); } return 0; }",
                         LIM_DEFAULT, &o, NULL),
                     NCSL_OK);
    ncsl_js_outcome_cleanup(&o);
    assert_int_equal(m.usage_calls, 1);
    assert_int_equal(m.get_calls, 3);
    assert_int_equal(m.list_calls, 0);

    mem_store_cleanup(&m);
    mem_store_init(&m, 1000, 0, 0);
    seed(&m);
    assert_int_equal(run(rt, &m,
                         "async function main() { await storage.clear(); "
                         "await storage.set('a', 1); return [await storage.get('b'), "
                         "await storage.list()]; }",
                         LIM_DEFAULT, &o, NULL),
                     NCSL_OK);
    assert_string_equal(o.result_json, "[null,[\"a\"]]");
    ncsl_js_outcome_cleanup(&o);
    assert_int_equal(m.get_calls + m.list_calls + m.usage_calls, 0);
    mem_store_cleanup(&m);
}

/* A slow store cannot stretch a call: no hook runs once the deadline has passed, with or
 * without awaits between the calls (a synchronous loop reaches no job boundary). */
static void test_deadline_slow_hook(void **state) {
    ncsl_js_runtime *rt = *state;
    static const char *const codes[] = {
        "async function main() { for (;;) { try { await storage.get('a'); } catch (e) {} } }",
        "function main() { for (;;) { storage.get('a'); } }",
    };
    for (size_t i = 0; i < 2; i++) {
        mem_store m;
        mem_store_init(&m, 0, 0, 0);
        seed(&m);
        m.get_sleep_ms = 30;
        ncsl_js_outcome o;
        uint64_t t0 = ncsl_now_ns();
        assert_int_equal(run(rt, &m, codes[i], LIM_SHORT, &o, NULL), NCSL_E_JS_TIMEOUT);
        uint64_t ms = (ncsl_now_ns() - t0) / 1000000u;
        ncsl_js_outcome_cleanup(&o);
        print_message("slow hook: %u gets in %llu ms\n", m.get_calls, (unsigned long long)ms);
        assert_true(m.get_calls <= 300 / 30 + 2);
        assert_true(ms < 300 + 30 + 500);
        mem_store_cleanup(&m);
        assert_runtime_healthy(rt);
    }
}

/* Pending values are charged while the call holds them: overwriting one frees its charge. */
static void test_overlay_charge_released(void **state) {
    ncsl_js_runtime *rt = *state;
    mem_store m;
    mem_store_init(&m, 0, 0, 16 * MIB);
    ncsl_js_outcome o;
    /* 20 x 4 MiB through one key, 32 MiB limit: never more than one value pending */
    assert_int_equal(run(rt, &m,
                         "async function main() { const v = 'x'.repeat(4 << 20); "
                         "for (let i = 0; i < 20; i++) await storage.set('k', v + i); "
                         "await storage.remove('k'); return 'ok'; }",
                         LIM_MEM32, &o, NULL),
                     NCSL_OK);
    assert_int_equal(o.storage_write_count, 1);
    assert_int_equal(o.storage_writes[0].type, NCSL_STORAGE_REMOVE);
    ncsl_js_outcome_cleanup(&o);
    mem_store_cleanup(&m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_table, js_fixture_setup_rt, js_fixture_teardown_rt),
        cmocka_unit_test_setup_teardown(test_round_trip, js_fixture_setup_rt,
                                        js_fixture_teardown_rt),
        cmocka_unit_test_setup_teardown(test_hook_calls, js_fixture_setup_rt,
                                        js_fixture_teardown_rt),
        cmocka_unit_test_setup_teardown(test_deadline_slow_hook, js_fixture_setup_rt,
                                        js_fixture_teardown_rt),
        cmocka_unit_test_setup_teardown(test_overlay_charge_released, js_fixture_setup_rt,
                                        js_fixture_teardown_rt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
