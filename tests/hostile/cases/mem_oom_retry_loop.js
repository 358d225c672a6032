// expect: MEMORY_LIMIT
// Out of memory caught and retried forever: the breach still ends the call.
function main() {
    let hoard = [];
    for (;;) {
        try {
            for (;;) hoard.push(new Uint8Array(1 << 20));
        } catch (e) {
            hoard = [];
        }
    }
}
