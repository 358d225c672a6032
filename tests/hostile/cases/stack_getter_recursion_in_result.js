// expect: STACK_OVERFLOW
// A result getter that calls itself, run by the host's serialization.
function main() {
    return {
        get x() {
            return this.x;
        },
    };
}
