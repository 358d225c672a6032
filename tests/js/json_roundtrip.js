// expect: {"parsed":{"a":[1,2,{"b":null}]},"text":"{\"z\":1,\"y\":[true]}","pretty":"{\n  \"k\": 1\n}","reviver":{"n":20},"toJSON":{"when":"custom"}}
// JSON.parse/stringify: revivers, replacers, indentation, toJSON.
function main() {
    const parsed = JSON.parse('{"a":[1,2,{"b":null}]}');
    const reviver = JSON.parse('{"n":10}', (k, v) => (typeof v === "number" ? v * 2 : v));
    return {
        parsed,
        text: JSON.stringify({ z: 1, y: [true], skip: undefined, f() {} }),
        pretty: JSON.stringify({ k: 1 }, null, 2),
        reviver,
        toJSON: JSON.parse(JSON.stringify({ when: { toJSON() { return "custom"; } } })),
    };
}
