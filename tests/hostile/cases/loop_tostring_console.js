// expect: TIMEOUT
// console.log of a value JSON cannot format (a BigInt inside): the host calls its toString,
// which loops.
function main() {
    console.log("value:", { n: 1n, toString() { for (;;) {} } });
    return "unreachable";
}
