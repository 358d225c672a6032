// expect: TIMEOUT
// String() of a sparse array: Array.prototype.toString calls join. QuickJS runs this built-in as a C loop over the length that never polls the deadline and, over
// holes, allocates nothing: the sandbox runs it on a guard proxy (src/js/js_guard.c) so that
// the deadline ends it.
function main() {
    return String(new Array(2 ** 32 - 1)).length;
}
