#!/usr/bin/env bash
# Provide the pinned fake-gcs-server (a Google Cloud Storage emulator: the JSON
# API, object retention), built from its Go module and cached. The backup tests
# upload to it and restore from it.
#
#   scripts/ensure-fake-gcs.sh        -> last stdout line: path of the fake-gcs-server binary
#
# Version: FAKE_GCS_VERSION in tools/versions.env (module github.com/fsouza/fake-gcs-server).
# Cache:   ${XDG_CACHE_HOME:-$HOME/.cache}/platform-databases/fake-gcs-server-<ver>/fake-gcs-server
# Built in a temp dir next to its cache entry and moved into place only once
# complete; concurrent callers are serialised (scripts/lib/tool-cache.sh).
# Progress goes to stderr.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
log() { printf 'ensure-fake-gcs: %s\n' "$*" >&2; }
# shellcheck source=lib/tool-cache.sh
. "$here/lib/tool-cache.sh"
load_pins "$here/../tools/versions.env" FAKE_GCS_VERSION
: "${FAKE_GCS_VERSION:?tools/versions.env does not set FAKE_GCS_VERSION}"
version="${FAKE_GCS_VERSION#v}"
dest="$TOOL_CACHE_ROOT/fake-gcs-server-$version"

build_fake_gcs() {
  local tmp="$1"
  go_install_into "$tmp" "github.com/fsouza/fake-gcs-server@v$version"
  # It has no --version flag: check that it starts far enough to print its usage.
  local usage
  usage="$(output_of "$tmp/bin/fake-gcs-server" -help)"
  grep -q -- "-backend" <<<"$usage" || { log "the built fake-gcs-server does not run: $usage"; exit 1; }
  mkdir -p "$tmp/out"
  mv "$tmp/bin/fake-gcs-server" "$tmp/out/fake-gcs-server"
}

build_into "$dest" fake-gcs-server build_fake_gcs
printf '%s\n' "$dest/fake-gcs-server"
