// expect: STACK_OVERFLOW
// 50,000 proxies, each the target of the next: one property read recurses through all of them.
function main() {
    let p = {};
    for (let i = 0; i < 50000; i++) p = new Proxy(p, {});
    return p.anything;
}
