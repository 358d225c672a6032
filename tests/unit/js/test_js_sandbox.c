/*
 * The JS sandbox (src/js): results, errors, globals, console, SECRETS and every limit. Table
 * driven; after each case the same runtime must run a normal call successfully.
 */
#include <pthread.h>
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

#define MIB ((size_t)1 << 20)
#define SHORT_TIMEOUT_MS 200u
/* sanitizer builds are several times slower; the margin is for scheduling, not for the limit */
#define TIMEOUT_MARGIN_MS 700u

static ncsl_js_limits test_limits(void) {
    ncsl_js_limits l = {
        .memory_bytes = 64 * MIB,
        .timeout_ms = 3000,
        .stack_bytes = 512 * 1024,
        .max_output_bytes = MIB,
        .max_log_bytes = 4096,
    };
    return l;
}

static ncsl_status run_code(ncsl_js_runtime *rt, const char *code, const char *input,
                            const ncsl_js_limits *limits, const ncsl_secret *secrets,
                            size_t secret_count, ncsl_js_outcome *o, ncsl_err *err) {
    ncsl_js_call call = {
        .code = code,
        .code_len = strlen(code),
        .input_json = input,
        .input_len = input ? strlen(input) : 0,
        .secrets = secrets,
        .secret_count = secret_count,
        .limits = limits ? *limits : test_limits(),
    };
    return ncsl_js_run(rt, &call, o, err);
}

/* The runtime must stay usable after any call. */
static void assert_runtime_healthy(ncsl_js_runtime *rt) {
    ncsl_js_outcome o;
    ncsl_status st =
        run_code(rt, "function main(i) { return { ok: i + 1 }; }", "41", NULL, NULL, 0, &o, NULL);
    assert_int_equal(st, NCSL_OK);
    assert_string_equal(o.result_json, "{\"ok\":42}");
    ncsl_js_outcome_cleanup(&o);
}

/* ------------------------------------------------------------------------- table */
enum { LIM_DEFAULT, LIM_SHORT, LIM_MEM32, LIM_BIGSTR, LIM_TINY };

typedef struct js_case {
    const char *name;
    const char *code;
    const char *input;
    int limits;
    ncsl_status status;
    const char *result;      /* exact result JSON for NCSL_OK, else NULL */
    const char *error_name;  /* exact, or NULL */
    const char *message_has; /* substring of error_message, or NULL */
    const char *stack_has;   /* substring of error_stack, or NULL */
} js_case;

