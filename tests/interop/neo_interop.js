#!/usr/bin/env node
/*
 * Neo N3 interop test for NCSL receipts (docs/receipts.md), checked with an independent
 * implementation: @cityofzion/neon-core (the version pinned in package.json next to this file),
 * never NCSL's code.
 *
 * For every receipt it:
 *   - parses the receipt JSON strictly (docs/receipts.md section 3) and rebuilds the signed
 *     message from the fields here, following section 3.1 (not trusting any given message hex;
 *     a given one is only compared, as a cross-check of NCSL's encoder);
 *   - verifies the signature with neon-core's wallet.verify(messageHex, signatureHex, publicKey),
 *     which hashes the message with SHA-256 once and checks ECDSA secp256r1, as Neo's
 *     CryptoLib.verifyWithECDsa(message, pubkey, signature, 23) does;
 *   - shows that the call hashes inside (the message's hash passed as the message fails), that
 *     r and s are in range and s is low, and that the high-S twin also verifies (Neo accepts
 *     either half);
 *   - shows the check cannot pass vacuously: a flipped bit in outputHash, a timestamp moved by
 *     1 ms, a byte moved across a string boundary, and the signature moved to another key (NCSL's
 *     other key and one neon-core makes) all FAIL;
 *   - derives the Neo address from the 33-byte key with neon-core (verification script, script
 *     hash, Account) and compares it with NCSL's when given.
 * And once: the REFERENCE vector Hash160(0x01) -> NdtB8RXRmJ7Nhw1FPTm7E6HoDZGnDw37nf.
 *
 * Usage:
 *   node neo_interop.js [--gen PROGRAM] [--input FILE|-]...
 *     --gen PROGRAM  run NCSL's generator (ncsl_interop_gen_receipts, built from gen_receipts.c)
 *                    and check its receipts (also that they cover the cases it must cover)
 *     --input FILE   check the receipts in FILE ("-": standard input), e.g. from a running ncsld:
 *                      curl -s http://127.0.0.1:8080/api/v1/functions/execute-javascript \
 *                        -H 'Content-Type: application/json' -d '{"code": "..."}' |
 *                        node tests/interop/neo_interop.js --input -
 *
 * Input format: one JSON value, or JSON lines (one value per non-empty line). Each value is
 *   - a receipt object (the nine members of docs/receipts.md section 3), or
 *   - an object with a member "receipt" holding one, and optionally, compared when present:
 *       "message"            hex of the signed message, as the signer encoded it
 *       "neoAddress"         the signer's Neo address for signingKey
 *       "verificationScript" hex of the Neo verification script
 *       "scriptHash"         hex of RIPEMD160(SHA256(script)), the byte order Neo stores it
 *       "case"               a label for the output
 *     (this is what gen_receipts.c prints, one per line), or
 *   - an execute-javascript answer of ncsld, {"success": true, "data": {"receipt": {...}}}, or
 *   - an array of these.
 *
 * Exit status 0 when every check passed and at least one receipt was checked; the last line is
 * "N passed, M failed".
 */
"use strict";

const fs = require("fs");
const path = require("path");
const crypto = require("crypto");
const { execFileSync } = require("child_process");

const HERE = __dirname;
const NEON = "@cityofzion/neon-core";

function die(msg) {
    console.error(`neo_interop: ${msg}`);
    process.exit(1);
}

// neon-core from tests/interop/node_modules (only there: not from a folder further up), at exactly
// the pinned version.
function loadNeon() {
    const pinned = JSON.parse(fs.readFileSync(path.join(HERE, "package.json"), "utf8"))
        .dependencies[NEON];
    const dir = path.join(HERE, "node_modules", ...NEON.split("/"));
    if (!fs.existsSync(path.join(dir, "package.json"))) {
        die(`${NEON} is not installed in tests/interop/node_modules: run scripts/bootstrap.sh ` +
            "(it runs `npm ci` there), or `npm ci` in tests/interop");
    }
    const installed = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")).version;
    if (installed !== pinned) {
        die(`${NEON} ${installed} is installed but package.json pins ${pinned}: ` +
            "run scripts/bootstrap.sh (or `npm ci` in tests/interop)");
    }
    return { neon: require(dir), version: installed };
}

