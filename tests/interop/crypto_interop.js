#!/usr/bin/env node
/*
 * Differential test of NCSL's `crypto` global against Node's own crypto module (an independent
 * OpenSSL build and binding): random messages and keys go through a function run by `ncsl run`
 * (crypto.subtle.digest, crypto.subtle.importKey + sign/verify for HMAC, crypto.sha256 of bytes
 * and of strings, strings with non-ASCII characters and lone surrogates included), and every
 * output must equal what Node computes for the same input.
 *
 * Usage: node crypto_interop.js --ncsl PATH/TO/ncsl [--rounds N] [--seed HEX]
 * The inputs come from a seeded generator (the seed is printed: --seed replays a failure).
 * Exit status 0 when every comparison passed; the last line is "N passed, M failed".
 */
"use strict";

const crypto = require("crypto");
const fs = require("fs");
const os = require("os");
const path = require("path");
const { execFileSync } = require("child_process");

function die(msg) {
    console.error(`crypto_interop: ${msg}`);
    process.exit(1);
}

const args = process.argv.slice(2);
let ncsl = null;
let rounds = 4;
let seed = crypto.randomBytes(16).toString("hex");
for (let i = 0; i < args.length; i++) {
    if (args[i] === "--ncsl") ncsl = args[++i];
    else if (args[i] === "--rounds") rounds = Number(args[++i]);
    else if (args[i] === "--seed") seed = args[++i];
    else die(`unknown argument ${args[i]}`);
}
if (!ncsl || !fs.existsSync(ncsl)) die("--ncsl PATH (the built ncsl binary) is required");
if (!Number.isInteger(rounds) || rounds < 1) die("--rounds must be a positive integer");
if (!/^[0-9a-f]{2,64}$/.test(seed)) die("--seed must be hex");
console.log(`seed ${seed} (replay with --seed ${seed})`);

// A deterministic byte stream from the seed: SHA-256 in counter mode.
let counter = 0;
let pool = Buffer.alloc(0);
function bytes(n) {
    while (pool.length < n) {
        const block = crypto.createHash("sha256").update(seed).update(String(counter++)).digest();
        pool = Buffer.concat([pool, block]);
    }
    const out = pool.subarray(0, n);
    pool = pool.subarray(n);
    return Buffer.from(out);
}
function uniform(max) { // [0, max), max < 2^32
    return bytes(4).readUInt32BE(0) % max; // test input only: bias does not matter here
}

// Random strings: ASCII, Latin-1, BMP, astral characters and lone surrogates.
function randomString(len) {
    let s = "";
    for (let i = 0; i < len; i++) {
        switch (uniform(6)) {
        case 0: s += String.fromCharCode(0x20 + uniform(0x5f)); break;
        case 1: s += String.fromCharCode(0xa0 + uniform(0x60)); break;
        case 2: s += String.fromCharCode(0x100 + uniform(0xd700)); break;
        case 3: s += String.fromCodePoint(0x10000 + uniform(0xfffff)); break;
        case 4: s += String.fromCharCode(0xd800 + uniform(0x800)); break; // lone surrogate
        default: s += String.fromCharCode(uniform(0x20)); break; // controls, NUL included
        }
    }
    return s;
}

// The function ncsl runs: the same operations on the given inputs, outputs as hex.
const FUNCTION = `
const hex = (b) => Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, "0")).join("");
const unhex = (h) => Uint8Array.from(h.match(/../g) || [], (x) => parseInt(x, 16));
async function main(input) {
  const out = [];
  for (const c of input.cases) {
    const data = unhex(c.data);
    const r = { digests: {}, hmacs: {} };
    for (const alg of ["SHA-1", "SHA-256", "SHA-384", "SHA-512"]) {
      r.digests[alg] = hex(await crypto.subtle.digest(alg, data));
    }
    for (const hash of ["SHA-256", "SHA-384", "SHA-512"]) {
      const key = await crypto.subtle.importKey("raw", unhex(c.key), { name: "HMAC", hash },
                                                false, ["sign", "verify"]);
      const mac = await crypto.subtle.sign("HMAC", key, data);
      r.hmacs[hash] = [hex(mac), await crypto.subtle.verify("HMAC", key, unhex(c.theirs[hash]),
                                                            data)];
    }
    r.sha256Bytes = crypto.sha256(data);
    // UTF-16 units: JSON input cannot carry lone surrogates
    r.sha256String = crypto.sha256(String.fromCharCode(...c.units));
    out.push(r);
  }
  return out;
}`;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ncsl-crypto-interop-"));
let passed = 0;
let failed = 0;
function check(name, ok, detail) {
    if (ok) {
        passed++;
    } else {
        failed++;
        console.log(`FAIL ${name}${detail ? `: ${detail}` : ""}`);
    }
}