static const js_case g_cases[] = {
    /* results */
    {"sync", "function main(i) { return { a: i.x + 1, s: 'é' }; }", "{\"x\":1}", LIM_DEFAULT,
     NCSL_OK, "{\"a\":2,\"s\":\"é\"}", NULL, NULL, NULL},
    {"async", "async function main(i) { await null; return [i, 2]; }", "[1]", LIM_DEFAULT, NCSL_OK,
     "[[1],2]", NULL, NULL, NULL},
    {"promise", "function main() { return Promise.resolve(7).then(v => v * 2); }", NULL,
     LIM_DEFAULT, NCSL_OK, "14", NULL, NULL, NULL},
    {"undefined", "function main() {}", NULL, LIM_DEFAULT, NCSL_OK, "null", NULL, NULL, NULL},
    {"function result", "function main() { return main; }", NULL, LIM_DEFAULT, NCSL_OK, "null",
     NULL, NULL, NULL},
    {"number input", "function main(i) { return i * 2; }", "21", LIM_DEFAULT, NCSL_OK, "42", NULL,
     NULL, NULL},
    {"null input", "function main(i) { return i === null; }", "null", LIM_DEFAULT, NCSL_OK, "true",
     NULL, NULL, NULL},
    {"no input", "function main(i) { return i === null; }", NULL, LIM_DEFAULT, NCSL_OK, "true",
     NULL, NULL, NULL},
    {"array input", "function main(i) { return i.length; }", "[1,2,3]", LIM_DEFAULT, NCSL_OK, "3",
     NULL, NULL, NULL},
    {"string result", "function main(i) { return 'a\"b\\n'; }", NULL, LIM_DEFAULT, NCSL_OK,
     "\"a\\\"b\\n\"", NULL, NULL, NULL},
    {"const arrow main", "const main = async (x) => x;", "\"s\"", LIM_DEFAULT, NCSL_OK, "\"s\"",
     NULL, NULL, NULL},
    {"intrinsics",
     "function main() { return [typeof Map, typeof Proxy, typeof Uint8Array, "
     "typeof BigInt, typeof WeakRef, typeof Date.now(), /a+/.test('aa'), "
     "btoa('hi'), typeof DOMException, JSON.stringify(new Set([1]).size)]; }",
     NULL, LIM_DEFAULT, NCSL_OK,
     "[\"function\",\"function\",\"function\",\"function\",\"function\",\"number\",true,"
     "\"aGk=\",\"function\",\"1\"]",
     NULL, NULL, NULL},
    /* user errors */
    {"throw Error", "function main() {\n  throw new Error('boom');\n}", NULL, LIM_DEFAULT,
     NCSL_E_JS_EXCEPTION, NULL, "Error", "boom", "function.js:2"},
    {"TypeError", "function main() {\n  let o = null;\n  return o.x;\n}", NULL, LIM_DEFAULT,
     NCSL_E_JS_EXCEPTION, NULL, "TypeError", NULL, "function.js:3"},
    {"throw string", "function main() { throw 'plain text'; }", NULL, LIM_DEFAULT,
     NCSL_E_JS_EXCEPTION, NULL, "Error", "plain text", NULL},
    {"throw object", "function main() { throw { a: 1 }; }", NULL, LIM_DEFAULT, NCSL_E_JS_EXCEPTION,
     NULL, "Error", "{\"a\":1}", NULL},
    {"throw cyclic hostile",
     "function main() { const o = { toString() { throw 1; } }; o.o = o;"
     " throw o; }",
     NULL, LIM_DEFAULT, NCSL_E_JS_EXCEPTION, NULL, "Error", "unprintable", NULL},
    {"throw looping toString", "function main() { throw { toJSON() { for (;;) {} } }; }", NULL,
     LIM_SHORT, NCSL_E_JS_TIMEOUT, NULL, "TimeoutError", NULL, NULL},
    {"rejected", "async function main() {\n  await null;\n  throw new RangeError('r');\n}", NULL,
     LIM_DEFAULT, NCSL_E_JS_EXCEPTION, NULL, "RangeError", "r", "function.js:3"},
    {"top-level throw", "throw new TypeError('top');", NULL, LIM_DEFAULT, NCSL_E_JS_EXCEPTION, NULL,
     "TypeError", "top", NULL},
    {"syntax error", "function main() {\n  return 1 +;\n}", NULL, LIM_DEFAULT, NCSL_E_JS_SYNTAX,
     NULL, "SyntaxError", "function.js:2", NULL},
    {"no main", "function mian() {}", NULL, LIM_DEFAULT, NCSL_E_JS_NO_MAIN, NULL, NULL, NULL, NULL},
    {"main not a function", "var main = 1;", NULL, LIM_DEFAULT, NCSL_E_JS_NO_MAIN, NULL, NULL, NULL,
     NULL},
    {"empty code", "", NULL, LIM_DEFAULT, NCSL_E_JS_NO_MAIN, NULL, NULL, NULL, NULL},
    {"invalid input", "function main(i) { return i; }", "{bad", LIM_DEFAULT, NCSL_E_INVALID_ARG,
     NULL, NULL, NULL, NULL},
    {"eval disabled", "function main() { return eval('1 + 1'); }", NULL, LIM_DEFAULT,
     NCSL_E_JS_EXCEPTION, NULL, "TypeError", "eval is not supported", NULL},
    {"Function disabled", "function main() { return Function('return 1')(); }", NULL, LIM_DEFAULT,
     NCSL_E_JS_EXCEPTION, NULL, "TypeError", NULL, NULL},
    {"import fails",
     "async function main() { try { await import('os'); return 'loaded'; } "
     "catch (e) { return 'failed'; } }",
     NULL, LIM_DEFAULT, NCSL_OK, "\"failed\"", NULL, NULL, NULL},
    {"no host globals",
     "function main() { return [typeof std, typeof os, typeof require, "
     "typeof process, typeof performance, typeof scriptArgs, typeof print, "
     "typeof module, typeof gc].join(); }",
     NULL, LIM_DEFAULT, NCSL_OK,
     "\"undefined,undefined,undefined,undefined,undefined,undefined,undefined,undefined,"
     "undefined\"",
     NULL, NULL, NULL},
    /* limits */
    {"infinite loop", "function main() { while (true) {} }", NULL, LIM_SHORT, NCSL_E_JS_TIMEOUT,
     NULL, "TimeoutError", NULL, NULL},
    {"catch timeout", "function main() { for (;;) { try { while (true) {} } catch (e) {} } }", NULL,
     LIM_SHORT, NCSL_E_JS_TIMEOUT, NULL, NULL, NULL, NULL},
    {"never settles", "function main() { return new Promise(() => {}); }", NULL, LIM_SHORT,
     NCSL_E_JS_TIMEOUT, NULL, "TimeoutError", "never settled", NULL},
    {"infinite await", "async function main() { while (true) await null; }", NULL, LIM_SHORT,
     NCSL_E_JS_TIMEOUT, NULL, NULL, NULL, NULL},
    {"regex backtracking", "function main() { return /(a+)+$/.test('a'.repeat(40) + 'b'); }", NULL,
     LIM_SHORT, NCSL_E_JS_TIMEOUT, NULL, NULL, NULL, NULL},
    {"allocate until failure",
     "function main() { const a = []; while (true) a.push(new Array(1e5).fill(1)); }", NULL,
     LIM_MEM32, NCSL_E_JS_MEMORY, NULL, "MemoryLimitError", NULL, NULL},
    {"OOM caught",
     "function main() { const a = []; try { while (true) a.push('x'.repeat(1e5) "
     "+ a.length); } catch (e) { a.length = 0; return 'caught'; } }",
     NULL, LIM_MEM32, NCSL_E_JS_MEMORY, NULL, NULL, NULL, NULL},
    {"huge string", "function main() { return 'x'.repeat(1e9); }", NULL, LIM_MEM32,
     NCSL_E_JS_MEMORY, NULL, NULL, NULL, NULL},
    {"deep recursion", "function f(n) { return f(n + 1) + 1; }\nfunction main() { return f(0); }",
     NULL, LIM_DEFAULT, NCSL_E_JS_STACK, NULL, NULL, NULL, NULL},
    {"100 MB string result", "function main() { return 'a'.repeat(100 * 1024 * 1024); }", NULL,
     LIM_BIGSTR, NCSL_E_JS_OUTPUT_TOO_LARGE, NULL, NULL, NULL, NULL},
    {"large object result", "function main() { return new Array(3e5).fill('abc'); }", NULL,
     LIM_DEFAULT, NCSL_E_JS_OUTPUT_TOO_LARGE, NULL, NULL, NULL, NULL},
    {"cyclic result", "function main() { const a = {}; a.self = a; return a; }", NULL, LIM_DEFAULT,
     NCSL_E_JS_BAD_RESULT, NULL, "TypeError", NULL, NULL},
    {"BigInt result", "function main() { return { n: 1n }; }", NULL, LIM_DEFAULT,
     NCSL_E_JS_BAD_RESULT, NULL, "TypeError", NULL, NULL},
    {"limit below context size", "function main() { return 1; }", NULL, LIM_TINY, NCSL_E_JS_MEMORY,
     NULL, "MemoryLimitError", NULL, NULL},
    {"proxy result loops",
     "function main() { return new Proxy({}, { ownKeys() { for (;;) {} } "
     "}); }",
     NULL, LIM_SHORT, NCSL_E_JS_TIMEOUT, NULL, NULL, NULL, NULL},
    {"stack overflow in stringify",
     "function main() { "
     "let d = {}; for (let i = 0; i < 1e5; i++) d = { d }; "
     "return d; }",
     NULL, LIM_DEFAULT, NCSL_E_JS_STACK, NULL, NULL, NULL, NULL},
    {"Atomics.wait",
     "function main() { const a = new Int32Array(new SharedArrayBuffer(4)); "
     "return Atomics.wait(a, 0, 0, 1e9); }",
     NULL, LIM_SHORT, NCSL_E_JS_EXCEPTION, NULL, NULL, NULL, NULL},
};

