/*
 * TextEncoder and TextDecoder (src/js/js_encoding.c) through ncsl_js_run: behaviour, bad
 * arguments, the lazy globals, limits, and the UTF-8 decoder against an independent reference
 * decoder written here from the Unicode definition of "maximal subpart" (Unicode 15, 3.9:
 * Table 3-7 of well-formed byte sequences), on a systematic corpus of malformed sequences and on
 * random byte strings, in fatal, non-fatal and streaming modes.
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

#define MIB ((size_t)1 << 20)

enum { LIM_DEFAULT, LIM_MEM32, LIM_GAS };

static ncsl_js_limits limits_of(int which) {
    ncsl_js_limits l = js_fixture_limits();
    l.max_output_bytes = 8 * MIB;
    if (which == LIM_MEM32) {
        l.memory_bytes = 32 * MIB;
    } else if (which == LIM_GAS) {
        l.gas_limit = 2000;
    }
    return l;
}

static ncsl_status run(ncsl_js_runtime *rt, const char *code, const char *input, int lim,
                       ncsl_js_outcome *o) {
    ncsl_js_limits l = limits_of(lim);
    return js_fixture_run(rt, code, input, &l, o);
}

static void assert_healthy(ncsl_js_runtime *rt) {
    ncsl_js_outcome o;
    assert_int_equal(run(rt,
                         "function main() { return new TextDecoder().decode("
                         "new TextEncoder().encode('ok\\u00e9')); }",
                         NULL, LIM_DEFAULT, &o),
                     NCSL_OK);
    assert_string_equal(o.result_json, "\"ok\xc3\xa9\"");
    ncsl_js_outcome_cleanup(&o);
}

/* ------------------------------------------------------------------------- table */
typedef struct enc_case {
    const char *name;
    const char *code;
    int limits;
    ncsl_status status;
    const char *result;      /* exact JSON for NCSL_OK */
    const char *error_name;  /* exact, or NULL */
    const char *message_has; /* substring of the error message, or NULL */
} enc_case;

#define OK(name, code, result)                                                                     \
    { name, code, LIM_DEFAULT, NCSL_OK, result, NULL, NULL }
#define THROWS(name, code, ename, msg)                                                             \
    { name, code, LIM_DEFAULT, NCSL_E_JS_EXCEPTION, NULL, ename, msg }

