// expect: OK
// Object.prototype.toJSON set by the function applies to its own result only (JSON semantics);
// the host's answer around it stays intact.
// result: "hijacked"
function main() {
    Object.prototype.toJSON = function () {
        return "hijacked";
    };
    return { a: 1 };
}
