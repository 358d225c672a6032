// expect: MEMORY_LIMIT
// Catching the out-of-memory error, freeing everything and returning does not hide the breach.
function main() {
    let hoard = [];
    try {
        for (;;) hoard.push("x".repeat(100000) + hoard.length);
    } catch (e) {
        hoard = null;
        return "survived: " + e;
    }
}
