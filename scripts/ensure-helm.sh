#!/usr/bin/env bash
# Provide the pinned Helm CLI, built from its Go module and cached. The tests
# run the real `helm template` (and its --post-renderer) with it.
#
#   scripts/ensure-helm.sh            -> last stdout line: path of the helm binary
#
# Version: HELM_VERSION (tools/versions.env; a value in the environment wins).
# Cache:   ${XDG_CACHE_HOME:-$HOME/.cache}/platform-databases/helm-<ver>/helm
# Built in a temp dir next to its cache entry and moved into place only once it
# runs and reports the pinned version; concurrent callers are serialised
# (scripts/lib/tool-cache.sh). Stamped as Helm's own release builds are
# (its Makefile's LDFLAGS): the version, the tag's commit, and the Kubernetes
# version `helm template` assumes (.Capabilities.KubeVersion), derived from the
# k8s.io/client-go the module requires (v0.35.x -> 1.35). Without that stamp
# Helm would claim Kubernetes 1.20. Progress goes to stderr.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
log() { printf 'ensure-helm: %s\n' "$*" >&2; }
# shellcheck source=lib/tool-cache.sh
. "$here/lib/tool-cache.sh"
load_pins "$here/../tools/versions.env" HELM_VERSION
: "${HELM_VERSION:?tools/versions.env does not set HELM_VERSION}"
version="${HELM_VERSION#v}"
module="helm.sh/helm/v3"
dest="$TOOL_CACHE_ROOT/helm-$version"

if [[ ! "$version" =~ ^3\.[0-9]+\.[0-9]+$ ]]; then
  log "HELM_VERSION \"$HELM_VERSION\" is not a Helm 3 release number like 3.22.0"
  exit 1
fi

build_helm() {
  local tmp="$1" info gomod commit client_go major minor got
  require_tools "to build helm" go
  # The module's metadata (seconds; the zip is what go install needs anyway).
  info="$(cd "$tmp" && GOTOOLCHAIN="${GOTOOLCHAIN:-local}" go mod download -json "$module@v$version")"
  gomod="$(sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p' <<<"$info")"
  commit="$(sed -n 's/^[[:space:]]*"Hash": "\([0-9a-f]*\)",*$/\1/p' <<<"$info")"
  client_go="$(awk '$1 == "k8s.io/client-go" { print $2 }' "$gomod")"
  if [[ ! "$client_go" =~ ^v0\.([0-9]+)\.[0-9]+ ]]; then
    log "cannot read k8s.io/client-go's version from $gomod (got '$client_go')"
    exit 1
  fi
  major=1 minor="${BASH_REMATCH[1]}"
  go_install_into "$tmp" "$module/cmd/helm@v$version" -trimpath -ldflags "-w -s \
    -X helm.sh/helm/v3/internal/version.version=v$version \
    -X helm.sh/helm/v3/internal/version.gitCommit=$commit \
    -X helm.sh/helm/v3/internal/version.gitTreeState=clean \
    -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=$major \
    -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$minor \
    -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=$major \
    -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$minor"
  # HELM_*_HOME: a fresh machine's helm must not need (or write) ~/.config/helm.
  got="$(HELM_CONFIG_HOME="$tmp/cfg" HELM_CACHE_HOME="$tmp/cache" HELM_DATA_HOME="$tmp/data" \
    "$tmp/bin/helm" version --template '{{ .Version }}')"
  [[ "$got" == "v$version" ]] || { log "built helm reports '$got', expected v$version"; exit 1; }
  mkdir -p "$tmp/out"
  mv "$tmp/bin/helm" "$tmp/out/helm"
}

build_into "$dest" helm build_helm
printf '%s\n' "$dest/helm"
