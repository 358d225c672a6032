// expect: TIMEOUT
// console.log formats objects with JSON: a looping toJSON inside the host's formatting.
function main() {
    console.log("before", { toJSON() { for (;;) {} } });
    return "unreachable";
}
