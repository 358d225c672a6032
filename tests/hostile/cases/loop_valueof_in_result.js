// expect: TIMEOUT
// JSON serialization converts Number and String wrapper objects with valueOf/toString: both loop.
function main() {
    const n = new Number(1);
    n.valueOf = () => { for (;;) {} };
    const s = new String("x");
    s.toString = () => { for (;;) {} };
    return { n, s };
}
