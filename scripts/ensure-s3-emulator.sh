#!/usr/bin/env bash
# Provide the pinned S3 emulator the backup tests upload to and restore from:
# moto's server (the S3 API with versioning and Object Lock, and STS, which
# answers AssumeRoleWithWebIdentity as EKS's IAM roles for service accounts
# do), installed from PyPI into a virtualenv and cached.
#
#   scripts/ensure-s3-emulator.sh     -> last stdout line: path of the moto_server program
#
# Pins:  tools/s3-emulator/requirements.txt (every package, exact versions, installed with --no-deps).
# Cache: ${XDG_CACHE_HOME:-$HOME/.cache}/platform-databases/s3-emulator-<moto version>-<hash of the pins>/
# Built in a temp dir next to its cache entry and moved into place only once
# complete; concurrent callers are serialised (scripts/lib/tool-cache.sh).
# A virtualenv records its own path, so it is created at its final path's
# name inside the temp dir and then checked where it lands.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
log() { printf 'ensure-s3-emulator: %s\n' "$*" >&2; }
# shellcheck source=lib/tool-cache.sh
. "$here/lib/tool-cache.sh"
pins="$here/../tools/s3-emulator/requirements.txt"
moto_version="$(sed -n 's/^moto==//p' "$pins")"
[[ -n "$moto_version" ]] || { log "$pins pins no moto version"; exit 1; }
hash="$(sha256sum "$pins" | cut -c1-12)"
dest="$TOOL_CACHE_ROOT/s3-emulator-$moto_version-$hash"

build_s3_emulator() {
  local tmp="$1" python usage
  python="$(command -v python3 || true)"
  [[ -n "$python" ]] || { log "python3 (with venv and pip) is required for the S3 emulator"; exit 1; }
  log "installing moto $moto_version into a virtualenv (under a minute on first use)"
  # Created where it will live: a virtualenv's scripts name their interpreter by path.
  # The finished entry replaces $dest, so this is the only build writing there (we hold the lock).
  rm -rf "$dest"
  "$python" -m venv "$dest" >&2
  "$dest/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -r "$pins" >&2
  usage="$(output_of "$dest/bin/moto_server" --help)"
  grep -q -- "--port" <<<"$usage" || { log "the installed moto_server does not run: $usage"; exit 1; }
  mv "$dest" "$tmp/out"
}

build_into "$dest" bin/moto_server build_s3_emulator
printf '%s\n' "$dest/bin/moto_server"
