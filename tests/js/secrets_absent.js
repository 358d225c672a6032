// expect: {"type":"object","count":0,"frozen":true}
// No --secrets: SECRETS is still defined, empty and frozen.
function main() {
    return { type: typeof SECRETS, count: Object.keys(SECRETS).length, frozen: Object.isFrozen(SECRETS) };
}
