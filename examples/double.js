// The canonical function: ncsl run examples/double.js --input '{"value": 21}'
function main(input) {
    return { result: input.value * 2 };
}
