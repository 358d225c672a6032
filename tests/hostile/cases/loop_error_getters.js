// expect: TIMEOUT
// A thrown error whose message getter loops: the host reads it after main failed.
function main() {
    const e = new Error("x");
    Object.defineProperty(e, "message", { get() { for (;;) {} } });
    throw e;
}