static ncsl_js_limits case_limits(int which) {
    ncsl_js_limits l = test_limits();
    switch (which) {
    case LIM_SHORT:
        l.timeout_ms = SHORT_TIMEOUT_MS;
        break;
    case LIM_MEM32:
        l.memory_bytes = 32 * MIB;
        break;
    case LIM_BIGSTR:
        l.memory_bytes = 512 * MIB;
        break;
    case LIM_TINY:
        l.memory_bytes = 8 * 1024;
        break; /* below any context, even a reusing one */
    default:
        break;
    }
    return l;
}

static void test_table(void **state) {
    ncsl_js_runtime *rt = *state;
    for (size_t i = 0; i < sizeof(g_cases) / sizeof(g_cases[0]); i++) {
        const js_case *tc = &g_cases[i];
        ncsl_js_limits l = case_limits(tc->limits);
        ncsl_js_outcome o;
        ncsl_err err;
        uint64_t t0 = ncsl_now_us();
        ncsl_status st = run_code(rt, tc->code, tc->input, &l, NULL, 0, &o, &err);
        uint64_t ms = (ncsl_now_us() - t0) / 1000u;
        print_message("case %-24s -> %d (%llu ms, peak %llu bytes)\n", tc->name, st,
                      (unsigned long long)ms, (unsigned long long)o.memory_used_bytes);
        if (st != tc->status) {
            print_error("case '%s': status %d, expected %d (%s: %s)\n", tc->name, st, tc->status,
                        o.error_name ? o.error_name : "-", o.error_message ? o.error_message : "-");
        }
        assert_int_equal(st, tc->status);
        assert_int_equal(o.status, st);
        assert_non_null(o.logs_json);
        if (tc->result) {
            assert_non_null(o.result_json);
            assert_string_equal(o.result_json, tc->result);
            assert_int_equal(o.result_len, strlen(tc->result));
        } else {
            assert_null(o.result_json);
        }
        if (st != NCSL_OK && st != NCSL_E_INVALID_ARG) {
            assert_non_null(o.error_name);
            assert_non_null(o.error_message);
            assert_int_equal(err.code, st);
        }
        if (st == NCSL_E_INVALID_ARG) {
            assert_string_equal(err.field, "input");
        }
        if (tc->error_name) {
            assert_string_equal(o.error_name, tc->error_name);
        }
        if (tc->message_has && !strstr(o.error_message, tc->message_has)) {
            fail_msg("case '%s': message '%s' lacks '%s'", tc->name, o.error_message,
                     tc->message_has);
        }
        if (tc->stack_has && (!o.error_stack || !strstr(o.error_stack, tc->stack_has))) {
            fail_msg("case '%s': stack '%s' lacks '%s'", tc->name,
                     o.error_stack ? o.error_stack : "(null)", tc->stack_has);
        }
        if (st == NCSL_E_JS_TIMEOUT) {
            assert_true(ms < l.timeout_ms + TIMEOUT_MARGIN_MS);
        }
        ncsl_js_outcome_cleanup(&o);
        assert_runtime_healthy(rt);
    }
}

