// expect: {"frozen":true,"strictThrows":true,"sloppyIgnored":"v","deleteFails":true,"defineFails":true}
// secrets: {"K":"v"}
// SECRETS is frozen: writes, deletes and new properties fail.
function sloppyWrite() {
    try { SECRETS.K = "changed"; } catch (e) { /* sloppy mode ignores or strict throws: both fine */ }
    return SECRETS.K;
}
function main() {
    "use strict";
    let strictThrows = false;
    try { SECRETS.K = "changed"; } catch (e) { strictThrows = e instanceof TypeError; }
    let deleteFails = false;
    try { delete SECRETS.K; deleteFails = SECRETS.K === "v"; } catch (e) { deleteFails = true; }
    let defineFails = false;
    try { Object.defineProperty(SECRETS, "NEW", { value: "x" }); } catch (e) { defineFails = true; }
    return {
        frozen: Object.isFrozen(SECRETS),
        strictThrows,
        sloppyIgnored: sloppyWrite(),
        deleteFails,
        defineFails: defineFails && SECRETS.NEW === undefined,
    };
}
