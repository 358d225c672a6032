function main() { let a = []; for (;;) a.push(new Array(100000).fill("x")); }
