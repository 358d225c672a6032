// expect-error: TIMEOUT
// timeout-ms: 300
// A promise that never settles is stopped at the deadline.
async function main() {
    await new Promise(() => {});
    return "never";
}
