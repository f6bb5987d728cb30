#!/usr/bin/env bash
# Keeps one GitHub issue per stack in step with `make drift` (drift.yml):
#
#   scripts/drift-issue.sh <stack> <report.md>   open, update or close the stack's issue
#   scripts/drift-issue.sh --extract <log>       the report out of a Kubernetes Job's log
#
# The report is scripts/drift.ts's Markdown; its first line says the verdict:
#   <!-- drift-status: clean|drift|error stack=<stack> -->
# - drift: the open issue titled "Drift: stack <stack>" (label `drift`) gets the
#   report as its body, or is opened with it;
# - clean: that issue, if open, gets a comment and is closed;
# - error, or no report at all (the drift job did not finish): the issue is left
#   as it is and this script fails, so the run shows red.
# Needs `gh` with GH_TOKEN (issues: write) and GH_REPO; RUN_URL links the run.
# tests/drift-issue.test.ts runs it against a fake `gh`.
set -euo pipefail

BEGIN="<!-- platform-databases drift report begin -->"
END="<!-- platform-databases drift report end -->"

if [[ "${1:-}" == --extract ]]; then
  [[ -f "${2:-}" ]] || exit 0
  awk -v b="$BEGIN" -v e="$END" '$0 == e { on = 0 } on { print } $0 == b { on = 1 }' "$2"
  exit 0
fi

[[ $# -eq 2 ]] || { echo "usage: scripts/drift-issue.sh <stack> <report.md> | --extract <log>" >&2; exit 2; }
stack="$1" report="$2"
[[ "$stack" =~ ^[a-z][a-z0-9-]*$ ]] || { echo "drift-issue: stack name \"$stack\" is not [a-z][a-z0-9-]*" >&2; exit 2; }
title="Drift: stack $stack"
label=drift
run="${RUN_URL:-this run}"

status=error
if [[ -s "$report" ]]; then
  first="$(head -n1 "$report")"
  if [[ "$first" =~ ^\<!--\ drift-status:\ (clean|drift|error)\ stack=([a-z0-9-]+)\ --\>$ ]]; then
    status="${BASH_REMATCH[1]}"
    if [[ "${BASH_REMATCH[2]}" != "$stack" ]]; then
      echo "::error title=drift ${stack}::the report is about stack ${BASH_REMATCH[2]}, not ${stack}"
      exit 1
    fi
  fi
fi

# The open issue of this stack: exact title, label drift (the oldest, should there be two).
number="$(gh issue list --state open --label "$label" --limit 200 --json number,title \
  --template '{{range .}}{{.number}}{{"\t"}}{{.title}}{{"\n"}}{{end}}' |
  awk -F'\t' -v t="$title" '$2 == t { print $1 }' | sort -n | head -n1)"

case "$status" in
  clean)
    if [[ -n "$number" ]]; then
      gh issue comment "$number" --body "Stack \`$stack\` is clean again: the server matches the stack and \`make check\` passes ($run)."
      gh issue close "$number" --reason completed
      echo "drift-issue: stack $stack is clean; closed #$number"
    else
      echo "drift-issue: stack $stack is clean; no open issue"
    fi
    ;;
  drift)
    body="$(mktemp)"
    trap 'rm -f "$body"' EXIT
    { cat "$report"; printf '\n---\nLast checked by %s on %s. This issue is updated by each drift run and closed by the first clean one.\n' "$run" "$(date -u +%FT%TZ)"; } >"$body"
    if [[ -n "$number" ]]; then
      gh issue edit "$number" --body-file "$body"
      echo "drift-issue: stack $stack still drifts; updated #$number"
    else
      gh label create "$label" --color D93F0B --description "a stack differs from its server (drift.yml)" --force >/dev/null
      gh issue create --title "$title" --label "$label" --body-file "$body"
      echo "drift-issue: stack $stack drifts; opened an issue"
    fi
    ;;
  *)
    echo "::error title=drift ${stack}::make drift could not check stack ${stack} (no report, or the report says error); see the drift job's log. The drift issue is left as it is."
    [[ -s "$report" ]] && cat "$report"
    exit 1
    ;;
esac
