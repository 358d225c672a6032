// expect-error: VALIDATION_ERROR
// `main` exists but is not a function.
var main = 42;
