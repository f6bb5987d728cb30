#!/usr/bin/env bash
# Provide a pinned OpenFGA server binary, built from its Go module and cached.
#
#   scripts/ensure-openfga.sh            -> last stdout line: path of the openfga binary
#
# Version:  OPENFGA_VERSION (default below; tools/versions.env is sourced if present).
# Cache:    ${XDG_CACHE_HOME:-$HOME/.cache}/platform-databases/openfga-<ver>/openfga
# The build goes into a temp dir next to the cache entry and is moved into place
# only when complete; concurrent callers are serialised with flock.
# Progress goes to stderr; stdout carries only the binary path.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# Pins come from tools/versions.env; a value already in the environment wins.
env_OPENFGA_VERSION="${OPENFGA_VERSION-}"
if [[ -f "$here/../tools/versions.env" ]]; then
  # shellcheck disable=SC1091
  . "$here/../tools/versions.env"
fi

OPENFGA_VERSION="${env_OPENFGA_VERSION:-${OPENFGA_VERSION:-1.22.1}}"
OPENFGA_VERSION="${OPENFGA_VERSION#v}"
module="github.com/openfga/openfga/cmd/openfga"

log() { printf 'ensure-openfga: %s\n' "$*" >&2; }

cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/platform-databases"
dest="$cache_root/openfga-$OPENFGA_VERSION"
bin="$dest/openfga"

if [[ -x "$bin" ]]; then
  printf '%s\n' "$bin"
  exit 0
fi

command -v go >/dev/null 2>&1 || { log "go is required to build OpenFGA $OPENFGA_VERSION"; exit 1; }
command -v flock >/dev/null 2>&1 || { log "flock (util-linux) is required"; exit 1; }

mkdir -p "$cache_root"
exec 9>"$cache_root/.openfga-$OPENFGA_VERSION.lock"
log "waiting for lock $cache_root/.openfga-$OPENFGA_VERSION.lock"
flock 9

# Another process may have finished while we waited.
if [[ -x "$bin" ]]; then
  printf '%s\n' "$bin"
  exit 0
fi

# We hold the lock, so temp dirs left by a killed earlier run are stale.
rm -rf "$cache_root/.openfga-$OPENFGA_VERSION.tmp."*
tmp="$(mktemp -d "$cache_root/.openfga-$OPENFGA_VERSION.tmp.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM HUP

log "building $module@v$OPENFGA_VERSION with $(go version) (this takes several minutes)"
start=$(date +%s)
# GOFLAGS=-buildvcs=false: no VCS stamping needed (module build); CGO off for a
# static binary; GOTOOLCHAIN=local: build with the installed Go, never fetch another.
GOBIN="$tmp/bin" CGO_ENABLED="${CGO_ENABLED:-0}" GOFLAGS="${GOFLAGS:--buildvcs=false}" \
  GOTOOLCHAIN="${GOTOOLCHAIN:-local}" \
  go install -ldflags "-X github.com/openfga/openfga/internal/build.Version=v$OPENFGA_VERSION" \
  "$module@v$OPENFGA_VERSION" >&2
log "built in $(( $(date +%s) - start ))s"

"$tmp/bin/openfga" version >&2 || { log "built binary does not run"; exit 1; }

mkdir -p "$tmp/out"
mv "$tmp/bin/openfga" "$tmp/out/openfga"
rm -rf "$dest"          # only a leftover without a binary can be here
mv "$tmp/out" "$dest"
log "installed $bin"
printf '%s\n' "$bin"
