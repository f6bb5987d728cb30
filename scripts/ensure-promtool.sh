#!/usr/bin/env bash
# Provide the pinned promtool (Prometheus's rule checker and rule unit-test
# runner), built from its Go module and cached.
#
#   scripts/ensure-promtool.sh        -> last stdout line: path of the promtool binary
#
# Version: PROMTOOL_VERSION in tools/versions.env, the Prometheus release
#          (3.y.z); its Go module is tagged v0.3yy.z (3.16.0 -> v0.316.0).
# Cache:   ${XDG_CACHE_HOME:-$HOME/.cache}/platform-databases/promtool-<ver>/promtool
# Built in a temp dir next to its cache entry and moved into place only once
# it runs and reports the pinned version; concurrent callers are serialised
# with flock. Built with the `remove_all_sd` tag: promtool then links no
# service-discovery SDKs (not needed to check and test rule files), which
# halves the build. Progress goes to stderr.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=/dev/null
. "$here/tools/versions.env"
: "${PROMTOOL_VERSION:?tools/versions.env does not set PROMTOOL_VERSION}"
version="${PROMTOOL_VERSION#v}"
module="github.com/prometheus/prometheus/cmd/promtool"

log() { printf 'ensure-promtool: %s\n' "$*" >&2; }

# 3.16.0 -> v0.316.0 (Prometheus tags its Go module 0.<major><minor, two digits>.<patch>).
if [[ ! "$version" =~ ^([0-9]+)\.([0-9]+)\.([0-9]+)$ ]]; then
  log "PROMTOOL_VERSION \"$PROMTOOL_VERSION\" is not a release number like 3.16.0"
  exit 1
fi
module_version="$(printf 'v0.%d%02d.%d' "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}" "${BASH_REMATCH[3]}")"

cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/platform-databases"
dest="$cache_root/promtool-$version"
bin="$dest/promtool"

if [[ -x "$bin" ]]; then
  printf '%s\n' "$bin"
  exit 0
fi

command -v flock >/dev/null 2>&1 || { log "flock (util-linux) is required"; exit 1; }
command -v go >/dev/null 2>&1 || { log "go (>= 1.24) is required to build promtool $version"; exit 1; }
mkdir -p "$cache_root"
(
  exec 9>"$cache_root/.promtool-$version.lock"
  flock 9
  [[ -x "$bin" ]] && exit 0          # another process finished while we waited
  tmp="$(mktemp -d "$dest.tmp.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  log "building $module@$module_version with $(go version | cut -d' ' -f3) (takes minutes the first time)"
  # The version is stamped as Prometheus's own release builds do, so that
  # `promtool --version` tells which one this is.
  GOBIN="$tmp/bin" CGO_ENABLED=0 GOFLAGS="${GOFLAGS:--buildvcs=false}" \
    go install -tags remove_all_sd \
    -ldflags "-X github.com/prometheus/common/version.Version=$version" \
    "$module@$module_version" >&2
  got="$("$tmp/bin/promtool" --version 2>&1 | head -n1)"
  [[ "$got" == "promtool, version $version "* ]] \
    || { log "built promtool reports '$got', expected version $version"; exit 1; }
  mkdir -p "$tmp/out"
  mv "$tmp/bin/promtool" "$tmp/out/promtool"
  rm -rf "$dest"                     # only a leftover without a binary can be here
  mv "$tmp/out" "$dest"
  log "installed $bin"
)
printf '%s\n' "$bin"
