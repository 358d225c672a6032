// expect: OK
// phase: plant
// Call A holds a secret and tries to leave it behind for later calls on the same worker through
// work that outlives it: pending promise jobs, a microtask, a promise that never settles, and
// FinalizationRegistry callbacks on garbage cycles. (Pending jobs make the worker replace its
// JS runtime after the call; secrets_plant_2_state plants what a runtime that is kept could
// carry.) Every worker runs this.
// secrets: {"PLANTED": "zz-planted-secret-4b7e1f"}
// result: "planted"
function main() {
    const s = SECRETS.PLANTED;
    const reg = new FinalizationRegistry((held) => console.log("finalizer", held));
    for (let i = 0; i < 100; i++) {
        const o = { s };
        o.self = o; // a cycle: freed only by a GC, possibly during a later call
        reg.register(o, s);
    }
    globalThis.reg = reg;
    Promise.resolve().then(() => {
        globalThis.lateLeak = s;
    });
    new Promise(() => {}).then(() => console.log(s));
    queueMicrotask(() => console.log("microtask", s));
    const t = Date.now();
    while (Date.now() - t < 300) {} // hold this worker so that every worker runs one copy
    return "planted";
}
