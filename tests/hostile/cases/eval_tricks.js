// expect: OK
// eval and Function in every spelling throw TypeError (docs/javascript.md: no code generation
// from strings); so do the eval-like paths through Reflect and bound functions.
// result: ["TypeError", "TypeError", "TypeError", "TypeError", "TypeError", "TypeError", "TypeError"]
function main() {
    const tries = [
        () => eval("1"),
        () => (0, eval)("1"),
        () => globalThis["ev" + "al"]("1"),
        () => new Function("return 1")(),
        () => Function.prototype.constructor("return 1")(),
        () => Reflect.construct(Function, ["return 1"])(),
        () => Function.bind(null, "return 1")()(),
    ];
    return tries.map((t) => {
        try {
            return "ran: " + t();
        } catch (e) {
            return e.name;
        }
    });
}
