// expect: TIMEOUT
// `main` is a global getter that loops: the host's own lookup of main runs it.
Object.defineProperty(globalThis, "main", {
    get() {
        for (;;) {}
    },
});
