// expect: {"a":1,"rest":[3,4],"x":"X","renamed":"Y","deflt":"d","spread":{"p":1,"q":2,"r":3},"swap":[2,1],"nullish":"fallback","logical":5}
// input: {"list":[1,2,3,4],"obj":{"x":"X","y":"Y"}}
// Destructuring, defaults, rest/spread, nullish coalescing, logical assignment.
function main({ list: [a, , ...rest], obj: { x, y: renamed, z: deflt = "d" } }) {
    let p = 2, q = 1;
    [p, q] = [q, p];
    const base = { p: 1, q: 0 };
    let n = null;
    n ??= 5;
    return { a, rest, x, renamed, deflt, spread: { ...base, q: 2, r: 3 }, swap: [q, p],
             nullish: undefined ?? "fallback", logical: n };
}
