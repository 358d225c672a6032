// expect: TIMEOUT
// An infinite generator consumed by for-of (nothing is kept, so only the deadline ends it).
function* forever() {
    for (;;) yield 0;
}
function main() {
    let n = 0;
    for (const _ of forever()) n++;
    return n;
}
