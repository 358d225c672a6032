// expect: {"str":"hi","num":-1.5,"big":9007199254740991,"bool":false,"nil":null,"arr":[1,"two",[3]],"nested":{"a":{"b":{"c":"deep"}}},"unicode":"héllo ✓ 😀"}
// input: {"str":"hi","num":-1.5,"big":9007199254740991,"bool":false,"nil":null,"arr":[1,"two",[3]],"nested":{"a":{"b":{"c":"deep"}}},"unicode":"h\u00e9llo \u2713 \ud83d\ude00"}
// Every JSON type in the input arrives intact and round-trips.
function main(input) {
    if (typeof input.str !== "string" || typeof input.num !== "number" || !Array.isArray(input.arr)) {
        throw new TypeError("wrong input types");
    }
    return input;
}
