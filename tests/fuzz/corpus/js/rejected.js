async function main() { throw new TypeError("nope"); }
