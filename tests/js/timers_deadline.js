// expect-error: TIMEOUT
// timeout-ms: 300
// A timer due after the deadline never fires: awaiting it ends at the deadline, not later.
async function main() {
    await new Promise((resolve) => setTimeout(resolve, 60000));
    return "never";
}