try {
    const fnPath = path.join(tmp, "function.js");
    fs.writeFileSync(fnPath, FUNCTION);
    for (let round = 0; round < rounds; round++) {
        const cases = [];
        const strings = []; // kept here: JSON input cannot carry lone surrogates
        for (let i = 0; i < 16; i++) {
            // lengths around the hash block sizes (64 and 128) and larger
            const dataLen = [0, 1, 55, 56, 63, 64, 65, 111, 112, 127, 128, 129][i] ??
                uniform(5000);
            const keyLen = [1, 20, 32, 64, 65, 128, 129, 200][i % 8] + (i >= 8 ? uniform(50) : 0);
            const data = bytes(dataLen);
            const key = bytes(keyLen);
            const str = randomString(uniform(300));
            const theirs = {};
            for (const h of ["SHA-256", "SHA-384", "SHA-512"]) {
                theirs[h] = crypto.createHmac(h.replace("-", "").toLowerCase(), key).update(data)
                    .digest("hex");
            }
            const units = Array.from({ length: str.length }, (_, k) => str.charCodeAt(k));
            cases.push({ data: data.toString("hex"), key: key.toString("hex"), units, theirs });
            strings.push(str);
        }
        const inputPath = path.join(tmp, "input.json");
        fs.writeFileSync(inputPath, JSON.stringify({ cases }));
        let out;
        try {
            out = execFileSync(ncsl, ["run", fnPath, "--input-file", inputPath, "--timeout-ms",
                "60000"], { encoding: "utf8", maxBuffer: 64 << 20 });
        } catch (e) {
            die(`ncsl run failed: ${e.stderr || e.message}`);
        }
        const results = JSON.parse(out);
        if (!Array.isArray(results) || results.length !== cases.length) {
            die(`unexpected output: ${out.slice(0, 500)}`);
        }
        results.forEach((r, i) => {
            const c = cases[i];
            const data = Buffer.from(c.data, "hex");
            const key = Buffer.from(c.key, "hex");
            const label = `round ${round} case ${i} (${data.length} bytes, key ${key.length})`;
            for (const alg of ["SHA-1", "SHA-256", "SHA-384", "SHA-512"]) {
                const want = crypto.createHash(alg.replace("-", "").toLowerCase()).update(data)
                    .digest("hex");
                check(`${label} digest ${alg}`, r.digests[alg] === want,
                    `ncsl ${r.digests[alg]}, node ${want}`);
            }
            for (const h of ["SHA-256", "SHA-384", "SHA-512"]) {
                check(`${label} HMAC ${h}`, r.hmacs[h][0] === c.theirs[h],
                    `ncsl ${r.hmacs[h][0]}, node ${c.theirs[h]}`);
                check(`${label} HMAC ${h} verifies node's MAC`, r.hmacs[h][1] === true);
            }
            const wantBytes = crypto.createHash("sha256").update(data).digest("hex");
            check(`${label} crypto.sha256(bytes)`, r.sha256Bytes === wantBytes);
            // Node encodes strings as UTF-8 with lone surrogates as U+FFFD, as NCSL must
            const str = strings[i];
            const wantStr = crypto.createHash("sha256").update(str, "utf8").digest("hex");
            check(`${label} crypto.sha256(string of ${str.length} units)`,
                r.sha256String === wantStr, `ncsl ${r.sha256String}, node ${wantStr}, string ` +
                JSON.stringify(str).slice(0, 200));
        });
        console.log(`round ${round}: ${cases.length} cases compared`);
    }
} finally {
    fs.rmSync(tmp, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
