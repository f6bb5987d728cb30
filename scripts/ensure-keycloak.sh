#!/usr/bin/env bash
# Provide a pinned Keycloak server distribution (Quarkus dist from the Maven
# repository, fetched with mvn) unpacked in the cache.
#
#   scripts/ensure-keycloak.sh           -> last stdout line: path of bin/kc.sh
#
# Version:  KEYCLOAK_VERSION (default below; tools/versions.env is sourced if present).
#           The default is the newest release available when this was written;
#           it was verified to start on Java 17 (see docs/real-services.md).
#           Keycloak deprecated Java 17 in 25 and plans to remove it: re-check
#           on Java 17 before bumping.
# Cache:    ${XDG_CACHE_HOME:-$HOME/.cache}/platform-databases/keycloak-<ver>/bin/kc.sh
# Download and unpack happen in a temp dir next to the cache entry, which is
# moved into place only when complete; concurrent callers are serialised with
# flock. Progress goes to stderr; stdout carries only the kc.sh path.
#
# mvn uses your normal settings (~/.m2/settings.xml: mirrors, proxies) and
# local repository; set KEYCLOAK_MAVEN_REPO_LOCAL to use another local repo.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# Pins come from tools/versions.env; a value already in the environment wins.
env_KEYCLOAK_VERSION="${KEYCLOAK_VERSION-}"
env_MAVEN_DEPENDENCY_PLUGIN_VERSION="${MAVEN_DEPENDENCY_PLUGIN_VERSION-}"
if [[ -f "$here/../tools/versions.env" ]]; then
  # shellcheck disable=SC1091
  . "$here/../tools/versions.env"
fi

KEYCLOAK_VERSION="${env_KEYCLOAK_VERSION:-${KEYCLOAK_VERSION:-26.7.3}}"
MAVEN_DEPENDENCY_PLUGIN_VERSION="${env_MAVEN_DEPENDENCY_PLUGIN_VERSION:-${MAVEN_DEPENDENCY_PLUGIN_VERSION:-3.8.1}}"
artifact="org.keycloak:keycloak-quarkus-dist:$KEYCLOAK_VERSION:tar.gz"

log() { printf 'ensure-keycloak: %s\n' "$*" >&2; }

cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/platform-databases"
dest="$cache_root/keycloak-$KEYCLOAK_VERSION"
kc="$dest/bin/kc.sh"

if [[ -x "$kc" ]]; then
  printf '%s\n' "$kc"
  exit 0
fi

for tool in mvn tar flock java; do
  command -v "$tool" >/dev/null 2>&1 || { log "$tool is required"; exit 1; }
done

mkdir -p "$cache_root"
exec 9>"$cache_root/.keycloak-$KEYCLOAK_VERSION.lock"
log "waiting for lock $cache_root/.keycloak-$KEYCLOAK_VERSION.lock"
flock 9

if [[ -x "$kc" ]]; then
  printf '%s\n' "$kc"
  exit 0
fi

# We hold the lock, so temp dirs left by a killed earlier run are stale.
rm -rf "$cache_root/.keycloak-$KEYCLOAK_VERSION.tmp."*
tmp="$(mktemp -d "$cache_root/.keycloak-$KEYCLOAK_VERSION.tmp.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM HUP

mvn_args=(-B -q -Dstyle.color=never)
if [[ -n "${KEYCLOAK_MAVEN_REPO_LOCAL:-}" ]]; then
  mvn_args+=("-Dmaven.repo.local=$KEYCLOAK_MAVEN_REPO_LOCAL")
fi

log "fetching $artifact with mvn (about 170 MB)"
start=$(date +%s)
# Run outside any project so no pom.xml is picked up.
(cd "$tmp" && mvn "${mvn_args[@]}" \
  "org.apache.maven.plugins:maven-dependency-plugin:$MAVEN_DEPENDENCY_PLUGIN_VERSION:copy" \
  "-Dartifact=$artifact" "-DoutputDirectory=$tmp/dl" -Dmdep.useBaseVersion=true) 2>&1 \
  | sed 's/\x1b\[[0-9;]*m//g' >&2   # mvn 3.8 prints colour resets even with -B
log "fetched in $(( $(date +%s) - start ))s"

archive="$(find "$tmp/dl" -maxdepth 1 -name "keycloak-quarkus-dist-$KEYCLOAK_VERSION*.tar.gz" | head -n1)"
[[ -n "$archive" ]] || { log "download produced no archive in $tmp/dl"; exit 1; }

log "unpacking $(basename "$archive")"
mkdir -p "$tmp/x"
tar -xzf "$archive" -C "$tmp/x"
top="$tmp/x/keycloak-$KEYCLOAK_VERSION"
[[ -x "$top/bin/kc.sh" ]] || { log "archive has no keycloak-$KEYCLOAK_VERSION/bin/kc.sh"; exit 1; }

# Fail here, not at first use, when the local Java cannot run this release.
log "checking that it runs on $("${JAVA_HOME:+$JAVA_HOME/bin/}java" -version 2>&1 | head -n1)"
if ! ver_out="$("$top/bin/kc.sh" --version 2>&1)"; then
  printf '%s\n' "$ver_out" >&2
  log "kc.sh --version failed; Keycloak $KEYCLOAK_VERSION does not run on this Java"
  exit 1
fi
printf '%s\n' "$ver_out" >&2

rm -rf "$dest"          # only a leftover without kc.sh can be here
mv "$top" "$dest"
log "installed $dest"
printf '%s\n' "$kc"
