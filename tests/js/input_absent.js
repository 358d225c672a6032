// expect: {"type":"object","isNull":true}
// No --input: main receives null.
function main(input) {
    return { type: typeof input, isNull: input === null };
}
