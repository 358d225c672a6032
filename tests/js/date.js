// expect: {"iso":"2024-02-29T12:34:56.789Z","year":2024,"month":1,"utcDay":4,"epoch":1709210096789,"parsed":0,"nowSane":true,"invalid":true}
// Date arithmetic in UTC, parsing and the current time.
function main() {
    const d = new Date(Date.UTC(2024, 1, 29, 12, 34, 56, 789));
    const now = Date.now();
    return {
        iso: d.toISOString(),
        year: d.getUTCFullYear(),
        month: d.getUTCMonth(),
        utcDay: d.getUTCDay(),
        epoch: d.getTime(),
        parsed: Date.parse("1970-01-01T00:00:00Z"),
        nowSane: now > Date.UTC(2020, 0, 1),
        invalid: isNaN(new Date("not a date").getTime()),
    };
}
