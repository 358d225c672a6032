// expect: TIMEOUT
// Promise jobs that re-schedule themselves forever (then callbacks and queueMicrotask) while
// main's own promise stays pending. Nothing is retained, so only the deadline ends it.
function main() {
    const spin = () => {
        Promise.resolve().then(spin);
    };
    spin();
    const tick = () => queueMicrotask(tick);
    tick();
    return new Promise(() => {});
}
