// expect: null
// A main that returns nothing: the result is null.
function main(input) {
    const unused = input;
}
