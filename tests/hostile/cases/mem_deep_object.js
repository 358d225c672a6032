// expect: MEMORY_LIMIT
// An endlessly deep chain of objects, each with some payload.
function main() {
    let o = null;
    for (;;) o = { o, pad: new Array(256).fill(1) };
}
