# shellcheck shell=bash
# Sourced by scripts/pulumi.sh: start the dynamic-provider host beside the CLI
# (scripts/lib/dynamic-host.cjs), for the commands that may run the dynamic
# providers. The engine launches scripts/plugins/pulumi-resource-pulumi-nodejs,
# which hands it this host's port (PLATFORM_DYNAMIC_HOST_DIR).
# PLATFORM_DYNAMIC_HOST=launch leaves the start to the engine, as the standard
# CLI does.
#
# The host is in a session of its own, so a Ctrl-C in the terminal reaches the
# CLI (which stops gracefully, still using the host) and not the host; it exits
# when the process that started it (pulumi.sh, then the CLI it execs) is gone.
dynamic_host_start() {
  local root="$1" dir
  unset PLATFORM_DYNAMIC_HOST_DIR
  case "${PLATFORM_DYNAMIC_HOST:-prestart}" in
    prestart) ;;
    launch) return 0 ;;
    *) echo "pulumi.sh: PLATFORM_DYNAMIC_HOST=$PLATFORM_DYNAMIC_HOST is neither prestart (the default: started beside the CLI) nor launch (started by the engine when it needs it)" >&2; exit 2 ;;
  esac
  # setsid (util-linux) keeps the terminal's Ctrl-C from the host; without it
  # (macOS), the engine starts the host.
  command -v setsid >/dev/null 2>&1 || return 0
  dir="$(mktemp -d "${TMPDIR:-/tmp}/pulumi-dynamic-host.XXXXXX")"
  setsid node "$root/scripts/lib/dynamic-host.cjs" "$dir" "$$" </dev/null >&2 &
  echo "$!" >"$dir/pid"
  export PLATFORM_DYNAMIC_HOST_DIR="$dir"
}
