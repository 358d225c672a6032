#!/usr/bin/env bash
# Builds everything (release preset) and starts ncsld on its embedded default: simulation TEE,
# data dir ./ncsl-data, 127.0.0.1:8080. Extra arguments go to ncsld (try --help).
# On a fresh Debian 12 machine it first installs what it needs (scripts/bootstrap.sh).
set -euo pipefail
cd "$(dirname "$0")"
NCSL_QJS_ROOT=$(scripts/bootstrap.sh --print-prefix release | tail -n1)
export NCSL_QJS_ROOT
cmake --preset release >/dev/null
cmake --build --preset release
exec build/release/src/http/ncsld --data-dir ./ncsl-data "$@"
