function main() { return { n: 10n ** 30n }; }
