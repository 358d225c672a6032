// expect: TIMEOUT
// A comparator that never returns, called by native Array.prototype.sort.
function main() {
    return [3, 2, 1].sort(() => { for (;;) {} });
}
