// expect: STACK_OVERFLOW
// A function bound 30,000 times over (each name reset, or the "bound bound ..." names alone
// would fill the heap): calling it recurses through every bound layer.
function main() {
    let f = function () {
        return 1;
    };
    for (let i = 0; i < 30000; i++) {
        f = f.bind(null);
        Object.defineProperty(f, "name", { value: "" });
    }
    return f();
}