static const enc_case g_cases[] = {
    /* ---- globals and properties */
    OK("typeof", "function main() { return [typeof TextEncoder, typeof TextDecoder]; }",
       "[\"function\",\"function\"]"),
    OK("properties",
       "function main() { const d = new TextDecoder('UTF8', {fatal: 1, ignoreBOM: 'yes'});"
       " return [new TextEncoder().encoding, d.encoding, d.fatal, d.ignoreBOM,"
       " new TextDecoder().fatal, String(new TextEncoder()), String(d), TextDecoder.length,"
       " TextEncoder.name, Object.keys(TextEncoder.prototype)]; }",
       "[\"utf-8\",\"utf-8\",true,true,false,\"[object TextEncoder]\",\"[object "
       "TextDecoder]\",0,\"TextEncoder\",[\"encode\",\"encodeInto\",\"encoding\"]]"),
    OK("labels",
       "function main() { return ['utf-8', 'UTF-8', ' utf8\\n', '\\tunicode-1-1-utf-8 ',"
       " 'unicode11utf8', 'unicode20utf8', 'x-unicode20utf8', undefined]"
       ".map((l) => new TextDecoder(l).encoding); }",
       "[\"utf-8\",\"utf-8\",\"utf-8\",\"utf-8\",\"utf-8\",\"utf-8\",\"utf-8\",\"utf-8\"]"),
    OK("lazy global is a plain data property after use",
       "function main() { const before = Object.getOwnPropertyDescriptor(globalThis, "
       "'TextDecoder'); void TextDecoder; const d = Object.getOwnPropertyDescriptor(globalThis, "
       "'TextDecoder'); return [typeof before.get, d.writable, d.enumerable, d.configurable, "
       "d.value === TextDecoder, TextDecoder === TextDecoder]; }",
       "[\"function\",true,false,true,true,true]"),
    OK("lazy global assign and delete",
       "function main() { TextEncoder = 5; const a = TextEncoder; delete globalThis.TextDecoder;"
       " return [a, typeof TextDecoder, 'TextDecoder' in globalThis]; }",
       "[5,\"undefined\",false]"),
    OK("getter taken out keeps returning the same class",
       "function main() { const g = Object.getOwnPropertyDescriptor(globalThis, "
       "'TextDecoder').get; const a = g.call({}); const b = g.call(globalThis);"
       " return [a === b, b === TextDecoder, typeof a]; }",
       "[true,true,\"function\"]"),
    OK("subclass and instanceof",
       "function main() { class D extends TextDecoder { hi() { return this.decode("
       "new Uint8Array([104, 105])); } } const d = new D(); return [d.hi(), d instanceof "
       "TextDecoder, d instanceof D, Object.getPrototypeOf(new TextEncoder()) === "
       "TextEncoder.prototype]; }",
       "[\"hi\",true,true,true]"),
    THROWS("constructor needs new", "function main() { return TextDecoder(); }", "TypeError", NULL),
    THROWS("brand check decode",
           "function main() { return TextDecoder.prototype.decode.call({}); }", "TypeError",
           "not a TextDecoder"),
    THROWS("brand check getter",
           "function main() { return Object.getOwnPropertyDescriptor(TextDecoder.prototype, "
           "'fatal').get.call(new TextEncoder()); }",
           "TypeError", "not a TextDecoder"),
    THROWS("brand check encode", "function main() { return TextEncoder.prototype.encode.call(1); }",
           "TypeError", "not a TextEncoder"),
    /* ---- TextEncoder */
    OK("encode",
       "function main() { const e = new TextEncoder(); return [Array.from(e.encode('a\\u00e9\\u20ac"
       "\\u{1F600}')), e.encode().length, e.encode(undefined).length, Array.from(e.encode(12)),"
       " Array.from(e.encode(null)), e.encode('x') instanceof Uint8Array]; }",
       "[[97,195,169,226,130,172,240,159,152,128],0,0,[49,50],[110,117,108,108],true]"),
    OK("encode lone surrogates",
       "function main() { const e = new TextEncoder(); return [Array.from(e.encode('\\ud800')),"
       " Array.from(e.encode('a\\udc00b')), Array.from(e.encode('\\udbff\\udfff')),"
       " Array.from(e.encode('\\ud800\\ud800\\udc00'))]; }",
       "[[239,191,189],[97,239,191,189,98],[244,143,191,191],[239,191,189,240,144,128,128]]"),
    OK("encodeInto",
       "function main() { const e = new TextEncoder(); const r = [];"
       " for (const n of [0, 1, 2, 3, 4, 5, 8]) { const d = new Uint8Array(n);"
       "   const x = e.encodeInto('a\\u{1F600}\\u00e9', d); r.push([x.read, x.written, "
       "Array.from(d)]); }"
       " const s = new Uint8Array(new ArrayBuffer(8), 2, 3); const y = e.encodeInto('\\ud800z', s);"
       " r.push([y.read, y.written, Array.from(new Uint8Array(s.buffer))]);"
       " return r; }",
       "[[0,0,[]],[1,1,[97]],[1,1,[97,0]],[1,1,[97,0,0]],[1,1,[97,0,0,0]],[3,5,[97,240,159,152,"
       "128]],[4,7,[97,240,159,152,128,195,169,0]],[1,3,[0,0,239,191,189,0,0,0]]]"),
    THROWS("encodeInto missing argument", "function main() { new TextEncoder().encodeInto('a'); }",
           "TypeError", "2 arguments required"),
    THROWS("encodeInto wrong destination",
           "function main() { new TextEncoder().encodeInto('a', new Uint16Array(4)); }",
           "TypeError", "argument 2 (destination) must be a Uint8Array"),
    THROWS("encodeInto array destination",
           "function main() { new TextEncoder().encodeInto('a', [0, 0]); }", "TypeError",
           "argument 2 (destination)"),
    THROWS("encodeInto detached destination",
           "function main() { const b = new ArrayBuffer(4); const u = new Uint8Array(b);"
           " b.transfer(); new TextEncoder().encodeInto('a', u); }",
           "TypeError", "argument 2 (destination) is detached"),
    /* ---- TextDecoder */
    OK("decode sources",
       "function main() { const d = new TextDecoder(); const b = new Uint8Array([0, 104, 105, 0]);"
       " return [d.decode(b), d.decode(b.buffer), d.decode(new DataView(b.buffer, 1, 2)),"
       " d.decode(b.subarray(1, 3)), d.decode(new Uint16Array(b.buffer, 0, 1)), d.decode(),"
       " d.decode(undefined), d.decode(new Uint8Array(0))]; }",
       "[\"\\u0000hi\\u0000\",\"\\u0000hi\\u0000\",\"hi\",\"hi\",\"\\u0000h\",\"\",\"\",\"\"]"),
    OK("decode SharedArrayBuffer",
       "function main() { const s = new SharedArrayBuffer(2); new Uint8Array(s).set([111, 107]);"
       " return new TextDecoder().decode(s); }",
       "\"ok\""),
    OK("decode detached buffer is empty",
       "function main() { const b = new ArrayBuffer(2); const u = new Uint8Array(b); b.transfer();"
       " const d = new TextDecoder(); return [d.decode(b), d.decode(u)]; }",
       "[\"\",\"\"]"),
    OK("BOM",
       "function main() { const b = [0xEF, 0xBB, 0xBF, 0x61, 0xEF, 0xBB, 0xBF];"
       " const u = new Uint8Array(b); const d = new TextDecoder(); const i = new "
       "TextDecoder('utf-8', {ignoreBOM: true}); const s = new TextDecoder();"
       " const parts = [s.decode(u.subarray(0, 1), {stream: true}), s.decode(u.subarray(1, 5),"
       " {stream: true}), s.decode(u.subarray(5))];"
       " return [d.decode(u), d.decode(u), i.decode(u), parts, d.decode(u.subarray(0, 3))]; }",
       "[\"a\xef\xbb\xbf\",\"a\xef\xbb\xbf\",\"\xef\xbb\xbf"
       "a\xef\xbb\xbf\",[\"\",\"a\",\"\xef\xbb\xbf\"],\"\"]"),
    OK("replacement: maximal subparts",
       "function main() { const d = new TextDecoder(); const t = (b) => "
       "d.decode(new Uint8Array(b)).split('').map((c) => c.charCodeAt(0).toString(16));"
       " return [t([0x61, 0xF1, 0x80, 0x80, 0xE1, 0x80, 0xC2, 0x62, 0x80, 0x63, 0x80, 0xBF, 0x64]),"
       " t([0xC0, 0xAF, 0xE0, 0x80, 0xBF, 0xF0, 0x81, 0x82, 0x41]), t([0xED, 0xA0, 0x80]),"
       " t([0xF4, 0x90, 0x80, 0x80]), t([0xF0, 0x9F, 0x98]), t([0xFF, 0xFE])]; }",
       "[[\"61\",\"fffd\",\"fffd\",\"fffd\",\"62\",\"fffd\",\"63\",\"fffd\",\"fffd\",\"64\"],"
       "[\"fffd\",\"fffd\",\"fffd\",\"fffd\",\"fffd\",\"fffd\",\"fffd\",\"fffd\",\"41\"],"
       "[\"fffd\",\"fffd\",\"fffd\"],[\"fffd\",\"fffd\",\"fffd\",\"fffd\"],[\"fffd\"],"
       "[\"fffd\",\"fffd\"]]"),
    OK("streaming across every split of a 4-byte sequence",
       "function main() { const b = new Uint8Array([0x61, 0xF0, 0x9F, 0x98, 0x80, 0x62]);"
       " const out = []; for (let i = 0; i <= 6; i++) for (let j = i; j <= 6; j++) {"
       "   const d = new TextDecoder(); out.push(d.decode(b.subarray(0, i), {stream: true}) +"
       "   d.decode(b.subarray(i, j), {stream: true}) + d.decode(b.subarray(j))); }"
       " return out.every((s) => s === 'a\\u{1F600}b'); }",
       "true"),
    OK("stream flush gives U+FFFD and resets",
       "function main() { const d = new TextDecoder(); return [d.decode(new Uint8Array([0xE2, "
       "0x82]), {stream: true}), d.decode(), d.decode(new Uint8Array([0xAC])),"
       " d.decode(new Uint8Array([0xE2]), {stream: true}), d.decode(new Uint8Array([0x82, 0xAC]))];"
       " }",
       "[\"\",\"\xef\xbf\xbd\",\"\xef\xbf\xbd\",\"\",\"\xe2\x82\xac\"]"),
    THROWS("fatal",
           "function main() { new TextDecoder('utf-8', {fatal: true}).decode("
           "new Uint8Array([0x61, 0xC3])); }",
           "TypeError", "not valid UTF-8"),
    OK("fatal stream then valid",
       "function main() { const d = new TextDecoder('utf-8', {fatal: true}); let e;"
       " const a = d.decode(new Uint8Array([0xC3]), {stream: true});"
       " try { d.decode(); } catch (x) { e = x.name; }"
       " return [a, e, d.decode(new Uint8Array([0xC3, 0xA9]))]; }",
       "[\"\",\"TypeError\",\"\xc3\xa9\"]"),
    THROWS("unknown label", "function main() { new TextDecoder('latin1'); }", "RangeError",
           "argument 1 (label) \"latin1\" is not a supported encoding"),
    THROWS("utf-16 refused", "function main() { new TextDecoder('utf-16le'); }", "RangeError",
           "only UTF-8"),
    THROWS("huge label is not echoed", "function main() { new TextDecoder('x'.repeat(100000)); }",
           "RangeError", "\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...\" is not"),
    THROWS("options not an object", "function main() { new TextDecoder('utf-8', 5); }", "TypeError",
           "argument 2 (options) must be an object"),
    THROWS("decode string", "function main() { new TextDecoder().decode('abc'); }", "TypeError",
           "argument 1 must be an ArrayBuffer"),
    THROWS("decode null", "function main() { new TextDecoder().decode(null); }", "TypeError",
           "argument 1 must be an ArrayBuffer"),
    THROWS("decode plain object", "function main() { new TextDecoder().decode({length: 3}); }",
           "TypeError", "argument 1 must be an ArrayBuffer"),
    THROWS("decode options not an object",
           "function main() { new TextDecoder().decode(new Uint8Array(1), 'stream'); }",
           "TypeError", "argument 2 (options)"),
    THROWS("throwing options getter propagates",
           "function main() { new TextDecoder('utf-8', {get fatal() { throw new RangeError('g'); "
           "}}); }",
           "RangeError", "g"),
    OK("options getter detaching the buffer",
       "function main() { const b = new ArrayBuffer(3); new Uint8Array(b).set([97, 98, 99]);"
       " return new TextDecoder().decode(b, {get stream() { b.transfer(); return false; }}); }",
       "\"\""),
    OK("DataView with lying getters stays in bounds",
       "function main() { const v = new DataView(new ArrayBuffer(4));"
       " Object.defineProperty(DataView.prototype, 'byteLength', {get() { return 1e9; }});"
       " try { new TextDecoder().decode(v); } catch (e) { return e.name + ': ' + e.message; } }",
       "\"TypeError: TextDecoder.decode: argument 1 is an inconsistent DataView\""),
};

