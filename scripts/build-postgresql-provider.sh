#!/usr/bin/env bash
# Builds the Pulumi postgresql resource plugin from Go modules into the cache
# that scripts/ensure-pulumi.sh uses (and links into the CLI's bin/):
#
#   ${XDG_CACHE_HOME:-~/.cache}/platform-databases/pulumi-resource-postgresql-$PULUMI_POSTGRESQL_VERSION/
#     pulumi-resource-postgresql   the plugin (reports $PULUMI_POSTGRESQL_VERSION)
#     schema.json                  the Pulumi package schema it serves (for reference)
#     .stamp                       "postgresql=$PULUMI_POSTGRESQL_VERSION", written last
#
#   scripts/build-postgresql-provider.sh [--force]   (--force: rebuild even if cached)
#
# Why: the published provider's module (github.com/pulumi/pulumi-postgresql/provider/v3)
# is not served by the Go module proxy reachable here, but its ingredients are.
# tools/postgresql-provider/ is our own small bridge program over them (see its
# provider.go); versions are pinned in tools/versions.env and go.mod/go.sum:
#   POSTGRESQL_TF_PROVIDER_VERSION  github.com/cyrilgdn/terraform-provider-postgresql
#   PULUMI_TF_BRIDGE_VERSION        github.com/pulumi/pulumi-terraform-bridge/v3
#   PULUMI_TF_PLUGIN_SDK_VERSION    github.com/pulumi/terraform-plugin-sdk/v2 (the fork
#                                   replacing github.com/hashicorp/terraform-plugin-sdk/v2)
#
# Steps, in a temporary directory beside the cache (so the final rename is atomic):
#  1. copy tools/postgresql-provider; copy the upstream module from the Go module
#     cache to upstream/ and fix its module line (its go.mod still declares the old
#     path github.com/terraform-providers/terraform-provider-postgresql; go.mod
#     replaces the module with ./upstream);
#  2. check the pins in go.mod against tools/versions.env;
#  3. build cmd/pulumi-tfgen-postgresql, generate schema.json with it;
#  4. check the schema against the npm SDK node_modules/@pulumi/postgresql (tokens,
#     property names, config keys; skipped with a warning if it is not installed);
#  5. build cmd/pulumi-resource-postgresql with the schema embedded; check -version.
# Cost with an empty Go build cache (module cache warm): ~12 min of CPU (user+sys),
# measured 28 min wall on a 2-core machine shared with other builds; with a warm
# build cache about a minute. A flock serialises builds.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=SCRIPTDIR/../tools/versions.env
. "$root/tools/versions.env"

force=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "build-postgresql-provider: unknown argument: $arg" >&2; exit 2 ;;
  esac
done
for v in PULUMI_POSTGRESQL_VERSION POSTGRESQL_TF_PROVIDER_VERSION PULUMI_TF_BRIDGE_VERSION PULUMI_TF_PLUGIN_SDK_VERSION; do
  [ -n "${!v:-}" ] || { echo "build-postgresql-provider: $v is not set in tools/versions.env" >&2; exit 1; }
done
command -v go >/dev/null || { echo "build-postgresql-provider: go is required" >&2; exit 1; }

log() { echo "==> $*" >&2; }

name="pulumi-resource-postgresql"
src="$root/tools/postgresql-provider"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/platform-databases"
dest="$cache/$name-$PULUMI_POSTGRESQL_VERSION"
stamp="postgresql=$PULUMI_POSTGRESQL_VERSION" # the format scripts/ensure-pulumi.sh checks
upstream_mod="github.com/cyrilgdn/terraform-provider-postgresql"
upstream_old="github.com/terraform-providers/terraform-provider-postgresql"
version_pkg="platform-databases/tools/postgresql-provider/version"

cached() { [ -x "$dest/$name" ] && [ "$(cat "$dest/.stamp" 2>/dev/null)" = "$stamp" ]; }
if [ "$force" = 0 ] && cached; then
  log "$name $PULUMI_POSTGRESQL_VERSION already built: $dest"
  exit 0
fi

mkdir -p "$cache"
exec 8>"$cache/.postgresql-provider.lock"
if ! flock -n 8; then
  log "waiting for another build-postgresql-provider.sh (lock $cache/.postgresql-provider.lock)"
  flock 8
  if [ "$force" = 0 ] && cached; then exit 0; fi
fi

# Leftovers of a build that was killed (we hold the lock: nobody else is building).
rm -rf "$cache"/.postgresql-provider-build-*
tmp="$(mktemp -d "$cache/.postgresql-provider-build-XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
start=$SECONDS
export CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false"
ldflags="-s -w -X $version_pkg.Version=$PULUMI_POSTGRESQL_VERSION"

# 1. sources
mkdir "$tmp/mod" "$tmp/bin" "$tmp/out"
cp -R "$src/." "$tmp/mod/"
rm -rf "$tmp/mod/upstream" "$tmp/mod/cmd/$name/schema.json"
# (outside our module, where go.mod replaces it with ./upstream)
upstream_dir="$(cd "$tmp" && GOFLAGS='' go mod download -json "$upstream_mod@v$POSTGRESQL_TF_PROVIDER_VERSION" |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
[ -n "$upstream_dir" ] && [ -f "$upstream_dir/go.mod" ] ||
  { echo "build-postgresql-provider: no module cache directory for $upstream_mod@v$POSTGRESQL_TF_PROVIDER_VERSION" >&2; exit 1; }
