// expect: TIMEOUT
// Array.prototype.flat of a small array holding a huge sparse one: flat walks the inner array too.
// QuickJS runs this built-in as a C loop over the length that never polls the deadline and, over
// holes, allocates nothing: the sandbox runs it on a guard proxy (src/js/js_guard.c) so that
// the deadline ends it.
function main() {
    return [1, new Array(2 ** 32 - 1)].flat().length;
}
