// expect: {"mapSize":3,"entries":[["a",1],["b",2],["c",3]],"setSize":3,"has":true,"weak":true,"grouped":{"even":[2,4],"odd":[1,3,5]}}
// Map, Set, WeakMap and ordering of entries.
function main() {
    const m = new Map([["a", 1], ["b", 2]]);
    m.set("c", 3);
    const s = new Set([1, 2, 2, 3, 3, 3]);
    const key = {};
    const wm = new WeakMap([[key, "v"]]);
    const grouped = {};
    for (const n of [1, 2, 3, 4, 5]) (grouped[n % 2 ? "odd" : "even"] ??= []).push(n);
    return { mapSize: m.size, entries: [...m.entries()], setSize: s.size, has: s.has(2),
             weak: wm.get(key) === "v", grouped };
}
