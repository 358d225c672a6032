// expect: OK
// import() of host modules, relative paths and data URLs: every one rejects.
// result: ["rejected", "rejected", "rejected", "rejected", "rejected", "rejected"]
async function main() {
    const specs = ["qjs:std", "qjs:os", "std", "os", "./function.js",
                   "data:text/javascript,export default 1"];
    const out = [];
    for (const s of specs) {
        try {
            await import(s);
            out.push("loaded " + s);
        } catch (e) {
            out.push("rejected");
        }
    }
    return out;
}
