// expect: TIMEOUT
// Array.prototype.join on a user proxy without traps (so no user code polls the deadline).
// QuickJS runs this built-in as a C loop over the length that never polls the deadline and, over
// holes, allocates nothing: the sandbox runs it on a guard proxy (src/js/js_guard.c) so that
// the deadline ends it.
function main() {
    return Array.prototype.join.call(new Proxy({ length: 2 ** 53 - 1 }, {}), "").length;
}
