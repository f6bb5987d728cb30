#!/usr/bin/env bash
# The ADR-0060 pre-commit check: the naming check (scripts/naming-check.ts) on
# what is about to be committed, i.e. the staged (index) versions of the files it
# reads, so an unstaged fix cannot hide a staged mistake.
#
# Run by the git hook that `make hooks` (scripts/install-git-hooks.sh) installs,
# and by the pre-commit framework through .pre-commit-config.yaml. It does
# nothing when no staged path is one the check reads or one it depends on.
set -euo pipefail
top="$(git rev-parse --show-toplevel)"
cd "$top"

relevant='(^|/)(docker-)?compose[^/]*\.ya?ml$|^Pulumi(\.[^/]+)?\.yaml$|^deployments/helm/values-[^/]+\.generated\.yaml$|^migrations/000_init_databases\.sh$|^components/(naming|config)\.ts$|^scripts/naming-check(\.ts$|/)'
if ! git diff --cached --name-only --diff-filter=ACMRD | grep -Eq "$relevant"; then
  exit 0
fi

if [[ ! -x node_modules/.bin/tsx ]]; then
  echo "pre-commit: node_modules is missing; run 'make deps' (or commit with --no-verify)" >&2
  exit 1
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# The staged copies of every file the check reads, in the same layout.
git ls-files -z --cached -- 'Pulumi.yaml' 'Pulumi.*.yaml' '*compose*.yml' '*compose*.yaml' \
  'deployments/helm/values-*.generated.yaml' 'migrations/000_init_databases.sh' \
  | xargs -0 -r git checkout-index --prefix="$tmp/" --

node_bin="$(scripts/ensure-node.sh | tail -n1)"
PATH="$node_bin:$PATH" node_modules/.bin/tsx scripts/naming-check.ts --root "$tmp" || {
  echo "pre-commit: fix the names above (ADR-0060: {service} in dev/staging/prod, {service}_test in test)," \
    "stage the fix and commit again" >&2
  exit 1
}
