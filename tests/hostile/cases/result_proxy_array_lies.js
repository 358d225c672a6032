// expect: MEMORY_LIMIT
// A proxy of an array that claims a length of 2^32 - 1 with 100 kB elements: the host's
// serialization builds the text inside the call's heap, so the memory limit stops it.
function main() {
    const item = "y".repeat(100000);
    return new Proxy([], { get: (t, k) => (k === "length" ? 2 ** 32 - 1 : item) });
}
