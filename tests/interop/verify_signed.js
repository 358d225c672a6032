#!/usr/bin/env node
/*
 * Checks signed results of NCSL functions (Neo.keys: docs/javascript.md) with an independent
 * Neo N3 implementation, @cityofzion/neon-core, never NCSL's code.
 *
 * Input (stdin): JSON, one object or an array of objects {message (text), signature (hex, 64
 * bytes r||s), publicKey (hex, 33-byte compressed), address}. For each it checks that:
 *   - neon-core derives `address` from `publicKey` (verification script -> script hash ->
 *     Base58Check address);
 *   - wallet.verify(hex(UTF-8 message), signature, publicKey) is true: ECDSA secp256r1 over
 *     SHA-256 of the message, what Neo's CryptoLib.verifyWithECDsa(message, key, sig, 23) checks;
 *   - the check is not vacuous: the message with one character changed, and the signature with
 *     one bit flipped, both fail.
 * Prints one line per object and "N passed, M failed"; exit status 0 only when all passed.
 */
"use strict";

const fs = require("fs");

let neon;
try {
    neon = require("@cityofzion/neon-core");
} catch (e) {
    console.error("verify_signed: @cityofzion/neon-core is not installed (run scripts/bootstrap.sh)");
    process.exit(2);
}
const { wallet, u } = neon;

function check(item) {
    const problems = [];
    const { message, signature, publicKey, address } = item;
    if (typeof message !== "string" || !/^[0-9a-f]{128}$/.test(signature) ||
        !/^0[23][0-9a-f]{64}$/.test(publicKey)) {
        return ["malformed item: " + JSON.stringify(item).slice(0, 200)];
    }
    const derived = wallet.getAddressFromScriptHash(wallet.getScriptHashFromPublicKey(publicKey));
    if (derived !== address) {
        problems.push(`address: neon-core derives ${derived}, NCSL said ${address}`);
    }
    const hex = u.str2hexstring(message);
    if (!wallet.verify(hex, signature, publicKey)) {
        problems.push("the signature does not verify");
    }
    const changed = u.str2hexstring(message.slice(0, -1) + (message.endsWith("}") ? "]" : "}"));
    if (wallet.verify(changed, signature, publicKey)) {
        problems.push("a changed message still verifies");
    }
    const flipped = signature.slice(0, 10) + ((parseInt(signature[10], 16) ^ 1).toString(16)) +
        signature.slice(11);
    if (wallet.verify(hex, flipped, publicKey)) {
        problems.push("a flipped signature still verifies");
    }
    return problems;
}

const input = JSON.parse(fs.readFileSync(0, "utf8"));
const items = Array.isArray(input) ? input : [input];
let passed = 0, failed = 0;
for (const item of items) {
    const problems = check(item);
    if (problems.length) {
        failed++;
        console.log(`FAIL ${item.address}: ${problems.join("; ")}`);
    } else {
        passed++;
        console.log(`ok   ${item.address}: signature and address checked by neon-core`);
    }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
