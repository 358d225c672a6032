// expect: TIMEOUT
// The guard uses intrinsics captured before user code ran: replacing Reflect, Proxy and
// Array.isArray does not let the loop escape the deadline. QuickJS runs this built-in as a C loop over the length that never polls the deadline and, over
// holes, allocates nothing: the sandbox runs it on a guard proxy (src/js/js_guard.c) so that
// the deadline ends it.
function main() {
    Reflect.get = Reflect.has = () => undefined;
    Array.isArray = () => false;
    globalThis.Proxy = function () {};
    return Array.prototype.join.call({ length: 2 ** 53 - 1 }, "").length;
}
