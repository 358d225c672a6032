#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, -DNCSL_FUZZ=ON, in build/fuzz) and fuzzes each one for a
# while on a writable copy of its seed corpus. Installs nothing: scripts/bootstrap.sh installs
# clang and libclang-rt-14-dev.
#
#   tests/fuzz/run.sh [SECONDS_PER_TARGET (default 60)] [TARGET...]   (default: every target)
#
# Prints, per target, the executions (libFuzzer's stat::number_of_executed_units), the coverage
# (`cov:` of the last status line) and the crashes (crash/leak/timeout/oom files libFuzzer wrote,
# with their paths). Exits 1 when any target found something, 2 on a usage or build error.
#
# Environment:
#   NCSL_FUZZ_JOBS=N       fuzz N targets at a time [1]
#   NCSL_FUZZ_BUILD_DIR    build folder [build/fuzz]
#   NCSL_FUZZ_CFLAGS       extra compiler flags for the whole fuzz build (e.g. -Wno-error)
#   NCSL_FUZZ_ARGS         extra libFuzzer flags for every target (e.g. "-jobs=4 -workers=4")
#
# Files: build/fuzz/corpus/<name>/ (seeds + what the fuzzer found; kept between runs),
# build/fuzz/artifacts/<name>/ (crashes of the last run), build/fuzz/logs/<name>.log.
set -euo pipefail
cd "$(dirname "$0")/../.."

ALL=(http_body config quote unseal secrets_json js platform proof receipt collateral)
secs=${1:-60}
if [ $# -gt 0 ]; then shift; fi
case "$secs" in '' | *[!0-9]*) echo "run.sh: SECONDS must be a number, got '$secs'" >&2; exit 2 ;; esac
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${ALL[@]}")
for t in "${targets[@]}"; do
    [ -f "tests/fuzz/fuzz_$t.c" ] || { echo "run.sh: unknown target '$t' (${ALL[*]})" >&2; exit 2; }
done
jobs=${NCSL_FUZZ_JOBS:-1}
B=${NCSL_FUZZ_BUILD_DIR:-build/fuzz}

command -v clang >/dev/null || { echo "run.sh: clang is missing (scripts/bootstrap.sh installs it)" >&2; exit 2; }
# The RELEASE QuickJS-ng: the asan variant is gcc-instrumented and does not link with clang's
# ASan runtime. NCSL_NO_APT=1: this script installs nothing.
qjs=$(NCSL_NO_APT=1 scripts/bootstrap.sh --print-prefix release 2>/dev/null | tail -n1) ||
    { echo "run.sh: QuickJS-ng is not built: run scripts/bootstrap.sh" >&2; exit 2; }

# Every library is built with coverage and sanitizers; only fuzz_<name> links libFuzzer itself
# (tests/fuzz/CMakeLists.txt adds -fsanitize=fuzzer to those).
cflags="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all"
cflags+=" -fno-omit-frame-pointer -g"
cflags+=" ${NCSL_FUZZ_CFLAGS:-}"
echo "=== configure $B (clang, NCSL_FUZZ=ON)"
cmake -S . -B "$B" -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_FLAGS="$cflags" -DNCSL_FUZZ=ON -DNCSL_SANITIZE=OFF -DQJS_ROOT="$qjs" >/dev/null ||
    { echo "run.sh: cmake configure failed" >&2; exit 2; }
echo "=== build"
cmake --build "$B" --target "${targets[@]/#/fuzz_}" || { echo "run.sh: build failed" >&2; exit 2; }

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

fuzz_one() { # $1 = target; writes $B/logs/$1.log and $B/logs/$1.rc
    local t=$1 corpus=$B/corpus/$1 art=$B/artifacts/$1 log=$B/logs/$1.log dict rc=0
    mkdir -p "$corpus" "$B/logs"
    rm -rf "$art"
    mkdir -p "$art"
    cp -n tests/fuzz/corpus/"$t"/* "$corpus"/ 2>/dev/null || true
    chmod -R u+w "$corpus"
    dict=()
    [ -f "tests/fuzz/dict/$t.dict" ] && dict=(-dict="tests/fuzz/dict/$t.dict")
    # shellcheck disable=SC2086 # NCSL_FUZZ_ARGS is a list of flags
    "$B/tests/fuzz/fuzz_$t" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 \
        -print_final_stats=1 -artifact_prefix="$art/" "${dict[@]}" ${NCSL_FUZZ_ARGS:-} \
        "$corpus" >"$log" 2>&1 || rc=$?
    echo "$rc" >"$B/logs/$t.rc"
}

echo "=== fuzzing ${targets[*]}: ${secs}s each, $jobs at a time (logs in $B/logs)"
running=0
for t in "${targets[@]}"; do
    if [ "$running" -ge "$jobs" ]; then
        wait -n || true
        running=$((running - 1))
    fi
    echo "--- $t"
    fuzz_one "$t" &
    running=$((running + 1))
done
wait || true

status=0
printf '\n%-14s %14s %8s %8s  %s\n' target executions cov crashes "exit"
for t in "${targets[@]}"; do
    log=$B/logs/$t.log
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -n1 | awk '{print $2}')
    cov=$(grep -oE ' cov: [0-9]+' "$log" | tail -n1 | awk '{print $2}')
    found=$(find "$B/artifacts/$t" -type f | wc -l)
    rc=$(cat "$B/logs/$t.rc" 2>/dev/null || echo '?')
    printf '%-14s %14s %8s %8s  %s\n' "$t" "${execs:-?}" "${cov:-?}" "$found" "$rc"
    if [ "$found" -gt 0 ] || [ "$rc" != 0 ]; then
        status=1
    fi
done
for t in "${targets[@]}"; do
    found=$(find "$B/artifacts/$t" -type f | sort)
    rc=$(cat "$B/logs/$t.rc" 2>/dev/null || echo '?')
    if [ -n "$found" ] || [ "$rc" != 0 ]; then
        echo
        echo "=== $t FOUND A PROBLEM (exit $rc; log: $B/logs/$t.log)"
        grep -m1 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|fuzz contract broken' \
            "$B/logs/$t.log" || true
        grep -E '^ *#[0-9]+ 0x' "$B/logs/$t.log" | head -n 8 || true
        for f in $found; do
            echo "crash file: $f"
            echo "  replay: $B/tests/fuzz/fuzz_$t $f"
        done
    fi
done
exit $status
