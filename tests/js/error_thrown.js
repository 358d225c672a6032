// expect-error: EXECUTION_ERROR
// expect-stderr: Error: boom
// A thrown Error fails the call with its name and message.
function main() {
    throw new Error("boom");
}
