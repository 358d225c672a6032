// expect: STACK_OVERFLOW
// JSON.stringify of a 100,000-deep array inside the function.
function main() {
    let d = [];
    for (let i = 0; i < 100000; i++) d = [d];
    return JSON.stringify(d).length;
}