static void test_table(void **state) {
    ncsl_js_runtime *rt = *state;
    for (size_t i = 0; i < sizeof(g_cases) / sizeof(g_cases[0]); i++) {
        const enc_case *tc = &g_cases[i];
        ncsl_js_outcome o;
        ncsl_status st = run(rt, tc->code, NULL, tc->limits, &o);
        if (st != tc->status ||
            (tc->result && (!o.result_json || strcmp(o.result_json, tc->result) != 0))) {
            print_error("case '%s': status %d (want %d), result %s, error %s: %s\n", tc->name, st,
                        tc->status, o.result_json ? o.result_json : "-",
                        o.error_name ? o.error_name : "-", o.error_message ? o.error_message : "-");
        }
        assert_int_equal(st, tc->status);
        if (tc->result) {
            assert_non_null(o.result_json);
            assert_string_equal(o.result_json, tc->result);
        }
        if (tc->error_name) {
            assert_non_null(o.error_name);
            assert_string_equal(o.error_name, tc->error_name);
        }
        if (tc->message_has && (!o.error_message || !strstr(o.error_message, tc->message_has))) {
            fail_msg("case '%s': message '%s' lacks '%s'", tc->name,
                     o.error_message ? o.error_message : "(null)", tc->message_has);
        }
        ncsl_js_outcome_cleanup(&o);
    }
    assert_healthy(rt);
}

