// expect: {"done":true}
// expect-logs: [{"level":"log","message":"plain 1 true"},{"level":"info","message":"info {\"a\":1}"},{"level":"warn","message":"warn 2.5"},{"level":"error","message":"error null undefined"},{"level":"debug","message":"debug str"}]
// console.log/info/warn/error/debug are captured with their level, arguments joined by spaces.
function main() {
    console.log("plain", 1, true);
    console.info("info", JSON.stringify({ a: 1 }));
    console.warn("warn", 2.5);
    console.error("error", null, undefined);
    console.debug("debug", "str");
    return { done: true };
}
