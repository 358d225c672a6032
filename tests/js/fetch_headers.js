// expect: {"pairs":[["accept","*/*"],["set-cookie","a=1"],["set-cookie","b=2"],["x-multi","one, two"]],"get":"one, two","missing":null,"has":[true,false],"keys":["accept","set-cookie","set-cookie","x-multi"],"values":["*/*","a=1","b=2","one, two"],"each":["accept=*/*","set-cookie=a=1","set-cookie=b=2","x-multi=one, two"],"cookies":["a=1","b=2"],"copy":[["accept","*/*"]],"fromPairs":[["k","v"]],"trimmed":"padded","afterDelete":false,"errors":["TypeError","TypeError","TypeError","TypeError"],"tag":"[object Headers]","instance":true}
// Headers: case-insensitive names (lower case out), get joins repeated values with ", ",
// iteration is sorted by name (set-cookie kept apart), values are trimmed, bad names and values
// are TypeErrors.
function main() {
    const h = new Headers({ "X-Multi": "one" });
    h.append("x-multi", "two");
    h.append("Set-Cookie", "a=1");
    h.append("set-cookie", "b=2");
    h.set("Accept", "*/*");
    const each = [];
    h.forEach((v, k) => each.push(k + "=" + v));
    const errors = [];
    for (const f of [() => h.append("bad name", "v"), () => h.set("x", "a\nb"),
                     () => new Headers(5), () => Headers.prototype.get.call({}, "x")]) {
        try { f(); errors.push("no error"); } catch (e) { errors.push(e.name); }
    }
    const t = new Headers([["X-Pad", "  padded \t"]]);
    const d = new Headers(h);
    d.delete("X-MULTI");
    return {
        pairs: [...h], get: h.get("X-MULTI"), missing: h.get("nope"),
        has: [h.has("accept"), h.has("nope")], keys: [...h.keys()], values: [...h.values()],
        each, cookies: h.getSetCookie(), copy: [...new Headers({ Accept: "*/*" }).entries()],
        fromPairs: [...new Headers([["K", "v"]])], trimmed: t.get("x-pad"),
        afterDelete: d.has("x-multi"), errors, tag: Object.prototype.toString.call(h),
        instance: h instanceof Headers,
    };
}
