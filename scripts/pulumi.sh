#!/usr/bin/env bash
# Runs the real Pulumi engine against a stack:
#   scripts/pulumi.sh <stack> <pulumi args...>
#
# Local stacks (target local: dev, test, scratch stacks), offline:
# - CLI and postgresql provider from scripts/ensure-pulumi.sh (built from Go
#   modules, cached under ~/.cache/platform-databases);
# - state in a file backend under .local/state (git-ignored), plugins and logs
#   under .local/pulumi-home; `?metadata=skip`: no `.attrs` sidecar (with an
#   MD5 of the whole state file) beside each of the engine's saves and their
#   `.bak` copies (docs/performance.md);
# - secrets encrypted with a passphrase generated once into .local/passphrase
#   (git-ignored, never committed);
# - no update checks, no plugin downloads;
# - the admin password of a local stack reaches the provider as PGPASSWORD;
# - for the commands that run providers, the dynamic-provider host starts
#   beside the CLI instead of when the engine first asks for it
#   (scripts/lib/dynamic-host.sh; PLATFORM_DYNAMIC_HOST=launch: as the standard CLI);
# - before up/refresh/destroy (not a read-only `refresh --preview-only`), what
#   an interrupted update left (a lock held by a dead process, pending
#   operations) is settled by scripts/stack-recover.ts --auto
#   (PLATFORM_RECOVER=off skips it).
#
# Cloud stacks (target gcp or aws) whose backend the caller names
# (PULUMI_BACKEND_URL, or PULUMI_ACCESS_TOKEN for Pulumi Cloud; CI and the
# deploy Job): that backend, PULUMI_HOME and plugin downloads as the caller has
# them; the stack is <PULUMI_ORG>/<stack> when PULUMI_ORG is set; it is never
# created here, and nothing is generated.
#
# The policy pack: `--policy-pack policy` needs the Node.js language host; where
# it is missing (here) `--policy-pack policy/analyzer.sh` runs the same pack
# through the engine's binary-analyzer path (policy/analyzer.sh, docs/cloud.md).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
stack="${1:?usage: scripts/pulumi.sh <stack> <pulumi args...>}"
shift

committed="$root/Pulumi.$stack.yaml"
external=false
if [ -f "$committed" ] && grep -Eq '^[[:space:]]*platform-databases:target:[[:space:]]*"?(gcp|aws)' "$committed" &&
  { [ -n "${PULUMI_BACKEND_URL:-}" ] || [ -n "${PULUMI_ACCESS_TOKEN:-}" ]; }; then
  external=true
fi

PATH="$("$root/scripts/ensure-node.sh" | tail -n1):$PATH"
if [ "$external" = true ] && command -v pulumi >/dev/null 2>&1; then
  : # the caller's CLI (CI installs the pinned version); plugins are downloaded as needed
else
  cli_only=()
  [ "$external" = true ] && cli_only=(--cli-only)
  PATH="$("$root/scripts/ensure-pulumi.sh" "${cli_only[@]}" | tail -n1):$PATH"
fi
# pulumi-resource-pulumi-nodejs (dynamic providers): the one in scripts/plugins
# starts the provider host directly; the one shipped in @pulumi/pulumi first
# spends a node start on locating it.
PATH="$root/scripts/plugins:$PATH:$root/node_modules/@pulumi/pulumi"
export PATH
export PULUMI_SKIP_UPDATE_CHECK=true
# The CLI's garbage collector: an `up` saves the whole state after every step,
# each save a fresh heap of the state's objects, and at Go's default (GOGC=100)
# collecting them took about a fifth of the CLI's CPU in a cold `up` of 30
# services. Collecting at 5x the live heap instead of 2x, capped at 1 GiB,
# trades memory for that CPU (the CLI's peak RSS there 270 -> 520 MB;
# docs/performance.md). A caller's GOGC / GOMEMLIMIT wins.
export GOGC="${GOGC:-400}"
export GOMEMLIMIT="${GOMEMLIMIT:-1GiB}"

stack_ref="$stack"
if [ "$external" = true ]; then
  [ -n "${PULUMI_ORG:-}" ] && [ -n "${PULUMI_ACCESS_TOKEN:-}" ] && [ -z "${PULUMI_BACKEND_URL:-}" ] && stack_ref="$PULUMI_ORG/$stack"
else
  mkdir -p "$root/.local/state"
  export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$root/.local/state?metadata=skip}"
  export PULUMI_HOME="${PULUMI_HOME:-$root/.local/pulumi-home}"
  export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
  export PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK=true
  if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
    if [ ! -s "$root/.local/passphrase" ]; then
      (umask 077; head -c 32 /dev/urandom | base64 > "$root/.local/passphrase")
    fi
    export PULUMI_CONFIG_PASSPHRASE_FILE="$root/.local/passphrase"
  fi
  if [ -f "$root/.local/$stack/admin-password" ] && [ -z "${PGPASSWORD:-}" ]; then
    PGPASSWORD="$(cat "$root/.local/$stack/admin-password")"
    export PGPASSWORD
  fi
fi

# A file backend's directory (its URL without the query, e.g. ?metadata=skip).
file_state_dir() {
  local dir="${PULUMI_BACKEND_URL#file://}"
  printf '%s' "${dir%%\?*}"
}

