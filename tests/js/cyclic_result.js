// expect-error: EXECUTION_ERROR
// A cyclic result cannot be serialized.
function main() {
    const a = { name: "a" };
    a.self = a;
    return a;
}
