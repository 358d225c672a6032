// expect: OK
// phase: plant
// Call A' holds a secret and leaves state behind without pending work, small enough that the
// worker keeps its JS runtime for the next call: globals, changed prototypes, error hooks, the
// symbol registry (shared by the whole runtime), RegExp statics, weak references, and garbage
// cycles registered with a FinalizationRegistry that the global object keeps alive, so that a
// GC during a later call could find them (the registry's entries keep this call's context
// alive). Runs on every worker after secrets_plant_1_jobs.
// secrets: {"PLANTED": "zz-planted-secret-4b7e1f"}
// result: "planted"
function main() {
    const s = SECRETS.PLANTED;
    globalThis.leaked = s;
    Object.prototype.leaked = s;
    Array.prototype.leaked = s;
    Function.prototype.leaked = s;
    Error.prepareStackTrace = () => s;
    Symbol.for(s);
    /(zz-planted-secret-\w+)/.exec(s);
    globalThis.reg = new FinalizationRegistry((held) => console.log("finalizer", held));
    for (let i = 0; i < 100; i++) {
        const o = { s };
        o.self = o;
        globalThis.reg.register(o, s);
    }
    const cyc = { s };
    cyc.self = cyc;
    globalThis.keep = new WeakRef(cyc);
    globalThis.map = new WeakMap([[cyc, s]]);
    const t = Date.now();
    while (Date.now() - t < 300) {}
    return "planted";
}
