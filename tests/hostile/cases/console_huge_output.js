// expect: OK
// Huge console output that ends: a 1 MiB line, 100,000 short lines, a 10,000-key object. The
// captured logs stay within the log limit and end with the truncation marker.
// result: "done"
// logs-have: first line
// logs-have: logs truncated
function main() {
    console.log("first line");
    console.error("x".repeat(1 << 20));
    for (let i = 0; i < 100000; i++) console.log(i);
    const big = {};
    for (let i = 0; i < 10000; i++) big["k" + i] = "v".repeat(100);
    console.warn(big);
    return "done";
}
