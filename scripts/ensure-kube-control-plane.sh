#!/usr/bin/env bash
# Provide the local control plane's binaries, kube-apiserver,
# kube-controller-manager and etcd, built from their Go modules and cached
# (scripts/local-cluster.ts starts them). The controller manager runs only its
# garbage collector and namespace controller: without the first, a delete with
# foreground propagation (the kubernetes provider's default) never completes.
#
#   scripts/ensure-kube-control-plane.sh   -> last stdout line: the directory holding
#                                             kube-apiserver, kube-controller-manager and etcd
#
# Pins (tools/versions.env; a value in the environment wins; the wrapper module
# tools/kube-control-plane/go.mod must require the same, the script checks):
#   KUBERNETES_VERSION  k8s.io/kubernetes (cmd/kube-apiserver, cmd/kube-controller-manager),
#                       staging repos at v0.<minor>.<patch>
#   ETCD_VERSION        go.etcd.io/etcd/server/v3 (etcdmain, as upstream's etcd binary)
# Cache: ${XDG_CACHE_HOME:-$HOME/.cache}/platform-databases/kube-control-plane-<k8s>-etcd-<etcd>/
#
# All three come from one module graph, so a cold build compiles the packages
# they share (client-go, apimachinery, gRPC, protobuf, otel) once. They are
# stamped as upstream's release builds are: the Kubernetes binaries with the
# k8s.io/component-base/version variables (hack/lib/version.sh; without them it
# reports v0.0.0-master and clients take it for an ancient server), etcd with
# its git SHA when the module proxy records one. Each must report its pinned
# version before the entry is cached (scripts/lib/tool-cache.sh: temp dir, then
# rename; concurrent callers wait).
# Progress goes to stderr.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
log() { printf 'ensure-kube-control-plane: %s\n' "$*" >&2; }
# shellcheck source=lib/tool-cache.sh
. "$here/lib/tool-cache.sh"
load_pins "$root/tools/versions.env" KUBERNETES_VERSION ETCD_VERSION
: "${KUBERNETES_VERSION:?tools/versions.env does not set KUBERNETES_VERSION}"
: "${ETCD_VERSION:?tools/versions.env does not set ETCD_VERSION}"
k8s="${KUBERNETES_VERSION#v}"
etcd="${ETCD_VERSION#v}"
dest="$TOOL_CACHE_ROOT/kube-control-plane-$k8s-etcd-$etcd"

if [[ ! "$k8s" =~ ^1\.([0-9]+)\.([0-9]+)$ ]]; then
  log "KUBERNETES_VERSION \"$KUBERNETES_VERSION\" is not a release number like 1.35.4"
  exit 1
fi
minor="${BASH_REMATCH[1]}"

# origin_hash <module@version>: the commit the Go module proxy records for it.
origin_hash() {
  go mod download -json "$1" | sed -n 's/^[[:space:]]*"Hash": "\([0-9a-f]*\)",*$/\1/p'
}

# pin_check <module> <version the pin wants>
pin_check() {
  local got
  got="$(go list -m -f '{{.Version}}' "$1")"
  [[ "$got" == "$2" ]] || { log "tools/kube-control-plane/go.mod has $1 $got, tools/versions.env wants $2"; exit 1; }
}

build_control_plane() {
  local tmp="$1" commit etcd_sha got start=$SECONDS
  require_tools "to build the control plane" go
  cp -r "$root/tools/kube-control-plane" "$tmp/mod"
  chmod -R u+w "$tmp/mod"
  cd "$tmp/mod"
  export GOTOOLCHAIN="${GOTOOLCHAIN:-local}" CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false"
  pin_check k8s.io/kubernetes "v$k8s"
  pin_check go.etcd.io/etcd/server/v3 "v$etcd"
  pin_check k8s.io/apiserver "v0.$minor.${k8s##*.}"
  commit="$(origin_hash "k8s.io/kubernetes@v$k8s")"
  etcd_sha="$(origin_hash "go.etcd.io/etcd/server/v3@v$etcd")"
  local cv="k8s.io/component-base/version" out="$tmp/out"
  mkdir -p "$out"

  # The proxy records the commit of some modules only (k8s.io/kubernetes yes,
  # go.etcd.io/etcd/server/v3 no): without one, etcd reports an empty Git SHA.
  local etcd_flags="-s -w"
  [[ -z "$etcd_sha" ]] || etcd_flags+=" -X go.etcd.io/etcd/api/v3/version.GitSHA=${etcd_sha:0:8}"
  log "building etcd $etcd with $(go version | cut -d' ' -f3)"
  go build -trimpath -ldflags "$etcd_flags" -o "$out/etcd" ./cmd/etcd >&2
  local k8s_flags="-s -w -X $cv.gitVersion=v$k8s -X $cv.gitMajor=1 -X $cv.gitMinor=$minor \
    -X $cv.gitCommit=$commit -X $cv.gitTreeState=clean -X $cv.buildDate=1970-01-01T00:00:00Z"
  local cmd
  for cmd in kube-apiserver kube-controller-manager; do
    log "building $cmd $k8s ($((SECONDS - start))s so far; many minutes on first use)"
    go build -trimpath -ldflags "$k8s_flags" -o "$out/$cmd" "k8s.io/kubernetes/cmd/$cmd" >&2
    got="$("$out/$cmd" --version)"
    [[ "$got" == "Kubernetes v$k8s" ]] || { log "built $cmd reports '$got', want Kubernetes v$k8s"; exit 1; }
  done
  log "built all three in $((SECONDS - start))s"
  got="$("$out/etcd" --version | sed -n 's/^etcd Version: //p')"
  [[ "$got" == "$etcd" ]] || { log "built etcd reports '$got', want $etcd"; exit 1; }
}

# The last one built: an entry with it is complete.
build_into "$dest" kube-controller-manager build_control_plane
printf '%s\n' "$dest"
