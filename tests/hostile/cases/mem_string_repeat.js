// expect: MEMORY_LIMIT
// One 256 MiB string: a single allocation past the limit.
function main() {
    return "x".repeat(256 * 1024 * 1024).length;
}
