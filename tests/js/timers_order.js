// expect: ["sync","micro","then","t0-a","t0-b","iv1","iv2","iv3","t500:x,y","done"]
// Timers run inside the call, in due order (ties in the order they were set), after the
// microtasks; arguments reach the callback; clearTimeout and clearInterval cancel.
async function main() {
    const order = [];
    setTimeout(() => order.push("t0-a"), 0);
    setTimeout(() => order.push("t0-b"));
    setTimeout((a, b) => order.push("t500:" + a + "," + b), 500, "x", "y");
    const cancelled = setTimeout(() => order.push("cancelled"), 5);
    clearTimeout(cancelled);
    clearTimeout(123456); // unknown ids are ignored
    let n = 0;
    const iv = setInterval(() => {
        order.push("iv" + ++n);
        if (n === 3) clearInterval(iv);
    }, 2);
    queueMicrotask(() => order.push("micro"));
    Promise.resolve().then(() => order.push("then"));
    order.push("sync");
    await new Promise((resolve) => setTimeout(resolve, 600));
    order.push("done");
    return order;
}
