// expect: MEMORY_LIMIT
// Closures, each capturing its own array, kept until the heap is full.
function main() {
    const fns = [];
    for (;;) {
        const captured = new Array(1000).fill(fns.length);
        fns.push(() => captured.length);
    }
}
