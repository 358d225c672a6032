// expect: {"types":["function","function","function","function","function","function","function","object","function","function"],"same":true,"afterUse":"data","assigned":5,"deleted":"undefined","restoredSet":true,"typed":[1,2,3],"b64":"aGk=","dom":"InvalidCharacterError","proto":true,"date":true,"weak":true,"toStr":true,"encode":"Uint8Array","keys":true}
// Built-ins that a context builds on first use (typed arrays, Map/Set, Date, WeakRef,
// DOMException/atob/btoa) behave like eager ones: same values every read, assignments and
// deletions made before first use survive building the rest of the group, host functions that
// return typed arrays work before user code touched Uint8Array.
function main() {
    const enc = new TextEncoder().encode("a"); // a host function first: builds typed arrays
    Map = 5;                                   // assigned before the group is built
    delete globalThis.WeakSet;                 // deleted before the group is built
    const types = [typeof ArrayBuffer, typeof Uint8Array, typeof Set, typeof WeakMap,
                   typeof Date, typeof WeakRef, typeof FinalizationRegistry, typeof Atomics,
                   typeof DOMException, typeof atob];
    const same = Uint8Array === globalThis.Uint8Array && Set === Set;
    const d = Object.getOwnPropertyDescriptor(globalThis, "Set");
    let dom = "";
    try { atob("*"); } catch (e) { dom = e.name; }
    return {
        types, same,
        afterUse: "value" in d && d.writable && !d.enumerable && d.configurable ? "data" : "accessor",
        assigned: Map, deleted: typeof WeakSet, restoredSet: new Set([1]).has(1),
        typed: Array.from(new Uint8Array([1, 2, 3])), b64: btoa("hi"), dom,
        proto: Object.getPrototypeOf(Int8Array.prototype) === Object.getPrototypeOf(Float64Array.prototype),
        date: new Date(0).toISOString() === "1970-01-01T00:00:00.000Z",
        weak: new WeakRef({}) instanceof WeakRef,
        toStr: Uint8Array.prototype.toString === Array.prototype.toString,
        encode: enc.constructor.name,
        keys: Object.getOwnPropertyNames(globalThis).includes("Float32Array"),
    };
}
