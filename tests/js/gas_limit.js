// expect-error: GAS_LIMIT_EXCEEDED
// gas-limit: 5000
// expect-stderr: gas limit of 5000
// A loop that would run for seconds is stopped by a small gas limit, whatever catches it.
function main() {
    for (;;) {
        try {
            for (let i = 0; i < 1e9; i++) {}
        } catch (e) {
            // the gas error is uncatchable: this never runs
        }
    }
}
