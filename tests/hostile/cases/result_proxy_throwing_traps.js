// expect: EXECUTION_ERROR
// A proxy result whose traps throw: the error is the function's.
// message-has: trap says no
function main() {
    const boom = () => {
        throw new Error("trap says no");
    };
    return new Proxy({ a: 1 }, { get: boom, ownKeys: boom, getOwnPropertyDescriptor: boom });
}
