#!/usr/bin/env bash
# Prints a directory holding a supported `node` (major >= NODE_MIN_MAJOR) on its
# last stdout line. Uses the machine's node when it is new enough; otherwise
# installs the pinned NODE_VERSION from the npm registry (package `node`, which
# carries the real binary) into the cache and reuses it afterwards.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=../tools/versions.env
. "$here/tools/versions.env"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/platform-databases"

if command -v node >/dev/null 2>&1; then
  major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
  if [ "$major" -ge "$NODE_MIN_MAJOR" ]; then
    dirname "$(command -v node)"
    exit 0
  fi
fi

dest="$cache/node-$NODE_VERSION"
bin="$dest/node_modules/node/bin"
if [ ! -x "$bin/node" ] || [ "$("$bin/node" --version 2>/dev/null)" != "v$NODE_VERSION" ]; then
  mkdir -p "$cache"
  exec 9>"$cache/.node.lock"
  flock 9
  if [ ! -x "$bin/node" ]; then
    echo "==> machine node is $(node --version 2>/dev/null || echo absent); installing node $NODE_VERSION into $dest" >&2
    tmp="$(mktemp -d "$cache/.node-XXXXXX")"
    npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$tmp" "node@$NODE_VERSION" >&2
    "$tmp/node_modules/node/bin/node" --version >/dev/null
    rm -rf "$dest"
    mv "$tmp" "$dest"
  fi
fi
echo "$bin"
