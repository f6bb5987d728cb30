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
# (scripts/lib/tool-cache.sh). Built with the `remove_all_sd` tag: promtool
# then links no service-discovery SDKs (not needed to check and test rule
# files), which halves the build. Progress goes to stderr.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
log() { printf 'ensure-promtool: %s\n' "$*" >&2; }
# shellcheck source=lib/tool-cache.sh
. "$here/lib/tool-cache.sh"
load_pins "$here/../tools/versions.env" PROMTOOL_VERSION
: "${PROMTOOL_VERSION:?tools/versions.env does not set PROMTOOL_VERSION}"
version="${PROMTOOL_VERSION#v}"
module="github.com/prometheus/prometheus/cmd/promtool"
dest="$TOOL_CACHE_ROOT/promtool-$version"

# 3.16.0 -> v0.316.0 (Prometheus tags its Go module 0.<major><minor, two digits>.<patch>).
if [[ ! "$version" =~ ^([0-9]+)\.([0-9]+)\.([0-9]+)$ ]]; then
  log "PROMTOOL_VERSION \"$PROMTOOL_VERSION\" is not a release number like 3.16.0"
  exit 1
fi
module_version="$(printf 'v0.%d%02d.%d' "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}" "${BASH_REMATCH[3]}")"

build_promtool() {
  local tmp="$1" got
  # The version is stamped as Prometheus's own release builds do, so that
  # `promtool --version` tells which one this is.
  go_install_into "$tmp" "$module@$module_version" -tags remove_all_sd \
    -ldflags "-X github.com/prometheus/common/version.Version=$version"
  got="$(output_of "$tmp/bin/promtool" --version)"
  got="${got%%$'\n'*}"
  [[ "$got" == "promtool, version $version "* ]] \
    || { log "built promtool reports '$got', expected version $version"; exit 1; }
  mkdir -p "$tmp/out"
  mv "$tmp/bin/promtool" "$tmp/out/promtool"
}

build_into "$dest" promtool build_promtool
printf '%s\n' "$dest/promtool"
