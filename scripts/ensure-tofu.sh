#!/usr/bin/env bash
# Provide OpenTofu and the cyrilgdn/postgresql provider (the Terraform provider
# under our Pulumi postgresql provider), built from Go modules and cached, for
# the peer in `make bench` only (never needed by make up / make test).
#
#   scripts/ensure-tofu.sh     -> last stdout line: the cache entry, holding
#        tofu                              the CLI
#        providers/terraform-provider-postgresql
#        tofurc                            a CLI config pointing tofu at that
#                                          provider (dev_overrides: no registry,
#                                          no `tofu init`, no lock file)
#
# Versions: OPENTOFU_VERSION and POSTGRESQL_TF_PROVIDER_VERSION (tools/versions.env;
# a value in the environment wins). OpenTofu is built from tools/opentofu/go.mod
# (a `tool` directive plus the replace directive OpenTofu's own go.mod has, which
# `go install module@version` refuses); the provider from its module, copied from
# the Go module cache and built inside it with its own go.mod and go.sum (its
# go.mod still declares the old path github.com/terraform-providers/...).
# Cost on a 2-core machine with an empty Go build cache: minutes (once).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
log() { printf 'ensure-tofu: %s\n' "$*" >&2; }
# shellcheck source=lib/tool-cache.sh
. "$here/lib/tool-cache.sh"
load_pins "$root/tools/versions.env" OPENTOFU_VERSION POSTGRESQL_TF_PROVIDER_VERSION
: "${OPENTOFU_VERSION:?tools/versions.env does not set OPENTOFU_VERSION}"
: "${POSTGRESQL_TF_PROVIDER_VERSION:?tools/versions.env does not set POSTGRESQL_TF_PROVIDER_VERSION}"
tofu_version="${OPENTOFU_VERSION#v}"
provider_version="${POSTGRESQL_TF_PROVIDER_VERSION#v}"
provider_module="github.com/cyrilgdn/terraform-provider-postgresql"
dest="$TOOL_CACHE_ROOT/opentofu-$tofu_version-postgresql-$provider_version"

build_tofu() {
  local tmp="$1"
  require_tools "to build OpenTofu" go
  grep -q "^tool github.com/opentofu/opentofu/cmd/tofu$" "$root/tools/opentofu/go.mod" ||
    { log "tools/opentofu/go.mod has no tool directive for cmd/tofu"; exit 1; }
  local pinned
  pinned="$(cd "$root/tools/opentofu" && GOFLAGS=-mod=readonly GOTOOLCHAIN=local go list -m -f '{{.Version}}' github.com/opentofu/opentofu)"
  [[ "$pinned" == "v$tofu_version" ]] ||
    { log "tools/opentofu/go.mod pins opentofu $pinned, tools/versions.env says v$tofu_version"; exit 1; }
  mkdir -p "$tmp/out/providers"
  log "building OpenTofu v$tofu_version with $(go version | cut -d' ' -f3) (minutes on first use)"
  local start=$SECONDS
  (cd "$root/tools/opentofu" &&
    CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false" GOTOOLCHAIN=local go build -trimpath \
      -ldflags "-s -w -X github.com/opentofu/opentofu/version.dev=no" \
      -o "$tmp/out/tofu" github.com/opentofu/opentofu/cmd/tofu) >&2
  log "built tofu in $((SECONDS - start))s"

  local dir
  dir="$(cd "$tmp" && GOFLAGS='' GOTOOLCHAIN=local go mod download -json "$provider_module@v$provider_version" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [[ -n "$dir" && -f "$dir/go.mod" ]] || { log "no module cache directory for $provider_module@v$provider_version"; exit 1; }
  cp -R "$dir" "$tmp/provider"
  chmod -R u+w "$tmp/provider" # the module cache is read-only
  log "building $provider_module v$provider_version"
  start=$SECONDS
  (cd "$tmp/provider" &&
    CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false" GOTOOLCHAIN=local go build -trimpath \
      -ldflags "-s -w" -o "$tmp/out/providers/terraform-provider-postgresql" .) >&2
  log "built the provider in $((SECONDS - start))s"

  cat >"$tmp/out/tofurc" <<RC
# Written by scripts/ensure-tofu.sh: the postgresql provider comes from this
# cache entry, never from a registry (TF_CLI_CONFIG_FILE=<this file>).
provider_installation {
  dev_overrides {
    "cyrilgdn/postgresql" = "$dest/providers"
  }
}
RC
  TF_CLI_CONFIG_FILE="$tmp/out/tofurc" "$tmp/out/tofu" version >&2 || { log "built tofu does not run"; exit 1; }
}

build_into "$dest" tofu build_tofu
printf '%s\n' "$dest"
