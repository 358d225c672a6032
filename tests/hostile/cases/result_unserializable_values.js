// expect: OK
// Functions, symbols and undefined are dropped (or null in arrays); NaN and Infinity become null;
// -0 becomes 0; a Date becomes its ISO string; lone surrogates are escaped so the answer stays
// valid UTF-8 JSON.
// result: {"arr": [null, null, null, null, null], "neg": 0, "d": "1970-01-01T00:00:00.000Z", "s": "\ud800x\udfff"}
function main() {
    return {
        f() {},
        sym: Symbol("s"),
        u: undefined,
        [Symbol("key")]: 1,
        arr: [() => 1, Symbol(), undefined, NaN, Infinity],
        neg: -0,
        d: new Date(0),
        s: "\ud800x\udfff",
    };
}
