// expect: OK
// A symbol as the whole result serializes to null.
// result: null
function main() {
    return Symbol("nothing");
}
