// expect: OK
// A time-of-check attack on the join guard: `length` is a getter that answers 1 the first time
// and 2^53 - 1 afterwards. The guard never reads it itself (a getter sends the call to the
// guarded path), so the built-in reads it once, through the guard.
// result: ["a", 1]
function main() {
    let reads = 0;
    const o = {
        0: "a",
        get length() {
            return reads++ ? 2 ** 53 - 1 : 1;
        },
    };
    return [Array.prototype.join.call(o, "-"), reads];
}
