// expect-error: MEMORY_LIMIT
// memory-mb: 32
// Allocating until failure hits the memory limit.
function main() {
    const hoard = [];
    for (;;) {
        hoard.push(new Array(100000).fill(hoard.length));
    }
}
