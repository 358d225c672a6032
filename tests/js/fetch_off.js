// expect: {"off":"TypeError: fetch: host 'api.example.com' is not in Fetch.AllowedHosts (fetch is off: the operator allows no host)","promise":true,"args":["TypeError: fetch: argument 1 (url) must be a string or a URL object","TypeError: fetch: argument 2 (init) must be an object","TypeError: fetch: init.redirect must be \"follow\", \"error\" or \"manual\"","TypeError: fetch: init.headers: 'a b' is not a valid header name","TypeError: fetch: init.body must be a string, an ArrayBuffer or a view (typed array, DataView)"],"typeofFetch":"function"}
// Without a Fetch section fetch is off: every request is refused with a TypeError naming the
// setting; bad arguments are refused first, each naming the argument; fetch always returns a
// promise (errors reject it).
async function main() {
    const out = { typeofFetch: typeof fetch };
    const p = fetch("https://api.example.com/v1");
    out.promise = p instanceof Promise;
    try { await p; } catch (e) { out.off = e.name + ": " + e.message; }
    out.args = [];
    for (const args of [[], ["https://a.example/", 3], ["https://a.example/", { redirect: "x" }],
                        ["https://a.example/", { headers: { "a b": "1" } }],
                        ["https://a.example/", { method: "POST", body: {} }]]) {
        try { await fetch(...args); out.args.push("resolved?"); }
        catch (e) { out.args.push(e.name + ": " + e.message); }
    }
    return out;
}
