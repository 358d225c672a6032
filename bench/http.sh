#!/usr/bin/env bash
# HTTP benchmark of ncsld (release build), two targets measured in the same run, rounds
# interleaved: "execute" POSTs the canonical function's code to execute-javascript (admin key),
# "invoke" calls the same function deployed once (POST /api/v1/functions/{id}/invoke, a user's
# key, bytecode from the shared cache). wrk at -t2 -c16 and -t1 -c1, REPS rounds of DURATION
# seconds; prints the median req/s, p50 and p99 (ms) of each, the server's CPU time per request
# and its RSS. The daemon runs with its defaults (log level info: an access line per request)
# except the per-user rate limit, which is off (Limits.RequestsPerSecond 0).
#
#   bench/http.sh                 (DURATION=5 REPS=3 by default)
#   NCSL_URL=http://127.0.0.1:8080 NCSL_ADMIN_KEY=... [NCSL_PID=...] bench/http.sh   use a running
#                                 server (NCSL_PID: its pid, for CPU per request and RSS)
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
    NCSL_ADMIN_KEY="bench_admin_$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
    export NCSL_ADMIN_KEY
    echo '{"Limits": {"RequestsPerSecond": 0}}' >"$tmp/config.json"
    build/release/src/http/ncsld --data-dir "$tmp/data" --listen 127.0.0.1:0 \
        --config "$tmp/config.json" >"$tmp/ncsld.out" 2>"$tmp/ncsld.err" &
    pid=$!
    for _ in $(seq 100); do [ -s "$tmp/data/ncsld.url" ] && break; sleep 0.1; done
    [ -s "$tmp/data/ncsld.url" ] || { cat "$tmp/ncsld.err" >&2; echo "ncsld did not start" >&2; exit 1; }
    NCSL_URL=$(cat "$tmp/data/ncsld.url")
fi
: "${NCSL_ADMIN_KEY:?set NCSL_ADMIN_KEY to the admin key of the server at NCSL_URL}"
exec_url=$NCSL_URL/api/v1/functions/execute-javascript
body=$(curl -s -X POST -H 'Content-Type: application/json' -H "Authorization: Bearer $NCSL_ADMIN_KEY" \
    --data "$BENCH_BODY" "$exec_url")
grep -q '"result":{"result":84}' <<<"$body" || { echo "unexpected answer: $body" >&2; exit 1; }
# A user and the canonical function, deployed once.
json_field() { python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][sys.argv[1]])' "$1"; }
user_key=$(curl -s -X POST -H 'Content-Type: application/json' -H "Authorization: Bearer $NCSL_ADMIN_KEY" \
    --data "{\"name\": \"bench-$$\"}" "$NCSL_URL/api/v1/users" | json_field apiKey)
code=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["code"])' "$BENCH_BODY")
fid=$(python3 -c 'import json,sys; print(json.dumps({"name": "canonical", "code": sys.argv[1]}))' "$code" |
    curl -s -X POST -H 'Content-Type: application/json' -H "Authorization: Bearer $user_key" \
        --data @- "$NCSL_URL/api/v1/functions" | json_field id)
invoke_url=$NCSL_URL/api/v1/functions/$fid/invoke
INVOKE_BODY='{"input": {"value": 42}}'
body=$(curl -s -X POST -H 'Content-Type: application/json' -H "Authorization: Bearer $user_key" \
    --data "$INVOKE_BODY" "$invoke_url")
grep -q '"result":{"result":84}' <<<"$body" || { echo "unexpected invoke answer: $body" >&2; exit 1; }

# run_wrk TARGET THREADS CONNS SECONDS
run_wrk() {
    if [ "$1" = execute ]; then
        BENCH_AUTH=$NCSL_ADMIN_KEY BENCH_BODY=$BENCH_BODY wrk -t"$2" -c"$3" -d"$4s" -s bench/post.lua "$exec_url"
    else
        BENCH_AUTH=$user_key BENCH_BODY=$INVOKE_BODY wrk -t"$2" -c"$3" -d"$4s" -s bench/post.lua "$invoke_url"
    fi
}

stat_pid=${pid:-${NCSL_PID:-}}
ticks() { [ -n "$stat_pid" ] && awk '{print $14 + $15}' "/proc/$stat_pid/stat" || echo 0; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "machine: $(nproc) cpus ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/Mem:/ {print $2}') GiB; $DURATION s x $REPS reps, medians"
run_wrk execute 2 16 1 >/dev/null # warm-up
run_wrk invoke 2 16 1 >/dev/null
printf '%-8s %-10s %10s %10s %10s %12s\n' target wrk req/s p50_ms p99_ms cpu_us/req
clk=$(getconf CLK_TCK)
for c in $CONCS; do
    t=${c%%:*} n=${c##*:}
    : >"$tmp/rows.execute"
    : >"$tmp/rows.invoke"
    for _ in $(seq "$REPS"); do
        for target in execute invoke; do # interleaved: both see the same machine noise
            t0=$(ticks)
            line=$(run_wrk "$target" "$t" "$n" "$DURATION" | grep '^RESULT')
            t1=$(ticks)
            reqs=$(sed 's/.*requests=\([0-9]*\).*/\1/' <<<"$line")
            cpu=$(awk -v a="$t0" -v b="$t1" -v r="$reqs" -v k="$clk" 'BEGIN { if (r > 0 && b > 0) printf "%.1f", (b - a) * 1e6 / k / r; else print "-" }')
            echo "$line cpu=$cpu" >>"$tmp/rows.$target"
        done
    done
    for target in execute invoke; do
        f=$tmp/rows.$target
        rps=$(sed 's/.*req_per_s=\([0-9.]*\).*/\1/' "$f" | median)
        p50=$(sed 's/.*p50_ms=\([0-9.]*\).*/\1/' "$f" | median)
        p99=$(sed 's/.*p99_ms=\([0-9.]*\).*/\1/' "$f" | median)
        cpu=$(sed 's/.*cpu=\([0-9.-]*\).*/\1/' "$f" | median)
        errs=$(sed 's/.*errors=\([0-9]*\).*/\1/' "$f" | awk '{s += $1} END {print s + 0}')
        printf '%-8s %-10s %10s %10s %10s %12s   (errors: %s)\n' "$target" "-t$t -c$n" "$rps" "$p50" "$p99" "$cpu" "$errs"
    done
done
if [ -n "$stat_pid" ]; then
    echo "ncsld RSS after the runs: $(awk '/VmRSS/ {print $2 " kB"}' "/proc/$stat_pid/status")"
fi
