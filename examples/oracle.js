// A price oracle: fetches a JSON API with a secret header, signs what it read with a key that
// lives only inside the enclave, and returns the signature with the key's Neo N3 address.
// Anyone can check the signature off-line (e.g. with neon-core's wallet.verify, or a Neo N3
// contract with CryptoLib.verifyWithECDsa(message, publicKey, signature, 23)).
//
//   ncsl secrets put PRICE_API_KEY --value-file key.txt
//   ncsl deploy examples/oracle.js --name oracle --required-secrets PRICE_API_KEY
//   ncsl invoke ID --input '{"url": "https://prices.example.com/v1/price?pair=NEO-USD"}'
//
// The operator must allow the API's host (Fetch.AllowedHosts in the config).
async function main(input) {
    const url = input && input.url;
    if (typeof url !== "string") {
        throw new TypeError('input.url must be the price API\'s URL');
    }
    const response = await fetch(url, {
        headers: { "x-api-key": SECRETS.PRICE_API_KEY, accept: "application/json" },
    });
    if (!response.ok) {
        throw new Error(`the price API answered ${response.status}`);
    }
    const quote = await response.json();
    if (typeof quote.price !== "number") {
        throw new Error("the price API's answer has no numeric price");
    }
    // what is signed: a canonical text of the facts, so a verifier can rebuild it
    const message = JSON.stringify({ pair: quote.pair, price: quote.price, source: url });
    const key = Neo.keys.get("oracle"); // the same key on every call, for this user and function
    const signature = key.sign(message); // 64 bytes r||s over SHA-256(message)
    return {
        message,
        signature: toHex(signature),
        publicKey: key.publicKey,
        address: key.address,
    };
}

function toHex(bytes) {
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
