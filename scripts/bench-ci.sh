#!/usr/bin/env bash
# How long CI's `bash .ci/run` takes on a fresh clone of HEAD: first with
# nothing cached (an empty HOME: no Go module or build cache, no npm, pip or
# Maven cache, no built tools), then again on a second fresh clone with the
# caches the first run left (what every later CI run on a kept cache sees).
#
#   make bench-ci                 both runs (the cold one builds every tool: about an hour here)
#   make bench-ci ARGS=--cached   only the cached run (reuses BENCH_CI_DIR's HOME if present)
#
# BENCH_CI_DIR (default: a new temp dir) holds the clones, the HOME and the
# logs (cold.log, cached.log); it needs about 10 GB. The figures are printed
# as seconds, per run and per phase (tool builds as the installers report
# them, the unit and end-to-end suites as vitest reports them).
#
# The runs use the e2e test ports (55433...): stop your own test stack first
# (`make clean-local` or `scripts/local-server.ts stop test`).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mode=both
case "${1:-}" in
  "") ;;
  --cached) mode=cached ;;
  *) echo "usage: $0 [--cached]" >&2; exit 2 ;;
esac

dir="${BENCH_CI_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/bench-ci.XXXXXX")}"
home="$dir/home"
mkdir -p "$home/.config/go"

# Keep the machine's settings (registry config, git identity, Go env), not its caches.
for f in .npmrc .gitconfig .config/go/env .config/pip/pip.conf; do
  if [[ -f "$HOME/$f" && ! -e "$home/$f" ]]; then
    mkdir -p "$(dirname "$home/$f")"
    cp "$HOME/$f" "$home/$f"
  fi
done

if grep -q ':55433 ' <<<"$(ss -ltn 2>/dev/null || true)"; then
  echo "bench-ci: something listens on 55433 (a test stack?): stop it first" >&2
  exit 1
fi

# CI checks out ../shared beside the clone (the spec the chart fixture is compared with).
if [[ -d "$root/../shared" && ! -e "$dir/shared" ]]; then
  ln -s "$(cd "$root/../shared" && pwd)" "$dir/shared"
fi

run() {
  local name="$1" clone="$dir/$1-clone" start rc
  rm -rf "$clone"
  git clone -q "$root" "$clone"
  git -C "$clone" checkout -q "$(git -C "$root" rev-parse HEAD)"
  echo "bench-ci: $name run of $(git -C "$clone" rev-parse --short HEAD) in $clone (log: $dir/$name.log)" >&2
  start=$(date +%s)
  set +e
  # PYENV_ROOT: pyenv's shims find their root through HOME otherwise.
  # KEYCLOAK_MAVEN_REPO_LOCAL: Java takes ~ from the passwd entry, not HOME.
  # -u ...: run as CI does, not as a sub-make of `make bench-ci ARGS=...`
  # (make exports command-line variables to its recipes).
  env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES -u ARGS -u STACK -u PORT -u SERVICE \
    HOME="$home" PYENV_ROOT="${PYENV_ROOT:-$HOME/.pyenv}" \
    KEYCLOAK_MAVEN_REPO_LOCAL="$home/.m2/repository" \
    bash "$clone/.ci/run" >"$dir/$name.log" 2>&1
  rc=$?
  set -e
  local seconds=$(( $(date +%s) - start ))
  local plain
  plain="$(sed 's/\x1b\[[0-9;]*m//g' "$dir/$name.log")"
  echo "$name: exit $rc in ${seconds}s"
  grep -E '^==> pulumi CLI built in|pulumi-resource-postgresql .* built in|^ensure-[a-z-]+: (built|fetched) in|^ensure-[a-z-]+: built all|^ensure-tools: .* ready in' <<<"$plain" \
    | sed 's/^/  /' || true
  grep -E '^ +Duration ' <<<"$plain" | sed 's/^ */  vitest /' || true
  rm -rf "$clone"
  return "$rc"
}

if [[ "$mode" == both ]]; then
  # The Go module cache is read-only on purpose; make it deletable first.
  if [[ -d "$home/go" ]]; then chmod -R u+w "$home/go"; fi
  rm -rf "$home/go" "$home/.cache" "$home/.npm" "$home/.m2"
  run cold
fi
run cached
echo "bench-ci: logs in $dir" >&2
