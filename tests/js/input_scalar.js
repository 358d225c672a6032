// expect: {"type":"string","length":5,"upper":"HELLO"}
// input: "hello"
// A scalar input (a JSON string) is passed as it is.
function main(input) {
    return { type: typeof input, length: input.length, upper: input.toUpperCase() };
}
