#!/usr/bin/env node
/*
 * Neo N3 interop test for JavaScript's Neo.keys and Neo.address (docs/javascript.md, "Neo"),
 * checked with an independent implementation: @cityofzion/neon-core (the version pinned in
 * package.json next to this file), never NCSL's code.
 *
 * It makes an installation (ncsld started once on 127.0.0.1 with a fresh data directory, so that
 * it creates its sealed identity, then stopped), then runs functions with
 * `ncsl run --data-dir DIR --user-id U --function-id F` that return Neo.keys.get(name)'s
 * publicKey, address and signatures over given messages, and checks with neon-core that:
 *   - the address is the one neon-core derives from the public key (script hash, Account);
 *   - every signature verifies with wallet.verify(messageHex, signatureHex, publicKey), which
 *     hashes the message with SHA-256 once and checks ECDSA secp256r1 as Neo's
 *     CryptoLib.verifyWithECDsa(message, pubkey, signature, 23) does; string messages are signed
 *     as UTF-8; s is low; and the check is not vacuous: the message's hash passed as the message,
 *     a flipped bit, another message and another key all FAIL;
 *   - a second run gives the same key for the same (user, function, name), and another user,
 *     function or name a different one; ephemeral keys (no --data-dir) differ on every run and
 *     `ncsl run` says so;
 *   - Neo.address gives neon-core's address for keys neon-core made (compressed and
 *     uncompressed forms).
 *
 * Usage: node neo_keys_interop.js --ncsl PATH/TO/ncsl --ncsld PATH/TO/ncsld
 * Exit status 0 when every check passed; the last line is "N passed, M failed".
 */
"use strict";

const crypto = require("crypto");
const fs = require("fs");
const os = require("os");
const path = require("path");
const { spawn, spawnSync } = require("child_process");

const HERE = __dirname;
const NEON = "@cityofzion/neon-core";

function die(msg) {
    console.error(`neo_keys_interop: ${msg}`);
    process.exit(1);
}

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
        die(`${NEON} ${installed} is installed but package.json pins ${pinned}: run ` +
            "scripts/bootstrap.sh (or `npm ci` in tests/interop)");
    }
    return require(dir);
}

const { wallet, u } = loadNeon();
const N = BigInt("0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");

const args = process.argv.slice(2);
let ncsl = null;
let ncsld = null;
for (let i = 0; i < args.length; i++) {
    if (args[i] === "--ncsl") ncsl = args[++i];
    else if (args[i] === "--ncsld") ncsld = args[++i];
    else die(`unknown argument ${args[i]}`);
}
if (!ncsl || !fs.existsSync(ncsl)) die("--ncsl PATH (the built ncsl binary) is required");
if (!ncsld || !fs.existsSync(ncsld)) die("--ncsld PATH (the built ncsld binary) is required");

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

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ncsld on 127.0.0.1 with a fresh data directory, until it has written its URL (the identity is
// created before it listens), then SIGTERM; killed if it does not stop in time.
async function makeInstallation(dataDir) {
    const child = spawn(ncsld, ["--data-dir", dataDir, "--listen", "127.0.0.1:0", "--log-level",
        "warn"], { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env,
        NCSL_ADMIN_KEY: crypto.randomBytes(24).toString("hex") } });
    let stderr = "";
    child.stderr.on("data", (d) => { stderr += d; });
    const exited = new Promise((resolve) => child.on("exit", (code, sig) => resolve([code, sig])));
    const deadline = Date.now() + 30000;
    while (!fs.existsSync(path.join(dataDir, "ncsld.url"))) {
        if (child.exitCode !== null || Date.now() > deadline) {
            child.kill("SIGKILL");
            die(`ncsld did not start (exit ${child.exitCode}): ${stderr}`);
        }
        await sleep(50);
    }
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 20000);
    const [code] = await exited;
    clearTimeout(timer);
    if (code !== 0) die(`ncsld exited with ${code}: ${stderr}`);
    if (!fs.existsSync(path.join(dataDir, "keys", "identity.sealed"))) {
        die("ncsld made no keys/identity.sealed");
    }
}

// Runs `code` with `ncsl run` (extra flags in `flags`); returns {result, stderr}.
function run(tmp, code, input, flags) {
    const fn = path.join(tmp, `fn-${crypto.randomBytes(4).toString("hex")}.js`);
    fs.writeFileSync(fn, code);
    const inputPath = path.join(tmp, "input.json");
    fs.writeFileSync(inputPath, JSON.stringify(input));
    const p = spawnSync(ncsl, ["run", fn, "--input-file", inputPath, ...flags],
        { encoding: "utf8", timeout: 60000 });
    if (p.status !== 0) die(`ncsl run ${flags.join(" ")} failed (${p.status}): ${p.stderr}`);
    return { result: JSON.parse(p.stdout), stderr: p.stderr };
}

// Signs each message (hex -> bytes, or a string as UTF-8) with Neo.keys.get(name).
const SIGNER = `
const unhex = (h) => Uint8Array.from(h.match(/../g) || [], (x) => parseInt(x, 16));
const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
function main(input) {
  const k = Neo.keys.get(input.name);
  const sigs = input.messages.map((m) => hex(k.sign(m.hex !== undefined ? unhex(m.hex) : m.text)));
  const self = input.messages.map((m, i) =>
    k.verify(m.hex !== undefined ? unhex(m.hex) : m.text, unhex(sigs[i])));
  return { publicKey: k.publicKey, address: k.address, sigs, self };
}`;

const ADDRESSES = `
function main(input) {
  return input.keys.map((k) => { try { return Neo.address(k); } catch (e) { return e.name; } });
}`;

