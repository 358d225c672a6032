// expect: OK
// SECRETS cannot be changed, redefined, extended, re-prototyped or replaced, in sloppy or
// strict code.
// secrets: {"KEY": "value-1"}
// result: {"value": "value-1", "frozen": true, "global": "object", "failed": 9}
function main() {
    let failed = 0;
    const attempts = [
        () => { "use strict"; SECRETS.KEY = "x"; },
        () => { "use strict"; SECRETS.NEW = "x"; },
        () => { "use strict"; delete SECRETS.KEY; },
        () => Object.defineProperty(SECRETS, "KEY", { value: "x" }),
        () => Object.defineProperty(SECRETS, "KEY", { get: () => "x" }),
        () => Object.setPrototypeOf(SECRETS, { injected: 1 }),
        () => { "use strict"; SECRETS = {}; },
        () => Object.defineProperty(globalThis, "SECRETS", { value: {} }),
        () => { if (!delete globalThis.SECRETS) throw new TypeError("kept"); },
    ];
    for (const a of attempts) {
        try {
            a();
        } catch (e) {
            if (e instanceof TypeError) failed++;
        }
    }
    SECRETS.KEY = "sloppy"; // silently ignored
    return { value: SECRETS.KEY, frozen: Object.isFrozen(SECRETS), global: typeof SECRETS, failed };
}
