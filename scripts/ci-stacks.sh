#!/usr/bin/env bash
# Which cloud stacks a workflow run can reach, and with which credentials.
# Used by .github/workflows/preview.yml, deploy.yml and drift.yml; tested by tests/ci-stacks.test.ts.
#
#   scripts/ci-stacks.sh <stack>...        e.g. scripts/ci-stacks.sh staging prod
#
# Reads (all set by the workflow from repository variables; none is secret):
#   PULUMI_BACKEND_URL and, per stack, the <S>_* variables below
#   HAS_PULUMI_ACCESS_TOKEN   "true" when the PULUMI_ACCESS_TOKEN secret is set
#   FROM_FORK                 "true" for a pull request from a fork (no secrets, no OIDC token)
#   REQUIRE                   "true": a stack that cannot run is an error (a manual
#                             deploy), otherwise a notice and the stack is skipped
#   DEPLOY                    "true" (deploy.yml, drift.yml): the stack's jobs connect to the
#                             database, so they must run where its private address is reachable
#                             (docs/ci.md, "Where `pulumi up` runs"); per stack, <S>_X before X:
#     DEPLOY_MODE               runner (default) | kubernetes-job
#     DEPLOY_RUNNER_LABEL       runner mode: label(s) of a self-hosted runner inside the
#                               network, comma-separated ("self-hosted" is always added)
#     CLUSTER, CLUSTER_LOCATION kubernetes-job mode: the GKE cluster and its location, or the
#                               EKS cluster (its region is the stack's <S>_AWS_REGION)
# A stack <s> runs when Pulumi.<s>.yaml exists, a backend is reachable
# (variable PULUMI_BACKEND_URL, or secret PULUMI_ACCESS_TOKEN for Pulumi Cloud), and
# one cloud's OIDC variables are set, <S> being the stack name in capitals:
#   <S>_GCP_WORKLOAD_IDENTITY_PROVIDER + <S>_GCP_SERVICE_ACCOUNT   (Google WIF)
#   <S>_AWS_ROLE_TO_ASSUME + <S>_AWS_REGION                        (AWS role assumption)
# Writes to $GITHUB_OUTPUT (stdout when unset):
#   matrix={"include":[{"stack":..,"gcp_provider":..,"gcp_service_account":..,"aws_role":..,"aws_region":..}]}
#   any=true|false
# and with DEPLOY=true each entry also has "mode", "runs_on" (a JSON list of runner
# labels), "cluster" and "cluster_location", plus the same pair per mode:
#   runner_matrix=..., any_runner=..., kubernetes_matrix=..., any_kubernetes=...
# Skips are reported as ::notice:: (or ::error:: with REQUIRE=true) annotations,
# which GitHub shows on the run's summary page.
set -euo pipefail

