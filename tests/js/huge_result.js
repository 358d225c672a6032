// expect-error: OUTPUT_TOO_LARGE
// A result larger than the output limit (1 MiB by default).
function main() {
    return "x".repeat(4 * 1024 * 1024);
}
