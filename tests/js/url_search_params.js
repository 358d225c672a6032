// expect: {"params":"a=1&b=x+y&c=%F0%9F%98%80","sorted":"a=1&b=x+y&c=%F0%9F%98%80&z=9","href":"https://h/p?b=x+y&c=%F0%9F%98%80&z=9","back":["only","1"],"all":["1","3"],"size":2}
// URLSearchParams: form encoding, sort, and the two-way link with a URL's query.
function main() {
    const url = new URL("https://h/p?z=9&a=1");
    const p = url.searchParams;
    p.append("b", "x y");
    p.set("c", "😀");
    p.sort();
    const sorted = p.toString();
    p.delete("a");
    const href = url.href;
    url.search = "?only=1";
    const q = new URLSearchParams([["k", "1"], ["k", "3"]]);
    return {
        params: new URLSearchParams({ a: 1, b: "x y", c: "😀" }).toString(),
        sorted,
        href,
        back: [...url.searchParams][0],
        all: q.getAll("k"),
        size: q.size,
    };
}