/* ------------------------------------------------------------------------- specific tests */
static void test_timeout_recycles(void **state) {
    ncsl_js_runtime *rt = *state;
    uint64_t before = ncsl_js_runtime_recycle_count(rt);
    ncsl_js_limits l = case_limits(LIM_SHORT);
    ncsl_js_outcome o;
    uint64_t t0 = ncsl_now_us();
    assert_int_equal(run_code(rt, "function main() { for (;;) {} }", NULL, &l, NULL, 0, &o, NULL),
                     NCSL_E_JS_TIMEOUT);
    uint64_t ms = (ncsl_now_us() - t0) / 1000u;
    assert_true(ms >= SHORT_TIMEOUT_MS);
    assert_true(ms < SHORT_TIMEOUT_MS + TIMEOUT_MARGIN_MS);
    ncsl_js_outcome_cleanup(&o);
    assert_int_equal(ncsl_js_runtime_recycle_count(rt), before + 1);
    /* a normal call does not recycle */
    assert_runtime_healthy(rt);
    assert_int_equal(ncsl_js_runtime_recycle_count(rt), before + 1);
}

/* Each iteration is one heavy native call: QuickJS polls the interrupt handler only every
 * 10,000 branches, so without the allocator's deadline check this ran for tens of seconds. The
 * catch must not be able to swallow the end either. */
