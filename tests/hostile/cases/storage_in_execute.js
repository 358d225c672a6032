// execute-javascript has no deployed function: storage refuses, with a message saying where it
// is available.
// expect: EXECUTION_ERROR
// message-has: deployed functions
async function main() {
  await storage.set("k", 1);
}
