/*
 * Isolation between calls on one runtime, for every way a call's context can come about: built
 * during the call, or built ahead while the worker was idle (ncsl_js_runtime_prepare, the spare
 * context), with the costly built-ins built on first use (js_intrinsics.c) and the bytecode from
 * the shared cache. Each case runs a call that writes state everywhere it can (globals, the
 * prototypes of eager and lazily built built-ins, the platform APIs, SECRETS, storage) and then
 * calls that must see none of it. Every case runs in both modes; in "prepared" mode the test
 * checks that the spare context really served the call.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "js/js.h"
#include "js_fixture.h"
#include "storage_double.h"

typedef struct mode {
    ncsl_js_runtime *rt;
    bool prepared; /* build a spare context before each call */
} mode;

static ncsl_status call(mode *m, const char *code, const ncsl_secret *secrets, size_t nsecrets,
                        mem_store *store, ncsl_js_outcome *o) {
    ncsl_js_call c = {
        .code = code,
        .code_len = strlen(code),
        .secrets = secrets,
        .secret_count = nsecrets,
        .limits = js_fixture_limits(),
        .storage = store ? &store->hooks : NULL,
    };
    uint64_t spare_before = ncsl_js_runtime_spare_used(m->rt);
    if (m->prepared) {
        ncsl_js_runtime_prepare(m->rt);
    }
    ncsl_status st = ncsl_js_run(m->rt, &c, o, NULL);
    /* the spare context served exactly this call, or none was made */
    assert_int_equal(ncsl_js_runtime_spare_used(m->rt) - spare_before, m->prepared ? 1 : 0);
    return st;
}

static void expect(mode *m, const char *code, const ncsl_secret *secrets, size_t nsecrets,
                   mem_store *store, const char *result) {
    ncsl_js_outcome o;
    ncsl_status st = call(m, code, secrets, nsecrets, store, &o);
    if (st != NCSL_OK || strcmp(o.result_json, result) != 0) {
        fail_msg("%s mode: got status %d result %s (%s), want %s",
                 m->prepared ? "prepared" : "plain", st, o.result_json ? o.result_json : "-",
                 o.error_message ? o.error_message : "", result);
    }
    ncsl_js_outcome_cleanup(&o);
}

/* Writes to every kind of shared-looking state a context has. */
static const char POLLUTER[] =
    "var leakedVar = 1; let leakedLet = 2; globalThis.leakedGlobal = 3;\n"
    "function main() {\n"
    "  Object.prototype.polluted = 1; Array.prototype.push = null;\n"
    "  Array.prototype.join = () => 'evil'; String.raw = null;\n" /* guarded built-ins */
    "  Function.prototype.call = null; JSON.parse = null; Math.random = () => 4;\n"
    "  Promise.prototype.then = null; RegExp.prototype.test = () => true;\n"
    "  Map.prototype.get = () => 'evil'; Set = null;\n" /* lazily built: Map and Set */
    "  Uint8Array.prototype.fill = null; ArrayBuffer.isView = null;\n" /* typed arrays */
    "  Date.prototype.getTime = () => 0; Date.now = () => 0;\n"        /* Date */
    "  WeakRef.prototype.deref = null; DOMException.prototype.evil = 1; atob = null;\n"
    "  TextEncoder = null; URL.prototype.evil = 1; crypto.randomUUID = () => 'x';\n"
    "  console.log = null; setTimeout = null; storage.get = null; fetch = null;\n"
    "  Neo.address = null;\n"
    "  Object.freeze(globalThis);\n" /* even a frozen global stays with this call */
    "  return 'polluted';\n"
    "}\n";

