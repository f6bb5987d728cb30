#!/usr/bin/env bash
# Provide the pinned actionlint (GitHub Actions workflow linter), built from its
# Go module and cached.
#
#   scripts/ensure-actionlint.sh        -> last stdout line: path of the actionlint binary
#
# Version:  ACTIONLINT_VERSION from tools/versions.env.
# Cache:    ${XDG_CACHE_HOME:-$HOME/.cache}/platform-databases/actionlint-<ver>/actionlint
# The build goes into a temp dir next to the cache entry and is moved into place
# only when it runs; concurrent callers are serialised with flock. Progress goes
# to stderr; stdout carries only the binary path.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=../tools/versions.env
. "$here/tools/versions.env"
: "${ACTIONLINT_VERSION:?tools/versions.env does not set ACTIONLINT_VERSION}"
version="${ACTIONLINT_VERSION#v}"
module="github.com/rhysd/actionlint/cmd/actionlint"

log() { printf 'ensure-actionlint: %s\n' "$*" >&2; }

cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/platform-databases"
dest="$cache_root/actionlint-$version"
bin="$dest/actionlint"

if [[ -x "$bin" ]]; then
  printf '%s\n' "$bin"
  exit 0
fi

command -v go >/dev/null 2>&1 || { log "go is required to build actionlint $version (install Go >= 1.24)"; exit 1; }
command -v flock >/dev/null 2>&1 || { log "flock (util-linux) is required"; exit 1; }

mkdir -p "$cache_root"
exec 9>"$cache_root/.actionlint-$version.lock"
flock 9

# Another process may have finished the build while we waited.
if [[ -x "$bin" ]]; then
  printf '%s\n' "$bin"
  exit 0
fi

tmp="$(mktemp -d "$cache_root/.actionlint-$version.tmp.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

log "building $module@v$version with $(go version | cut -d' ' -f3)"
# -buildvcs=false: module build, nothing to stamp. CGO off: a static binary.
GOBIN="$tmp/bin" CGO_ENABLED=0 GOFLAGS="${GOFLAGS:--buildvcs=false}" \
  go install "$module@v$version" >&2

got="$("$tmp/bin/actionlint" -version 2>&1 | head -n1)"
[[ "$got" == "$version" || "$got" == "v$version" ]] || { log "built binary reports version '$got', expected $version"; exit 1; }

mkdir -p "$tmp/out"
mv "$tmp/bin/actionlint" "$tmp/out/actionlint"
rm -rf "$dest"          # only a leftover without a binary can be here
mv "$tmp/out" "$dest"
log "installed $bin"
printf '%s\n' "$bin"
