// expect-error: SYNTAX_ERROR
// Code that does not parse.
function main(input) {
    return { a: 1 ;
}
