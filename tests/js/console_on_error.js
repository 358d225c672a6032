// expect-error: EXECUTION_ERROR
// expect-stderr: before the failure
// Logs written before a failure are still reported.
function main() {
    console.log("before the failure");
    throw new Error("after logging");
}