/* Every value the polluter changed, read back (and the lazily built groups built fresh). */
static const char CHECKER[] =
    "function main() {\n"
    "  const seen = [];\n"
    "  const check = (name, ok) => { if (!ok) seen.push(name); };\n"
    "  check('leakedVar', typeof leakedVar === 'undefined');\n"
    "  check('leakedLet', typeof leakedLet === 'undefined');\n"
    "  check('leakedGlobal', typeof leakedGlobal === 'undefined');\n"
    "  check('Object.prototype', ({}).polluted === undefined);\n"
    "  check('push', typeof [].push === 'function');\n"
    "  check('join', [1, 2].join('-') === '1-2');\n"
    "  check('String.raw', String.raw`a${1}` === 'a1');\n"
    "  check('call', typeof Function.prototype.call === 'function');\n"
    "  check('JSON.parse', JSON.parse('[1]')[0] === 1);\n"
    "  check('Math.random', Math.random() < 1);\n"
    "  check('then', typeof Promise.prototype.then === 'function');\n"
    "  check('RegExp', /a/.test('b') === false);\n"
    "  check('Map', new Map([[1, 2]]).get(1) === 2);\n"
    "  check('Set', typeof Set === 'function' && new Set([1]).has(1));\n"
    "  check('Uint8Array', typeof new Uint8Array(2).fill === 'function');\n"
    "  check('isView', typeof ArrayBuffer.isView === 'function');\n"
    "  check('Date', new Date(5).getTime() === 5 && Date.now() > 0);\n"
    "  check('WeakRef', typeof WeakRef.prototype.deref === 'function');\n"
    "  check('DOMException', DOMException.prototype.evil === undefined);\n"
    "  check('atob', atob('aGk=') === 'hi');\n"
    "  check('TextEncoder', new TextEncoder().encode('a')[0] === 97);\n"
    "  check('URL', new URL('http://a/').evil === undefined);\n"
    "  check('crypto', crypto.randomUUID() !== 'x');\n"
    "  check('console', typeof console.log === 'function');\n"
    "  check('setTimeout', typeof setTimeout === 'function');\n"
    "  check('storage', typeof storage.get === 'function');\n"
    "  check('fetch', typeof fetch === 'function');\n"
    "  check('Neo', typeof Neo.address === 'function');\n"
    "  check('frozen', !Object.isFrozen(globalThis));\n"
    "  return seen;\n"
    "}\n";

static void test_globals_and_builtins(void **state) {
    mode *m = *state;
    ncsl_js_outcome o;
    for (int round = 0; round < 3; round++) {
        assert_int_equal(call(m, POLLUTER, NULL, 0, NULL, &o), NCSL_OK);
        assert_string_equal(o.result_json, "\"polluted\"");
        ncsl_js_outcome_cleanup(&o);
        expect(m, CHECKER, NULL, 0, NULL, "[]");
    }
    /* the checker itself left nothing behind either: twice in a row */
    expect(m, CHECKER, NULL, 0, NULL, "[]");
}

static void test_secrets(void **state) {
    mode *m = *state;
    static const ncsl_secret first[] = {
        {.name = "apiKey", .value = "first-secret", .value_len = 12}};
    static const ncsl_secret second[] = {
        {.name = "other", .value = "second-secret", .value_len = 13}};
    /* a call tries every way to change SECRETS and to keep its values around */
    expect(m,
           "function main() {\n"
           "  const tries = [];\n"
           "  const t = (f) => { try { f(); tries.push('changed'); } catch (e) { "
           "tries.push(e.name); } };\n"
           "  t(() => { 'use strict'; SECRETS.apiKey = 'x'; });\n"
           "  t(() => { 'use strict'; delete SECRETS.apiKey; });\n"
           "  t(() => { 'use strict'; SECRETS.added = 'y'; });\n"
           "  t(() => Object.defineProperty(SECRETS, 'apiKey', { value: 'z' }));\n"
           "  t(() => Object.setPrototypeOf(SECRETS, { inherited: 1 }));\n"
           "  Object.prototype.stash = SECRETS.apiKey;\n"
           "  globalThis.stash = SECRETS.apiKey;\n"
           "  return [SECRETS.apiKey, tries];\n"
           "}\n",
           first, 1, NULL,
           "[\"first-secret\",[\"TypeError\",\"TypeError\",\"TypeError\",\"TypeError\","
           "\"TypeError\"]]");
    /* the next call sees its own SECRETS only */
    expect(m,
           "function main() { return [Object.keys(SECRETS), SECRETS.other, SECRETS.apiKey, "
           "({}).stash, globalThis.stash]; }",
           second, 1, NULL, "[[\"other\"],\"second-secret\",null,null,null]");
    /* and a call without secrets sees none */
    expect(m, "function main() { return [Object.keys(SECRETS).length, JSON.stringify(SECRETS)]; }",
           NULL, 0, NULL, "[0,\"{}\"]");
}

