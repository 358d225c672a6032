// expect: ["TypeError: setTimeout: argument 1 must be a function (code strings are not supported)","TypeError: setInterval: argument 1 must be a function (code strings are not supported)","TypeError: queueMicrotask: argument 1 must be a function","RangeError: setTimeout: more than 10000 timers pending in this call","ok"]
// Bad arguments are TypeErrors naming the function; at most 10,000 timers may be pending.
function main() {
    const out = [];
    const tryIt = (f) => {
        try {
            f();
        } catch (e) {
            out.push(e.name + ": " + e.message);
        }
    };
    // NaN, negative and huge delays are clamped, never an error
    setTimeout(() => {}, NaN);
    setTimeout(() => {}, -5);
    setTimeout(() => {}, 1e300);
    tryIt(() => setTimeout("globalThis.x = 1", 1));
    tryIt(() => setInterval({}, 1));
    tryIt(() => queueMicrotask(42));
    tryIt(() => {
        for (let i = 0; i <= 10000; i++) setTimeout(() => {}, 1e9);
    });
    out.push("ok");
    return out; // main is sync: pending timers are dropped with the call
}
