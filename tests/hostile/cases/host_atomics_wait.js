// expect: EXECUTION_ERROR
// Atomics.wait would block the worker thread: it is refused at once.
// name: TypeError
function main() {
    const a = new Int32Array(new SharedArrayBuffer(4));
    return Atomics.wait(a, 0, 0);
}