static void test_storage(void **state) {
    mode *m = *state;
    mem_store a, b;
    mem_store_init(&a, 0, 0, 0);
    mem_store_init(&b, 0, 0, 0);
    /* function A writes; the writes are handed over and committed by the caller */
    ncsl_js_outcome o;
    assert_int_equal(call(m,
                          "async function main() { await storage.set('k', 'of A'); "
                          "return await storage.get('k'); }",
                          NULL, 0, &a, &o),
                     NCSL_OK);
    assert_string_equal(o.result_json, "\"of A\"");
    assert_int_equal(mem_store_apply(&a, o.storage_writes, o.storage_write_count, NULL), NCSL_OK);
    ncsl_js_outcome_cleanup(&o);
    /* a call of A that fails after writing: its writes are dropped, never seen later */
    assert_int_not_equal(call(m,
                              "async function main() { await storage.set('k', 'lost'); "
                              "throw new Error('no'); }",
                              NULL, 0, &a, &o),
                         NCSL_OK);
    assert_null(o.storage_writes);
    ncsl_js_outcome_cleanup(&o);
    /* function B (its own store) sees nothing of A */
    expect(m, "async function main() { return [await storage.get('k'), await storage.list()]; }",
           NULL, 0, &b, "[null,[]]");
    /* A sees its committed value, not the failed call's */
    expect(m, "async function main() { return await storage.get('k'); }", NULL, 0, &a, "\"of A\"");
    /* a call without storage (execute-javascript) has none */
    expect(m,
           "async function main() { try { await storage.get('k'); return 'read'; } "
           "catch (e) { return 'refused'; } }",
           NULL, 0, NULL, "\"refused\"");
    mem_store_cleanup(&a);
    mem_store_cleanup(&b);
}

static void test_cached_bytecode(void **state) {
    mode *m = *state;
    /* the same source (one bytecode cache entry) starts from scratch every time */
    static const char code[] = "var n = (globalThis.n || 0) + 1; globalThis.n = n;\n"
                               "const box = { count: 0 };\n"
                               "function main() { box.count++; return [n, box.count]; }";
    for (int i = 0; i < 3; i++) {
        expect(m, code, NULL, 0, NULL, "[1,1]");
    }
}

static void test_pending_work(void **state) {
    mode *m = *state;
    /* timers and jobs of a finished call never run in the next one */
    expect(m,
           "function main() { setTimeout(() => { globalThis.late = 1; console.log('late'); }, 0); "
           "Promise.resolve().then(() => { Object.prototype.late = 1; }); return 'done'; }",
           NULL, 0, NULL, "\"done\"");
    ncsl_js_outcome o;
    assert_int_equal(call(m, "function main() { return [typeof late, ({}).late === undefined]; }",
                          NULL, 0, NULL, &o),
                     NCSL_OK);
    assert_string_equal(o.result_json, "[\"undefined\",true]");
    assert_string_equal(o.logs_json, "[]");
    ncsl_js_outcome_cleanup(&o);
}

static void test_spare_after_limit(void **state) {
    mode *m = *state;
    /* a call that breaks a limit recycles the runtime (and its spare); the next call is fresh */
    ncsl_js_outcome o;
    ncsl_js_call c = {
        .code = "function main() { globalThis.x = 1; for (;;) {} }",
        .limits = js_fixture_limits(),
    };
    c.code_len = strlen(c.code);
    c.limits.timeout_ms = 50;
    if (m->prepared) {
        ncsl_js_runtime_prepare(m->rt);
    }
    assert_int_equal(ncsl_js_run(m->rt, &c, &o, NULL), NCSL_E_JS_TIMEOUT);
    ncsl_js_outcome_cleanup(&o);
    expect(m, "function main() { return typeof x; }", NULL, 0, NULL, "\"undefined\"");
}

static int setup(void **state, bool prepared) {
    mode *m = calloc(1, sizeof(*m));
    if (!m || ncsl_js_runtime_create(&m->rt, NULL) != NCSL_OK) {
        free(m);
        return -1;
    }
    m->prepared = prepared;
    *state = m;
    return 0;
}
static int setup_plain(void **state) {
    return setup(state, false);
}
static int setup_prepared(void **state) {
    return setup(state, true);
}
static int teardown(void **state) {
    mode *m = *state;
    ncsl_js_runtime_destroy(m->rt);
    free(m);
    return 0;
}

#define BOTH(fn)                                                                                   \
    cmocka_unit_test_setup_teardown(fn, setup_plain, teardown),                                    \
        cmocka_unit_test_setup_teardown(fn, setup_prepared, teardown)

int main(void) {
    const struct CMUnitTest tests[] = {
        BOTH(test_globals_and_builtins), BOTH(test_secrets),      BOTH(test_storage),
        BOTH(test_cached_bytecode),      BOTH(test_pending_work), BOTH(test_spare_after_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
