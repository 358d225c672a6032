// expect: EXECUTION_ERROR
// A thrown value that neither JSON nor its toString can format: the host reports a fixed
// placeholder instead of failing, and nothing of the value leaks.
// message-has: [unprintable value]
// absent: do-not-print-me
function main() {
    const o = { secret: "do-not-print-me", toString() { throw new Error("no"); } };
    o.self = o;
    throw o;
}
