// One value over the per-value limit (64 KiB of JSON text in the suite): a RangeError at once.
// deploy: true
// expect: EXECUTION_ERROR
// name: RangeError
// message-has: the limit is 65536
async function main() {
  await storage.set("big", "z".repeat(65536));
}
