// expect: OUTPUT_TOO_LARGE
// A result far above the output limit.
function main() {
    return new Array(300000).fill("abc");
}
