// expect: EXECUTION_ERROR
// A cyclic result (through an array and a Map-held object) cannot be serialized.
// name: TypeError
function main() {
    const a = { list: [] };
    a.list.push({ back: a });
    return a;
}
