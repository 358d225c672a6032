// expect: EXECUTION_ERROR
// A throwing toJSON getter on Object.prototype breaks every JSON.stringify, the host's
// formatting of the thrown object included: the host falls back to its toString.
// message-has: [object Object]
function main() {
    Object.defineProperty(Object.prototype, "toJSON", {
        get() {
            throw new Error("no json for you");
        },
    });
    throw { a: 1 };
}
