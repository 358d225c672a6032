// expect: OK
// A time-of-check attack on the concat guard: Symbol.isConcatSpreadable is a getter that says
// "no" to the first reader and "yes" afterwards, on an object of length 2^53 - 1. The guard
// reads it once and makes the built-in see that answer, so the object is appended, not spread.
// result: [0, {"length": 9007199254740991}, 1]
function main() {
    let reads = 0;
    const o = {
        length: 2 ** 53 - 1,
        get [Symbol.isConcatSpreadable]() {
            return reads++ > 0;
        },
    };
    const r = [0].concat(o, [1]);
    return r[1] === o ? r : "spread";
}
