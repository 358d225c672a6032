// expect: MEMORY_LIMIT
// One 1 GiB typed array.
function main() {
    return new Float64Array(128 * 1024 * 1024).length;
}
