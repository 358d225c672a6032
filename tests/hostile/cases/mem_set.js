// expect: MEMORY_LIMIT
// A Set of typed arrays until the heap is full.
function main() {
    const s = new Set();
    for (;;) s.add(new Float64Array(1024));
}
