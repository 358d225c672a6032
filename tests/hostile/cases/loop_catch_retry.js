// expect: TIMEOUT
// The deadline's error cannot be caught: the loop restarts in a catch block and in finally.
function main() {
    for (;;) {
        try {
            while (true) {}
        } catch (e) {
            continue;
        } finally {
            for (;;) {}
        }
    }
}