/* Each call starts with pristine lazy globals, whatever the previous call did to them. */
static void test_isolation(void **state) {
    ncsl_js_runtime *rt = *state;
    ncsl_js_outcome o;
    assert_int_equal(run(rt,
                         "function main() { TextEncoder.prototype.encode = null; TextDecoder = 1;"
                         " return 1; }",
                         NULL, LIM_DEFAULT, &o),
                     NCSL_OK);
    ncsl_js_outcome_cleanup(&o);
    assert_int_equal(run(rt,
                         "function main() { return [typeof TextDecoder, typeof "
                         "TextEncoder.prototype.encode]; }",
                         NULL, LIM_DEFAULT, &o),
                     NCSL_OK);
    assert_string_equal(o.result_json, "[\"function\",\"function\"]");
    ncsl_js_outcome_cleanup(&o);
}

/* Large inputs: the call's memory and gas limits end the call, never the process. */
static void test_limits(void **state) {
    ncsl_js_runtime *rt = *state;
    static const struct {
        const char *code;
        int limits;
        ncsl_status status;
    } cases[] = {
        /* 3 bytes of UTF-8 per UTF-16 unit: the copy alone is 60 MiB */
        {"function main() { return new TextEncoder().encode('\\u20ac'.repeat(20 << 20)).length; }",
         LIM_MEM32, NCSL_E_JS_MEMORY},
        /* every byte invalid: 3 bytes of output per input byte */
        {"function main() { return new TextDecoder().decode(new Uint8Array(16 << 20).fill(255))"
         ".length; }",
         LIM_MEM32, NCSL_E_JS_MEMORY},
        {"function main() { const e = new TextEncoder(); const s = 'x'.repeat(1 << 20);"
         " for (;;) e.encode(s); }",
         LIM_GAS, NCSL_E_JS_GAS},
        {"function main() { const d = new TextDecoder(); const b = new Uint8Array(1 << 20);"
         " for (;;) d.decode(b); }",
         LIM_GAS, NCSL_E_JS_GAS},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ncsl_js_outcome o;
        ncsl_status st = run(rt, cases[i].code, NULL, cases[i].limits, &o);
        if (st != cases[i].status) {
            print_error("limit case %zu: status %d, want %d (%s)\n", i, st, cases[i].status,
                        o.error_message ? o.error_message : "-");
        }
        assert_int_equal(st, cases[i].status);
        ncsl_js_outcome_cleanup(&o);
        assert_healthy(rt);
    }
}

