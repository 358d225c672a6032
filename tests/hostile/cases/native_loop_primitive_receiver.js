// expect: TIMEOUT
// Array.prototype.join on a number, whose wrapper finds a huge length on Number.prototype.
// QuickJS runs this built-in as a C loop over the length that never polls the deadline and, over
// holes, allocates nothing: the sandbox runs it on a guard proxy (src/js/js_guard.c) so that
// the deadline ends it.
function main() {
    Number.prototype.length = 2 ** 53 - 1;
    return Array.prototype.join.call(5, "").length;
}
