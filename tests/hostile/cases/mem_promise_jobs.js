// expect: MEMORY_LIMIT
// A memory bomb inside promise jobs: each job keeps 64 KiB and schedules the next, and the
// chain of pending promises itself grows (each then() result waits on the next).
function main() {
    const hoard = [];
    const spin = () => {
        hoard.push(new Array(8192).fill(hoard.length));
        return Promise.resolve().then(spin);
    };
    return spin();
}
