// expect: STACK_OVERFLOW
// Unbounded recursion.
function f(n) {
    return f(n + 1) + 1;
}
function main() {
    return f(0);
}
