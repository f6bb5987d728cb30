#!/usr/bin/env bash
# Provide the Pulumi kubernetes resource plugin, built from its Go module and
# cached. The engine takes a pulumi-resource-<name> it finds on PATH before its
# plugin cache and without any download (as for the postgresql provider, see
# scripts/ensure-pulumi.sh), so scripts/pulumi.sh and the e2e harness put the
# printed directory on PATH.
#
#   scripts/ensure-kubernetes-provider.sh   -> last stdout line: the directory holding
#                                              pulumi-resource-kubernetes
#
# Pins (tools/versions.env; a value in the environment wins):
#   PULUMI_KUBERNETES_PROVIDER_MODULE  version of github.com/pulumi/pulumi-kubernetes/provider/v4
#                                      (tools/kubernetes-provider/go.mod must require the same)
#   PULUMI_KUBERNETES_SDK_VERSION      the @pulumi/kubernetes npm version package.json pins
# Cache: ${XDG_CACHE_HOME:-$HOME/.cache}/platform-databases/kubernetes-provider-<module version>/
#
# Why a wrapper module (tools/kubernetes-provider): the provider's go.mod has a
# replace directive (its SDK => ../sdk), so `go install <module>/cmd/...@<v>`
# refuses it, and its cmd/ directory embeds schema-embed.json and
# terraform-mapping-embed.json, which upstream's `go generate` derives from the
# schema.json and terraform-mapping.json the module ships. Steps, in a temp dir
# beside the cache entry (scripts/lib/tool-cache.sh moves it into place only
# once complete; concurrent callers are serialised):
#  1. copy tools/kubernetes-provider; copy the two JSON files and upstream's
#     generate.go from the module; run generate.go (VERSION = the module version);
#  2. check the pairing: every kubernetes resource type the program creates
#     (k8s.<group>.<version>.<Kind> in components/, plus CustomResource) must be
#     in the schema the plugin serves, and package.json must pin
#     PULUMI_KUBERNETES_SDK_VERSION (the SDK is newer than the provider commit:
#     docs/cluster.md says how the pair was chosen);
#  3. build (-mod=readonly: go.mod and go.sum are committed; the version
#     stamped with -X), then start the plugin once: it must print the port it
#     serves on, as the engine expects, and embed the schema of its version.
# Progress goes to stderr.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
log() { printf 'ensure-kubernetes-provider: %s\n' "$*" >&2; }
# shellcheck source=lib/tool-cache.sh
. "$here/lib/tool-cache.sh"
load_pins "$root/tools/versions.env" PULUMI_KUBERNETES_PROVIDER_MODULE PULUMI_KUBERNETES_SDK_VERSION
: "${PULUMI_KUBERNETES_PROVIDER_MODULE:?tools/versions.env does not set PULUMI_KUBERNETES_PROVIDER_MODULE}"
: "${PULUMI_KUBERNETES_SDK_VERSION:?tools/versions.env does not set PULUMI_KUBERNETES_SDK_VERSION}"
module="github.com/pulumi/pulumi-kubernetes/provider/v4"
modver="$PULUMI_KUBERNETES_PROVIDER_MODULE"
version="${modver#v}"
name="pulumi-resource-kubernetes"
dest="$TOOL_CACHE_ROOT/kubernetes-provider-$version"

# Which resource types the program creates, as schema tokens.
program_tokens() {
  grep -rhoE 'k8s\.[a-z]+\.v[0-9a-z]+\.[A-Z][A-Za-z]+' "$root/components" --include='*.ts' |
    sort -u | awk -F. '{
      g = $2
      if (g == "rbac") g = "rbac.authorization.k8s.io"
      else if (g !~ /^(core|apps|batch|policy|autoscaling)$/) g = g ".k8s.io"
      printf "kubernetes:%s/%s:%s\n", g, $3, $4 }'
  echo "kubernetes:apiextensions.k8s.io:CustomResource"
}

build_provider() {
  local tmp="$1" src missing got
  require_tools "to build $name" go node
  local sdk_pin
  sdk_pin="$(node -p "require('$root/package.json').dependencies['@pulumi/kubernetes']")"
  [[ "$sdk_pin" == "$PULUMI_KUBERNETES_SDK_VERSION" ]] ||
    { log "package.json pins @pulumi/kubernetes $sdk_pin, tools/versions.env says $PULUMI_KUBERNETES_SDK_VERSION"; exit 1; }
  cp -r "$root/tools/kubernetes-provider" "$tmp/mod"
  chmod -R u+w "$tmp/mod"
  cd "$tmp/mod"
  export GOTOOLCHAIN="${GOTOOLCHAIN:-local}" CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false"
  got="$(go list -m -f '{{.Version}}' "$module")"
  [[ "$got" == "$modver" ]] ||
    { log "tools/kubernetes-provider/go.mod requires $module $got, tools/versions.env says $modver"; exit 1; }
  src="$(go mod download -json "$module@$modver" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [[ -d "$src/cmd/$name" ]] || { log "no cmd/$name in $module@$modver"; exit 1; }
  local cmd="$tmp/mod/cmd/$name"
  cp "$src/cmd/$name/schema.json" "$src/cmd/$name/terraform-mapping.json" "$src/cmd/$name/generate.go" "$cmd/"
  chmod u+w "$cmd"/*
  log "generating the embedded schema (version $version)"
  (cd "$cmd" && VERSION="$version" go run generate.go) >&2
  rm "$cmd/generate.go"

  missing="$(program_tokens | while read -r token; do
    node -e 'const s = require(process.argv[1]); process.exit(s.resources[process.argv[2]] ? 0 : 1)' \
      "$cmd/schema-embed.json" "$token" || echo "$token"
  done)"
  [[ -z "$missing" ]] || { log "the provider's schema lacks resource types the program creates: $missing"; exit 1; }

  log "building $name from $module@$modver with $(go version | cut -d' ' -f3) (minutes on first use)"
  local start=$SECONDS
  mkdir -p "$tmp/out"
  go build -trimpath -ldflags "-s -w -X $module/pkg/version.Version=$version" -o "$tmp/out/$name" "./cmd/$name" >&2
  log "built in $((SECONDS - start))s"

  # A plugin prints the port it listens on as its first line, then serves until killed.
  # The file exists before the plugin starts: the background job opens it
  # itself, maybe after the first read below (a missing file there failed
  # the build under load).
  local pid port="" i
  : >"$tmp/port"
  PULUMI_HOME="$tmp/pulumi-home" "$tmp/out/$name" >"$tmp/port" 2>"$tmp/plugin.log" &
  pid=$!
  for ((i = 0; i < 300; i++)); do
    port="$(head -n1 "$tmp/port" 2>/dev/null || true)"
    [[ -n "$port" ]] || ! kill -0 "$pid" 2>/dev/null && break
    sleep 0.1
  done
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  [[ "$port" =~ ^[0-9]+$ ]] || { cat "$tmp/plugin.log" >&2; log "the built $name did not start (first line: '$port')"; exit 1; }
  # The schema it serves carries the version (generate.go); -trimpath keeps the
  # -X stamp out of `go version -m`, so that is what is checked.
  grep -qF "\"version\":\"$version\"" "$tmp/out/$name" ||
    { log "the built $name does not embed a schema of version $version"; exit 1; }
}

build_into "$dest" "$name" build_provider
printf '%s\n' "$dest"
