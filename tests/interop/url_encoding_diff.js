#!/usr/bin/env node
/*
 * Differential test of NCSL's TextEncoder, TextDecoder, URL and URLSearchParams against Node's
 * own (WHATWG) implementations.
 *
 * One evaluator function (EVALUATOR below) runs a batch of cases and returns every observable
 * field; it runs once in Node and once inside NCSL through `ncsl run` (the CLI), with the same
 * batch as input, and the two results must be equal case by case. The corpus:
 *   - a few hundred fixed tricky URLs (hosts in every IPv4 and IPv6 form, percent-encoding,
 *     dot segments, backslashes, Windows drive letters, opaque paths, credentials, ports,
 *     relative references against several bases, controls and spaces around the input);
 *   - random URLs from a seeded PRNG, built from components that hit the parser's branches;
 *   - every URL setter applied to parsed URLs with random and tricky values;
 *   - URLSearchParams from strings, pairs and records, with append/delete/set/sort and the URL's
 *     query kept in sync both ways;
 *   - TextDecoder on random byte strings (fatal and not, ignoreBOM, split at random points in
 *     streaming mode) and TextEncoder.encode/encodeInto on random strings with lone surrogates.
 *
 * Documented differences are not failures: NCSL refuses non-ASCII domain names (TypeError saying
 * internationalized domain names are not supported) where Node converts them to Punycode; such
 * cases only check that NCSL refused with that message. Errors compare by name only.
 *
 * Usage: node url_encoding_diff.js --ncsl PATH/TO/ncsl [--seed N] [--random N] [--verbose]
 * Exit status 0 when every case matched; the last line is "N passed, M failed".
 */
"use strict";

const fs = require("fs");
const os = require("os");
const path = require("path");
const { execFileSync } = require("child_process");

function usage(msg) {
    if (msg) {
        console.error(`url_encoding_diff: ${msg}`);
    }
    console.error("usage: node url_encoding_diff.js --ncsl PATH [--seed N] [--random N] [--verbose]");
    process.exit(2);
}

const args = { ncsl: null, seed: 20240817, random: 1500, verbose: false };
for (let i = 2; i < process.argv.length; i++) {
    const a = process.argv[i];
    if (a === "--ncsl") args.ncsl = process.argv[++i];
    else if (a === "--seed") args.seed = Number(process.argv[++i]);
    else if (a === "--random") args.random = Number(process.argv[++i]);
    else if (a === "--verbose") args.verbose = true;
    else usage(`unknown argument ${a}`);
}
if (!args.ncsl) usage("--ncsl is required");
if (!fs.existsSync(args.ncsl)) usage(`${args.ncsl} does not exist`);

/* ------------------------------------------------------------------ the evaluator
 * Plain JS that runs in both engines. Input: {kind, cases}. Output: one result per case. */
