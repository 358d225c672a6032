// expect: EXECUTION_ERROR
// An uncaught direct eval is an EXECUTION_ERROR with the documented TypeError.
// name: TypeError
// message-has: eval is not supported
function main() {
    return eval("SECRETS");
}
