// expect: TIMEOUT
// Catastrophic backtracking in unicode mode, through split() and replaceAll().
function main() {
    const s = "é".repeat(40) + "!";
    const r = s.split(/(\p{L}+)+$/u).length;
    return r + s.replaceAll(/(\p{L}|\p{L}\p{L})+$/gu, "").length;
}
