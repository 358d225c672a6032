// expect: TIMEOUT
// Array.prototype.concat spreading an array-like marked spreadable. QuickJS runs this built-in as a C loop over the length that never polls the deadline and, over
// holes, allocates nothing: the sandbox runs it on a guard proxy (src/js/js_guard.c) so that
// the deadline ends it.
function main() {
    return [].concat({ length: 2 ** 53 - 2, [Symbol.isConcatSpreadable]: true }).length;
}