/* ------------------------------------------------------------------------- reference decoder */
/* Length of the longest prefix of s[0..n) that is a prefix of a well-formed sequence (Table 3-7),
 * and whether that prefix is complete (*complete). 0 when s[0] cannot start a sequence. */
static size_t ref_prefix(const uint8_t *s, size_t n, bool *complete) {
    static const struct {
        uint8_t lo0, hi0;
        int len;
        uint8_t lo1, hi1;
    } rows[] = {
        {0x00, 0x7F, 1, 0, 0},       {0xC2, 0xDF, 2, 0x80, 0xBF}, {0xE0, 0xE0, 3, 0xA0, 0xBF},
        {0xE1, 0xEC, 3, 0x80, 0xBF}, {0xED, 0xED, 3, 0x80, 0x9F}, {0xEE, 0xEF, 3, 0x80, 0xBF},
        {0xF0, 0xF0, 4, 0x90, 0xBF}, {0xF1, 0xF3, 4, 0x80, 0xBF}, {0xF4, 0xF4, 4, 0x80, 0x8F},
    };
    *complete = false;
    for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
        if (s[0] < rows[r].lo0 || s[0] > rows[r].hi0) {
            continue;
        }
        size_t k = 1;
        while (k < (size_t)rows[r].len && k < n) {
            uint8_t lo = k == 1 ? rows[r].lo1 : 0x80, hi = k == 1 ? rows[r].hi1 : 0xBF;
            if (s[k] < lo || s[k] > hi) {
                break;
            }
            k++;
        }
        *complete = k == (size_t)rows[r].len;
        return k;
    }
    return 0;
}

