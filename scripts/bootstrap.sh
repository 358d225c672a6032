#!/usr/bin/env bash
# Prepares a Debian 12 machine to build NCSL:
#   1. installs the Debian build dependencies (apt-get, only what is missing), node and npm when
#      missing, and the pinned npm packages of the interop test (npm ci, when they changed);
#   2. provides QuickJS-ng as a static library, built from the upstream tarball of Debian's
#      `quickjs-ng` source package (Debian 12 has none, so it comes from a newer suite).
#
# QuickJS-ng is fetched through a private apt setup (sources list, parts dir and lists in a cache
# folder), so the machine's own apt configuration is never touched. The archive address is read
# from this machine's apt configuration. apt verifies the suites' signed Release files; we then
# check the tarball against the SHA-256 that the signed Sources index gives for it, and refuse
# anything else. The verified tarball and the built library are cached per user, keyed by that
# SHA-256, so a second run (even from a fresh clone) neither refetches nor rebuilds.
#
# Usage: scripts/bootstrap.sh [--print-prefix release|asan]
#   With --print-prefix, prints the install prefix of that QuickJS-ng build (include/, lib/) on
#   stdout as its last line; everything else goes to stderr.
#
# Environment:
#   NCSL_CACHE_DIR   cache folder [${XDG_CACHE_HOME:-$HOME/.cache}/ncsl]
#   NCSL_NO_APT=1    never call apt-get install (fail if something is missing)
set -euo pipefail

PREFERRED_UPSTREAM=0.16.2
PREFERRED_SHA256=6ee0c983477c9b145909d873ed1a57422001927f7706b63859abf8e816d2d88c
MIN_UPSTREAM=0.16
SUITES="trixie-backports forky sid"

CACHE=${NCSL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ncsl}
QJS_CACHE=$CACHE/quickjs-ng
variant=""

log() { printf 'bootstrap: %s\n' "$*" >&2; }
die() { printf 'bootstrap: error: %s\n' "$*" >&2; exit 1; }

while [ $# -gt 0 ]; do
    case "$1" in
    --print-prefix) variant=${2:-}; shift 2 || die "--print-prefix needs release or asan" ;;
    -h | --help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option: $1" ;;
    esac
done
case "$variant" in "" | release | asan) ;; *) die "--print-prefix takes release or asan" ;; esac

# ------------------------------------------------------------------ 1. Debian packages
# Header packages we build against, the tools that build and test, and the e2e test client.
PKGS=(build-essential cmake ninja-build pkg-config ca-certificates curl
    libssl-dev libjansson-dev libmicrohttpd-dev libcmocka-dev libsqlite3-dev libcurl4-openssl-dev
    python3 wrk valgrind clang-format-15 clang libclang-rt-14-dev)

missing=()
for p in "${PKGS[@]}"; do
    st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [ "$st" = "install ok installed" ] || missing+=("$p")
done
# node and npm run the Neo N3 interop test (tests/interop); Debian's packages only when the
# machine has no node of its own (one from elsewhere is kept).
if ! command -v node >/dev/null 2>&1; then
    missing+=(nodejs npm)
elif ! command -v npm >/dev/null 2>&1; then
    missing+=(npm)
