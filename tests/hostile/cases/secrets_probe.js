// expect: OK
// phase: probe
// Call B (no secrets) runs on every worker after the plants and looks for what they left:
// every property reachable from the global object (own, inherited, non-enumerable, symbols),
// RegExp statics, error hooks; it also forces garbage collection pressure
// and awaits, so that finalizers of the plants' garbage would run now (in B's job queue). The
// response must not contain the planted secret anywhere. It holds its worker for a moment, so
// that every worker runs one copy.
// absent: zz-planted-secret-4b7e1f
// absent: finalizer
// result: {"secrets": 0, "found": []}
async function main() {
    const found = [];
    const seen = new Set();
    const visit = (v, path, depth) => {
        if (typeof v === "string") {
            if (v.includes("planted")) found.push(path);
            return;
        }
        if ((typeof v !== "object" && typeof v !== "function") || v === null) return;
        if (seen.has(v) || depth > 6) return;
        seen.add(v);
        for (const k of Reflect.ownKeys(v)) {
            if (typeof k === "string" && k.includes("planted")) found.push(path + "." + k);
            if (k === "leaked" || k === "lateLeak") found.push(path + "." + String(k));
            let d;
            try {
                d = Reflect.getOwnPropertyDescriptor(v, k);
            } catch (e) {
                continue;
            }
            if (d && "value" in d) visit(d.value, path + "." + String(k), depth + 1);
        }
        visit(Object.getPrototypeOf(v), path + ".__proto__", depth + 1);
    };
    visit(globalThis, "globalThis", 0);
    for (const k of ["$1", "lastMatch", "input", "$_"]) {
        try {
            if (String(RegExp[k]).includes("planted")) found.push("RegExp." + k);
        } catch (e) {}
    }
    if (String(new Error("e").stack).includes("planted")) found.push("stack hook");
    if (typeof globalThis.keep !== "undefined") found.push("keep");
    // GC pressure: earlier calls' garbage (and its finalizers) would be collected now
    for (let i = 0; i < 20; i++) {
        const junk = [];
        for (let j = 0; j < 2000; j++) junk.push({ j, pad: [j, j, j, j] });
        await null;
    }
    const t = Date.now();
    while (Date.now() - t < 300) {}
    return { secrets: Object.keys(SECRETS).length, found };
}