static void test_timeout_native_loop(void **state) {
    ncsl_js_runtime *rt = *state;
    ncsl_js_limits l = case_limits(LIM_SHORT);
    ncsl_js_outcome o;
    uint64_t t0 = ncsl_now_us();
    assert_int_equal(run_code(rt,
                              "function main() { const a = new Array(1e6).fill(0); let n = 0;"
                              " for (;;) { try { n += a.slice().length; } catch (e) {} } }",
                              NULL, &l, NULL, 0, &o, NULL),
                     NCSL_E_JS_TIMEOUT);
    uint64_t ms = (ncsl_now_us() - t0) / 1000u;
    assert_true(ms < SHORT_TIMEOUT_MS + TIMEOUT_MARGIN_MS);
    ncsl_js_outcome_cleanup(&o);
    assert_runtime_healthy(rt);
}

static void test_memory_reported(void **state) {
    ncsl_js_runtime *rt = *state;
    ncsl_js_outcome o;
    assert_int_equal(run_code(rt,
                              "function main() { const a = new Uint8Array(4e6); "
                              "return a.length; }",
                              NULL, NULL, NULL, 0, &o, NULL),
                     NCSL_OK);
    assert_true(o.memory_used_bytes >= 4000000);
    ncsl_js_outcome_cleanup(&o);
}

static void test_secrets(void **state) {
    ncsl_js_runtime *rt = *state;
    static const char bin[] = "h\xc3\xa9llo \xf0\x9f\x94\x91";
    const ncsl_secret secrets[] = {
        {.name = "API_KEY", .value = "k1", .value_len = 2},
        {.name = "UTF", .value = bin, .value_len = sizeof(bin) - 1},
        {.name = "EMPTY", .value = NULL, .value_len = 0},
    };
    ncsl_js_outcome o;
    assert_int_equal(run_code(rt,
                              "function main() { return [SECRETS.API_KEY, SECRETS.UTF, "
                              "SECRETS.EMPTY, Object.isFrozen(SECRETS), "
                              "Object.keys(SECRETS).length]; }",
                              NULL, NULL, secrets, 3, &o, NULL),
                     NCSL_OK);
    assert_string_equal(o.result_json, "[\"k1\",\"h\xc3\xa9llo \xf0\x9f\x94\x91\",\"\",true,3]");
    ncsl_js_outcome_cleanup(&o);

    /* sloppy mode: writes fail silently */
    assert_int_equal(run_code(rt,
                              "function main() { SECRETS.API_KEY = 'x'; SECRETS.NEW = 1; "
                              "delete SECRETS.API_KEY; SECRETS = {}; "
                              "return [SECRETS.API_KEY, SECRETS.NEW === undefined]; }",
                              NULL, NULL, secrets, 1, &o, NULL),
                     NCSL_OK);
    assert_string_equal(o.result_json, "[\"k1\",true]");
    ncsl_js_outcome_cleanup(&o);

    /* strict mode: writes throw */
    assert_int_equal(run_code(rt, "'use strict'; function main() { SECRETS.API_KEY = 'x'; }", NULL,
                              NULL, secrets, 1, &o, NULL),
                     NCSL_E_JS_EXCEPTION);
    assert_string_equal(o.error_name, "TypeError");
    ncsl_js_outcome_cleanup(&o);

    /* a later call without secrets sees an empty SECRETS */
    assert_int_equal(run_code(rt, "function main() { return Object.keys(SECRETS).length; }", NULL,
                              NULL, NULL, 0, &o, NULL),
                     NCSL_OK);
    assert_string_equal(o.result_json, "0");
    ncsl_js_outcome_cleanup(&o);
}

