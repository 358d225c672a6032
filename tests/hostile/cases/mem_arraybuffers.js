// expect: MEMORY_LIMIT
// 1 MiB ArrayBuffers (and SharedArrayBuffers) kept until the heap is full.
function main() {
    const hoard = [];
    for (let i = 0; ; i++) {
        hoard.push(i % 2 ? new ArrayBuffer(1 << 20) : new SharedArrayBuffer(1 << 20));
    }
}
