// expect: EXECUTION_ERROR
// A revoked proxy in the result.
// name: TypeError
function main() {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    return { proxy };
}
