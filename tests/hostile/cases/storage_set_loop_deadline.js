// Rewrites one key forever without awaiting anything else: bounded by the deadline, and the
// timed-out call commits nothing.
// deploy: true
// expect: TIMEOUT
async function main() {
  for (let i = 0; ; i++) {
    storage.set("same", { i, pad: "p".repeat(1000) });
  }
}
