// expect: OK
// Array.prototype methods and its iterator replaced by throwers, indices added on the prototype:
// serialization of an array result is unaffected (holes read through the prototype, as in JSON).
// result: [1, "proto", 3]
function main() {
    for (const k of ["join", "map", "forEach", "toString", "push", "slice", Symbol.iterator]) {
        Array.prototype[k] = () => {
            throw new Error("tampered " + String(k));
        };
    }
    Array.prototype[1] = "proto";
    return [1, , 3];
}
