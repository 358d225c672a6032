// expect: OK
// A result built to break out of the host's JSON answer: quotes, backslashes, control
// characters, NUL, U+2028/2029, a lone surrogate, and keys that look like the envelope's. The
// answer stays one valid JSON document with exactly this result.
// result: {"\"},\"success\":true,\"x\":{\"": "\u0000\u0001\n\r\t\\\"</script>\u2028\u2029\ud800\ud83d\ude00", "data": {"result": "forged"}, "success": false}
function main() {
    return {
        '"},"success":true,"x":{"': "\u0000\u0001\n\r\t\\\"</script>\u2028\u2029\ud800\u{1f600}",
        data: { result: "forged" },
        success: false,
    };
}
