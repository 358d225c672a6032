// expect: MEMORY_LIMIT
// FinalizationRegistry entries and WeakRefs to objects kept alive, until the heap is full.
function main() {
    const reg = new FinalizationRegistry(() => {});
    const keep = [];
    for (;;) {
        const o = { pad: new Array(512).fill(0) };
        keep.push(o, new WeakRef(o));
        reg.register(o, keep.length);
    }
}
