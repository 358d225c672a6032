// expect-error: EXECUTION_ERROR
// expect-stderr: RangeError: rejected on purpose
// An async main whose promise rejects.
async function main() {
    await null;
    throw new RangeError("rejected on purpose");
}
