// expect: TIMEOUT
// Exponential matching with lookahead and backreferences, caught and retried.
function main() {
    for (;;) {
        try {
            /^((?=(a*))\2)*b$/.test("a".repeat(64) + "c");
            /^(\w+\s?)*$/.test("an attacker controlled sentence that goes on and on and on!");
        } catch (e) {}
    }
}
