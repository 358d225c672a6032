// expect: OK
// A function as the whole result serializes to null.
// result: null
function main() {
    return function secretive() {};
}
