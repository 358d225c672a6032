// expect: {"result":84,"steps":3}
// input: {"value":42}
// An async main: the awaited value is the result, after several microtask turns.
async function main(input) {
    let steps = 0;
    const double = async (x) => { steps++; await null; return x * 2; };
    const half = await Promise.resolve(input.value / 2).then((v) => { steps++; return v; });
    const r = await double(half * 2);
    steps++;
    return { result: r, steps };
}
