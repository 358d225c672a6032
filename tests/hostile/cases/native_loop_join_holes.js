// expect: TIMEOUT
// Array.prototype.join over 2^32 - 1 holes. QuickJS runs this built-in as a C loop over the length that never polls the deadline and, over
// holes, allocates nothing: the sandbox runs it on a guard proxy (src/js/js_guard.c) so that
// the deadline ends it.
function main() {
    return new Array(2 ** 32 - 1).join("").length;
}
