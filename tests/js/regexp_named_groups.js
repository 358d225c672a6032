// expect: {"year":"2024","month":"03","day":"15","replaced":"15/03/2024","all":["a1","b2","c3"],"sticky":true,"unicode":true}
// input: "Date: 2024-03-15"
// RegExp named groups, replace with group names, matchAll, sticky and unicode flags.
function main(input) {
    const re = /(?<year>\d{4})-(?<month>\d{2})-(?<day>\d{2})/u;
    const { year, month, day } = input.match(re).groups;
    const replaced = input.replace(re, "$<day>/$<month>/$<year>").slice(6);
    const all = [..."a1 b2 c3".matchAll(/(?<l>[a-z])(?<d>\d)/g)].map((m) => m.groups.l + m.groups.d);
    const sticky = /foo/y;
    sticky.lastIndex = 3;
    return { year, month, day, replaced, all, sticky: sticky.test("barfoo"), unicode: /^\p{L}+$/u.test("héllo") };
}
