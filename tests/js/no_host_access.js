// expect: {"std":"undefined","os":"undefined","require":"undefined","process":"undefined","scriptArgs":"undefined","print":"undefined","module":"undefined","importFails":true}
// The sandbox exposes no host objects: no std, os, require, process, scriptArgs, print, and
// dynamic import of the QuickJS host modules fails.
async function main() {
    let importFails = false;
    try {
        await import("qjs:std");
    } catch (e) {
        importFails = true;
    }
    return {
        std: typeof std, os: typeof os, require: typeof require, process: typeof process,
        scriptArgs: typeof scriptArgs, print: typeof print, module: typeof module, importFails,
    };
}
