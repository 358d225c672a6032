// expect: TIMEOUT
// A replace callback that loops, called from native code.
function main() {
    return "abc".replace(/b/, () => { for (;;) {} });
}