function neonAddress(pub) {
    return wallet.getAddressFromScriptHash(wallet.getScriptHashFromPublicKey(pub));
}

function verify(msgHex, sigHex, pub) {
    try {
        return wallet.verify(msgHex, sigHex, pub) === true;
    } catch (e) {
        return false;
    }
}

async function main() {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ncsl-neo-keys-interop-"));
    try {
        const dataDir = path.join(tmp, "data");
        await makeInstallation(dataDir);
        console.log(`installation made in ${dataDir}`);

        const messages = [
            { hex: "" },
            { hex: "00" },
            { hex: crypto.randomBytes(32).toString("hex") },
            { hex: crypto.randomBytes(1000).toString("hex") },
            { text: "price:42.17|2026-11-24T15:00:00Z" },
            { text: "h\u00e9llo \u{1F600} \u4e16\u754c" },
        ];
        const msgHex = messages.map((m) => m.hex !== undefined ? m.hex
            : Buffer.from(m.text, "utf8").toString("hex"));
        const as = (user, fn, name, dir = dataDir) => run(tmp, SIGNER, { name, messages },
            [...(dir ? ["--data-dir", dir] : []), "--user-id", user, "--function-id", fn]);

        const a = as("user-1", "fn-1", "oracle");
        const k = a.result;
        check("publicKey is a 33-byte compressed key", /^0[23][0-9a-f]{64}$/.test(k.publicKey),
            k.publicKey);
        check("address = neon-core's address of publicKey", k.address === neonAddress(k.publicKey),
            `${k.address} vs ${neonAddress(k.publicKey)}`);
        check("address = new wallet.Account(publicKey).address",
            new wallet.Account(k.publicKey).address === k.address);
        check("address is a valid N3 address", wallet.isAddress(k.address, 0x35));
        check("key.verify accepts its own signatures", k.self.every((x) => x === true));
        const other = as("user-1", "fn-1", "other-key").result;
        k.sigs.forEach((sig, i) => {
            const label = `message ${i} (${msgHex[i].length / 2} bytes)`;
            check(`${label}: neon-core wallet.verify accepts the signature`,
                verify(msgHex[i], sig, k.publicKey));
            const s = BigInt("0x" + sig.slice(64));
            const r = BigInt("0x" + sig.slice(0, 64));
            check(`${label}: r, s in range and s low`, sig.length === 128 && r > 0n && r < N &&
                s > 0n && s <= N / 2n);
            // the call hashes inside: passing the message's hash as the message must fail
            check(`${label}: FAIL with the message's hash as the message`,
                !verify(u.sha256(msgHex[i]), sig, k.publicKey));
            const flipped = sig.slice(0, 10) + (parseInt(sig[10], 16) ^ 1).toString(16) +
                sig.slice(11);
            check(`${label}: FAIL with a flipped bit`, !verify(msgHex[i], flipped, k.publicKey));
            check(`${label}: FAIL for another message`,
                !verify(msgHex[(i + 1) % msgHex.length], sig, k.publicKey));
            check(`${label}: FAIL with another key`, !verify(msgHex[i], sig, other.publicKey));
        });

        // the same inputs again (a new process, the identity unsealed again): the same key;
        // another user, function or name: another key
        const again = as("user-1", "fn-1", "oracle").result;
        check("same user, function and name on a second run: same key",
            again.publicKey === k.publicKey && again.address === k.address);
        const keys = new Map([["oracle", k.publicKey], ["other-key", other.publicKey]]);
        for (const [user, fn, name] of [["user-2", "fn-1", "oracle"], ["user-1", "fn-2", "oracle"],
            ["", "", "oracle"], ["user-1fn-1", "", "oracle"]]) {
            const r = as(user, fn, name).result;
            check(`user '${user}', function '${fn}': another key`,
                ![...keys.values()].includes(r.publicKey));
            check(`user '${user}', function '${fn}': its signatures verify with neon-core`,
                r.sigs.every((sig, i) => verify(msgHex[i], sig, r.publicKey)));
            keys.set(`${user}/${fn}/${name}`, r.publicKey);
        }
        check("other-key differs from oracle", other.publicKey !== k.publicKey);

        // without an installation: ephemeral keys, a new one per run, and a note saying so
        const e1 = as("user-1", "fn-1", "oracle", null);
        const e2 = as("user-1", "fn-1", "oracle", null);
        check("ephemeral keys differ on every run and from the installation's",
            e1.result.publicKey !== e2.result.publicKey && e1.result.publicKey !== k.publicKey);
        check("ncsl run notes that the keys were ephemeral", /ephemeral keys/.test(e1.stderr),
            e1.stderr);
        check("ephemeral signatures verify with neon-core",
            e1.result.sigs.every((sig, i) => verify(msgHex[i], sig, e1.result.publicKey)));

        // Neo.address of keys neon-core made
        const accounts = Array.from({ length: 16 }, () => new wallet.Account(
            wallet.generatePrivateKey()));
        const pubs = accounts.map((acc) => acc.publicKey);
        const full = pubs.map((p) => wallet.getPublicKeyUnencoded(p));
        const addrs = run(tmp, ADDRESSES, { keys: [...pubs, ...full] }, []).result;
        accounts.forEach((acc, i) => {
            check(`Neo.address(neon key ${i}) = neon-core's address`, addrs[i] === acc.address,
                `${addrs[i]} vs ${acc.address}`);
            check(`Neo.address(uncompressed neon key ${i}) = neon-core's address`,
                addrs[i + accounts.length] === acc.address);
        });
    } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
    }
    console.log(`${passed} passed, ${failed} failed`);
    process.exit(failed === 0 && passed > 0 ? 0 : 1);
}

main().catch((e) => die(e.stack || String(e)));
