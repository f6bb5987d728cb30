#!/usr/bin/env bash
# Provide the prometheus-operator CRDs the program's objects need on a cluster
# (PrometheusRule for the alerts, ServiceMonitor for the exporter), taken from
# the prometheus-operator Go module's own manifests and cached. The local
# control plane (scripts/local-cluster.ts) installs them.
#
#   scripts/ensure-prometheus-operator-crds.sh   -> last stdout line: the directory holding
#                                                   monitoring.coreos.com_<plural>.yaml
#
# Version: PROMETHEUS_OPERATOR_VERSION (tools/versions.env; a value in the
# environment wins), module github.com/prometheus-operator/prometheus-operator,
# files example/prometheus-operator-crd/monitoring.coreos.com_{prometheusrules,servicemonitors}.yaml
# (a download, nothing to build: about a second with a warm module cache).
# Cache: ${XDG_CACHE_HOME:-$HOME/.cache}/platform-databases/prometheus-operator-crds-<ver>/
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
log() { printf 'ensure-prometheus-operator-crds: %s\n' "$*" >&2; }
# shellcheck source=lib/tool-cache.sh
. "$here/lib/tool-cache.sh"
load_pins "$here/../tools/versions.env" PROMETHEUS_OPERATOR_VERSION
: "${PROMETHEUS_OPERATOR_VERSION:?tools/versions.env does not set PROMETHEUS_OPERATOR_VERSION}"
version="${PROMETHEUS_OPERATOR_VERSION#v}"
module="github.com/prometheus-operator/prometheus-operator"
dest="$TOOL_CACHE_ROOT/prometheus-operator-crds-$version"
CRDS=(prometheusrules servicemonitors)

copy_crds() {
  local tmp="$1" dir plural file
  require_tools "to download the prometheus-operator module" go
  dir="$(cd "$tmp" && GOTOOLCHAIN="${GOTOOLCHAIN:-local}" go mod download -json "$module@v$version" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  mkdir -p "$tmp/out"
  for plural in "${CRDS[@]}"; do
    file="$dir/example/prometheus-operator-crd/monitoring.coreos.com_$plural.yaml"
    grep -q "^kind: CustomResourceDefinition" "$file" 2>/dev/null ||
      { log "$module@v$version has no CustomResourceDefinition in ${file#"$dir/"}"; exit 1; }
    grep -q "operator.prometheus.io/version: $version" "$file" ||
      { log "${file#"$dir/"} is not labelled with version $version"; exit 1; }
    cp "$file" "$tmp/out/"
  done
  chmod 644 "$tmp/out"/*.yaml
  printf '%s\n' "${CRDS[@]}" >"$tmp/out/crds.txt"
  chmod 755 "$tmp/out/crds.txt"   # build_into's completeness check wants an executable marker
}

build_into "$dest" crds.txt copy_crds
printf '%s\n' "$dest"