static void test_console(void **state) {
    ncsl_js_runtime *rt = *state;
    ncsl_js_outcome o;
    assert_int_equal(
        run_code(rt,
                 "function main() { console.log('a', 1, { b: 2 }, [1, 'x'], null, undefined);"
                 " console.info('i'); console.warn('w\\n\"q\"'); console.error(new Error('e'));"
                 " console.debug(true, 2n, Symbol('s'), main);"
                 " const c = {}; c.c = c; console.log(c);"
                 " console.log({ toJSON() { throw new Error('no'); }, toString() { return 'ts'; }"
                 " }); console.log(); return 1; }",
                 NULL, NULL, NULL, 0, &o, NULL),
        NCSL_OK);
    assert_string_equal(o.logs_json,
                        "[{\"level\":\"log\",\"message\":\"a 1 {\\\"b\\\":2} [1,\\\"x\\\"] null "
                        "undefined\"},"
                        "{\"level\":\"info\",\"message\":\"i\"},"
                        "{\"level\":\"warn\",\"message\":\"w\\n\\\"q\\\"\"},"
                        "{\"level\":\"error\",\"message\":\"Error: e\"},"
                        "{\"level\":\"debug\",\"message\":\"true 2 [symbol] [function]\"},"
                        "{\"level\":\"log\",\"message\":\"[object Object]\"},"
                        "{\"level\":\"log\",\"message\":\"ts\"},"
                        "{\"level\":\"log\",\"message\":\"\"}]");
    assert_int_equal(o.logs_len, strlen(o.logs_json));
    ncsl_js_outcome_cleanup(&o);

    /* logs are kept on failure too */
    assert_int_equal(run_code(rt, "function main() { console.log('before'); throw 1; }", NULL, NULL,
                              NULL, 0, &o, NULL),
                     NCSL_E_JS_EXCEPTION);
    assert_string_equal(o.logs_json, "[{\"level\":\"log\",\"message\":\"before\"}]");
    ncsl_js_outcome_cleanup(&o);
}

