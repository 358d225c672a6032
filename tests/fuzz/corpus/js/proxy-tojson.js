function main() { return new Proxy({}, { get(t, k) { if (k === "toJSON") return () => { throw new Error("boom"); }; return 1; }, ownKeys() { throw 1; } }); }
