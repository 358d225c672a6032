// expect-error: STACK_OVERFLOW
// Unbounded recursion hits the stack limit.
function f(n) {
    return f(n + 1) + 1;
}
function main() {
    return f(0);
}
