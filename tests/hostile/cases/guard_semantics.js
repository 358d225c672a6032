// expect: OK
// The guarded built-ins (src/js/js_guard.c) keep their semantics, on the direct path (arrays)
// and on the guarded one (array-likes with a length getter, proxies): every result below is
// what the spec gives (taken from V8). The result lists the checks that differ.
// result: []
function main() {
    const out = {};
    const like = (n, els) => {
        const o = { get length() { return n; } };
        return Object.assign(o, els);
    };
    const show = (v) => JSON.stringify(v === undefined ? "undef" : v);
    const t = (name, f) => {
        try {
            out[name] = show(f());
        } catch (e) {
            out[name] = "throw " + e.name;
        }
    };
    const AP = Array.prototype;
    const kinds = [
        ["arr", (a) => a.slice()],
        ["like", (a) => like(a.length, Object.assign({}, a))],
        ["proxy", (a) => new Proxy(a.slice(), {})],
    ];
    for (const [kind, mk] of kinds) {
        const base = () => mk([3, , 1, "x", 2]);
        t(kind + "Join", () => AP.join.call(base(), "-"));
        t(kind + "ToString", () => AP.toString.call(mk([1, [2, 3]])));
        t(kind + "ToLocale", () => AP.toLocaleString.call(mk([1, null, 2])));
        t(kind + "Reverse", () => {
            const o = base();
            const r = AP.reverse.call(o);
            return [r === o, Object.keys(r), r[0], r[4]];
        });
        t(kind + "Shift", () => {
            const o = base();
            return [AP.shift.call(o), o.length, Object.keys(o)];
        });
        t(kind + "Unshift", () => {
            const o = base();
            return [AP.unshift.call(o, 9, 8), Object.keys(o), o[0], o[3]];
        });
        t(kind + "Slice", () => AP.slice.call(base(), 1, 4));
        t(kind + "Splice", () => {
            const o = base();
            return [AP.splice.call(o, 1, 2, "a", "b", "c"), o.length, o[1], o[3], o[5]];
        });
        t(kind + "Sort", () => {
            const o = mk([3, 1, undefined, , 2]);
            const r = AP.sort.call(o);
            return [r === o, r[0], r[1], r[2], r[3], 4 in r, r.length];
        });
        t(kind + "SortCmp", () => {
            const o = mk([3, 1, 2]);
            AP.sort.call(o, (a, b) => b - a);
            return [o[0], o[1], o[2]];
        });
        t(kind + "CopyWithin", () => {
            const o = base();
            const r = AP.copyWithin.call(o, 0, 2);
            return [r === o, o[0], o[1], o[2], 1 in o];
        });
        t(kind + "Flat", () => AP.flat.call(mk([1, [2, [3, [4]]], , 5])));
        t(kind + "FlatInf", () => AP.flat.call(mk([1, [2, [3, [4]]]]), Infinity));
        t(kind + "FlatMap", () =>
            AP.flatMap.call(mk([1, 2, , 3]), function (x, i) { return [x, i, this.k]; }, { k: "K" }));
        t(kind + "FlatMapSource", () => {
            const o = mk([1]);
            let same;
            AP.flatMap.call(o, (x, i, s) => ((same = s === o), []));
            return same;
        });
        t(kind + "Concat", () => AP.concat.call(base(), [7, , 8], 9, like(2, { 0: "L0", 1: "L1" })));
        t(kind + "ConcatThis", () => {
            const o = base();
            const r = AP.concat.call(o, 1);
            return [r.length, r[0] === o];
        });
    }
    const o = {};
    const sp = { length: 2, 0: "s0", 1: "s1", [Symbol.isConcatSpreadable]: true };
    t("concatObjects", () => {
        const r = [1].concat(o, sp, "str", [2]);
        return [r.length, r[1] === o, r[2], r[3], r[4], r[5]];
    });
    t("concatPlainThis", () => {
        const r = AP.concat.call(o, 1);
        return [r.length, r[0] === o];
    });
    t("concatNotSpread", () => {
        const a = [1, 2];
        a[Symbol.isConcatSpreadable] = false;
        const r = [0].concat(a);
        return [r.length, r[1] === a];
    });
    t("raw", () => String.raw`a${1}b${2}c\n`);
    t("rawArrayLike", () => String.raw({ raw: like(3, { 0: "p", 1: "q", 2: "r" }) }, 1, 2));
    t("rawString", () => String.raw({ raw: "abc" }, "-", "+"));
    t("names", () => [AP.join.name, AP.join.length, AP.concat.length, AP.flat.length,
        AP.flatMap.length, AP.splice.length, String.raw.name, String.raw.length]);
    t("descriptor", () => Object.getOwnPropertyDescriptor(AP, "join"));
    t("notConstructor", () => new AP.join());
    t("species", () => {
        class M extends Array {}
        const m = M.from([1, 2, 3]);
        return [m.slice(1) instanceof M, m.flat() instanceof M, m.concat(4) instanceof M];
    });
    t("getterThis", () => {
        const a = [1, 2];
        Object.defineProperty(a, 0, { get() { return this === a; } });
        return AP.join.call(new Proxy(a, {}), "|");
    });
    t("revoked", () => {
        const { proxy, revoke } = Proxy.revocable([], {});
        revoke();
        return [1].concat(proxy);
    });
    const expected = {
        arrJoin: "\"3--1-x-2\"",
        arrToString: "\"1,2,3\"",
        arrToLocale: "\"1,,2\"",
        arrReverse: "[true,[\"0\",\"1\",\"2\",\"4\"],2,3]",
        arrShift: "[3,4,[\"1\",\"2\",\"3\"]]",
        arrUnshift: "[7,[\"0\",\"1\",\"2\",\"4\",\"5\",\"6\"],9,null]",
        arrSlice: "[null,1,\"x\"]",
        arrSplice: "[[null,1],6,\"a\",\"c\",2]",
        arrSort: "[true,1,2,3,null,false,5]",
        arrSortCmp: "[3,2,1]",
        arrCopyWithin: "[true,1,\"x\",2,true]",
        arrFlat: "[1,2,[3,[4]],5]",
        arrFlatInf: "[1,2,3,4]",
        arrFlatMap: "[1,0,\"K\",2,1,\"K\",3,3,\"K\"]",
        arrFlatMapSource: "true",
        arrConcat: "[3,null,1,\"x\",2,7,null,8,9,{\"0\":\"L0\",\"1\":\"L1\",\"length\":2}]",
        arrConcatThis: "[6,false]",
        likeJoin: "\"3--1-x-2\"",
        likeToString: "\"[object Object]\"",
        likeToLocale: "\"1,,2\"",
        likeReverse: "[true,[\"0\",\"1\",\"2\",\"4\",\"length\"],2,3]",
        likeShift: "throw TypeError",
        likeUnshift: "throw TypeError",
        likeSlice: "[null,1,\"x\"]",
        likeSplice: "throw TypeError",
        likeSort: "[true,1,2,3,null,false,5]",
        likeSortCmp: "[3,2,1]",
        likeCopyWithin: "[true,1,\"x\",2,true]",
        likeFlat: "[1,2,[3,[4]],5]",
        likeFlatInf: "[1,2,3,4]",
        likeFlatMap: "[1,0,\"K\",2,1,\"K\",3,3,\"K\"]",
        likeFlatMapSource: "true",
        likeConcat: "[{\"0\":3,\"2\":1,\"3\":\"x\",\"4\":2,\"length\":5},7,null,8,9,{\"0\":\"L0\",\"1\":\"L1\",\"length\":2}]",
        likeConcatThis: "[2,true]",
        proxyJoin: "\"3--1-x-2\"",
        proxyToString: "\"1,2,3\"",
        proxyToLocale: "\"1,,2\"",
        proxyReverse: "[true,[\"0\",\"1\",\"2\",\"4\"],2,3]",
        proxyShift: "[3,4,[\"1\",\"2\",\"3\"]]",
        proxyUnshift: "[7,[\"0\",\"1\",\"2\",\"4\",\"5\",\"6\"],9,null]",
        proxySlice: "[null,1,\"x\"]",
        proxySplice: "[[null,1],6,\"a\",\"c\",2]",
        proxySort: "[true,1,2,3,null,false,5]",
        proxySortCmp: "[3,2,1]",
        proxyCopyWithin: "[true,1,\"x\",2,true]",
        proxyFlat: "[1,2,[3,[4]],5]",
        proxyFlatInf: "[1,2,3,4]",
        proxyFlatMap: "[1,0,\"K\",2,1,\"K\",3,3,\"K\"]",
        proxyFlatMapSource: "true",
        proxyConcat: "[3,null,1,\"x\",2,7,null,8,9,{\"0\":\"L0\",\"1\":\"L1\",\"length\":2}]",
        proxyConcatThis: "[6,false]",
        concatObjects: "[6,true,\"s0\",\"s1\",\"str\",2]",
        concatPlainThis: "[2,true]",
        concatNotSpread: "[2,true]",
        raw: "\"a1b2c\\\\n\"",
        rawArrayLike: "\"p1q2r\"",
        rawString: "\"a-b+c\"",
        names: "[\"join\",1,1,0,1,2,\"raw\",1]",
        descriptor: "{\"writable\":true,\"enumerable\":false,\"configurable\":true}",
        notConstructor: "throw TypeError",
        species: "[true,true,true]",
        getterThis: "\"false|2\"",
        revoked: "throw TypeError",
    };
    return Object.keys(expected).filter((k) => out[k] !== expected[k]).concat(
        Object.keys(out).filter((k) => !(k in expected)));
}
