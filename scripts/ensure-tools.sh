#!/usr/bin/env bash
# Build or reuse several pinned tools at once (make tools / lint-tools / test-tools).
#
#   scripts/ensure-tools.sh pulumi actionlint promtool …   -> runs scripts/ensure-<name>.sh for each
#
# Up to TOOL_JOBS installers run at a time (default: the number of cores, at
# least 2): a cold machine spends much of a Go build fetching modules, which
# overlaps with another tool's compiling. Each installer already serialises
# itself on its own cache entry (scripts/lib/tool-cache.sh), so two callers
# never build the same tool twice. Cached tools return at once and print
# nothing; a build says so with its time. Each installer's progress goes to
# its own log, printed whole if it fails; the exit status is non-zero when
# any failed, after every other one has finished.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
jobs="${TOOL_JOBS:-$(nproc 2>/dev/null || echo 2)}"
(( jobs < 2 )) && jobs=2
logs="$(mktemp -d "${TMPDIR:-/tmp}/ensure-tools.XXXXXX")"
trap 'rm -rf "$logs"' EXIT

for name in "$@"; do
  [[ -x "$here/ensure-$name.sh" ]] || { echo "ensure-tools: no scripts/ensure-$name.sh" >&2; exit 2; }
done

declare -A pid_of=() start_of=()
failed=()
built=0

# finish <name>: wait for its installer and report.
finish() {
  local name="$1" status=0
  wait "${pid_of[$name]}" || status=$?
  local took=$(( $(cat "$logs/$name.end" 2>/dev/null || echo "$SECONDS") - start_of[$name] ))
  if (( status != 0 )); then
    failed+=("$name")
    echo "ensure-tools: $name FAILED (exit $status) after ${took}s:" >&2
    sed 's/^/  | /' "$logs/$name.log" >&2
  elif [[ -s "$logs/$name.log" ]]; then
    # Something was built or fetched (a cached tool is silent): its own timing lines, then the wall time here.
    built=1
    grep -E 'built in|fetched in|built all|installed ' "$logs/$name.log" >&2 || true
    echo "ensure-tools: $name ready in ${took}s" >&2
  fi
  unset "pid_of[$name]"
}

for name in "$@"; do
  while (( ${#pid_of[@]} >= jobs )); do
    wait -n || true
    for running in "${!pid_of[@]}"; do
      kill -0 "${pid_of[$running]}" 2>/dev/null || finish "$running"
    done
  done
  start_of[$name]=$SECONDS
  (
    status=0
    "$here/ensure-$name.sh" >/dev/null 2>"$logs/$name.log" || status=$?
    echo "$SECONDS" >"$logs/$name.end"
    exit "$status"
  ) &
  pid_of[$name]=$!
done
for running in "${!pid_of[@]}"; do finish "$running"; done

if (( built )); then echo "ensure-tools: $# tools ready in ${SECONDS}s, up to $jobs at a time" >&2; fi
if (( ${#failed[@]} > 0 )); then
  echo "ensure-tools: failed: ${failed[*]}" >&2
  exit 1
fi