const { neon, version: neonVersion } = loadNeon();
const { wallet, u } = neon;

// secp256r1 group order.
const N = BigInt("0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
const DOMAIN = Buffer.from("NCSL-RECEIPT-v1", "ascii");
const MEMBERS = ["executionId", "functionId", "userId", "codeHash", "inputHash", "outputHash",
    "timestamp", "signingKey", "signature"];

let passed = 0;
let failed = 0;
function check(name, ok, detail) {
    if (ok) {
        passed++;
        console.log(`ok   ${name}`);
    } else {
        failed++;
        console.log(`FAIL ${name}${detail ? `: ${detail}` : ""}`);
    }
    return ok;
}

// ------------------------------------------------------------------ receipt parsing (strict)

function utf8Field(r, name, min, max) {
    const s = r[name];
    if (typeof s !== "string") throw new Error(`${name}: not a string`);
    if (/\p{Cs}/u.test(s)) throw new Error(`${name}: a lone surrogate (not UTF-8)`);
    const b = Buffer.from(s, "utf8");
    if (b.length < min || b.length > max) throw new Error(`${name}: ${b.length} bytes`);
    return b;
}

function hexField(r, name, bytes) {
    const s = r[name];
    if (typeof s !== "string" || !new RegExp(`^[0-9a-f]{${2 * bytes}}$`).test(s)) {
        throw new Error(`${name}: not ${bytes} bytes of lowercase hex`);
    }
    return s;
}

// "YYYY-MM-DDTHH:MM:SS.mmmZ" -> milliseconds since 1970 (a BigInt), refusing anything else.
function timestampMs(s) {
    const m = typeof s === "string" &&
        /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{3})Z$/.exec(s);
    if (!m) throw new Error("timestamp: not YYYY-MM-DDTHH:MM:SS.mmmZ");
    const d = new Date(0);
    d.setUTCFullYear(Number(m[1]), Number(m[2]) - 1, Number(m[3])); // no 19xx mapping of 0..99
    d.setUTCHours(Number(m[4]), Number(m[5]), Number(m[6]), Number(m[7]));
    const ms = d.getTime();
    if (Number.isNaN(ms) || ms < 0 || d.toISOString() !== s) {
        throw new Error("timestamp: not a valid instant after 1970");
    }
    return BigInt(ms);
}

function parseReceipt(r) {
    if (typeof r !== "object" || r === null || Array.isArray(r)) throw new Error("not an object");
    const keys = Object.keys(r).sort();
    if (keys.join() !== [...MEMBERS].sort().join()) {
        throw new Error(`members are [${keys}], want exactly [${MEMBERS}]`);
    }
    const key = hexField(r, "signingKey", 33);
    if (!/^0[23]/.test(key)) throw new Error("signingKey: not a compressed point");
    return {
        executionId: utf8Field(r, "executionId", 1, 256),
        functionId: utf8Field(r, "functionId", 0, 1024),
        userId: utf8Field(r, "userId", 0, 1024),
        codeHash: hexField(r, "codeHash", 32),
        inputHash: hexField(r, "inputHash", 32),
        outputHash: hexField(r, "outputHash", 32),
        timestampMs: timestampMs(r.timestamp),
        signingKey: key,
        signature: hexField(r, "signature", 64),
    };
}

// ------------------------------------------------------------------ the signed message (3.1)

function u16(n) {
    if (n > 0xffff) throw new Error("string too long for a u16 length");
    return Buffer.from([n >> 8, n & 0xff]);
}

function u64(v) {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(v);
    return b;
}

