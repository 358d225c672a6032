// expect: TIMEOUT
// Object.prototype.then makes every object a thenable: resolving async main's result calls it,
// and it loops. The host awaits main's promise without calling any then itself.
async function main() {
    Object.prototype.then = function () {
        for (;;) {}
    };
    return { a: 1 };
}
