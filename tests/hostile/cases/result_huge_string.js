// expect: OUTPUT_TOO_LARGE
// A 16 MiB string result: refused before the host copies it.
function main() {
    return "x".repeat(16 * 1024 * 1024);
}
