#!/usr/bin/env bash
# Install the git pre-commit hook that runs scripts/pre-commit.sh (the ADR-0060
# naming check on staged files). `make hooks` runs this. An existing hook that
# is not ours is kept as pre-commit.local and still runs first.
#
#   scripts/install-git-hooks.sh            install (idempotent)
#   scripts/install-git-hooks.sh --uninstall
set -euo pipefail
top="$(git rev-parse --show-toplevel)"
hooks="$(git rev-parse --git-path hooks)"
[[ "$hooks" = /* ]] || hooks="$top/$hooks"
hook="$hooks/pre-commit"
marker="# installed by scripts/install-git-hooks.sh (platform-databases)"

if [[ "${1:-}" == "--uninstall" ]]; then
  if [[ -f "$hook" ]] && grep -qF "$marker" "$hook"; then
    rm -f "$hook"
    [[ -f "$hook.local" ]] && mv "$hook.local" "$hook"
    echo "removed $hook"
  else
    echo "no hook of ours at $hook"
  fi
  exit 0
fi

mkdir -p "$hooks"
if [[ -f "$hook" ]] && ! grep -qF "$marker" "$hook"; then
  [[ -e "$hook.local" ]] && { echo "install-git-hooks: both $hook and $hook.local exist; merge them by hand" >&2; exit 1; }
  mv "$hook" "$hook.local"
  echo "kept your previous hook as $hook.local (it still runs first)"
fi
tmp="$(mktemp "$hooks/.pre-commit.XXXXXX")"
cat >"$tmp" <<HOOK
#!/usr/bin/env bash
$marker
set -euo pipefail
here="\$(dirname "\$0")"
if [[ -x "\$here/pre-commit.local" ]]; then "\$here/pre-commit.local" "\$@"; fi
exec "\$(git rev-parse --show-toplevel)/scripts/pre-commit.sh"
HOOK
chmod +x "$tmp"
mv "$tmp" "$hook"
echo "installed $hook: the ADR-0060 naming check runs on staged files before each commit"
