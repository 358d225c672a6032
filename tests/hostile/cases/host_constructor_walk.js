// expect: OK
// Climbing constructors (globalThis.constructor.constructor, prototypes of every function kind)
// reaches Function constructors that cannot compile code.
// result: ["TypeError", "TypeError", "TypeError", "TypeError", "TypeError", "TypeError"]
function main() {
    const ctors = [
        globalThis.constructor.constructor,
        (() => {}).constructor,
        Object.getPrototypeOf(async function () {}).constructor,
        Object.getPrototypeOf(function* () {}).constructor,
        Object.getPrototypeOf(async function* () {}).constructor,
        console.log.constructor,
    ];
    return ctors.map((C) => {
        try {
            return typeof C("return globalThis")();
        } catch (e) {
            return e.name;
        }
    });
}
