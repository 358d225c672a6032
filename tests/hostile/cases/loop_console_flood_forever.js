// expect: TIMEOUT
// console.log in an endless loop: logs stay bounded and the deadline ends it.
function main() {
    for (;;) console.log("z".repeat(1000));
}
