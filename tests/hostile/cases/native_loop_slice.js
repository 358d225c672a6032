// expect: TIMEOUT
// Array.prototype.slice of an array-like (its result is a sparse array). QuickJS runs this built-in as a C loop over the length that never polls the deadline and, over
// holes, allocates nothing: the sandbox runs it on a guard proxy (src/js/js_guard.c) so that
// the deadline ends it.
function main() {
    return Array.prototype.slice.call({ length: 2 ** 32 - 2 }).length;
}