// Hex of the message for fields `f` (strings as Buffers, hashes and key as hex).
function encodeMessage(f) {
    return Buffer.concat([
        DOMAIN,
        u16(f.executionId.length), f.executionId,
        u16(f.functionId.length), f.functionId,
        u16(f.userId.length), f.userId,
        Buffer.from(f.codeHash, "hex"),
        Buffer.from(f.inputHash, "hex"),
        Buffer.from(f.outputHash, "hex"),
        u64(f.timestampMs),
        Buffer.from(f.signingKey, "hex"),
    ]).toString("hex");
}

function flipBit(hex, byteIndex, bit) {
    const b = Buffer.from(hex, "hex");
    b[byteIndex] ^= 1 << bit;
    return b.toString("hex");
}

// neon-core's verification; an exception (malformed input) counts as "does not verify".
function neoVerify(msgHex, sigHex, keyHex) {
    try {
        return wallet.verify(msgHex, sigHex, keyHex) === true;
    } catch (e) {
        return false;
    }
}

// ------------------------------------------------------------------ per-receipt checks

function checkItem(item, otherKeys) {
    const label = item.label;
    let f;
    try {
        f = parseReceipt(item.receipt);
    } catch (e) {
        check(`${label}: receipt JSON is well-formed`, false, e.message);
        return null;
    }
    const msg = encodeMessage(f);
    const strLen = f.executionId.length + f.functionId.length + f.userId.length;
    check(`${label}: message rebuilt (${msg.length / 2} bytes = 158 + ${strLen})`,
        msg.length / 2 === 158 + strLen);
    if (item.message !== undefined) {
        let at = 0;
        while (at < msg.length && item.message[at] === msg[at]) at++;
        check(`${label}: NCSL's encoded message equals the one rebuilt here`, item.message === msg,
            `first difference at byte ${at >> 1} (NCSL ${item.message.length / 2} bytes, ` +
            `here ${msg.length / 2}): NCSL ...${item.message.slice(at & ~1, (at & ~1) + 16)}, ` +
            `here ...${msg.slice(at & ~1, (at & ~1) + 16)}`);
    }

    // The signature, as Neo checks it.
    check(`${label}: neon-core wallet.verify accepts the signature`,
        neoVerify(msg, f.signature, f.signingKey));
    const msgHash = u.sha256(msg);
    check(`${label}: neon-core hashes the decoded message bytes with SHA-256`,
        msgHash === crypto.createHash("sha256").update(Buffer.from(msg, "hex")).digest("hex"));
    check(`${label}: passing the message's hash instead of the message fails (hashed inside)`,
        !neoVerify(msgHash, f.signature, f.signingKey));
    const r = BigInt(`0x${f.signature.slice(0, 64)}`);
    const s = BigInt(`0x${f.signature.slice(64)}`);
    check(`${label}: r, s in [1, n-1] and s <= n/2 (low S, as documented)`,
        r >= 1n && r < N && s >= 1n && s <= N / 2n);
    const highS = f.signature.slice(0, 64) + (N - s).toString(16).padStart(64, "0");
    check(`${label}: the high-S twin also verifies (Neo accepts either half)`,
        neoVerify(msg, highS, f.signingKey));

    // Tampering must fail.
    const tamperedOut = encodeMessage({ ...f, outputHash: flipBit(f.outputHash, 31, 0) });
    check(`${label}: a flipped bit in outputHash (last byte) FAILS`,
        !neoVerify(tamperedOut, f.signature, f.signingKey));
    const tamperedOut0 = encodeMessage({ ...f, outputHash: flipBit(f.outputHash, 0, 7) });
    check(`${label}: a flipped bit in outputHash (first byte) FAILS`,
        !neoVerify(tamperedOut0, f.signature, f.signingKey));
    const later = encodeMessage({ ...f, timestampMs: f.timestampMs + 1n });
    check(`${label}: the timestamp 1 ms later FAILS`, !neoVerify(later, f.signature, f.signingKey));
    if (f.executionId.length >= 2) {
        // "ab","c" vs "a","bc": same string bytes, only the length prefixes differ.
        const n = f.executionId.length - 1;
        const shifted = encodeMessage({
            ...f,
            executionId: f.executionId.subarray(0, n),
            functionId: Buffer.concat([f.executionId.subarray(n), f.functionId]),
        });
        check(`${label}: a byte moved from executionId to functionId FAILS`,
            shifted !== msg && !neoVerify(shifted, f.signature, f.signingKey));
    }
    for (const [name, other] of otherKeys) {
        if (other === f.signingKey) continue;
        check(`${label}: the signature checked against ${name} FAILS`,
            !neoVerify(msg, f.signature, other));
        const claimed = encodeMessage({ ...f, signingKey: other });
        check(`${label}: the receipt claiming ${name} as signingKey FAILS`,
            !neoVerify(claimed, f.signature, other));
    }

    // The Neo address of the signing key, by neon-core.
    const script = wallet.getVerificationScriptFromPublicKey(f.signingKey);
    check(`${label}: verification script is 0C21 <key> 4156E7B327 (REFERENCE.md 4)`,
        script === `0c21${f.signingKey}4156e7b327`, script);
    const scriptHash = wallet.getScriptHashFromPublicKey(f.signingKey); // displayed (reversed)
    const address = wallet.getAddressFromScriptHash(scriptHash);
    const account = new wallet.Account(f.signingKey);
    check(`${label}: Account(signingKey).address equals the script hash's address ${address}`,
        account.address === address && account.scriptHash === scriptHash &&
        wallet.isAddress(address, 0x35));
    if (item.verificationScript !== undefined) {
        check(`${label}: NCSL's verification script equals neon-core's`,
            item.verificationScript === script, item.verificationScript);
    }
    if (item.scriptHash !== undefined) {
        check(`${label}: NCSL's script hash equals neon-core's (0x${scriptHash})`,
            item.scriptHash === u.reverseHex(scriptHash), item.scriptHash);
    }
    if (item.neoAddress !== undefined) {
        check(`${label}: NCSL's Neo address equals neon-core's`, item.neoAddress === address,
            `NCSL ${item.neoAddress}, neon-core ${address}`);
    }
    return f;
}

