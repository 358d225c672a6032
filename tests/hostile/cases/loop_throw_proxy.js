// expect: TIMEOUT
// A thrown proxy whose traps loop: the host's formatting of the thrown value runs them.
function main() {
    const spin = () => { for (;;) {} };
    throw new Proxy({}, { get: spin, ownKeys: spin, getOwnPropertyDescriptor: spin, has: spin });
}
