// expect: TIMEOUT
// Error.prepareStackTrace runs on every error QuickJS creates, the deadline's own included.
function main() {
    Error.prepareStackTrace = () => { for (;;) {} };
    for (;;) {}
}