fi
if [ ${#missing[@]} -gt 0 ]; then
    [ "${NCSL_NO_APT:-0}" = 1 ] && die "missing Debian packages: ${missing[*]} (NCSL_NO_APT=1)"
    [ "$(id -u)" = 0 ] || die "missing Debian packages: ${missing[*]}; run as root or: sudo apt-get install ${missing[*]}"
    log "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 || die "apt-get update failed"
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 ||
        die "apt-get install ${missing[*]} failed"
fi

# ------------------------------------------------------------------ 1b. npm packages of the tests
# tests/interop pins its npm packages in package-lock.json; `npm ci` installs exactly those into
# tests/interop/node_modules, from npm's configured registry, only when node_modules is missing or
# the lock file changed since (a stamp holds the lock file's SHA-256). npm's own cache makes a
# reinstall cheap.
ROOT=$(cd "$(dirname "$0")/.." && pwd)
interop=$ROOT/tests/interop
if [ -f "$interop/package-lock.json" ]; then
    command -v npm >/dev/null 2>&1 || die "npm not found (needed by tests/interop)"
    lock_sha=$(sha256sum "$interop/package-lock.json" | cut -d' ' -f1)
    stamp=$interop/node_modules/.ncsl-lock-sha256
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_sha" ]; then
        log "installing the npm packages of tests/interop (npm ci)"
        (cd "$interop" && npm ci --prefer-offline --no-audit --no-fund >&2) ||
            die "npm ci in tests/interop failed"
        echo "$lock_sha" >"$stamp"
    fi
fi

# ------------------------------------------------------------------ 2. QuickJS-ng source
# A cache entry is complete when its tarball exists and its SHA-256 matches the folder name.
entry_ok() { # $1 = sha dir
    local d=$1 tgz
    [ -f "$d/VERSION" ] || return 1
    tgz=$(ls "$d"/*.orig.tar.* 2>/dev/null | head -n1)
    [ -n "$tgz" ] && [ "$(sha256sum "$tgz" | cut -d' ' -f1)" = "$(basename "$d")" ]
}

# The archive address of this machine's Debian suites, read from its own apt configuration
# (one-line .list files and deb822 .sources files). The security archive is skipped.
archive_uri() {
    local codename
    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
    [ -n "$codename" ] || die "cannot read VERSION_CODENAME from /etc/os-release"
    {
        cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
            awk -v c="$codename" '$1 ~ /^deb(-src)?$/ {
                i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
                if ($(i + 1) == c) print $i }'
        for f in /etc/apt/sources.list.d/*.sources; do
            [ -f "$f" ] || continue
            awk -v c="$codename" '
                function flush() { if (ok && uri != "") print uri; uri = ""; ok = 0 }
                /^[ \t]*$/ { flush(); next }
                tolower($1) == "uris:" { uri = $2 }
                tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == c) ok = 1 }
                END { flush() }' "$f"
        done
    } | grep -v -- '-security' | head -n1
}

keyring() {
    local k
    for k in /usr/share/keyrings/debian-archive-keyring.gpg /etc/apt/trusted.gpg.d/debian-archive-keyring.gpg; do
        [ -f "$k" ] && { echo "$k"; return; }
    done
    die "no Debian archive keyring found (install debian-archive-keyring)"
}

fetch_source() {
    local uri apt_dir key aptq v line url file sha vers upstream chosen="" tmp
    uri=$(archive_uri)
    [ -n "$uri" ] || die "no Debian archive address found in this machine's apt configuration"
    key=$(keyring)
    apt_dir=$QJS_CACHE/apt
    mkdir -p "$apt_dir/lists/partial" "$apt_dir/parts" "$apt_dir/cache/archives/partial"
    : >"$apt_dir/sources.list"
    for s in $SUITES; do
        echo "deb-src [signed-by=$key] $uri $s main" >>"$apt_dir/sources.list"
    done
    aptq=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o "Dir::Etc::SourceParts=$apt_dir/parts"
        -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
        -o "Dir::State::Status=/var/lib/dpkg/status" -o "APT::Sandbox::User=root")
    log "reading signed source indexes for: $SUITES"
    apt-get "${aptq[@]}" -qq update >&2 || die "apt-get update of the private source lists failed"
    vers=$(apt-cache "${aptq[@]}" showsrc quickjs-ng 2>/dev/null | awk '/^Version:/ {print $2}' | sort -u)
    [ -n "$vers" ] || die "no quickjs-ng source package found in: $SUITES"
    # Preferred upstream version first, then every version >= MIN_UPSTREAM, newest first.
    ordered=$( (
        for v in $vers; do [ "${v%%-*}" = "$PREFERRED_UPSTREAM" ] && echo "$v"; done
        for v in $vers; do
            upstream=${v%%-*}
            [ "$upstream" = "$PREFERRED_UPSTREAM" ] && continue
            dpkg --compare-versions "$upstream" ge "$MIN_UPSTREAM" && echo "$v"
        done | sort -r -V
    ) | awk '!seen[$0]++')
    [ -n "$ordered" ] || die "no quickjs-ng version >= $MIN_UPSTREAM in: $vers"
    tmp=$(mktemp -d "$QJS_CACHE/dl.XXXXXX")
    for v in $ordered; do
        line=$(apt-get "${aptq[@]}" --print-uris source "quickjs-ng=$v" 2>/dev/null | grep "\.orig\.tar\." | head -n1 || true)
        [ -n "$line" ] || { log "quickjs-ng $v: no upstream tarball listed"; continue; }
        url=$(echo "$line" | awk '{print $1}' | tr -d "'")
        file=$(echo "$line" | awk '{print $2}')
        sha=$(echo "$line" | awk '{print $4}' | sed 's/^SHA256://')
        [ ${#sha} = 64 ] || { log "quickjs-ng $v: the index gives no SHA-256 for $file"; continue; }
        if entry_ok "$QJS_CACHE/$sha"; then chosen="$sha"; break; fi
        log "downloading $file (quickjs-ng $v)"
        rm -f "$tmp/$file"
        if ! /usr/lib/apt/apt-helper -o APT::Sandbox::User=root download-file "$url" "$tmp/$file" >&2 2>&1; then
            log "quickjs-ng $v: download failed; trying the next version"
            continue
        fi
        got=$(sha256sum "$tmp/$file" | cut -d' ' -f1)
        if [ "$got" != "$sha" ]; then
            rm -rf "$tmp"
            die "checksum mismatch for $file: signed index says $sha, downloaded file is $got"
        fi
        mkdir -p "$QJS_CACHE/$sha.part"
        mv "$tmp/$file" "$QJS_CACHE/$sha.part/$file"
        echo "${v%%-*} (Debian $v)" >"$QJS_CACHE/$sha.part/VERSION"
        rm -rf "$QJS_CACHE/$sha"
        mv "$QJS_CACHE/$sha.part" "$QJS_CACHE/$sha"
        chosen=$sha
        break
    done
    rm -rf "$tmp"
    [ -n "$chosen" ] || die "could not download any quickjs-ng source >= $MIN_UPSTREAM (tried: $(echo $ordered))"
    echo "$chosen" >"$QJS_CACHE/current"
    echo "$chosen"
}

mkdir -p "$QJS_CACHE"
sha=""
if entry_ok "$QJS_CACHE/$PREFERRED_SHA256"; then
    sha=$PREFERRED_SHA256
elif [ -f "$QJS_CACHE/current" ] && entry_ok "$QJS_CACHE/$(cat "$QJS_CACHE/current")"; then
    sha=$(cat "$QJS_CACHE/current")
else
    sha=$(fetch_source)
fi
entry=$QJS_CACHE/$sha
log "QuickJS-ng $(cat "$entry/VERSION"), source SHA-256 $sha"

# ------------------------------------------------------------------ 3. build libqjs
build_variant() { # $1 = release|asan; prints the install prefix
    local v=$1 prefix=$entry/$1 src bld flags=()
    if [ -f "$prefix/lib/libqjs.a" ] && [ -f "$prefix/include/quickjs.h" ]; then
        echo "$prefix"
        return
    fi
    log "building QuickJS-ng ($v)"
    src=$(mktemp -d "$entry/src.XXXXXX")
    tar -xf "$entry"/*.orig.tar.* -C "$src" --strip-components=1 || die "cannot unpack the quickjs-ng tarball"
    bld=$src/_build
    flags=(-DCMAKE_BUILD_TYPE=Release -DCMAKE_POSITION_INDEPENDENT_CODE=ON -DBUILD_SHARED_LIBS=OFF
        -DQJS_BUILD_LIBC=OFF -DQJS_BUILD_EXAMPLES=OFF -DQJS_ENABLE_INSTALL=OFF)
    if [ "$v" = asan ]; then
        flags[0]=-DCMAKE_BUILD_TYPE=RelWithDebInfo # debug info for sanitizer reports
        flags+=(-DQJS_ENABLE_ASAN=ON -DQJS_ENABLE_UBSAN=ON)
    fi
    cmake -S "$src" -B "$bld" -G Ninja "${flags[@]}" >&2 || die "cmake configure of quickjs-ng failed"
    cmake --build "$bld" --target qjs >&2 || die "build of quickjs-ng failed"
    rm -rf "$prefix.part"
    mkdir -p "$prefix.part/lib" "$prefix.part/include"
    cp "$bld/libqjs.a" "$prefix.part/lib/"
    cp "$src/quickjs.h" "$prefix.part/include/"
    cp "$entry/VERSION" "$prefix.part/VERSION"
    rm -rf "$src" "$prefix"
    mv "$prefix.part" "$prefix"
    echo "$prefix"
}

rel=$(build_variant release)
if [ "$variant" = asan ]; then
    asan=$(build_variant asan)
    echo "$asan"
elif [ "$variant" = release ]; then
    echo "$rel"
fi
