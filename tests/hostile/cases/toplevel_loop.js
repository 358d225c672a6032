// expect: TIMEOUT
// The script's top level loops before main is ever looked up.
for (;;) {}
function main() {
    return 1;
}
