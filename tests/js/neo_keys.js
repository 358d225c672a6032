// expect: {"len":64,"ok":true,"tampered":false,"same":true,"addr":true,"random":true,"big":"bigint"}
// Neo: a derived key (the installation's, or ephemeral ones under `ncsl run` without an
// identity) signs 64-byte r||s that it verifies, asking twice gives the same key, Neo.address
// agrees with the key's address, and secureRandom stays in range for Numbers and BigInts.
function main() {
    const k = Neo.keys.get("oracle");
    const s = k.sign("price:42");
    let random = true;
    for (let i = 0; i < 100; i++) {
        const v = Neo.secureRandom(7);
        random = random && Number.isInteger(v) && v >= 0 && v < 7;
    }
    return {
        len: s.length,
        ok: k.verify("price:42", s),
        tampered: k.verify("price:43", s),
        same: Neo.keys.get("oracle").publicKey === k.publicKey,
        addr: Neo.address(k.publicKey) === k.address,
        random,
        big: typeof Neo.secureRandom(2n ** 200n),
    };
}
