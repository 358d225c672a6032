// expect: TIMEOUT
// Catastrophic backtracking: the regexp engine polls the deadline.
function main() {
    return /^(a+)+$/.test("a".repeat(40) + "b");
}
