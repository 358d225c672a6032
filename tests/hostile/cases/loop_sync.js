// expect: TIMEOUT
// An infinite loop in synchronous code.
function main() {
    while (true) {}
}
