// expect: 15
// input: [1, 2, 3, 4, 5]
// An array input.
function main(input) {
    return input.reduce((a, b) => a + b, 0);
}