static void test_console_truncation(void **state) {
    ncsl_js_runtime *rt = *state;
    ncsl_js_limits l = test_limits();
    l.max_log_bytes = 100;
    ncsl_js_outcome o;
    assert_int_equal(run_code(rt,
                              "function main() { for (let i = 0; i < 3; i++) "
                              "console.log('x'.repeat(60)); return 1; }",
                              NULL, &l, NULL, 0, &o, NULL),
                     NCSL_OK);
    char expect[512];
    snprintf(expect, sizeof(expect),
             "[{\"level\":\"log\",\"message\":\"%s\"},"
             "{\"level\":\"warn\",\"message\":\"[logs truncated: 120 bytes dropped]\"}]",
             "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    assert_string_equal(o.logs_json, expect);
    ncsl_js_outcome_cleanup(&o);
}

static void test_log_flood(void **state) {
    ncsl_js_runtime *rt = *state;
    ncsl_js_limits l = test_limits();
    l.timeout_ms = 500;
    l.memory_bytes = 16 * MIB;
    ncsl_js_outcome o;
    uint64_t t0 = ncsl_now_us();
    ncsl_status st = run_code(rt,
                              "function main() { for (let i = 0; i < 1e7; i++) "
                              "console.log('line', i, {i}); return 1; }",
                              NULL, &l, NULL, 0, &o, NULL);
    uint64_t ms = (ncsl_now_us() - t0) / 1000u;
    assert_true(st == NCSL_OK || st == NCSL_E_JS_TIMEOUT);
    assert_true(ms < l.timeout_ms + TIMEOUT_MARGIN_MS);
    /* bounded: 4 KiB of messages plus per-entry JSON overhead */
    assert_true(o.logs_len < 4096 * 8);
    assert_non_null(strstr(o.logs_json, "[logs truncated: "));
    ncsl_js_outcome_cleanup(&o);
    assert_runtime_healthy(rt);
}

static void test_isolation(void **state) {
    ncsl_js_runtime *rt = *state;
    ncsl_js_outcome o;
    assert_int_equal(run_code(rt,
                              "var leaked = 1; function main() { globalThis.x = 1; "
                              "Object.prototype.polluted = 1; Array.prototype.push = null; "
                              "JSON.stringify = () => 'hacked'; console.log = null; "
                              "return 1; }",
                              NULL, NULL, NULL, 0, &o, NULL),
                     NCSL_OK);
    ncsl_js_outcome_cleanup(&o);
    assert_int_equal(run_code(rt,
                              "function main() { console.log('ok'); return [typeof x, "
                              "typeof leaked, ({}).polluted === undefined, typeof [].push, "
                              "JSON.stringify(1)]; }",
                              NULL, NULL, NULL, 0, &o, NULL),
                     NCSL_OK);
    assert_string_equal(o.result_json, "[\"undefined\",\"undefined\",true,\"function\",\"1\"]");
    assert_string_equal(o.logs_json, "[{\"level\":\"log\",\"message\":\"ok\"}]");
    ncsl_js_outcome_cleanup(&o);

    /* pending jobs left by a finished call never run in the next one */
    assert_int_equal(run_code(rt,
                              "function main() { (async () => { for (;;) await null; })(); "
                              "Promise.resolve().then(() => console.log('late')); "
                              "return 'done'; }",
                              NULL, NULL, NULL, 0, &o, NULL),
                     NCSL_OK);
    assert_string_equal(o.result_json, "\"done\"");
    ncsl_js_outcome_cleanup(&o);
    assert_int_equal(run_code(rt, "function main() { return 2; }", NULL, NULL, NULL, 0, &o, NULL),
                     NCSL_OK);
    assert_string_equal(o.logs_json, "[]");
    ncsl_js_outcome_cleanup(&o);
}

static void test_globals_allow_list(void **state) {
    ncsl_js_runtime *rt = *state;
    ncsl_js_outcome o;
    assert_int_equal(run_code(rt,
                              "function main() { return Object.getOwnPropertyNames("
                              "globalThis).filter(n => !/^[A-Z]/.test(n) || n === 'SECRETS')"
                              ".sort(); }",
                              NULL, NULL, NULL, 0, &o, NULL),
                     NCSL_OK);
    print_message("lower-case globals: %s\n", o.result_json);
    static const char *const allowed[] = {
        "\"SECRETS\"",     "\"console\"",
        "\"globalThis\"",  "\"main\"",
        "\"parseInt\"",    "\"parseFloat\"",
        "\"isNaN\"",       "\"isFinite\"",
        "\"decodeURI\"",   "\"decodeURIComponent\"",
        "\"encodeURI\"",   "\"encodeURIComponent\"",
        "\"escape\"",      "\"unescape\"",
        "\"eval\"",        "\"queueMicrotask\"",
        "\"atob\"",        "\"btoa\"",
        "\"undefined\"",   "\"storage\"",
        "\"setTimeout\"",  "\"clearTimeout\"",
        "\"setInterval\"", "\"clearInterval\"",
        "\"crypto\"", /* js_crypto.c */
        "\"fetch\"",  /* js_fetch.c */
    };
    /* every listed name must be in the allow-list */
    char *list = strdup(o.result_json + 1);
    list[strlen(list) - 1] = '\0';
    for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        bool ok = false;
        for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
            ok = ok || strcmp(tok, allowed[i]) == 0;
        }
        if (!ok) {
            fail_msg("unexpected global %s", tok);
        }
    }
    free(list);
    ncsl_js_outcome_cleanup(&o);
}