cp -R "$upstream_dir" "$tmp/mod/upstream"
chmod -R u+w "$tmp/mod/upstream" # the module cache is read-only
if [ "$(head -n1 "$tmp/mod/upstream/go.mod")" = "module $upstream_old" ]; then
  sed -i "1s#.*#module $upstream_mod#" "$tmp/mod/upstream/go.mod"
fi
[ "$(head -n1 "$tmp/mod/upstream/go.mod")" = "module $upstream_mod" ] ||
  { echo "build-postgresql-provider: $upstream_dir/go.mod: first line is '$(head -n1 "$upstream_dir/go.mod")', want 'module $upstream_old' or 'module $upstream_mod'" >&2; exit 1; }

# 2. pins: go.mod must build exactly what tools/versions.env says
cd "$tmp/mod"
check_pin() { # $1: what, $2: got, $3: want
  [ "$2" = "$3" ] || { echo "build-postgresql-provider: tools/postgresql-provider/go.mod has $1 $2, tools/versions.env says $3" >&2; exit 1; }
}
check_pin "$upstream_mod" "$(go list -m -f '{{.Version}}' "$upstream_mod")" "v$POSTGRESQL_TF_PROVIDER_VERSION"
check_pin "github.com/pulumi/pulumi-terraform-bridge/v3" \
  "$(go list -m -f '{{.Version}}' github.com/pulumi/pulumi-terraform-bridge/v3)" "v$PULUMI_TF_BRIDGE_VERSION"
check_pin "github.com/hashicorp/terraform-plugin-sdk/v2 =>" \
  "$(go list -m -f '{{with .Replace}}{{.Path}} {{.Version}}{{end}}' github.com/hashicorp/terraform-plugin-sdk/v2)" \
  "github.com/pulumi/terraform-plugin-sdk/v2 $PULUMI_TF_PLUGIN_SDK_VERSION"

# 3. schema
log "building pulumi-tfgen-postgresql (bridge v$PULUMI_TF_BRIDGE_VERSION, upstream v$POSTGRESQL_TF_PROVIDER_VERSION; $(go version | cut -d' ' -f3))"
go build -trimpath -ldflags "$ldflags" -o "$tmp/bin/pulumi-tfgen-postgresql" ./cmd/pulumi-tfgen-postgresql
log "generating the Pulumi schema ($((SECONDS - start)) s so far)"
# tfgen reads the upstream docs from upstream/website; examples are not converted.
# PULUMI_HOME: tfgen may start a plugin host; keep it away from the user's ~/.pulumi.
(cd "$tmp/mod" && POSTGRESQL_UPSTREAM_DIR="$tmp/mod/upstream" PULUMI_HOME="$tmp/pulumi-home" \
  PULUMI_SKIP_UPDATE_CHECK=true "$tmp/bin/pulumi-tfgen-postgresql" schema --skip-examples \
  --out "$tmp/mod/cmd/$name" >"$tmp/tfgen.log" 2>&1) ||
  { cat "$tmp/tfgen.log" >&2; echo "build-postgresql-provider: schema generation failed" >&2; exit 1; }
[ -s "$tmp/mod/cmd/$name/schema.json" ] || { echo "build-postgresql-provider: tfgen wrote no schema.json" >&2; exit 1; }

# 4. the schema must match the npm SDK the project uses
sdk="$root/node_modules/@pulumi/postgresql"
if [ -f "$sdk/package.json" ]; then
  log "checking the schema against $sdk"
  PULUMI_POSTGRESQL_SCHEMA="$tmp/mod/cmd/$name/schema.json" POSTGRESQL_NPM_SDK="$sdk" \
    go test -count=1 ./sdkcheck >&2
else
  echo "build-postgresql-provider: warning: $sdk is not installed; schema not checked against the npm SDK" >&2
fi

# 5. the plugin
log "building $name $PULUMI_POSTGRESQL_VERSION ($((SECONDS - start)) s so far)"
go build -trimpath -ldflags "$ldflags" -o "$tmp/out/$name" "./cmd/$name"
got="$("$tmp/out/$name" -version)"
[ "$got" = "$PULUMI_POSTGRESQL_VERSION" ] ||
  { echo "build-postgresql-provider: built $name reports version '$got', want $PULUMI_POSTGRESQL_VERSION" >&2; exit 1; }
cp "$tmp/mod/cmd/$name/schema.json" "$tmp/out/schema.json"
echo "$stamp" >"$tmp/out/.stamp"
chmod 755 "$tmp/out"

# Replace the cache directory atomically.
old=""
if [ -e "$dest" ]; then old="$(mktemp -d "$cache/.old-XXXXXX")"; mv "$dest" "$old/"; fi
mv -T "$tmp/out" "$dest"
[ -z "$old" ] || rm -rf "$old"
log "$name $PULUMI_POSTGRESQL_VERSION built in $((SECONDS - start)) s: $dest/$name"
