// expect-error: EXECUTION_ERROR
// A BigInt result cannot be serialized to JSON: the call fails cleanly.
function main() {
    return { value: 10n ** 30n };
}