const EVALUATOR = String.raw`
function fields(u) {
    return [u.href, u.origin, u.protocol, u.username, u.password, u.host, u.hostname, u.port,
            u.pathname, u.search, u.hash, u.searchParams.toString(), u.searchParams.size,
            JSON.stringify(u), String(u)];
}
function err(e) { return { error: e && e.name, message: String(e && e.message) }; }
function run(kind, c) {
    switch (kind) {
    case "url": {
        const [input, base] = c;
        try {
            const u = base === null ? new URL(input) : new URL(input, base);
            return { ok: fields(u), can: base === null ? URL.canParse(input) : URL.canParse(input, base) };
        } catch (e) {
            return { fail: err(e), can: base === null ? URL.canParse(input) : URL.canParse(input, base) };
        }
    }
    case "set": {
        const [input, prop, value] = c;
        let u;
        try { u = new URL(input); } catch (e) { return { fail: err(e) }; }
        const before = fields(u);
        const sp = u.searchParams; /* made before the change: must follow it */
        try { u[prop] = value; } catch (e) { return { before, threw: err(e), after: fields(u) }; }
        return { before, after: fields(u), list: [...sp] };
    }
    case "params": {
        const [init, ops, url] = c;
        let p, u = null;
        try {
            if (url !== null) { u = new URL(url); p = u.searchParams; }
            else p = init === null ? new URLSearchParams() : new URLSearchParams(init);
        } catch (e) { return { fail: err(e) }; }
        const log = [];
        for (const [op, a, b] of ops) {
            try {
                let r;
                switch (op) {
                case "append": r = p.append(a, b); break;
                case "delete": r = b === undefined ? p.delete(a) : p.delete(a, b); break;
                case "get": r = p.get(a); break;
                case "getAll": r = p.getAll(a); break;
                case "has": r = b === undefined ? p.has(a) : p.has(a, b); break;
                case "set": r = p.set(a, b); break;
                case "sort": r = p.sort(); break;
                case "search": u.search = a; r = u.href; break;
                case "hash": u.hash = a; r = u.href; break;
                }
                log.push([r === undefined ? null : r, p.toString(), p.size, u ? u.href : null, u ? u.search : null]);
            } catch (e) { log.push(err(e)); }
        }
        return { list: [...p], keys: [...p.keys()], values: [...p.values()], str: String(p), log };
    }
    case "dec": {
        const [bytes, fatal, ignoreBOM, splits, label] = c;
        const u8 = new Uint8Array(bytes);
        try {
            const d = new TextDecoder(label, { fatal, ignoreBOM });
            const meta = [d.encoding, d.fatal, d.ignoreBOM];
            if (!splits) return { meta, out: d.decode(u8), again: d.decode(u8.buffer) };
            const parts = [];
            let at = 0;
            /* after a fatal error in a stream the decoder's state is not specified the same way
             * everywhere: compare up to the first error */
            for (const s of splits) {
                try { parts.push(d.decode(u8.subarray(at, s), { stream: true })); }
                catch (e) { parts.push(err(e).error); return { meta, parts }; }
                at = s;
            }
            try { parts.push(d.decode(u8.subarray(at))); } catch (e) { parts.push(err(e).error); }
            return { meta, parts };
        } catch (e) { return { fail: err(e) }; }
    }
    case "enc": {
        const [s, cap] = c;
        const e = new TextEncoder();
        const dst = new Uint8Array(cap);
        const r = e.encodeInto(s, dst);
        return { enc: Array.from(e.encode(s)), into: [r.read, r.written, Array.from(dst)] };
    }
    }
    throw new Error("unknown kind " + kind);
}
function main(input) {
    /* the batch comes as JSON text inside the JSON input: the CLI's JSON reader refuses lone
     * surrogates, which JSON.stringify escapes as \uD800 inside the inner text */
    const batch = JSON.parse(input.json);
    return batch.cases.map((c) => {
        try { return run(batch.kind, c); } catch (e) { return { crash: err(e) }; }
    });
}
`;

