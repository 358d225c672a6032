#!/usr/bin/env bash
# Formats our C sources with clang-format 15 (pinned: its output changes between versions).
#   scripts/format.sh          rewrite files in place
#   scripts/format.sh --check  list files that are not formatted; exit 1 if any
set -euo pipefail
cd "$(dirname "$0")/.."
cf=${CLANG_FORMAT:-clang-format-15}
command -v "$cf" >/dev/null || { echo "format.sh: $cf is missing (scripts/bootstrap.sh installs it)" >&2; exit 2; }
mapfile -t files < <(git ls-files -co --exclude-standard -- '*.c' '*.h')
if [ "${1:-}" = "--check" ]; then
    bad=0
    for f in "${files[@]}"; do
        if ! "$cf" --style=file "$f" | cmp -s - "$f"; then
            echo "not formatted: $f (run scripts/format.sh)"
            bad=1
        fi
    done
    exit $bad
fi
"$cf" --style=file -i "${files[@]}"
