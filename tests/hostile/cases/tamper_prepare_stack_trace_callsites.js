// expect: OK
// Error.prepareStackTrace hands out call sites: they lead to the function's own code only
// (no host function or other realm is reachable through them).
// result: "ok"
function main() {
    let sites = [];
    Error.prepareStackTrace = (e, cs) => {
        sites = cs;
        return "custom";
    };
    const stack = new Error("x").stack;
    const found = [];
    for (const cs of sites) {
        for (const m of ["getFunction", "getThis", "getFileName", "getFunctionName"]) {
            try {
                const v = typeof cs[m] === "function" ? cs[m]() : undefined;
                if (typeof v === "function" && v !== main) found.push(m + ":" + v.name);
                if (typeof v === "string" && v !== "function.js" && v !== "main" && v !== "")
                    found.push(m + "=" + v);
            } catch (e) {}
        }
    }
    return stack === "custom" && found.length === 0 ? "ok" : found;
}
