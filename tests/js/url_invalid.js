// expect-error: EXECUTION_ERROR
// expect-stderr: TypeError
// expect-stderr: Invalid URL: http://exa mple.com/
// An invalid URL (a space in the host) throws a TypeError that quotes the input.
function main() {
    return new URL("http://exa mple.com/").href;
}
