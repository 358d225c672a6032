// expect: OK
// A stack overflow caught by the function: the stack has unwound, nothing is held, and the
// function goes on (like V8). See the report: docs/javascript.md lists STACK_OVERFLOW among the
// limits reported "even if the function catches the error".
// result: "caught RangeError"
function f(n) {
    return f(n + 1) + 1;
}
function main() {
    try {
        return f(0);
    } catch (e) {
        return "caught " + e.name;
    }
}