/* ------------------------------------------------------------------ PRNG */
function mulberry32(seed) {
    let a = seed >>> 0;
    return function () {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}
const rnd = mulberry32(args.seed);
const ri = (n) => Math.floor(rnd() * n);
const pick = (arr) => arr[ri(arr.length)];
const chance = (p) => rnd() < p;

/* ------------------------------------------------------------------ fixed corpus */
const BASES = [
    null,
    "http://example.org/foo/bar",
    "https://user:pass@h.example:8443/a/b/c?q=1#f",
    "file:///C:/dir/file",
    "file://host/share/x",
    "mailto:x@y",
    "sc://host/p1/p2",
    "non-special:opaque",
    "ws://w.example/",
];

const FIXED_URLS = [
    "http://example.com", "HTTP://EXAMPLE.COM/A?B#C", "https://example.com:443/", "http://example.com:80/",
    "http://example.com:0/", "http://example.com:65535/", "http://example.com:65536/", "http://example.com:/",
    "http://example.com:00080/", "http://example.com:8a/", "ws://h:80/", "wss://h:443/", "ftp://h:21/",
    "ftp://h:22/", "http://user@h/", "http://user:@h/", "http://:pass@h/", "http://@h/", "http://a@b@c/",
    "http://a:b:c@h/", "https://us er:pa%20ss@h/", "http://h/p?q#f", "http://h?q", "http://h#f",
    "http://h/a/./b/../c", "http://h/a/%2e/b/%2E%2e/c", "http://h/a/.%2E/b", "http://h/..", "http://h/./",
    "http://h/a/b/..", "http://h/a/b/.", "http://h/a//b", "http://h\\a\\b", "http://h/a\\b",
    "sc://h/a\\b", "http://h/ a ", "http://h/a%", "http://h/a%2", "http://h/a%zz", "http://h/%41",
    "http://h/é/ü?é#é", "http://h/\u{1F600}", "http://h/\ud800", "http://h/?\udc00", "http://h/#\ud83d",
    "http://h/`{}|<>\"'", "http://h/?`{}|<>\"'", "http://h/#`{}|<>\"'", "sc://h/?'", "http://h/?'",
    "  http://h/  ", "\t http://h/\n ", "ht\ttp://h/", "http://h/\r\na", "\u0000http://h/\u001f",
    "http://h/\u0000\u007f", "http://192.168.0.1", "http://0x7f.0.0.1", "http://0177.0.0.1",
    "http://127.1", "http://127.0.1", "http://2130706433", "http://0x7f000001", "http://017700000001",
    "http://0x", "http://0x.0x.0x.0x", "http://00", "http://09", "http://1.2.3.09", "http://1.2.3.4.",
    "http://1.2.3.4..", "http://1.2.3.4.5", "http://256.0.0.1", "http://1.256.0.0", "http://1.0.0.256",
    "http://1.2.65536", "http://1.2.65535", "http://1.16777216", "http://4294967295",
    "http://4294967296", "http://0xffffffff", "http://0x100000000", "http://foo.1", "http://1.foo",
    "http://foo.0x1", "http://foo.0x", "http://foo.0xg", "http://foo.09", "http://foo.09.", "http://.",
    "http://..", "http://a..b", "http://a.b.", "http://[::]", "http://[::1]", "http://[1::]",
    "http://[1:2:3:4:5:6:7:8]", "http://[1:2:3:4:5:6:7:8:9]", "http://[1:2:3:4:5:6:7]",
    "http://[1::2::3]", "http://[:1]", "http://[1:]", "http://[::ffff:1.2.3.4]",
    "http://[::ffff:1.2.3]", "http://[::ffff:1.2.3.4.5]", "http://[::ffff:01.2.3.4]",
    "http://[::ffff:256.2.3.4]", "http://[1:2:3:4:5:6:1.2.3.4]", "http://[1:2:3:4:5:6:7:1.2.3.4]",
    "http://[0:0:0:0:0:0:0:1]", "http://[1:0:0:2:0:0:0:3]", "http://[1:0:0:2:0:0:3:4]",
    "http://[0:0:1:0:0:0:0:0]", "http://[ABCD::EF]", "http://[12345::]", "http://[g::]",
    "http://[::1", "http://[::1]x", "http://[::1]:99", "http://[www.example.com]/",
    "http://[::1%5D", "http://[0:0::%31]", "http://ex%41mple.com", "http://ex%2Eample",
    "http://ex%25ample", "http://ex%00ample", "http://exa#mple", "http://exa%23mple",
    "http://ex ample", "http://ex<ample", "http://ex^ample", "http://ex|ample", "http://ex%7Cample",
    "http://a_b-c.d", "http://-a.b-", "http://xn--nxasmq6b.com", "http://XN--ZCA.com", "http://xn--ab.com",
    "http://xn--/", "http://a.xn--.b", "http://xn--a.com", "http://xn--abc-", "http://münchen.de",
    "http://%C3%BC.com", "http://%ff.com", "http://ＥＸＡＭＰＬＥ.com", "sc://münchen.de/",
    "sc://ex%41mple/", "sc://ex ample/", "sc://ex^ample/", "sc://[::1]/", "sc://[x]/", "sc://h:1/",
    "sc://h:99999/", "sc://:1/", "sc://@h/", "sc://u@/", "sc://", "sc:///", "sc:////x", "sc:",
    "sc:x", "sc:/x", "sc:/.//x", "sc:/..//x", "sc:/a/..//x", "sc://h/..//x", "sc:x y ", "sc:x y ?q",
    "sc:x y #f", "sc:x\u0000", "javascript:alert(1)", "data:text/plain,hi there", "mailto:a@b",
    "urn:isbn:123", "about:blank", "blob:https://a.com/uuid", "blob:http://a.com:8080/x",
    "blob:file:///x", "blob:sc://x/y", "blob:nothing", "file:", "file:/", "file://", "file:///",
    "file:///C|/demo", "file:///C:/demo/..", "file:///C:/../x", "file:c:/x", "file:/c:/x",
    "file://c:/x", "file://C|/x", "file://localhost/x", "file://LOCALHOST/x", "file://loc%61lhost/",
    "file://host/x", "file://host:1/x", "file://u@host/x", "file://[::1]/x", "file:///a/../../b",
    "file:\\\\host\\x", "file:?q", "file:#f", "file:///x?q#f", "https:example.org", "https:/example.org",
    "https:///example.org", "https:////example.org", "https://////example.com///", "https:\\\\ex\\a",
    "http:", "http:/", "http://", "http:///", "https://#fragment", "https://:443", "https://user:pass@",
    "http://?", "sc://?", "http://h:1:2/", "foo://h/p", "Foo+Bar-1.2://x", "1http://x", "+a://x",
    "a$b://x", "://x", ":x", "", " ", "#f", "?q", "/p", "//h", "///x", "../x", "./x", "x", "..",
    ".", "%2e", "%2e%2E/x", "C:/x", "c|", "/C|/x", "\\\\h\\x", "http:x", "https:x", "file:x",
    "sc:\\x", "?", "#", "a:b:c", "a://b:c@d:e", "http://[::1]:65535/", "http://h:65536/",
    "http://h:99999999999999999999/", "http://h/?a=1&b=2&&c&=d&e=", "http://h/?a+b=c+d%20e",
    "http://h/?%zz=%", "http://h/?a=%ff%fe", "http://h/?%E2%82=x", "ws://h/?\u00e9'",
];

/* ------------------------------------------------------------------ random URLs */
const SCHEMES = ["http", "https", "ws", "wss", "ftp", "file", "sc", "foo", "mailto", "HTTP",
                 "Https", "blob", "data", "a+b", "javascript", ""];
const SEPS = [":", "://", ":/", ":///", ":\\\\", ":\\", "://", "://", ":////"];
const CHARS = "abcxyzABC019-._~!$&'()*+,;=:@/?#[]\\^|{}<>\"` %%\t\n\u0000\u001f\u007f\u00e9\u00ff\u0100\u20ac\u{1F600}\ud800\udfff";
const HOSTCHARS = "abcdefxyz0123456789-._%";

function rstr(chars, max) {
    const arr = Array.from(chars);
    let s = "";
    const n = ri(max + 1);
    for (let i = 0; i < n; i++) s += pick(arr);
    return s;
}
function rhost() {
    switch (ri(9)) {
    case 0: return [ri(256), ri(256), ri(256), ri(256)].join(".");
    case 1: { /* short or non-decimal IPv4 forms */
        const parts = [];
        const n = 1 + ri(4);
        for (let i = 0; i < n; i++) {
            const v = chance(0.2) ? ri(70000) : ri(300);
            parts.push(pick([String(v), "0x" + v.toString(16), "0" + v.toString(8), "0X" + v.toString(16).toUpperCase()]));
        }
        return parts.join(".") + (chance(0.1) ? "." : "");
    }
    case 2: { /* IPv6 */
        const pieces = [];
        const n = ri(9);
        for (let i = 0; i < n; i++) pieces.push(chance(0.4) ? "0" : ri(65536).toString(16));
        let s = pieces.join(":");
        if (chance(0.5)) {
            const at = ri(pieces.length + 1);
            s = pieces.slice(0, at).join(":") + "::" + pieces.slice(at, at + ri(3)).join(":");
        }
        if (chance(0.15)) s += (s.endsWith(":") || s === "" ? "" : ":") + [ri(256), ri(256), ri(256), ri(256)].join(".");
        return "[" + s + (chance(0.05) ? "" : "]");
    }
    case 3: return rstr(HOSTCHARS, 12) + "." + pick(["com", "org", "1", "0x1", "09", ""]);
    case 4: return "%" + ri(256).toString(16).padStart(2, "0") + rstr(HOSTCHARS, 5);
    case 5: return pick(["localhost", "LOCALHOST", "example.COM", "a", "", "h"]);
    case 6: return rstr("abc" + "#/:<>?@[\\]^| ", 6);
    case 7: return rstr("ab.%0123456789x", 10);
    default: return rstr(HOSTCHARS, 8);
    }
}
function rpath() {
    const segs = [];
    const n = ri(6);
    const SEGS = [".", "..", "%2e", "%2E%2e", ".%2e", "a", "b c", "é", "x|y", "C:", "c|", "", "%zz", "%41", rstr(CHARS, 4)];
    for (let i = 0; i < n; i++) segs.push(pick(SEGS));
    return pick(["/", "\\", "", "//"]) + segs.join(pick(["/", "/", "\\"]));
}
function rurl() {
    let s = "";
    if (chance(0.85)) s += pick(SCHEMES) + pick(SEPS);
    if (chance(0.3)) s += rstr(CHARS, 5) + (chance(0.5) ? ":" + rstr(CHARS, 4) : "") + "@";
    s += rhost();
    if (chance(0.3)) s += ":" + pick([String(ri(70000)), "", "0", "080", "x", String(ri(100))]);
    s += rpath();
    if (chance(0.4)) s += "?" + rstr(CHARS, 8);
    if (chance(0.3)) s += "#" + rstr(CHARS, 8);
    if (chance(0.1)) s = pick([" ", "\t", "\u0001", "\n"]) + s + pick([" ", "\u001f", ""]);
    return s;
}

/* ------------------------------------------------------------------ setters */
const SETTER_PROPS = ["href", "protocol", "username", "password", "host", "hostname", "port",
                      "pathname", "search", "hash"];
const SETTER_VALUES = {
    href: () => rurl(),
    protocol: () => pick(["http", "https:", "file", "sc", "ftp:x", "HTTP", "ws", "wss://x", "a b", "", "1x", "mailto", rstr("abc:+-.", 5)]),
    username: () => rstr(CHARS, 6),
    password: () => rstr(CHARS, 6),
    host: () => pick([rhost(), rhost() + ":" + ri(70000), "h:", ":1", "h/x", "h?x", "h#x", "", "[::1]:8", "a\\b"]),
    hostname: () => pick([rhost(), "h:1", "h/x", "", "[::1]"]),
    port: () => pick([String(ri(70000)), "", "80", "443", "8080abc", "abc", "  1", "65536", "0", "1\t2"]),
    pathname: () => pick([rpath(), "a/b", "/../x", "", "?x", "#x", "C|/x", rstr(CHARS, 6)]),
    search: () => pick(["", "?", "??a", "a=1&b=2", "?a b", rstr(CHARS, 8), "#x"]),
    hash: () => pick(["", "#", "##a", "a b", rstr(CHARS, 8)]),
};
const SETTER_TARGETS = ["http://u:p@h:8080/p/q?x=1#f", "https://h/", "file:///C:/x", "file://host/x",
                        "sc://u@h:1/p?q#f", "sc:opaque path ?q#f", "sc:opaque ", "mailto:a@b",
                        "http://[::1]/", "ws://h/", "sc://h", "sc:/p", "data:x,y #z", "http://h/?a=1&a=2"];

/* ------------------------------------------------------------------ URLSearchParams */
const PSTR = "ab=&+%20%zz%e9%C3%A9?#\u00e9\u{1F600}\ud800 \t";
function pstr() { return rstr(PSTR, 8); }
function params_case() {
    let init;
    /* a string init that has '%' keeps only ASCII literals (see the note on Node above) */
    const ascii_if_pct = (x) => (/%/.test(x) ? x.replace(/[^\x00-\x7f]/gu, "") : x);
    switch (ri(5)) {
    case 0: init = ascii_if_pct(pstr() + "&" + pstr() + "=" + pstr()); break;
    case 1: init = [[pstr(), pstr()], [pstr(), pstr()], ["a", "b"]]; break;
    case 2: init = { [pstr() || "k"]: pstr(), b: pstr() }; break;
    case 3: init = ascii_if_pct("?" + pstr()); break;
    default: init = undefined;
    }
    const ops = [];
    const names = ["a", "b", "", "\u{1F600}", "\uffff", "é", "z"];
    const n = ri(8);
    for (let i = 0; i < n; i++) {
        const op = pick(["append", "append", "delete", "get", "getAll", "has", "set", "sort"]);
        ops.push([op, chance(0.7) ? pick(names) : pstr(), chance(0.3) ? undefined : pstr()]);
        if (op === "append" || op === "set") ops[ops.length - 1][2] = pstr();
    }
    const url = chance(0.35) ? pick(["http://h/?a=1&b=2", "sc:op ?x=1", "sc:op #f", "http://h/", "http://h/?z=1&a=2&z=0"]) : null;
    if (url !== null) {
        for (let i = 0; i < 2; i++) if (chance(0.4)) ops.push([pick(["search", "hash"]), pick(["", "?q=1", "x y", pstr()])]);
    }
    return [init, ops, url];
}
const FIXED_PARAMS = [
    ["a=1&b=2&a=3", [["getAll", "a"], ["delete", "a", "3"], ["has", "a", "1"], ["sort"]], null],
    ["?a=b=c&=x&y=&&z", [["get", "a"], ["get", ""], ["get", "y"], ["get", "z"]], null],
    ["%zz=%&%41=%e9%&+=%2B", [["get", "%zz"], ["get", "A"], ["get", " "]], null],
    ["\uFFFF=1&\u{1F600}=2&\uE000=3&z=4&a=5", [["sort"]], null],
    ["b=1&a=1&b=0&a=0", [["sort"], ["set", "b", "x"], ["append", "c", "~!*'()"]], null],
    [[["x", "1"], ["y", "2"]], [["append", "é", "ü"]], null],
    [{ a: "1", b: "2", 3: "c" }, [["sort"]], null],
    [undefined, [["append", "a b", "c+d"], ["append", "=&", "%"]], null],
    [undefined, [["sort"], ["delete", "a"], ["search", "?x=1 2&y"], ["append", "k", "v"]], "http://h/?a=1"],
    [undefined, [["delete", "x"]], "sc:opaque   ?x=1"],
    [undefined, [["hash", ""], ["delete", "x"]], "sc:opaque   ?x=1#f"],
    [undefined, [["search", ""], ["append", "a", "b"]], "sc:p  "],
    [undefined, [["search", "a\tb=1\n"]], "http://h/"],
];

/* ------------------------------------------------------------------ encoding */
function rbytes() {
    const n = ri(24);
    const out = [];
    for (let i = 0; i < n; i++) {
        switch (ri(6)) {
        case 0: out.push(ri(128)); break;
        case 1: out.push(0x80 + ri(64)); break;
        case 2: out.push(0xc0 + ri(64)); break;
        case 3: { /* a valid sequence, maybe cut */
            const s = Array.from(Buffer.from(String.fromCodePoint(pick([0xe9, 0x20ac, 0x1f600, 0xfeff, 0xfffd, 0x10ffff, 0x800, 0xffff]))));
            out.push(...s.slice(0, chance(0.7) ? s.length : ri(s.length)));
            break;
        }
        case 4: out.push(pick([0xef, 0xbb, 0xbf, 0xed, 0xa0, 0xf4, 0x90, 0xf0, 0x8f, 0xe0, 0xc2, 0xc1, 0xf5, 0xff])); break;
        default: out.push(ri(256));
        }
    }
    if (chance(0.15)) out.unshift(0xef, 0xbb, 0xbf);
    return out;
}
function dec_case() {
    const b = rbytes();
    let splits = null;
    if (chance(0.5)) {
        splits = [];
        let at = 0;
        while (at < b.length && chance(0.7)) {
            at += ri(4);
            if (at > b.length) at = b.length;
            splits.push(at);
        }
    }
    return [b, chance(0.4), chance(0.3), splits, pick(["utf-8", "UTF8", " unicode-1-1-utf-8 ", "utf-8"])];
}
function enc_case() {
    return [rstr("aé€\u{1F600}\ud800\udc00\udbff\u0000~", 10), ri(12)];
}
const FIXED_DEC = [
    [[0xef, 0xbb, 0xbf, 0x61], false, false, null, "utf-8"],
    [[0xef, 0xbb, 0xbf, 0x61], false, true, null, "utf-8"],
    [[0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf], false, false, [1, 2, 4], "utf-8"],
    [[0xf0, 0x9f, 0x98, 0x80], false, false, [1, 2, 3], "utf-8"],
    [[0xf0, 0x9f, 0x98], false, false, [2], "utf-8"],
    [[0xf0, 0x9f, 0x98], true, false, [2], "utf-8"],
    [[0xed, 0xa0, 0x80], false, false, null, "utf-8"],
    [[0xc0, 0x80, 0xe0, 0x80, 0x80, 0xf4, 0x90, 0x80, 0x80], false, false, null, "utf-8"],
    [[0xf8, 0x88, 0x80, 0x80, 0x80, 0xfe, 0xff], false, false, null, "utf-8"],
    [[0x61, 0xf1, 0x80, 0x80, 0xe1, 0x80, 0xc2, 0x62, 0x80, 0x63, 0x80, 0xbf, 0x64], false, false, null, "utf-8"],
    [[], true, false, [0, 0], "utf-8"],
];

/* ------------------------------------------------------------------ batches */
function build_batches() {
    const batches = [];
    const push = (kind, cases, size) => {
        for (let i = 0; i < cases.length; i += size) batches.push({ kind, cases: cases.slice(i, i + size) });
    };
    const urls = [];
    for (const u of FIXED_URLS) {
        urls.push([u, null]);
        for (const b of BASES) if (b !== null && (chance(0.25) || u.length < 6)) urls.push([u, b]);
    }
    for (let i = 0; i < args.random; i++) urls.push([rurl(), chance(0.3) ? pick(BASES) : null]);
    push("url", urls, 250);
    const sets = [];
    for (const t of SETTER_TARGETS) for (const p of SETTER_PROPS) for (let k = 0; k < 4; k++) sets.push([t, p, SETTER_VALUES[p]()]);
    for (let i = 0; i < args.random / 2; i++) {
        const p = pick(SETTER_PROPS);
        sets.push([chance(0.5) ? pick(SETTER_TARGETS) : rurl(), p, SETTER_VALUES[p]()]);
    }
    push("set", sets, 200);
    const params = FIXED_PARAMS.slice();
    for (let i = 0; i < args.random / 3; i++) params.push(params_case());
    push("params", params, 150);
    const dec = FIXED_DEC.slice();
    for (let i = 0; i < args.random; i++) dec.push(dec_case());
    push("dec", dec, 300);
    const enc = [];
    for (let i = 0; i < args.random / 3; i++) enc.push(enc_case());
    push("enc", enc, 300);
    return batches;
}

/* ------------------------------------------------------------------ running */
const node_main = new Function(EVALUATOR + "\nreturn main;")();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ncsl-url-diff-"));
const code_file = path.join(tmp, "evaluator.js");
fs.writeFileSync(code_file, EVALUATOR);

function run_ncsl(batch) {
    const input_file = path.join(tmp, "input.json");
    fs.writeFileSync(input_file, JSON.stringify({ json: JSON.stringify(batch) }));
    let out;
    try {
        out = execFileSync(args.ncsl, ["run", code_file, "--input-file", input_file, "--quiet",
                                       "--timeout-ms", "60000"],
                           { encoding: "utf8", maxBuffer: 64 << 20 });
    } catch (e) {
        throw new Error(`ncsl run failed (status ${e.status}): ${String(e.stderr).slice(0, 2000)}`);
    }
    return JSON.parse(out);
}

const IDNA_MESSAGE = "internationalized domain names are not supported";
/*
 * Accepted differences, each counted and printed:
 *   IDNA  NCSL refuses a non-ASCII domain (documented limitation)
 *   K1..K4: Node 20's URL parser (ada 2.9) deviates from the URL Standard; NCSL follows the
 *   standard (its unit tests check these cases against the standard's expected values):
 *   K1  a relative reference containing '#' is resolved against a base with an opaque path
 *       (the standard fails unless the reference starts with '#')
 *   K2  a non-special URL whose path ends up as the single empty segment after ".." serializes
 *       without its "/" (pathname "" instead of "/")
 *   K3  the host and hostname setters do not give a path-only non-special URL ("sc:/p") an empty
 *       host or a host with a port
 *   K4  a URLSearchParams update strips trailing spaces of an opaque path although a query
 *       remains
 *   K5  the host setter with a value that starts with ':' sets an empty host and the port (the
 *       standard fails: a port without a host)
 *   K7  the protocol setter drops a port 0 (only a scheme's default port is dropped)
 *   K8  ".." after a first file path segment that merely starts with a drive letter ("B:x")
 *       keeps that segment (only a normalized drive letter, "B:" exactly, is kept)
 *   K9  a final "." or ".." segment after some paths with empty segments or ':' is kept
 *       (file:////a//.. stays as is; the standard removes it)
 *   Also: on a URL with an empty host ("sc:///p") or none ("sc:/p"), Node's host setter drops
 *   the port the standard sets (counted as K3).
 * Node 20 also decodes a URLSearchParams string wrongly when a name or value mixes literal
 * non-ASCII characters with a percent-encoded byte that is not valid UTF-8 (the literal
 * characters become U+FFFD or "=\u0000"); such strings are left out of the random corpus
 * (test_js_url.c checks them against the standard).
 */
const known = { IDNA: 0, K1: 0, K2: 0, K3: 0, K4: 0, K5: 0, K7: 0, K8: 0, K9: 0 };
const OPAQUE_BASES = new Set(["mailto:x@y", "non-special:opaque"]);
const strip_messages = (r) => JSON.stringify(r, (k, v) => (k === "message" ? undefined : v));
const clean_input = (s) => s.replace(/[\t\n\r]/g, "").replace(/^[\u0000-\u0020]+|[\u0000-\u0020]+$/g, "");
const special = (href) => /^(https?|wss?|ftp|file):/.test(href);

/* two field arrays equal but for the K2 pathname "/" vs "" */
function k2_fields(m, t) {
    if (!m || !t || m[8] !== "/" || t[8] !== "" || special(m[0])) return false;
    for (const i of [1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12]) if (m[i] !== t[i]) return false;
    return true;
}

/* two field arrays equal but for K8: Node keeps a first file segment like "B:x" that ".." removed */
function k8_fields(m, t) {
    if (!m || !t || !m[0].startsWith("file:") || !/^\/[a-z][:|][^/]/i.test(t[8])) return false;
    for (const i of [1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12]) if (m[i] !== t[i]) return false;
    return t[8].endsWith(m[8].slice(1)) || m[8] === "/";
}

/* two field arrays equal but for K9: Node keeps a final dot segment */
function k9_fields(m, t) {
    if (!m || !t || !t[8].startsWith(m[8])) return false;
    for (const i of [1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12]) if (m[i] !== t[i]) return false;
    return /^\/?(\.|\.\.|%2e|%2e%2e|\.%2e|%2e\.)$/i.test(t[8].slice(m[8].length));
}

/* Compares one case; returns null when equal or an accepted difference. */
function compare(kind, c, mine, theirs) {
    if (strip_messages(mine) === strip_messages(theirs)) return null;
    const text = JSON.stringify(mine);
    if (text.includes(IDNA_MESSAGE)) {
        known.IDNA++;
        return kind === "url" && mine.can !== false ? "IDNA refusal but canParse true" : null;
    }
    if (kind === "url") {
        const input = clean_input(c[0]);
        if (mine.fail && theirs.ok && OPAQUE_BASES.has(c[1]) && !input.startsWith("#") && input.includes("#")) {
            known.K1++;
            return null;
        }
        if (mine.ok && theirs.ok && /\.|%2e/i.test(input) && k2_fields(mine.ok, theirs.ok)) {
            known.K2++;
            return null;
        }
        if (mine.ok && theirs.ok && k8_fields(mine.ok, theirs.ok)) {
            known.K8++;
            return null;
        }
        if (mine.ok && theirs.ok && k9_fields(mine.ok, theirs.ok)) {
            known.K9++;
            return null;
        }
    }
    if (kind === "set") {
        const [target, prop, value] = c;
        const dots = (m, t) => k2_fields(m, t) || k8_fields(m, t) || k9_fields(m, t);
        if (mine.before && theirs.before && dots(mine.before, theirs.before)) {
            known.K2++;
            return null;
        }
        if ((prop === "href" || prop === "pathname") && mine.after && theirs.after &&
            strip_messages(mine.before) === strip_messages(theirs.before) && dots(mine.after, theirs.after)) {
            known.K2++;
            return null;
        }
        if (prop === "protocol" && mine.before && mine.before[7] === "0" && mine.after && theirs.after &&
            mine.after[7] === "0" && theirs.after[7] === "" && mine.after[2] === theirs.after[2]) {
            known.K7++;
            return null;
        }
        /* a host setter with a non-ASCII host: NCSL leaves the URL unchanged */
        if ((prop === "host" || prop === "hostname") && /[^\x00-\x7f]|%[89a-f]/i.test(value) &&
            mine.after && strip_messages(mine.after) === strip_messages(mine.before)) {
            known.IDNA++;
            return null;
        }
        const host_prop = prop === "host" || prop === "hostname";
        if (host_prop && mine.after && theirs.after && !special(mine.before[0]) && mine.before[6] === "") {
            const unchanged = strip_messages(theirs.after) === strip_messages(theirs.before);
            const port_only = [1, 2, 3, 4, 6, 8, 9, 10, 11, 12].every((i) => mine.after[i] === theirs.after[i]) &&
                              theirs.after[7] === "" && mine.after[7] !== "";
            if (unchanged || port_only) {
                known.K3++;
                return null;
            }
        }
        if (prop === "host" && clean_input(value).startsWith(":") && mine.after &&
            strip_messages(mine.after) === strip_messages(mine.before)) {
            known.K5++;
            return null;
        }
    }

    if (kind === "params" && c[2] !== null && /^sc:op /.test(c[2])) {
        const norm = (r) => strip_messages(r).replace(/sc:op +([?#\"])/g, "sc:op$1");
        if (norm(mine) === norm(theirs)) {
            known.K4++;
            return null;
        }
    }
    return "differs";
}

let passed = 0, failed = 0;
const failures = [];
const batches = build_batches();
for (const batch of batches) {
    const theirs = node_main({ json: JSON.stringify(batch) });
    const mine = run_ncsl(batch);
    if (!Array.isArray(mine) || mine.length !== theirs.length) {
        failed += batch.cases.length;
        failures.push({ kind: batch.kind, why: "ncsl returned a malformed batch result" });
        continue;
    }
    for (let i = 0; i < theirs.length; i++) {
        const why = compare(batch.kind, batch.cases[i], mine[i], theirs[i]);
        if (why === null) {
            passed++;
        } else {
            failed++;
            failures.push({ kind: batch.kind, input: batch.cases[i], ncsl: mine[i], node: theirs[i] });
        }
    }
}
fs.rmSync(tmp, { recursive: true, force: true });

const show = args.verbose ? failures : failures.slice(0, 60);
for (const f of show) console.log("DIFF " + JSON.stringify(f));
if (failures.length > show.length) console.log(`... and ${failures.length - show.length} more (--verbose)`);
console.log(`seed ${args.seed}: ${batches.length} batches; accepted known differences: ${JSON.stringify(known)}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
