function main() { return new Promise(() => {}); }
