// expect: MEMORY_LIMIT
// A Map filled with 1 KiB values until the heap is full.
function main() {
    const m = new Map();
    const v = "v".repeat(1024);
    for (let i = 0; ; i++) m.set(i, v + i);
}
