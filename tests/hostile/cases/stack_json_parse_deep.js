// expect: STACK_OVERFLOW
// JSON.parse of input nested 1,000,000 deep.
function main() {
    const n = 1000000;
    return JSON.parse("[".repeat(n) + "]".repeat(n));
}
