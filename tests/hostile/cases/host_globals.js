// expect: OK
// No host objects: std, os, require, process, module loaders, timers, performance, print...
// result: "undefined,undefined,undefined,undefined,undefined,undefined,undefined,undefined,undefined,undefined,undefined,undefined,undefined,undefined,undefined,undefined"
function main() {
    return [
        typeof std, typeof os, typeof require, typeof process, typeof module, typeof exports,
        typeof performance, typeof setTimeout, typeof setInterval, typeof setImmediate,
        typeof scriptArgs, typeof print, typeof gc, typeof bjson, typeof fetch, typeof WebAssembly,
    ].join();
}
