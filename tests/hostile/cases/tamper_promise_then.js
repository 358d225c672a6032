// expect: OK
// Promise.prototype.then replaced by a loop and Promise.resolve by a thrower: the host awaits
// main's promise without calling either.
// result: 42
async function main() {
    Promise.prototype.then = function () {
        for (;;) {}
    };
    Promise.resolve = () => {
        throw new Error("no");
    };
    await undefined;
    return 42;
}
