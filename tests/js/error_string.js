// expect-error: EXECUTION_ERROR
// expect-stderr: a plain string
// Throwing a non-Error value (a string) still fails cleanly.
function main() {
    throw "a plain string";
}
