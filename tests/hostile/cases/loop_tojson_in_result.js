// expect: TIMEOUT
// A nested toJSON loops forever when the host serializes the result.
function main() {
    return { a: [1, 2, { toJSON() { while (true) {} } }] };
}