[[ $# -gt 0 ]] || { echo "usage: $0 <stack>..." >&2; exit 2; }

var() { printf '%s' "${!1:-}"; }
json() { # a JSON string
  local s="$1"
  s="${s//\\/\\\\}"; s="${s//\"/\\\"}"
  s="${s//$'\n'/\\n}"; s="${s//$'\r'/\\r}"; s="${s//$'\t'/\\t}"
  printf '"%s"' "$s"
}

level=notice
[[ "${REQUIRE:-false}" == "true" ]] && level=error
failed=0
skip() { # <stack> <reason>
  echo "::${level} title=${1}: skipped::stack ${1} skipped: ${2}"
  [[ "$level" == error ]] && failed=1
  return 0
}

# The stack's own <S>_<name> variable, else the repository-wide <name>.
per_stack() { local v; v="$(var "${S}_$1")"; printf '%s' "${v:-$(var "$1")}"; }
# "a, b" -> ["self-hosted","a","b"] (self-hosted first, once).
labels_json() {
  local out='"self-hosted"' label
  local IFS=,
  for label in $1; do
    label="${label#"${label%%[![:space:]]*}"}"; label="${label%"${label##*[![:space:]]}"}"
    [[ -z "$label" || "$label" == self-hosted ]] || out+=",$(json "$label")"
  done
  printf '[%s]' "$out"
}

backend_url="$(var PULUMI_BACKEND_URL)"
entries=()
runner_entries=()
kubernetes_entries=()
for stack in "$@"; do
  [[ "$stack" =~ ^[a-z][a-z0-9-]*$ ]] || { echo "ci-stacks: stack name \"$stack\" is not [a-z][a-z0-9-]*" >&2; exit 2; }
  S="$(tr 'a-z-' 'A-Z_' <<<"$stack")"
  if [[ "${FROM_FORK:-false}" == "true" ]]; then
    skip "$stack" "pull requests from forks get no secrets and no OIDC token; a maintainer can push the branch to this repository to preview it"
    continue
  fi
  if [[ ! -f "Pulumi.$stack.yaml" ]]; then
    skip "$stack" "Pulumi.$stack.yaml does not exist"
    continue
  fi
  if [[ -z "$backend_url" && "${HAS_PULUMI_ACCESS_TOKEN:-false}" != "true" ]]; then
    skip "$stack" "no Pulumi backend: set the repository secret PULUMI_ACCESS_TOKEN (Pulumi Cloud) or the repository variable PULUMI_BACKEND_URL (gs://, s3://)"
    continue
  fi
  gcp_provider="$(var "${S}_GCP_WORKLOAD_IDENTITY_PROVIDER")"
  gcp_sa="$(var "${S}_GCP_SERVICE_ACCOUNT")"
  aws_role="$(var "${S}_AWS_ROLE_TO_ASSUME")"
  aws_region="$(var "${S}_AWS_REGION")"
  missing=()
  if [[ -n "$gcp_provider" || -n "$gcp_sa" ]]; then
    [[ -n "$gcp_provider" ]] || missing+=("${S}_GCP_WORKLOAD_IDENTITY_PROVIDER")
    [[ -n "$gcp_sa" ]] || missing+=("${S}_GCP_SERVICE_ACCOUNT")
  fi
  if [[ -n "$aws_role" || -n "$aws_region" ]]; then
    [[ -n "$aws_role" ]] || missing+=("${S}_AWS_ROLE_TO_ASSUME")
    [[ -n "$aws_region" ]] || missing+=("${S}_AWS_REGION")
  fi
  if [[ ${#missing[@]} -gt 0 ]]; then
    skip "$stack" "repository variable(s) ${missing[*]} not set (half-configured credentials)"
    continue
  fi
  if [[ -z "$gcp_provider" && -z "$aws_role" ]]; then
    skip "$stack" "no cloud credentials: set the repository variables ${S}_GCP_WORKLOAD_IDENTITY_PROVIDER and ${S}_GCP_SERVICE_ACCOUNT (Google) or ${S}_AWS_ROLE_TO_ASSUME and ${S}_AWS_REGION (AWS)"
    continue
  fi
  entry="\"stack\":$(json "$stack"),\"gcp_provider\":$(json "$gcp_provider"),\"gcp_service_account\":$(json "$gcp_sa"),\"aws_role\":$(json "$aws_role"),\"aws_region\":$(json "$aws_region")"
  if [[ "${DEPLOY:-false}" == "true" ]]; then
    mode="$(per_stack DEPLOY_MODE)"
    mode="${mode:-runner}"
    cluster=""
    location=""
    case "$mode" in
      runner)
        labels="$(per_stack DEPLOY_RUNNER_LABEL)"
        if [[ -z "$labels" ]]; then
          skip "$stack" "no runner inside the network: set the repository variable DEPLOY_RUNNER_LABEL (or ${S}_DEPLOY_RUNNER_LABEL) to the label of a self-hosted runner that reaches the instance, or DEPLOY_MODE=kubernetes-job (docs/ci.md)"
          continue
        fi
        runs_on="$(labels_json "$labels")"
        ;;
      kubernetes-job)
        cluster="$(per_stack CLUSTER)"
        if [[ -n "$gcp_provider" ]]; then location="$(per_stack CLUSTER_LOCATION)"; else location="$aws_region"; fi
        if [[ -z "$cluster" || -z "$location" ]]; then
          skip "$stack" "DEPLOY_MODE=kubernetes-job needs the cluster that reaches the instance: set ${S}_CLUSTER$([[ -n "$gcp_provider" ]] && echo " and ${S}_CLUSTER_LOCATION") (or CLUSTER$([[ -n "$gcp_provider" ]] && echo " and CLUSTER_LOCATION"))"
          continue
        fi
        runs_on='["ubuntu-latest"]'
        ;;
      *)
        skip "$stack" "DEPLOY_MODE \"$mode\" is not runner or kubernetes-job"
        continue
        ;;
    esac
    entry+=",\"mode\":$(json "$mode"),\"runs_on\":$runs_on,\"cluster\":$(json "$cluster"),\"cluster_location\":$(json "$location")"
    if [[ "$mode" == runner ]]; then runner_entries+=("{$entry}"); else kubernetes_entries+=("{$entry}"); fi
  fi
  entries+=("{$entry}")
done

pair() { # <prefix> <entries...>: <prefix>matrix=... and any<suffix>=...
  local prefix="$1" IFS=,
  shift
  echo "${prefix}matrix={\"include\":[$*]}"
  if [[ $# -eq 0 ]]; then echo "any${prefix:+_${prefix%_}}=false"; else echo "any${prefix:+_${prefix%_}}=true"; fi
}
outputs() {
  pair "" "${entries[@]}"
  if [[ "${DEPLOY:-false}" == "true" ]]; then
    pair runner_ "${runner_entries[@]}"
    pair kubernetes_ "${kubernetes_entries[@]}"
  fi
}
if [[ -n "${GITHUB_OUTPUT:-}" ]]; then outputs >>"$GITHUB_OUTPUT"; else outputs; fi
exit "$failed"
