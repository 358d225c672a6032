// expect: TIMEOUT
// The result's getter loops forever when the host serializes the result.
function main() {
    return {
        ok: 1,
        get trap() {
            for (;;) {}
        },
    };
}
