function main() { for (let i = 0; i < 10000; i++) console.error("line", i, { i }); return 1; }
