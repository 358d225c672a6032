// expect: TIMEOUT
// An async function that awaits forever: the microtask queue never empties.
async function main() {
    for (;;) {
        await null;
    }
}
