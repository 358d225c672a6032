// expect-error: VALIDATION_ERROR
// Code that defines no function main.
function notMain() {
    return 1;
}
const main2 = 3;
