// Catches the quota error and returns: what fitted is committed, the rest is not; a second
// call sees exactly the keys the first one stored, all under the quota.
// deploy: true
// expect: OK
// result: {"stored": 15, "fits": true}
async function main() {
  const v = "y".repeat(16 * 1024);
  let stored = 0;
  try {
    for (let i = 0; i < 1000; i++) {
      await storage.set("k" + String(i).padStart(3, "0"), v);
      stored++;
    }
  } catch (e) {
    if (e.name !== "QuotaExceededError") throw e;
  }
  const keys = await storage.list("k");
  return { stored, fits: keys.length === stored && stored * (4 + v.length + 2) <= 256 * 1024 };
}
