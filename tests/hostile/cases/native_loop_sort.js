// expect: TIMEOUT
// Array.prototype.sort of a sparse array (holes are counted one by one). QuickJS runs this built-in as a C loop over the length that never polls the deadline and, over
// holes, allocates nothing: the sandbox runs it on a guard proxy (src/js/js_guard.c) so that
// the deadline ends it.
function main() {
    return new Array(2 ** 32 - 1).sort().length;
}
