// expect-error: TIMEOUT
// timeout-ms: 300
// An infinite loop is stopped at the deadline.
function main() {
    while (true) {}
}
