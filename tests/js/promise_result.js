// expect: {"ok":true}
// A sync main that returns a promise: the promise is awaited.
function main() {
    return new Promise((resolve) => resolve({ ok: true }));
}