/* Decodes to code points; U+FFFD for each maximal subpart. Returns the count; *valid false if
 * any replacement happened. */
static size_t ref_decode(const uint8_t *s, size_t n, uint32_t *out, bool *valid) {
    size_t o = 0;
    *valid = true;
    for (size_t i = 0; i < n;) {
        bool complete;
        size_t k = ref_prefix(s + i, n - i, &complete);
        if (!complete) {
            out[o++] = 0xFFFD;
            *valid = false;
            i += k ? k : 1;
            continue;
        }
        uint32_t cp = k == 1 ? s[i] : (uint32_t)(s[i] & (0x7F >> k));
        for (size_t j = 1; j < k; j++) {
            cp = (cp << 6) | (s[i + j] & 0x3F);
        }
        out[o++] = cp;
        i += k;
    }
    return o;
}

/* The JS side: decodes each input (fatal off and on, and streamed in pieces at pseudo-random
 * points) and returns code points, or -1 for a fatal TypeError. */
static const char g_decode_js[] =
    "function main(inputs) {\n"
    "  const cps = (s) => Array.from(s, (c) => c.codePointAt(0));\n"
    "  const d = new TextDecoder(), f = new TextDecoder('utf-8', {fatal: true});\n"
    "  return inputs.map(([bytes, cuts]) => {\n"
    "    const u = new Uint8Array(bytes);\n"
    "    let fatal;\n"
    "    try { fatal = cps(f.decode(u)); } catch (e) { fatal = e instanceof TypeError ? -1 : -2; "
    "}\n"
    "    const s = new TextDecoder('utf-8', {ignoreBOM: true});\n"
    "    let at = 0, streamed = '';\n"
    "    for (const c of cuts) { streamed += s.decode(u.subarray(at, c), {stream: true}); at = c; "
    "}\n"
    "    streamed += s.decode(u.subarray(at));\n"
    "    return [cps(d.decode(u)), fatal, cps(streamed)];\n"
    "  });\n"
    "}\n";

typedef struct corpus {
    uint8_t bytes[16];
    size_t len;
    size_t cuts[4];
    size_t ncuts;
} corpus;

static uint64_t g_rng = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (uint32_t)(g_rng >> 11);
}

/* Interesting bytes: boundaries of every row of Table 3-7 and beyond. */
static const uint8_t g_edge[] = {0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF,
                                 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xEC, 0xED, 0xEE,
                                 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xF8, 0xFE, 0xFF};
#define NEDGE (sizeof(g_edge) / sizeof(g_edge[0]))

static size_t build_corpus(corpus *c, size_t max) {
    size_t n = 0;
    /* every pair of edge bytes, and every triple starting with a lead byte */
    for (size_t a = 0; a < NEDGE && n < max; a++) {
        for (size_t b = 0; b < NEDGE && n < max; b++) {
            c[n] = (corpus){.bytes = {g_edge[a], g_edge[b]}, .len = 2};
            n++;
            if (g_edge[a] >= 0xC0) {
                for (size_t d = 0; d < NEDGE && n < max; d += 3) {
                    c[n] = (corpus){.bytes = {g_edge[a], g_edge[b], g_edge[d]}, .len = 3};
                    n++;
                }
            }
        }
    }
    /* random strings biased towards the edges */
    while (n < max) {
        corpus *k = &c[n++];
        k->len = rnd() % 16;
        for (size_t i = 0; i < k->len; i++) {
            k->bytes[i] = rnd() % 3 ? g_edge[rnd() % NEDGE] : (uint8_t)rnd();
        }
    }
    for (size_t i = 0; i < n; i++) {
        c[i].ncuts = c[i].len ? rnd() % 4 : 0;
        size_t at = 0;
        for (size_t j = 0; j < c[i].ncuts; j++) {
            at += rnd() % (c[i].len - at + 1);
            c[i].cuts[j] = at;
        }
    }
    return n;
}

