// expect: {"polluted":false,"arrayProto":"undefined"}
// Each call starts from fresh globals: prototypes are pristine.
function main() {
    const before = typeof Array.prototype.evil;
    Array.prototype.evil = 1;
    globalThis.leak = true;
    return { polluted: before !== "undefined", arrayProto: before };
}