static void test_bad_args(void **state) {
    ncsl_js_runtime *rt = *state;
    ncsl_js_outcome o;
    ncsl_err err;
    assert_int_equal(ncsl_js_run(rt, NULL, &o, &err), NCSL_E_INVALID_ARG);
    assert_non_null(o.logs_json);
    ncsl_js_outcome_cleanup(&o);
    ncsl_js_outcome_cleanup(NULL);
    ncsl_js_runtime_destroy(NULL);
    assert_int_equal(ncsl_js_runtime_recycle_count(NULL), 0);
    /* code need not be NUL-terminated */
    const char code[] = "function main() { return 5; }XXXX";
    ncsl_js_call call = {.code = code, .code_len = sizeof(code) - 5, .limits = test_limits()};
    assert_int_equal(ncsl_js_run(rt, &call, &o, &err), NCSL_OK);
    assert_string_equal(o.result_json, "5");
    ncsl_js_outcome_cleanup(&o);
}

/* ------------------------------------------------------------------------- threads */
typedef struct thread_arg {
    int id;
    int failures;
} thread_arg;

static void *thread_main(void *p) {
    thread_arg *a = p;
    ncsl_js_runtime *rt = NULL;
    if (ncsl_js_runtime_create(&rt, NULL) != NCSL_OK) {
        a->failures++;
        return NULL;
    }
    for (int i = 0; i < 20; i++) {
        char input[32];
        snprintf(input, sizeof(input), "%d", a->id * 1000 + i);
        ncsl_js_limits l = test_limits();
        l.timeout_ms = (i % 5 == 4) ? 100 : 3000;
        const char *code = (i % 5 == 4) ? "function main() { for (;;) {} }"
                                        : "async function main(i) { let s = 0; "
                                          "for (let k = 0; k < 1e4; k++) s += k; "
                                          "await null; return [i, s]; }";
        ncsl_js_outcome o;
        ncsl_status st = run_code(rt, code, input, &l, NULL, 0, &o, NULL);
        if (i % 5 == 4) {
            a->failures += st != NCSL_E_JS_TIMEOUT;
        } else {
            char expect[64];
            snprintf(expect, sizeof(expect), "[%s,49995000]", input);
            a->failures += st != NCSL_OK || strcmp(o.result_json, expect) != 0;
        }
        ncsl_js_outcome_cleanup(&o);
    }
    ncsl_js_runtime_destroy(rt);
    return NULL;
}

static void test_threads(void **state) {
    pthread_t t[2];
    thread_arg args[2] = {{.id = 1}, {.id = 2}};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pthread_create(&t[i], NULL, thread_main, &args[i]), 0);
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(args[i].failures, 0);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_table, js_fixture_setup_rt, js_fixture_teardown_rt),
        cmocka_unit_test_setup_teardown(test_timeout_native_loop, js_fixture_setup_rt,
                                        js_fixture_teardown_rt),
        cmocka_unit_test_setup_teardown(test_timeout_recycles, js_fixture_setup_rt,
                                        js_fixture_teardown_rt),
        cmocka_unit_test_setup_teardown(test_memory_reported, js_fixture_setup_rt,
                                        js_fixture_teardown_rt),
        cmocka_unit_test_setup_teardown(test_secrets, js_fixture_setup_rt, js_fixture_teardown_rt),
        cmocka_unit_test_setup_teardown(test_console, js_fixture_setup_rt, js_fixture_teardown_rt),
        cmocka_unit_test_setup_teardown(test_console_truncation, js_fixture_setup_rt,
                                        js_fixture_teardown_rt),
        cmocka_unit_test_setup_teardown(test_log_flood, js_fixture_setup_rt,
                                        js_fixture_teardown_rt),
        cmocka_unit_test_setup_teardown(test_isolation, js_fixture_setup_rt,
                                        js_fixture_teardown_rt),
        cmocka_unit_test_setup_teardown(test_globals_allow_list, js_fixture_setup_rt,
                                        js_fixture_teardown_rt),
        cmocka_unit_test_setup_teardown(test_bad_args, js_fixture_setup_rt, js_fixture_teardown_rt),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
