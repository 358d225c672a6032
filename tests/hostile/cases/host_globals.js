// expect: OK
// No host objects: std, os, require, process, module loaders, performance, print... (the
// call-scoped timers, fetch and the platform APIs of docs/javascript.md are tested elsewhere)
// result: "undefined,undefined,undefined,undefined,undefined,undefined,undefined,undefined,undefined,undefined,undefined,undefined,undefined,undefined,undefined,undefined"
function main() {
    return [
        typeof std, typeof os, typeof require, typeof process, typeof module, typeof exports,
        typeof performance, typeof Deno, typeof Bun, typeof setImmediate,
        typeof scriptArgs, typeof print, typeof gc, typeof bjson, typeof XMLHttpRequest, typeof WebAssembly,
    ].join();
}
