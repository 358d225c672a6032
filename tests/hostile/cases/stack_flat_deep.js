// expect: STACK_OVERFLOW
// flat(Infinity) of an array nested 100,000 deep.
function main() {
    let a = [1];
    for (let i = 0; i < 100000; i++) a = [a];
    return a.flat(Infinity).length;
}
