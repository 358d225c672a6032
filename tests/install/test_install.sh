#!/usr/bin/env bash
# Installs libncsl with `cmake --install` into a temporary prefix, then builds examples/embed.c
# against it using only pkg-config, as an embedding application would, and runs it.
set -euo pipefail
build_dir=$1
src_dir=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build_dir" --prefix "$tmp/prefix" >/dev/null
test -f "$tmp/prefix/include/ncsl/ncsl.h"
pc_dir=$(dirname "$(find "$tmp/prefix" -name ncsl.pc | head -n1)")
export PKG_CONFIG_PATH=$pc_dir
cc -std=c17 -Wall -Werror "$src_dir/examples/embed.c" $(pkg-config --cflags --libs ncsl) \
    ${NCSL_EXTRA_LDFLAGS:-} -o "$tmp/embed"
out=$("$tmp/embed")
echo "$out"
grep -q '^result: {"result":84,"keyLength":14}$' <<<"$out"
grep -q '"message":"doubling 42"' <<<"$out"
echo "install test: 1 passed, 0 failed"
