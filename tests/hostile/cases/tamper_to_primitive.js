// expect: EXECUTION_ERROR
// Symbol.toPrimitive on the Number wrapper prototype throws when the host's serialization
// converts a Number object.
// message-has: toPrimitive attack
function main() {
    Number.prototype[Symbol.toPrimitive] = () => {
        throw new Error("toPrimitive attack");
    };
    Object.prototype[Symbol.toPrimitive] = Number.prototype[Symbol.toPrimitive];
    return { n: new Number(5) };
}
