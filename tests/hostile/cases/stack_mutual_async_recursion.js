// expect: STACK_OVERFLOW
// Unbounded recursion through async functions and getters.
const o = {
    get x() {
        return a();
    },
};
async function a() {
    return o.x;
}
function main() {
    return a();
}
