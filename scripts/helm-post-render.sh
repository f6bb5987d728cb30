#!/usr/bin/env bash
# Helm post-renderer: sets the application's database env on its container
# (scripts/helm-post-render.ts; components/cluster/application-env.ts).
#
#   helm upgrade --install mcp <chart> -f deployments/helm/values-<stack>.generated.yaml \
#     --post-renderer scripts/helm-post-render.sh \
#     --post-renderer-args deployments/helm/application-env-<stack>.generated.yaml
#
# Manifests in on stdin, out on stdout; anything else goes to stderr (Helm
# shows it when this fails). Needs this checkout's node_modules (`make deps`).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tsx="$root/node_modules/.bin/tsx"
if [[ ! -x "$tsx" ]]; then
  echo "helm-post-render: $tsx is missing: run \`make deps\` in $root first" >&2
  exit 1
fi
node_dir="$("$root/scripts/ensure-node.sh" | tail -n1)"
PATH="$node_dir:$PATH" exec "$tsx" "$root/scripts/helm-post-render.ts" "$@"
