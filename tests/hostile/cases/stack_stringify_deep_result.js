// expect: STACK_OVERFLOW
// A result nested 100,000 deep: the host's own JSON serialization runs out of stack.
function main() {
    let d = {};
    for (let i = 0; i < 100000; i++) d = { d };
    return d;
}
