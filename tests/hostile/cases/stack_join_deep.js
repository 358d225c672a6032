// expect: STACK_OVERFLOW
// String() of an array nested 100,000 deep: Array.prototype.toString recurses natively.
function main() {
    let a = [];
    for (let i = 0; i < 100000; i++) a = [a];
    return String(a).length;
}
