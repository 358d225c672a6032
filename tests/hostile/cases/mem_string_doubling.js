// expect: MEMORY_LIMIT
// A string doubled until it no longer fits (flattened each round so ropes do not cheat).
function main() {
    let s = "x";
    for (;;) {
        s = s + s;
        s.charCodeAt(s.length - 1);
    }
}
