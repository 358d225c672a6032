// expect: OK
// Overwriting console, SECRETS-like names and globalThis members changes nothing for the host:
// the logs are still captured and the result still serialized.
// result: "still fine"
// logs-have: captured before
function main() {
    console.log("captured before");
    const log = console.log;
    globalThis.console = { log() { for (;;) {} } };
    Object.defineProperty(globalThis, "JSON", { value: null });
    Object.setPrototypeOf(globalThis, null);
    log("captured after");
    return "still fine";
}
