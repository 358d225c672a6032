// expect: STACK_OVERFLOW
// A proxy whose get trap reads through the proxy again.
function main() {
    const p = new Proxy({}, { get(t, k, r) { return r[k]; } });
    return p.anything;
}
