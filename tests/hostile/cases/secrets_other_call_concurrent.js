// expect: OK
// While other calls with secrets run on other workers, this call sees only its own SECRETS.
// secrets: {"MINE": "mine-only"}
// result: ["MINE"]
function main() {
    return Object.getOwnPropertyNames(SECRETS);
}
