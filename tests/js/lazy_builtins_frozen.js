// expect: {"map":"TypeError","msg":true,"json":"{\"a\":1}","again":"TypeError"}
// A global object frozen before the first use of a lazily built group: reading a name of the
// group throws a TypeError that says why (never an abort or a half-built context); the eager
// built-ins keep working.
function main() {
    Object.freeze(globalThis);
    let map = "", msg = false, again = "";
    try { new Map(); } catch (e) { map = e.name; msg = /frozen/.test(e.message); }
    try { new Uint8Array(1); } catch (e) { again = e.name; }
    return { map, msg, json: JSON.stringify({ a: 1 }), again };
}
