// expect: {"set":"TypeError","mine":7,"date":true}
// A name of a lazily built group redefined as non-configurable before first use: the group
// cannot be built (TypeError naming the name), the user's value stays, other groups still work.
function main() {
    Object.defineProperty(globalThis, "Map", { value: 7, configurable: false });
    let set = "";
    try { new Set(); } catch (e) { set = e.name + (/Map/.test(e.message) ? "" : "?"); }
    return { set, mine: Map, date: typeof Date.now() === "number" };
}
