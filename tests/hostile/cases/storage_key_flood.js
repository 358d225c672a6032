// Removes ever new keys without end: the pending writes of one call are capped (10,000 keys),
// so host memory stays bounded and the call fails cleanly.
// deploy: true
// expect: EXECUTION_ERROR
// name: RangeError
async function main() {
  for (let i = 0; ; i++) {
    await storage.remove("gone-" + i);
  }
}
