#!/usr/bin/env bash
# HTTP benchmark of ncsld (release build): POSTs the canonical function to execute-javascript
# with wrk at -t2 -c16 and -t1 -c1, REPS rounds of DURATION seconds, and prints the median
# req/s, p50 and p99 (ms) of each, plus the server's CPU time per request and its RSS.
#
#   bench/http.sh                 (DURATION=5 REPS=3 by default)
#   NCSL_URL=http://127.0.0.1:8080 bench/http.sh   use a running server instead of starting one
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-5}
REPS=${REPS:-3}
CONCS=${CONCS:-"2:16 1:1"}
export BENCH_BODY=${BENCH_BODY:-'{"code": "function main(input) { return { result: input.value * 2 }; }", "input": "{ \"value\": 42 }", "secrets": "{}", "functionId": "bench", "userId": "bench"}'}
command -v wrk >/dev/null || { echo "wrk is missing: run scripts/bootstrap.sh" >&2; exit 1; }

pid=""
tmp=$(mktemp -d)
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
if [ -z "${NCSL_URL:-}" ]; then
    NCSL_QJS_ROOT=$(scripts/bootstrap.sh --print-prefix release 2>/dev/null | tail -n1)
    export NCSL_QJS_ROOT
    cmake --preset release >/dev/null && cmake --build --preset release >/dev/null
    build/release/src/http/ncsld --data-dir "$tmp/data" --listen 127.0.0.1:0 --log-level warn \
        2>"$tmp/ncsld.err" &
    pid=$!
    for _ in $(seq 100); do [ -s "$tmp/data/ncsld.url" ] && break; sleep 0.1; done
    [ -s "$tmp/data/ncsld.url" ] || { cat "$tmp/ncsld.err" >&2; echo "ncsld did not start" >&2; exit 1; }
    NCSL_URL=$(cat "$tmp/data/ncsld.url")
fi
url=$NCSL_URL/api/v1/functions/execute-javascript
body=$(curl -s -X POST -H 'Content-Type: application/json' --data "$BENCH_BODY" "$url")
grep -q '"result":{"result":84}' <<<"$body" || { echo "unexpected answer: $body" >&2; exit 1; }

ticks() { [ -n "$pid" ] && awk '{print $14 + $15}' "/proc/$pid/stat" || echo 0; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "machine: $(nproc) cpus ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/Mem:/ {print $2}') GiB; $DURATION s x $REPS reps, medians"
wrk -t2 -c16 -d1s -s bench/post.lua "$url" >/dev/null # warm-up
printf '%-10s %10s %10s %10s %12s\n' wrk req/s p50_ms p99_ms cpu_us/req
clk=$(getconf CLK_TCK)
for c in $CONCS; do
    t=${c%%:*} n=${c##*:}
    : >"$tmp/rows"
    for _ in $(seq "$REPS"); do
        t0=$(ticks)
        line=$(wrk -t"$t" -c"$n" -d"${DURATION}s" -s bench/post.lua "$url" | grep '^RESULT')
        t1=$(ticks)
        reqs=$(sed 's/.*requests=\([0-9]*\).*/\1/' <<<"$line")
        cpu=$(awk -v a="$t0" -v b="$t1" -v r="$reqs" -v k="$clk" 'BEGIN { if (r > 0 && b > 0) printf "%.1f", (b - a) * 1e6 / k / r; else print "-" }')
        echo "$line cpu=$cpu" >>"$tmp/rows"
    done
    rps=$(sed 's/.*req_per_s=\([0-9.]*\).*/\1/' "$tmp/rows" | median)
    p50=$(sed 's/.*p50_ms=\([0-9.]*\).*/\1/' "$tmp/rows" | median)
    p99=$(sed 's/.*p99_ms=\([0-9.]*\).*/\1/' "$tmp/rows" | median)
    cpu=$(sed 's/.*cpu=\([0-9.-]*\).*/\1/' "$tmp/rows" | median)
    errs=$(sed 's/.*errors=\([0-9]*\).*/\1/' "$tmp/rows" | awk '{s += $1} END {print s + 0}')
    printf '%-10s %10s %10s %10s %12s   (errors: %s)\n' "-t$t -c$n" "$rps" "$p50" "$p99" "$cpu" "$errs"
done
[ -n "$pid" ] && echo "ncsld RSS after the runs: $(awk '/VmRSS/ {print $2 " kB"}' "/proc/$pid/status")"
