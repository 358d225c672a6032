// expect-error: MEMORY_LIMIT
// memory-mb: 32
// One allocation larger than the whole memory limit.
function main() {
    const buf = new ArrayBuffer(256 * 1024 * 1024);
    return buf.byteLength;
}
