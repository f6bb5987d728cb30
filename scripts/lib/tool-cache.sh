# shellcheck shell=bash
# Shared by the scripts/ensure-*.sh tool installers; source it, do not run it.
#
# Every pinned tool lives in its own cache entry,
#   ${XDG_CACHE_HOME:-$HOME/.cache}/platform-databases/<tool>-<version>/
# that is built or unpacked in a temp dir beside it and moved into place only
# once complete and checked, so an interrupted build never leaves a half tool
# behind. Concurrent callers (parallel make, two terminals) are serialised with
# flock on <cache>/.<tool>-<version>.lock; the one that waited reuses the result.
#
# The caller defines `log` (progress to stderr) before sourcing this file.

# The cache root every installer shares.
# shellcheck disable=SC2034  # used by the scripts that source this file
TOOL_CACHE_ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/platform-databases"

# load_pins <versions.env> <VAR>...: source the pins file, but a VAR already
# set (non-empty) in the environment wins over the file's value.
load_pins() {
  local file="$1" var
  shift
  local -A keep=()
  for var in "$@"; do
    [[ -n "${!var-}" ]] && keep[$var]="${!var}"
  done
  if [[ -f "$file" ]]; then
    # shellcheck source=/dev/null
    . "$file"
  fi
  for var in "${!keep[@]}"; do
    printf -v "$var" '%s' "${keep[$var]}"
  done
}

# require_tools <why> <command>...: exit with a message naming the first missing one.
require_tools() {
  local why="$1" tool
  shift
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || { log "$tool is required $why"; exit 1; }
  done
}

# output_of <command>...: what a freshly built tool prints (stdout and stderr),
# read whole, for the check that it runs; its exit status is not the check.
# Never `tool | head -n1` or `tool | grep -q` for this under pipefail: the
# reader may stop before the tool has written everything, the tool then dies
# of SIGPIPE and a good build fails its check.
output_of() {
  "$@" 2>&1 || true
}

# build_into <dest> <relative path> <builder>: unless <dest>/<relative path> is
# already executable, run `<builder> <tmp>` under the entry's lock; the builder
# must leave the complete entry in <tmp>/out, which then replaces <dest>.
build_into() {
  local dest="$1" rel="$2" builder="$3"
  [[ -x "$dest/$rel" ]] && return 0
  require_tools "to serialise tool installs" flock
  mkdir -p "$(dirname "$dest")"
  (
    exec 9>"$(dirname "$dest")/.$(basename "$dest").lock"
    log "waiting for the lock on $(basename "$dest")"
    flock 9
    [[ -x "$dest/$rel" ]] && exit 0      # another process finished while we waited
    # We hold the lock, so temp dirs left by a killed earlier run are stale.
    rm -rf "$dest.tmp."*
    tmp="$(mktemp -d "$dest.tmp.XXXXXX")"
    trap 'rm -rf "$tmp"' EXIT
    trap 'exit 130' INT TERM HUP
    "$builder" "$tmp"
    [[ -x "$tmp/out/$rel" ]] || { log "$builder produced no $rel"; exit 1; }
    rm -rf "$dest"                       # only a leftover without the tool can be here
    mv "$tmp/out" "$dest"
    log "installed $dest/$rel"
  )
}

# go_install_into <tmp> <module@version> [go install flags...]: builds a static
# binary into <tmp>/bin with the installed Go (GOTOOLCHAIN=local: never fetch
# another toolchain; -buildvcs=false: a module build has nothing to stamp).
go_install_into() {
  local tmp="$1" target="$2"
  shift 2
  require_tools "to build $target" go
  log "building $target with $(go version | cut -d' ' -f3) (minutes on first use)"
  local start=$SECONDS
  GOBIN="$tmp/bin" CGO_ENABLED="${CGO_ENABLED:-0}" GOFLAGS="${GOFLAGS:--buildvcs=false}" \
    GOTOOLCHAIN="${GOTOOLCHAIN:-local}" go install "$@" "$target" >&2
  log "built in $((SECONDS - start))s"
}
