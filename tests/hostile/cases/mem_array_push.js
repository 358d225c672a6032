// expect: MEMORY_LIMIT
// Arrays of numbers pushed until the heap is full.
function main() {
    const hoard = [];
    for (;;) hoard.push(new Array(100000).fill(hoard.length));
}
