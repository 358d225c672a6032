// expect: {"digest":"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad","sha256":"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad","hmac":"5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843","verify":true,"uuid":true,"random":[true,16],"errors":["NotSupportedError","QuotaExceededError","TypeError"]}
// crypto: SHA-256 of "abc" (FIPS 180), HMAC-SHA-256 of RFC 4231 case 2 through
// importKey/sign/verify, the seed service's crypto.sha256, a v4 UUID, getRandomValues in place,
// and the error classes of an unknown algorithm, an oversized array and a wrong type.
const hex = (b) => Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, "0")).join("");
const bytes = (s) => Uint8Array.from(s, (c) => c.charCodeAt(0));

async function main() {
    const key = await crypto.subtle.importKey("raw", bytes("Jefe"), { name: "HMAC", hash: "SHA-256" },
        false, ["sign", "verify"]);
    const data = bytes("what do ya want for nothing?");
    const mac = await crypto.subtle.sign("HMAC", key, data);
    const a = new Uint8Array(16);
    const errors = [];
    for (const f of [() => crypto.subtle.digest("MD5", data),
        () => crypto.getRandomValues(new Uint8Array(65537)), () => crypto.sha256(42)]) {
        try { await f(); errors.push("none"); } catch (e) { errors.push(e.name); }
    }
    return {
        digest: hex(await crypto.subtle.digest("SHA-256", bytes("abc"))),
        sha256: crypto.sha256("abc"),
        hmac: hex(mac),
        verify: await crypto.subtle.verify("HMAC", key, mac, data),
        uuid: /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(crypto.randomUUID()),
        random: [crypto.getRandomValues(a) === a, crypto.randomBytes(16).length],
        errors,
    };
}
