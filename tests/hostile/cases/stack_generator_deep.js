// expect: STACK_OVERFLOW
// yield* delegation 100,000 generators deep.
function* g(n) {
    if (n > 0) yield* g(n - 1);
    yield n;
}
function main() {
    let c = 0;
    for (const _ of g(100000)) c++;
    return c;
}
