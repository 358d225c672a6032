// expect: TIMEOUT
// Nested counted repetitions: the matcher's work is bounded only by the deadline.
function main() {
    return /(?:a{0,60000}){0,60000}b/.test("a".repeat(100000));
}