// ------------------------------------------------------------------ inputs

function parseValues(text, source) {
    try {
        return [JSON.parse(text)];
    } catch (e) {
        // JSON lines
    }
    return text.split("\n").filter((l) => l.trim() !== "").map((l, i) => {
        try {
            return JSON.parse(l);
        } catch (e) {
            die(`${source}: line ${i + 1} is not JSON: ${e.message}`);
        }
        return null;
    });
}

function toItems(value, source, out) {
    if (Array.isArray(value)) {
        value.forEach((v) => toItems(v, source, out));
        return out;
    }
    if (typeof value !== "object" || value === null) die(`${source}: not a JSON object`);
    let item;
    if ("signature" in value) {
        item = { receipt: value };
    } else if ("receipt" in value) {
        item = value;
    } else if (value.data && typeof value.data === "object" && "receipt" in value.data) {
        item = { receipt: value.data.receipt };
    } else {
        die(`${source}: value ${out.length + 1} holds no receipt`);
    }
    for (const k of ["message", "neoAddress", "verificationScript", "scriptHash"]) {
        if (item[k] !== undefined && typeof item[k] !== "string") die(`${source}: ${k} not a string`);
    }
    out.push({ ...item, label: `${source}#${out.length + 1}${item.case ? ` ${item.case}` : ""}` });
    return out;
}

