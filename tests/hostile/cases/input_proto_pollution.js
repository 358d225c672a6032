// expect: OK
// An input with "__proto__" and "constructor" keys: they are plain own properties of the
// input, and no prototype of the call (or of later calls) is polluted.
// input: {"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}}
// result: {"clean": true, "keys": ["__proto__", "constructor"], "ownProto": true}
function main(input) {
    return {
        clean: ({}).polluted === undefined && [].polluted === undefined && input.polluted === undefined,
        keys: Object.keys(input),
        ownProto: Object.getPrototypeOf(input) === Object.prototype,
    };
}
