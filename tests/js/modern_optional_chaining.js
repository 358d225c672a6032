// expect: {"deep":"yes","missing":null,"call":null,"index":2,"fn":"called"}
// input: {"a":{"b":{"c":"yes"}},"arr":[1,2]}
// Optional chaining on properties, calls and indexes.
function main(input) {
    const f = { go() { return "called"; } };
    return {
        deep: input?.a?.b?.c,
        missing: input?.x?.y?.z ?? null,
        call: input.nothing?.() ?? null,
        index: input.arr?.[1],
        fn: f.go?.(),
    };
}
