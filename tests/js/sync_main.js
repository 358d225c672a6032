// expect: {"result":84}
// input: {"value":42}
// A plain synchronous main doubles its input (the seed guide's example).
function main(input) {
    return { result: input.value * 2 };
}
