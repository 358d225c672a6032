// expect: TIMEOUT
// A proxy returned as the result: its ownKeys trap loops while the host serializes it.
function main() {
    return { p: new Proxy({}, { ownKeys() { for (;;) {} } }) };
}
