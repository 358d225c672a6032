-- wrk script: POST the body in $BENCH_BODY (JSON), with $BENCH_AUTH as a bearer key when set,
-- and print one summary line at the end.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("BENCH_BODY")
if os.getenv("BENCH_AUTH") and os.getenv("BENCH_AUTH") ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_AUTH")
end

function done(summary, latency, requests)
    local secs = summary.duration / 1e6
    local errors = summary.errors.connect + summary.errors.read + summary.errors.write
        + summary.errors.status + summary.errors.timeout
    io.write(string.format("RESULT req_per_s=%.0f p50_ms=%.3f p99_ms=%.3f errors=%d requests=%d\n",
        summary.requests / secs, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
        errors, summary.requests))
end
