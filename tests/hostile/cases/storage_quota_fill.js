// Fills storage past the function's quota (256 KiB in the suite) with 16 KiB values: the set
// that would cross it throws QuotaExceededError and, main failing, nothing is committed.
// deploy: true
// expect: EXECUTION_ERROR
// name: QuotaExceededError
// message-has: quota
async function main() {
  const v = "x".repeat(16 * 1024);
  for (let i = 0; ; i++) {
    await storage.set("k" + i, v);
  }
}
