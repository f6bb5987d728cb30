#!/usr/bin/env bash
# Runs one operation on a cloud stack as a Kubernetes Job in the cluster that
# reaches the stack's database (DEPLOY_MODE=kubernetes-job in deploy.yml and
# drift.yml; docs/ci.md). Streams the Job's log and exits with its result.
#
#   scripts/deploy-job.sh <up|drift|recover> <stack> [--render] [--log FILE]
#
#   up       scripts/pulumi.sh <stack> up --yes --skip-preview --refresh --policy-pack policy
#   drift    scripts/drift.ts <stack> --markdown -   (the report is in the log, between markers)
#   recover  scripts/stack-recover.ts <stack> --cancel
#
# The Job is deployments/deploy-job/job.yaml; the program is `git archive HEAD`
# in a ConfigMap. kubectl must already point at the cluster (the workflow gets
# short-lived credentials for it with OIDC). --render prints the manifests and
# does nothing else. Reads:
#   DEPLOY_JOB_NAMESPACE        default platform-databases
#   DEPLOY_JOB_SERVICE_ACCOUNT  default platform-databases-deployer (bound to the deploy identity)
#   DEPLOY_JOB_IMAGE            default pulumi/pulumi-nodejs:<PULUMI_VERSION> (Node, the pinned CLI, its language host)
#   DEPLOY_JOB_ID               default <GITHUB_RUN_ID>-<GITHUB_RUN_ATTEMPT>, else the time
#   PULUMI_BACKEND_URL, PULUMI_ORG                       passed to the Job as they are
#   PULUMI_ACCESS_TOKEN, PULUMI_CONFIG_PASSPHRASE        when set: a Secret for the Job only
#   KUBECTL                     default kubectl
# Exit: the Job's (0 succeeded, 1 failed), 2 for a usage error, 3 when the Job
# could not be created or followed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=SCRIPTDIR/../tools/versions.env
. "$root/tools/versions.env"

usage() { echo "usage: scripts/deploy-job.sh <up|drift|recover> <stack> [--render] [--log FILE]" >&2; exit 2; }
[[ $# -ge 2 ]] || usage
operation="$1" stack="$2"
shift 2
render=false log=/dev/null
while [[ $# -gt 0 ]]; do
  case "$1" in
    --render) render=true ;;
    --log) log="${2:?--log needs a file}"; shift ;;
    *) usage ;;
  esac
  shift
done

case "$operation" in
  up) args=(scripts/pulumi.sh "$stack" up --yes --skip-preview --refresh --policy-pack policy) ;;
  drift) args=(node_modules/.bin/tsx scripts/drift.ts "$stack" --markdown -) ;;
  recover) args=(node_modules/.bin/tsx scripts/stack-recover.ts "$stack" --cancel) ;;
  *) echo "deploy-job: unknown operation \"$operation\"" >&2; usage ;;
esac

kubectl="${KUBECTL:-kubectl}"
namespace="${DEPLOY_JOB_NAMESPACE:-platform-databases}"
account="${DEPLOY_JOB_SERVICE_ACCOUNT:-platform-databases-deployer}"
image="${DEPLOY_JOB_IMAGE:-pulumi/pulumi-nodejs:$PULUMI_VERSION}"
id="${DEPLOY_JOB_ID:-${GITHUB_RUN_ID:+$GITHUB_RUN_ID-${GITHUB_RUN_ATTEMPT:-1}}}"
id="${id:-$(date -u +%Y%m%d%H%M%S)}"
backend="${PULUMI_BACKEND_URL:-}"
org="${PULUMI_ORG:-}"

# Everything substituted into the manifest is checked first: no quoting games.
check() { # <what> <value> <regex>
  [[ "$2" =~ $3 ]] || { echo "deploy-job: $1 \"$2\" is not valid (${3})" >&2; exit 2; }
}
check stack "$stack" '^[a-z][a-z0-9-]*$'
check DEPLOY_JOB_NAMESPACE "$namespace" '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'
check DEPLOY_JOB_SERVICE_ACCOUNT "$account" '^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$'
check DEPLOY_JOB_IMAGE "$image" '^[A-Za-z0-9][A-Za-z0-9./_:@-]*$'
check DEPLOY_JOB_ID "$id" '^[a-z0-9][-a-z0-9]*$'
check PULUMI_BACKEND_URL "$backend" '^([a-z0-9]+://[^" \\]*)?$'
check PULUMI_ORG "$org" '^[A-Za-z0-9._-]*$'

