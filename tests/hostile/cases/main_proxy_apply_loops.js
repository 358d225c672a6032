// expect: TIMEOUT
// `main` is a callable proxy whose apply trap loops.
const main = new Proxy(function () {}, {
    apply() {
        for (;;) {}
    },
});
