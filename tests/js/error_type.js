// expect-error: EXECUTION_ERROR
// expect-stderr: TypeError
// A TypeError from user code (reading a property of undefined).
function main(input) {
    const obj = undefined;
    return obj.property;
}
