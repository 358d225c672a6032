// expect: MEMORY_LIMIT
// JSON.parse of a 100,001-element array text, again and again, every result kept.
function main() {
    const text = "[" + "1,".repeat(100000) + "1]";
    const parts = [];
    for (;;) parts.push(JSON.parse(text));
}
