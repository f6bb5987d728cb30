#!/usr/bin/env bash
# Provide a pinned OpenFGA server binary, built from its Go module and cached.
#
#   scripts/ensure-openfga.sh            -> last stdout line: path of the openfga binary
#
# Version:  OPENFGA_VERSION (tools/versions.env; a value in the environment wins).
# Cache:    ${XDG_CACHE_HOME:-$HOME/.cache}/platform-databases/openfga-<ver>/openfga
# Built in a temp dir next to its cache entry and moved into place only once
# it runs; concurrent callers are serialised (scripts/lib/tool-cache.sh).
# Progress goes to stderr; stdout carries only the binary path.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
log() { printf 'ensure-openfga: %s\n' "$*" >&2; }
# shellcheck source=lib/tool-cache.sh
. "$here/lib/tool-cache.sh"
load_pins "$here/../tools/versions.env" OPENFGA_VERSION
: "${OPENFGA_VERSION:?tools/versions.env does not set OPENFGA_VERSION}"
version="${OPENFGA_VERSION#v}"
module="github.com/openfga/openfga/cmd/openfga"
dest="$TOOL_CACHE_ROOT/openfga-$version"

build_openfga() {
  local tmp="$1"
  # The version is stamped as OpenFGA's release builds do (`openfga version`).
  go_install_into "$tmp" "$module@v$version" \
    -ldflags "-X github.com/openfga/openfga/internal/build.Version=v$version"
  "$tmp/bin/openfga" version >&2 || { log "built binary does not run"; exit 1; }
  mkdir -p "$tmp/out"
  mv "$tmp/bin/openfga" "$tmp/out/openfga"
}

build_into "$dest" openfga build_openfga
printf '%s\n' "$dest/openfga"