function main() {
    const args = process.argv.slice(2);
    const gens = [];
    const inputs = [];
    for (let i = 0; i < args.length; i++) {
        if (args[i] === "--gen" && i + 1 < args.length) gens.push(args[++i]);
        else if (args[i] === "--input" && i + 1 < args.length) inputs.push(args[++i]);
        else die(`usage: node neo_interop.js [--gen PROGRAM] [--input FILE|-]... (got ${args[i]})`);
    }
    if (gens.length === 0 && inputs.length === 0) inputs.push("-");
    console.log(`# ${NEON} ${neonVersion}, node ${process.version}`);

    // REFERENCE.md 4: Hash160(0x01) -> NdtB8RXRmJ7Nhw1FPTm7E6HoDZGnDw37nf (script hash stored
    // little-endian; neon-core's API takes the displayed, reversed form).
    const h = u.hash160("01");
    const refAddress = wallet.getAddressFromScriptHash(u.reverseHex(h));
    check("REFERENCE vector: Hash160(0x01) -> NdtB8RXRmJ7Nhw1FPTm7E6HoDZGnDw37nf",
        refAddress === "NdtB8RXRmJ7Nhw1FPTm7E6HoDZGnDw37nf", refAddress);
    check("REFERENCE vector: the address decodes back to Hash160(0x01)",
        u.reverseHex(wallet.getScriptHashFromAddress("NdtB8RXRmJ7Nhw1FPTm7E6HoDZGnDw37nf")) === h);

    // A key neither NCSL nor any receipt has: made by neon-core.
    const neonKey = wallet.getPublicKeyFromPrivateKey(wallet.generatePrivateKey());

    const groups = [];
    for (const g of gens) {
        let out;
        try {
            out = execFileSync(g, [], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"],
                maxBuffer: 64 << 20 });
        } catch (e) {
            const why = e.code === "ENOENT" ? "not found: build the target ncsl_interop_gen_receipts"
                : e.status !== null && e.status !== undefined ? `exit status ${e.status}`
                    : `${e.code || e.signal}`;
            die(`generator ${g} failed (${why})`);
        }
        groups.push({ gen: true, items: toItems(parseValues(out, "gen"), "gen", []) });
    }
    for (const file of inputs) {
        const text = file === "-" ? fs.readFileSync(0, "utf8") : fs.readFileSync(file, "utf8");
        const name = file === "-" ? "stdin" : path.basename(file);
        groups.push({ gen: false, items: toItems(parseValues(text, name), name, []) });
    }

    let count = 0;
    for (const g of groups) {
        // Other keys to move each signature to: this group's other signing keys and neon-core's.
        const keys = new Map();
        for (const it of g.items) {
            const k = it.receipt && it.receipt.signingKey;
            if (typeof k === "string" && !keys.has(k)) keys.set(k, `another NCSL key (${k.slice(0, 8)}..)`);
        }
        const others = [...keys].map(([k, n]) => [n, k]);
        others.push([`a neon-core key (${neonKey.slice(0, 8)}..)`, neonKey]);
        const parsed = g.items.map((it) => checkItem(it, others)).filter((f) => f !== null);
        count += parsed.length;
        if (g.gen) {
            // The generator must cover what this test claims to cover.
            check("gen: at least 8 receipts", parsed.length >= 8, `${parsed.length}`);
            check("gen: signed by 2 different keys", keys.size >= 2, `${keys.size}`);
            check("gen: a receipt with an empty functionId",
                parsed.some((f) => f.functionId.length === 0));
            check("gen: a non-ASCII userId (more bytes than characters)",
                parsed.some((f) => f.userId.length > f.userId.toString("utf8").length));
            check("gen: the longest ids (256-byte executionId, 1024-byte functionId, userId)",
                parsed.some((f) => f.executionId.length === 256 && f.functionId.length === 1024 &&
                    f.userId.length === 1024));
            check("gen: receipts signed with a precomputed nonce and on the normal path",
                g.items.some((it) => it.path === "pool") && g.items.some((it) => it.path === "fresh"));
            const rs = parsed.map((f) => f.signature.slice(0, 64));
            check("gen: every signature has its own r (no nonce used twice)",
                new Set(rs).size === rs.length, `${new Set(rs).size} of ${rs.length}`);
            check("gen: every line carries NCSL's message hex and Neo address",
                g.items.every((it) => typeof it.message === "string" &&
                    typeof it.neoAddress === "string"));
        }
    }
    check(`at least one receipt checked (${count})`, count > 0);
    console.log(`${passed} passed, ${failed} failed`);
    process.exitCode = failed === 0 ? 0 : 1;
}

main();
