// expect-error: EXECUTION_ERROR
// expect-stderr: storage is available only to deployed functions
// An uncaught storage rejection fails the call like any other error.
async function main() {
    await storage.set("k", 1);
    return "unreachable";
}
