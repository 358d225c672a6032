#!/usr/bin/env bash
# Builds and runs the whole test suite: unit (cmocka), JS behaviour files, end-to-end (ncsld over
# HTTP on 127.0.0.1), first in the debug build, then again in the ASan+UBSan build (LeakSanitizer
# on). On a fresh Debian 12 machine it first installs what it needs (scripts/bootstrap.sh).
#
# Then every fuzz target runs briefly under ASan+UBSan (clang/libFuzzer; tests/fuzz/README.md
# says how to run them longer).
#
#   ./test.sh            everything
#   ./test.sh debug      only the debug build's tests (quicker)
#   ./test.sh asan-ubsan only the sanitizer build's tests
#
# NCSL_FUZZ_SECONDS=N    seconds per fuzz target in the full run (default 10; 0 skips fuzzing)
set -euo pipefail
cd "$(dirname "$0")"
presets=${1:-"debug asan-ubsan"}
jobs=$(nproc 2>/dev/null || echo 2)

scripts/bootstrap.sh >/dev/null
echo "=== format (clang-format 15)"
scripts/format.sh --check
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# The release build is what ./run.sh starts: build it too (some warnings appear only at -O3).
if [ "$presets" = "debug asan-ubsan" ]; then
    NCSL_QJS_ROOT=$(scripts/bootstrap.sh --print-prefix release 2>/dev/null | tail -n1)
    export NCSL_QJS_ROOT
    echo "=== release: build"
    cmake --preset release >/dev/null
    cmake --build --preset release
fi

failed=0
for p in $presets; do
    case "$p" in
    debug) variant=release ;;
    asan-ubsan) variant=asan ;;
    *) echo "test.sh: unknown preset '$p' (debug or asan-ubsan)" >&2; exit 2 ;;
    esac
    NCSL_QJS_ROOT=$(scripts/bootstrap.sh --print-prefix "$variant" 2>/dev/null | tail -n1)
    export NCSL_QJS_ROOT
    echo "=== $p: build"
    cmake --preset "$p" >/dev/null
    cmake --build --preset "$p"
    echo "=== $p: tests"
    if ! ctest --preset "$p" -j "$jobs" --timeout 900; then
        failed=1
    fi
done
if [ "$presets" = "debug asan-ubsan" ] && [ "${NCSL_FUZZ_SECONDS:-10}" != 0 ]; then
    echo "=== fuzz: ${NCSL_FUZZ_SECONDS:-10} s per target (ASan+UBSan)"
    if ! tests/fuzz/run.sh "${NCSL_FUZZ_SECONDS:-10}"; then
        failed=1
    fi
fi
exit $failed
