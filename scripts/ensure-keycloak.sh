#!/usr/bin/env bash
# Provide a pinned Keycloak server distribution (Quarkus dist from the Maven
# repository, fetched with mvn) unpacked in the cache.
#
#   scripts/ensure-keycloak.sh           -> last stdout line: path of bin/kc.sh
#
# Version:  KEYCLOAK_VERSION (tools/versions.env; a value in the environment wins).
#           The pin was the newest release when this was written; it was
#           verified to start on Java 17 (see docs/real-services.md).
#           Keycloak deprecated Java 17 in 25 and plans to remove it: re-check
#           on Java 17 before bumping.
# Cache:    ${XDG_CACHE_HOME:-$HOME/.cache}/platform-databases/keycloak-<ver>/bin/kc.sh
# Download and unpack happen in a temp dir next to the cache entry, which is
# moved into place only once kc.sh runs on this Java; concurrent callers are
# serialised (scripts/lib/tool-cache.sh). Progress goes to stderr; stdout
# carries only the kc.sh path.
#
# mvn uses your normal settings (~/.m2/settings.xml: mirrors, proxies) and
# local repository; set KEYCLOAK_MAVEN_REPO_LOCAL to use another local repo.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
log() { printf 'ensure-keycloak: %s\n' "$*" >&2; }
# shellcheck source=lib/tool-cache.sh
. "$here/lib/tool-cache.sh"
load_pins "$here/../tools/versions.env" KEYCLOAK_VERSION MAVEN_DEPENDENCY_PLUGIN_VERSION
: "${KEYCLOAK_VERSION:?tools/versions.env does not set KEYCLOAK_VERSION}"
: "${MAVEN_DEPENDENCY_PLUGIN_VERSION:?tools/versions.env does not set MAVEN_DEPENDENCY_PLUGIN_VERSION}"
artifact="org.keycloak:keycloak-quarkus-dist:$KEYCLOAK_VERSION:tar.gz"
dest="$TOOL_CACHE_ROOT/keycloak-$KEYCLOAK_VERSION"

build_keycloak() {
  local tmp="$1" archive top ver_out start=$SECONDS
  require_tools "to install Keycloak $KEYCLOAK_VERSION" mvn tar java
  local mvn_args=(-B -q -Dstyle.color=never)
  if [[ -n "${KEYCLOAK_MAVEN_REPO_LOCAL:-}" ]]; then
    mvn_args+=("-Dmaven.repo.local=$KEYCLOAK_MAVEN_REPO_LOCAL")
  fi
  log "fetching $artifact with mvn (about 170 MB)"
  # Run outside any project so no pom.xml is picked up.
  (cd "$tmp" && mvn "${mvn_args[@]}" \
    "org.apache.maven.plugins:maven-dependency-plugin:$MAVEN_DEPENDENCY_PLUGIN_VERSION:copy" \
    "-Dartifact=$artifact" "-DoutputDirectory=$tmp/dl" -Dmdep.useBaseVersion=true) 2>&1 \
    | sed 's/\x1b\[[0-9;]*m//g' >&2   # mvn 3.8 prints colour resets even with -B
  log "fetched in $((SECONDS - start))s"

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
  mv "$top" "$tmp/out"
}

build_into "$dest" bin/kc.sh build_keycloak
printf '%s\n' "$dest/bin/kc.sh"
