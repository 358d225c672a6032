// expect-error: EXECUTION_ERROR
// expect-stderr: TypeError: from a timer
// An error thrown by a timer callback fails the call, like an uncaught error.
async function main() {
    setTimeout(() => {
        throw new TypeError("from a timer");
    }, 1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    return "not reached";
}