# The kubernetes provider of a local stack, built from Go modules and cached
# (scripts/ensure-kubernetes-provider.sh; the engine takes a
# pulumi-resource-kubernetes on PATH before its plugin cache, as for
# postgresql): when the config the engine gets (the committed file, or a
# --config-file) says `kubernetes: true`, or the stack's state holds
# Kubernetes objects (a destroy or refresh after the key was turned off).
uses_kubernetes() {
  local file="$committed" prev="" arg state
  for arg in "$@"; do
    [ "$prev" = --config-file ] && file="$arg"
    case "$arg" in --config-file=*) file="${arg#--config-file=}" ;; esac
    prev="$arg"
  done
  if [ -f "$file" ] && grep -Eq '^[[:space:]]*platform-databases:kubernetes:[[:space:]]*"?true' "$file"; then
    return 0
  fi
  state="$(file_state_dir)/.pulumi/stacks/platform-databases/$stack.json"
  [ -f "$state" ] && grep -Eq '"type": ?"pulumi:providers:kubernetes"' "$state"
}
if [ "$external" = false ] && uses_kubernetes "$@"; then
  PATH="$("$root/scripts/ensure-kubernetes-provider.sh" | tail -n1):$PATH"
fi

cd "$root"
# The dynamic-provider host, started now instead of when the engine first needs
# it (scripts/lib/dynamic-host.sh; PLATFORM_DYNAMIC_HOST=launch: as the standard CLI).
case "${1:-}" in
  up|update|preview|pre|refresh|destroy|import)
    # shellcheck source=lib/dynamic-host.sh
    . "$root/scripts/lib/dynamic-host.sh"
    dynamic_host_start "$root"
    ;;
esac
# Pulumi writes `encryptionsalt` (and normalised values) into the stack's
# config file. The committed Pulumi.<stack>.yaml of a local stack stays
# untouched: the engine works on a git-ignored copy under .local/<stack>/ (the
# salt is also kept in the stack's state, from which Pulumi restores it into
# the copy). A cloud stack uses its committed file as is (its secrets provider
# settings live there; CI's checkout is thrown away).
scratch="$root/.local/$stack/Pulumi.$stack.yaml"
# Does the stack exist? With the file backend, its state file says so without
# a CLI start of its own (about 0.3 s); any other backend asks `stack select`.
stack_exists() {
  case "${PULUMI_BACKEND_URL:-}" in
    file://*)
      local project dir
      project="$(sed -n 's/^name: *//p' "$root/Pulumi.yaml" | head -n1)"
      dir="$(file_state_dir)/.pulumi/stacks"
      local f
      for f in "$dir/$project/$stack".json{,.gz,.zst} "$dir/$stack".json{,.gz,.zst}; do
        [ -f "$f" ] && return 0
      done
      return 1
      ;;
    *) pulumi stack select "$stack_ref" >/dev/null 2>&1 ;;
  esac
}
if ! stack_exists; then
  if [ "$external" = true ]; then
    echo "pulumi.sh: stack $stack_ref not found in the backend ${PULUMI_BACKEND_URL:-Pulumi Cloud}; it is created by a first \`pulumi stack init\` on purpose, not here" >&2
    exit 2
  fi
  saved=""
  [ -f "$committed" ] && saved="$(cat "$committed")"
  pulumi stack init "$stack" --secrets-provider passphrase >/dev/null
  # Keep the tree as it was: restore the committed file, or remove the one
  # `stack init` wrote for a scratch stack (the salt is kept in the state).
  if [ -n "$saved" ]; then printf '%s\n' "$saved" > "$committed"; else rm -f "$committed"; fi
fi
config_args=()
if [ -f "$committed" ] && [ "$external" = false ]; then
  case " $* " in
    *" --config-file "*|*" --config-file="*) ;;
    *)
      case "${1:-}" in
        up|update|preview|pre|refresh|destroy|config|import)
          mkdir -p "$(dirname "$scratch")"
          cp "$committed" "$scratch"
          config_args=(--config-file "$scratch")
          ;;
      esac
      ;;
  esac
fi

# A local stack after a crash: release a dead process's lock and settle
# pending operations first (fast path: nothing to do, nothing started).
if [ "$external" = false ] && [ "${PLATFORM_RECOVER:-on}" != off ] && [[ " $* " != *" --preview-only "* ]]; then
  case "${1:-}" in
    up|update|refresh|destroy)
      state_dir="$(file_state_dir)"
      checkpoint="$state_dir/.pulumi/stacks/platform-databases/$stack.json"
      if compgen -G "$state_dir/.pulumi/locks/*/platform-databases/$stack/*.json" >/dev/null ||
        compgen -G "$state_dir/.pulumi/locks/platform-databases/$stack/*.json" >/dev/null ||
        { [ -f "$checkpoint" ] && grep -q '"pending_operations"' "$checkpoint"; }; then
        "$root/node_modules/.bin/tsx" "$root/scripts/stack-recover.ts" "$stack" --auto
      fi
      ;;
  esac
fi

# `up` and `preview` run the program. Without the pulumi-language-nodejs host
# (not buildable from the Go modules reachable here), the SDK serves the program
# in-process and the CLI connects to it (what the Automation API does).
# PULUMI_HOST=standard instead runs it as the standard host does: a node
# process running @pulumi/pulumi's cmd/run with Pulumi.yaml's runtime options
# (scripts/pulumi-host.ts).
case "${1:-}" in
  up|update|preview|pre)
    if ! command -v pulumi-language-nodejs >/dev/null 2>&1; then
      server="$root/scripts/pulumi-inline.ts"
      [ "${PULUMI_HOST:-}" = standard ] && server="$root/scripts/pulumi-host.ts"
      # node with the project's .ts hook, as Pulumi.yaml runs the program (the
      # tsx CLI would start a second node process, and its hook costs more).
      exec node --require "$root/scripts/lib/register-ts.cjs" "$server" --stack "$stack_ref" --non-interactive "$@" "${config_args[@]}"
    fi
    ;;
esac
exec pulumi --stack "$stack_ref" --non-interactive "$@" "${config_args[@]}"
