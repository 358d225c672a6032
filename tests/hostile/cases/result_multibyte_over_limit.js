// expect: OUTPUT_TOO_LARGE
// 30,000 three-byte characters: under the limit in UTF-16 units, over it in UTF-8 bytes.
function main() {
    return "\u20ac".repeat(30000);
}