static void append(char **buf, size_t *len, size_t *cap, const char *fmt, ...) {
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int k = vsnprintf(*buf + *len, *cap - *len, fmt, ap);
        va_end(ap);
        assert_true(k >= 0);
        if ((size_t)k < *cap - *len) {
            *len += (size_t)k;
            return;
        }
        *cap *= 2;
        *buf = realloc(*buf, *cap);
        assert_non_null(*buf);
    }
}

/* Expected JSON of one corpus entry: [cps, fatal, cps] */
static void expect_json(const corpus *k, char **buf, size_t *len, size_t *cap) {
    uint32_t cps[32];
    bool valid;
    size_t n = ref_decode(k->bytes, k->len, cps, &valid);
    char list[512];
    size_t l = 0;
    l += (size_t)snprintf(list + l, sizeof(list) - l, "[");
    for (size_t i = 0; i < n; i++) {
        l += (size_t)snprintf(list + l, sizeof(list) - l, "%s%u", i ? "," : "", cps[i]);
    }
    snprintf(list + l, sizeof(list) - l, "]");
    if (valid) {
        append(buf, len, cap, "[%s,%s,%s]", list, list, list);
    } else {
        append(buf, len, cap, "[%s,-1,%s]", list, list);
    }
}

static void test_decoder_reference(void **state) {
    ncsl_js_runtime *rt = *state;
    enum { MAX = 6000 };
    corpus *c = calloc(MAX, sizeof(*c));
    assert_non_null(c);
    size_t n = build_corpus(c, MAX);
    size_t cap = 1 << 16, ilen = 0, elen = 0, ecap = 1 << 16;
    char *input = malloc(cap), *expect = malloc(ecap);
    assert_non_null(input);
    assert_non_null(expect);
    append(&input, &ilen, &cap, "[");
    append(&expect, &elen, &ecap, "[");
    for (size_t i = 0; i < n; i++) {
        append(&input, &ilen, &cap, "%s[[", i ? "," : "");
        for (size_t j = 0; j < c[i].len; j++) {
            append(&input, &ilen, &cap, "%s%u", j ? "," : "", c[i].bytes[j]);
        }
        append(&input, &ilen, &cap, "],[");
        for (size_t j = 0; j < c[i].ncuts; j++) {
            append(&input, &ilen, &cap, "%s%zu", j ? "," : "", c[i].cuts[j]);
        }
        append(&input, &ilen, &cap, "]]");
        if (i) {
            append(&expect, &elen, &ecap, ",");
        }
        expect_json(&c[i], &expect, &elen, &ecap);
    }
    append(&input, &ilen, &cap, "]");
    append(&expect, &elen, &ecap, "]");

    ncsl_js_outcome o;
    ncsl_status st = run(rt, g_decode_js, input, LIM_DEFAULT, &o);
    if (st != NCSL_OK) {
        print_error("decoder corpus: %s: %s\n", o.error_name ? o.error_name : "-",
                    o.error_message ? o.error_message : "-");
    }
    assert_int_equal(st, NCSL_OK);
    if (strcmp(o.result_json, expect) != 0) {
        /* find the first differing entry for the message */
        size_t at = 0;
        while (o.result_json[at] && o.result_json[at] == expect[at]) {
            at++;
        }
        fail_msg("decoder differs from the reference near byte %zu:\n got %.200s\nwant %.200s", at,
                 o.result_json + (at > 60 ? at - 60 : 0), expect + (at > 60 ? at - 60 : 0));
    }
    print_message("%zu byte strings decoded as the reference does (fatal, replacement, stream)\n",
                  n);
    ncsl_js_outcome_cleanup(&o);
    free(input);
    free(expect);
    free(c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_table, js_fixture_setup_rt, js_fixture_teardown_rt),
        cmocka_unit_test_setup_teardown(test_isolation, js_fixture_setup_rt,
                                        js_fixture_teardown_rt),
        cmocka_unit_test_setup_teardown(test_limits, js_fixture_setup_rt, js_fixture_teardown_rt),
        cmocka_unit_test_setup_teardown(test_decoder_reference, js_fixture_setup_rt,
                                        js_fixture_teardown_rt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
