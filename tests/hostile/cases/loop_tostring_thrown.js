// expect: TIMEOUT
// A thrown object that JSON cannot format (it is cyclic), so the host falls back to its
// toString, which loops.
function main() {
    const o = { toString() { for (;;) {} } };
    o.self = o;
    throw o;
}
