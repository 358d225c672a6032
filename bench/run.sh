#!/usr/bin/env bash
# Every NCSL benchmark in one command, on the release build (built here):
#   1. in process: ncsl_bench_inproc (a deployed function's call: fresh context built during the
#      call or ahead of it, with and without a receipt; the engine; compiling), ncsl_bench_receipt
#      (signing and verifying) and ncsl_bench_apis (the JS platform APIs);
#   2. ncsld start-up: exec to the first answered request on an existing data dir (startup.py);
#   3. HTTP: bench/http.sh against one ncsld (execute-javascript and invoke, wrk -t2 -c16 and
#      -t1 -c1, rounds interleaved; req/s, p50, p99, server CPU per request, RSS);
#   4. with PEERS=1, ../shared/bench/run-peers.sh against the same ncsld (NCSL_URL, NCSL_PID,
#      NCSL_KEY): execute-javascript in the same run as c-mhd, workerd and node-vm, then invoke in
#      the same run as workerd. It installs what it needs (wrk, nginx, workerd from npm) and keeps
#      its builds and results under build/bench-peers.
# The report goes to stdout and to bench/results/run-<UTC stamp>.txt.
#
#   bench/run.sh                  (about 2 minutes; PEERS=1 adds about 5)
#   QUICK=1 bench/run.sh          fewer and shorter repetitions (a smoke run, not for quoting)
#   PEER_LIST="c-mhd workerd node-vm"   which peers run with PEERS=1
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=$root/bench/results/run-$stamp.txt
mkdir -p "$root/bench/results"
if [ "${QUICK:-0}" = 1 ]; then
    reps=1 calls=2000 dur=2 http_reps=1 runs=3
else
    reps=5 calls=20000 dur=5 http_reps=3 runs=9
fi

pid=""
tmp=$(mktemp -d)
cleanup() {
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; fi
    rm -rf "$tmp"
}
trap cleanup EXIT

scripts/bootstrap.sh >/dev/null
NCSL_QJS_ROOT=$(scripts/bootstrap.sh --print-prefix release 2>/dev/null | tail -n1)
export NCSL_QJS_ROOT
cmake --preset release >/dev/null
cmake --build --preset release >/dev/null
bin=build/release

{
    echo "# bench/run.sh $stamp, ncsl $(git describe --always --dirty 2>/dev/null || echo '?')"
    echo "machine: $(nproc) cpus ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/Mem:/ {print $2}') GiB, load $(cut -d' ' -f1-3 /proc/loadavg)"
    echo
    echo "## in process"
    "$bin/bench/ncsl_bench_inproc" --calls "$calls" --reps "$reps"
    echo
    "$bin/bench/ncsl_bench_receipt" --runs $((calls / 4 + 1))
    echo
    "$bin/bench/ncsl_bench_apis" --reps "$reps"
} 2>&1 | tee "$out"

# one daemon for the start-up, HTTP and peer runs: rate limit off, a fresh admin key
NCSL_ADMIN_KEY="bench_admin_$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
export NCSL_ADMIN_KEY
echo '{"Limits": {"RequestsPerSecond": 0}}' >"$tmp/config.json"
start_ncsld() {
    rm -f "$tmp/data/ncsld.url"
    "$bin/src/http/ncsld" --data-dir "$tmp/data" --listen 127.0.0.1:0 \
        --config "$tmp/config.json" >"$tmp/ncsld.out" 2>"$tmp/ncsld.err" &
    pid=$!
    for _ in $(seq 100); do [ -s "$tmp/data/ncsld.url" ] && return 0; sleep 0.1; done
    cat "$tmp/ncsld.err" >&2
    echo "ncsld did not start" >&2
    exit 1
}
start_ncsld # creates the data dir (identity, admin key)
kill "$pid" && wait "$pid" 2>/dev/null || true
pid=""
{
    echo
    echo "## ncsld start-up"
    python3 bench/startup.py "$bin/src/http/ncsld" "$tmp/data" "$runs"
} 2>&1 | tee -a "$out"

start_ncsld
url=$(cat "$tmp/data/ncsld.url")
{
    echo
    echo "## HTTP (bench/http.sh)"
    NCSL_URL=$url NCSL_PID=$pid DURATION=$dur REPS=$http_reps bench/http.sh
} 2>&1 | tee -a "$out"

if [ "${PEERS:-0}" = 1 ]; then
    peers=$root/../shared/bench/run-peers.sh
    [ -x "$peers" ] || { echo "PEERS=1: $peers not found" | tee -a "$out" >&2; exit 1; }
    work=$root/build/bench-peers
    mkdir -p "$work"
    # the invoke target: a user and the canonical function, deployed once
    json_field() { python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][sys.argv[1]])' "$1"; }
    user_key=$(curl -s -X POST -H 'Content-Type: application/json' -H "Authorization: Bearer $NCSL_ADMIN_KEY" \
        --data '{"name": "bench-peers"}' "$url/api/v1/users" | json_field apiKey)
    fid=$(curl -s -X POST -H 'Content-Type: application/json' -H "Authorization: Bearer $user_key" \
        --data '{"name": "canonical", "code": "function main(input) { return { result: input.value * 2 }; }"}' \
        "$url/api/v1/functions" | json_field id)
    {
        echo
        echo "## peers, execute-javascript (../shared/bench/run-peers.sh, NCSL_URL)"
        BENCH_WORK=$work PEERS=${PEER_LIST:-"c-mhd workerd node-vm"} NCSL_LABEL=ncsld-execute \
            NCSL_URL=$url/api/v1/functions/execute-javascript NCSL_PID=$pid NCSL_KEY=$NCSL_ADMIN_KEY \
            "$peers"
        echo
        echo "## peers, invoke of the deployed function"
        BENCH_WORK=$work PEERS=workerd NCSL_LABEL=ncsld-invoke NCSL_URL=$url/api/v1/functions/$fid/invoke \
            NCSL_PID=$pid NCSL_KEY=$user_key NCSL_BODY='{"input": {"value": 42}}' "$peers"
    } 2>&1 | tee -a "$out"
fi
echo
echo "report: bench/results/$(basename "$out")"
