// expect: {"collected":[1,2,3],"sum":6,"generator":[0,1,1,2,3,5,8]}
// Async generators, for await, and sync generators.
async function* counter(n) {
    for (let i = 1; i <= n; i++) {
        await Promise.resolve();
        yield i;
    }
}
function* fib() {
    let [a, b] = [0, 1];
    for (;;) { yield a; [a, b] = [b, a + b]; }
}
async function main() {
    const collected = [];
    for await (const v of counter(3)) collected.push(v);
    const generator = [];
    for (const v of fib()) { if (generator.length === 7) break; generator.push(v); }
    const all = await Promise.all(collected.map(async (v) => v));
    return { collected, sum: all.reduce((a, b) => a + b, 0), generator };
}
