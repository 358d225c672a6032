// expect: TIMEOUT
// Array.prototype.reverse of an array-like. QuickJS runs this built-in as a C loop over the length that never polls the deadline and, over
// holes, allocates nothing: the sandbox runs it on a guard proxy (src/js/js_guard.c) so that
// the deadline ends it.
function main() {
    return Array.prototype.reverse.call({ length: 2 ** 53 - 1 }).length;
}