name="platform-databases-$operation-$stack-$id"
name="${name:0:63}"
name="${name%-}"
argv="["
for a in "${args[@]}"; do argv+="\"$a\", "; done
argv="${argv%, }]"

manifest() {
  local tpl
  tpl="$(cat "$root/deployments/deploy-job/job.yaml")"
  tpl="${tpl//__NAME__/$name}"
  tpl="${tpl//__NAMESPACE__/$namespace}"
  tpl="${tpl//__OPERATION__/$operation}"
  tpl="${tpl//__STACK__/$stack}"
  tpl="${tpl//__SERVICE_ACCOUNT__/$account}"
  tpl="${tpl//__IMAGE__/$image}"
  tpl="${tpl//__ARGS__/$argv}"
  tpl="${tpl//__BACKEND_URL__/$backend}"
  tpl="${tpl//__PULUMI_ORG__/$org}"
  printf '%s\n' "$tpl"
}

if [[ "$render" == true ]]; then
  manifest
  exit 0
fi

fail() { echo "::error title=deploy job ${name}::$*"; exit 3; }
k() { "$kubectl" --namespace "$namespace" "$@"; }

work="$(mktemp -d)"
# The Job stays (ttlSecondsAfterFinished) for `kubectl logs`; its inputs go when this ends.
trap 'k delete configmap "$name-source" --ignore-not-found >/dev/null 2>&1 || true
  k delete secret "$name-env" --ignore-not-found >/dev/null 2>&1 || true
  rm -rf "$work"' EXIT
git -C "$root" archive --format=tar.gz -o "$work/source.tar.gz" HEAD
k create configmap "$name-source" --from-file=source.tar.gz="$work/source.tar.gz" >/dev/null ||
  fail "could not create the ConfigMap $name-source in namespace $namespace"

# Secrets the backend needs, for this Job only (never in the manifest or the log).
: >"$work/env"
chmod 600 "$work/env"
for var in PULUMI_ACCESS_TOKEN PULUMI_CONFIG_PASSPHRASE; do
  if [[ -n "${!var:-}" ]]; then printf '%s=%s\n' "$var" "${!var}" >>"$work/env"; fi
done
if [[ -s "$work/env" ]]; then
  k create secret generic "$name-env" --from-env-file="$work/env" >/dev/null ||
    fail "could not create the Secret $name-env in namespace $namespace"
fi

manifest | k apply -f - >/dev/null || fail "could not create the Job $name in namespace $namespace"
echo "==> Job $name (namespace $namespace, image $image): ${args[*]}"

# The Job's conditions: Complete or Failed once it has ended (a Job whose pod
# never starts still fails, at activeDeadlineSeconds).
verdict() { k get job "$name" -o 'jsonpath={.status.conditions[?(@.status=="True")].type}' 2>/dev/null || true; }
ended() { [[ " $1 " =~ \ (Complete|Failed)\  ]]; }

# Wait for the pod to start (or the Job to end), then follow its log to the end.
until ended "$(verdict)" ||
  [[ "$(k get pods -l "job-name=$name" -o 'jsonpath={.items[0].status.phase}' 2>/dev/null || true)" =~ ^(Running|Succeeded|Failed)$ ]]; do
  sleep 5
done
k logs --follow "job/$name" 2>&1 | tee "$log" || true

# The verdict (a log stream can end before the Job does).
until ended "$(verdict)"; do sleep 5; done
if [[ " $(verdict) " == *" Complete "* ]]; then
  echo "==> Job $name succeeded"
  exit 0
fi
echo "::error title=deploy job ${name} failed::$operation of stack $stack failed in the cluster; its log is above (kubectl --namespace $namespace logs job/$name, kept for a day)"
exit 1
