// expect: EXECUTION_ERROR
// A BigInt deep inside the result cannot be serialized.
// name: TypeError
function main() {
    return { a: [1, { b: 2n ** 64n }] };
}
