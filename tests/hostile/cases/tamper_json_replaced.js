// expect: OK
// Replacing JSON.stringify/JSON.parse does not change how the host serializes the result.
// result: {"a": [1, "two"]}
function main() {
    JSON.stringify = () => '{"forged": true}';
    JSON.parse = () => ({ forged: true });
    globalThis.JSON = { stringify: () => "forged", parse: () => "forged" };
    return { a: [1, "two"] };
}
