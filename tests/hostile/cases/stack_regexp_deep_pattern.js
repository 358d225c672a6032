// expect: EXECUTION_ERROR
// A regexp pattern nested 100,000 groups deep: the regexp compiler refuses it with a
// catchable SyntaxError (it guards its own recursion), not a crash.
// name: SyntaxError
function main() {
    const n = 100000;
    return new RegExp("(".repeat(n) + "a" + ")".repeat(n)).test("a");
}
