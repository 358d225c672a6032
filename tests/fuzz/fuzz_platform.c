/*
 * Fuzz target `platform`: fuzzer-made bytes through the parsers of the platform APIs that take
 * untrusted text or bytes (docs/javascript.md): TextDecoder (fatal, replacing, streaming),
 * TextEncoder, URL (parse, relative to a base, every setter), URLSearchParams, atob, and
 * crypto.sha256 / Neo.address on the same bytes. The bytes reach the call as hex in `input`, so
 * every byte value (invalid UTF-8, NULs, lone surrogates after decoding) gets through; one fixed
 * function (compiled once, from the bytecode cache) drives them, so the fuzzer's coverage comes
 * from the C parsers (src/js/js_url.c, js_encoding.c, js_crypto.c, js_neo.c).
 *
 * The first byte picks which part of the rest is the base URL and which setter runs; failures
 * of user-visible kinds (TypeError, RangeError) are caught inside the function: any call that
 * does not succeed is a finding, as is any host failure.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fuzz.h"
#include "js/js.h"

#define MAX_INPUT 4096

static ncsl_js_runtime *g_rt;

static const char g_code[] =
    "function main(input) {\n"
    "  const hex = input.h, sel = input.s;\n"
    "  const bytes = new Uint8Array(hex.length / 2);\n"
    "  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.substr(2 * i, 2), 16);\n"
    "  const out = [];\n"
    "  const t = (f) => { try { out.push(String(f()).length); } catch (e) {\n"
    "    if (!(e instanceof TypeError || e instanceof RangeError || e instanceof DOMException))\n"
    "      throw e;\n"
    "    out.push(e.name); } };\n"
    "  const text = new TextDecoder().decode(bytes);\n"
    "  t(() => new TextDecoder('utf-8', { fatal: true }).decode(bytes));\n"
    "  t(() => { const d = new TextDecoder(); const cut = sel % (bytes.length + 1);\n"
    "    return d.decode(bytes.subarray(0, cut), { stream: true }) + "
    "d.decode(bytes.subarray(cut)); });\n"
    "  t(() => new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes.buffer));\n"
    "  t(() => new TextEncoder().encode(text).length);\n"
    "  t(() => { const dst = new Uint8Array(sel % 64); return new TextEncoder().encodeInto(text, "
    "dst).written; });\n"
    "  const cut = sel % (text.length + 1);\n"
    "  const a = text.slice(0, cut), b = text.slice(cut);\n"
    "  t(() => new URL(text).href);\n"
    "  t(() => new URL(a, b).href);\n"
    "  t(() => new URL(a, 'https://user:pw@example.com:8080/p/q?x=1#f').href);\n"
    "  t(() => URL.canParse(text));\n"
    "  const setters = ['href', 'protocol', 'username', 'password', 'host', 'hostname', 'port',\n"
    "                   'pathname', 'search', 'hash'];\n"
    "  t(() => { const u = new URL(sel & 1 ? 'https://example.com/a/b?c=d#e' : 'foo:bar');\n"
    "    u[setters[sel % setters.length]] = text; return u.href + u.origin; });\n"
    "  t(() => { const p = new URLSearchParams(text); p.append(a, b); p.sort();\n"
    "    return p.toString() + p.size + (p.get(a) || ''); });\n"
    "  t(() => { const u = new URL('https://example.com/'); u.searchParams.set(a, b);\n"
    "    u.search = b; return u.searchParams.toString(); });\n"
    "  t(() => atob(text));\n"
    "  t(() => btoa(text));\n"
    "  t(() => crypto.sha256(bytes));\n"
    "  t(() => crypto.sha256(text));\n"
    "  t(() => Neo.address(hex.slice(0, 66)));\n"
    "  return out;\n"
    "}\n";

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    ncsl_fuzz_quiet_logs();
    ncsl_err err;
    if (ncsl_js_runtime_create(&g_rt, &err) != NCSL_OK) {
        fprintf(stderr, "fuzz_platform: ncsl_js_runtime_create: %s\n", err.message);
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size > MAX_INPUT) {
        return 0;
    }
    static char input[2 * MAX_INPUT + 64];
    static const char digits[] = "0123456789abcdef";
    size_t n = (size_t)snprintf(input, sizeof(input), "{\"s\":%u,\"h\":\"", (unsigned)data[0]);
    for (size_t i = 1; i < size; i++) {
        input[n++] = digits[data[i] >> 4];
        input[n++] = digits[data[i] & 15];
    }
    input[n++] = '"';
    input[n++] = '}';
    input[n] = '\0';
    ncsl_js_call call = {
        .code = g_code,
        .code_len = sizeof(g_code) - 1,
        .input_json = input,
        .input_len = n,
        .limits =
            {
                .memory_bytes = 16u * 1024u * 1024u,
                .timeout_ms = 2000,
                .stack_bytes = 256u * 1024u,
                .max_output_bytes = 64u * 1024u,
                .max_log_bytes = 4u * 1024u,
            },
    };
    ncsl_js_outcome out;
    ncsl_err err;
    ncsl_status st = ncsl_js_run(g_rt, &call, &out, &err);
    if (st != NCSL_OK && st != NCSL_E_JS_TIMEOUT) {
        fprintf(stderr, "fuzz_platform: status %d: %s: %s\n", (int)st,
                out.error_name ? out.error_name : "", out.error_message ? out.error_message : "");
    }
    /* every API error is caught inside: anything but success (or the deadline on a slow,
     * instrumented run) is a finding */
    NCSL_FUZZ_CHECK(st == NCSL_OK || st == NCSL_E_JS_TIMEOUT);
    if (st == NCSL_OK) {
        NCSL_FUZZ_CHECK(out.result_json != NULL && out.result_json[0] == '[');
    }
    ncsl_js_outcome_cleanup(&out);
    return 0;
}
