// expect-error: TIMEOUT
// timeout-ms: 300
// Catastrophic regexp backtracking is interrupted at the deadline too.
function main() {
    return /^(a+)+$/.test("a".repeat(40) + "b");
}
