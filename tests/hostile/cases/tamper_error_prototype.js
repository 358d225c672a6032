// expect: EXECUTION_ERROR
// The name and message of Error.prototype and TypeError.prototype (each native error prototype
// has its own) made into throwing getters, toString replaced, then an error thrown: the host
// reports it with placeholder text instead of failing or running the getters' errors instead.
// name: Error
function main() {
    for (const proto of [Error.prototype, TypeError.prototype]) {
        Object.defineProperty(proto, "name", { get() { throw new Error("name"); } });
        Object.defineProperty(proto, "message", { get() { throw new Error("msg"); } });
        proto.toString = () => {
            throw new Error("toString");
        };
    }
    throw new TypeError();
}
