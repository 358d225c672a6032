// expect-error: EXECUTION_ERROR
// expect-stderr: ValidationFailed
// A subclass of Error keeps its name.
class ValidationFailed extends Error {
    constructor(msg) { super(msg); this.name = "ValidationFailed"; }
}
function main() {
    throw new ValidationFailed("input rejected");
}
