#!/usr/bin/env bash
# Makes the Pulumi engine available offline and prints the directory to put on
# PATH as the last line of stdout (progress goes to stderr):
#
#   PATH="$(scripts/ensure-pulumi.sh | tail -n1):$PATH"    # run it, or
#   . scripts/ensure-pulumi.sh                              # source it (also prepends PATH)
#
#   scripts/ensure-pulumi.sh --cli-only   (or ENSURE_PULUMI_CLI_ONLY=1): succeed even
#                                         when the postgresql provider is missing
#
# Versions come from tools/versions.env (PULUMI_VERSION, PULUMI_POSTGRESQL_VERSION).
# Order of preference:
#  1. `pulumi` on PATH that reports exactly v$PULUMI_VERSION and whose plugin
#     cache (PULUMI_HOME) holds resource plugin postgresql $PULUMI_POSTGRESQL_VERSION;
#  2. the cache, ${XDG_CACHE_HOME:-~/.cache}/platform-databases/:
#       pulumi-$PULUMI_VERSION/bin/                 pulumi (+ links, see below)
#       pulumi-resource-postgresql-$PULUMI_POSTGRESQL_VERSION/pulumi-resource-postgresql
#     each complete only with a .stamp file that matches the pins;
#  3. otherwise it builds the CLI from Go modules pinned by tools/pulumi/go.mod
#     and go.sum (about 8 minutes on 2 idle cores with an empty Go build cache). A
#     build goes to a temporary directory that is renamed into place once it
#     works, so a half-built cache is never used; a flock serialises builds.
#
# How the engine finds the postgresql provider: bin/ holds a symlink
# pulumi-resource-postgresql -> ../../pulumi-resource-postgresql-<ver>/..., and
# the engine takes a pulumi-resource-<name> found on PATH before its plugin cache
# and without any download (it logs "warning: using pulumi-resource-postgresql
# from $PATH"). That works for every PULUMI_HOME, also a fresh `mktemp -d` one,
# so nothing has to be installed per PULUMI_HOME, and it works with
# PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true. (`pulumi plugin install
# resource postgresql <ver> --file <bin>` works as well, but only for the one
# PULUMI_HOME it was run against.) Do not set PULUMI_IGNORE_AMBIENT_PLUGINS.
#
# The postgresql provider: the published provider's module
# (github.com/pulumi/pulumi-postgresql/provider/v3) is not served by the Go
# module proxy reachable here, so the cache is filled from the first of:
#   $PULUMI_POSTGRESQL_PROVIDER_BIN (a pulumi-resource-postgresql of version
#     $PULUMI_POSTGRESQL_VERSION, e.g. from the release archive);
#   ${PULUMI_HOME:-~/.pulumi}/plugins/resource-postgresql-v<ver>/ (the published
#     plugin, left by `pulumi plugin install resource postgresql <ver>` online);
#   scripts/build-postgresql-provider.sh, which bridges the upstream Terraform
#     provider itself from Go modules into the same cache directory and stamp.
# Without any of them the script fails (exit 3) unless --cli-only is given.
#
# The Node.js language host (module
# github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3, untagged)
# is not served either and is not built. `pulumi preview/up` of a nodejs
# project run by the CLI needs it on PATH; the Automation API with an inline
# program does not (the Node SDK serves the language runtime itself, `--client`),
# and that works with the CLI built here. If $PULUMI_LANGUAGE_NODEJS_BIN names
# a binary, it is copied into bin/.

if [ -n "${BASH_VERSION:-}" ] && [ "${BASH_SOURCE[0]}" != "$0" ]; then
  # Sourced: run as a child (keeps `set -e` and friends out of the caller's
  # shell), then prepend the bin directory to the caller's PATH.
  _ensure_pulumi_out="$(bash "${BASH_SOURCE[0]}")"
  _ensure_pulumi_rc=$?
  if [ "$_ensure_pulumi_rc" -eq 0 ]; then
    _ensure_pulumi_bin="${_ensure_pulumi_out##*$'\n'}"
    case ":$PATH:" in
      *":$_ensure_pulumi_bin:"*) ;;
      *) PATH="$_ensure_pulumi_bin:$PATH"; export PATH ;;
    esac
    printf '%s\n' "$_ensure_pulumi_bin"
  fi
  unset _ensure_pulumi_out _ensure_pulumi_bin
  return "$_ensure_pulumi_rc"
fi

set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=SCRIPTDIR/../tools/versions.env
. "$root/tools/versions.env"

cli_only="${ENSURE_PULUMI_CLI_ONLY:-0}"
for arg in "$@"; do
  case "$arg" in
    --cli-only) cli_only=1 ;;
    -h|--help) sed -n '2,/^$/{s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "ensure-pulumi: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

log() { echo "==> $*" >&2; }

cache="${XDG_CACHE_HOME:-$HOME/.cache}/platform-databases"
cli_dir="$cache/pulumi-$PULUMI_VERSION"
bin="$cli_dir/bin"
prov_name="pulumi-resource-postgresql"
prov_dir="$cache/$prov_name-$PULUMI_POSTGRESQL_VERSION"
modfiles=("$root/tools/pulumi/go.mod" "$root/tools/pulumi/go.sum")
cli_stamp="pulumi=$PULUMI_VERSION gomod=$(cat "${modfiles[@]}" | sha256sum | cut -c1-16)"
prov_stamp="postgresql=$PULUMI_POSTGRESQL_VERSION"

# 1. A matching pulumi (with the postgresql plugin) already on PATH: use it.
has_pg_plugin() { # $1: pulumi binary; looks in its plugin cache (PULUMI_HOME)
  PULUMI_SKIP_UPDATE_CHECK=true "$1" plugin ls --json 2>/dev/null | tr -d ' \t\r\n' |
    grep -q "\"name\":\"postgresql\",\"kind\":\"resource\",\"version\":\"$PULUMI_POSTGRESQL_VERSION\""
}
if sys_pulumi="$(command -v pulumi 2>/dev/null)" && [ "$(dirname "$sys_pulumi")" != "$bin" ] &&
  [ "$(PULUMI_SKIP_UPDATE_CHECK=true "$sys_pulumi" version 2>/dev/null)" = "v$PULUMI_VERSION" ] &&
  has_pg_plugin "$sys_pulumi"; then
  dirname "$sys_pulumi"
  exit 0
fi

# 2. The cache, when everything in it matches the pinned versions.
cli_ok() { [ -x "$bin/pulumi" ] && [ "$(cat "$cli_dir/.stamp" 2>/dev/null)" = "$cli_stamp" ]; }
prov_ok() { [ -x "$prov_dir/$prov_name" ] && [ "$(cat "$prov_dir/.stamp" 2>/dev/null)" = "$prov_stamp" ]; }
link_ok() { [ "$(readlink "$bin/$prov_name" 2>/dev/null)" = "../../${prov_dir##*/}/$prov_name" ]; }
langhost_wanted() { [ -n "${PULUMI_LANGUAGE_NODEJS_BIN:-}" ] && ! cmp -s "$PULUMI_LANGUAGE_NODEJS_BIN" "$bin/pulumi-language-nodejs"; }

finish() {
  if ! prov_ok && [ "$cli_only" != 1 ]; then
    cat >&2 <<EOF
ensure-pulumi: no $prov_name $PULUMI_POSTGRESQL_VERSION available.
  Its published module is not served by the Go module proxy here, and
  scripts/build-postgresql-provider.sh is missing or failed. Provide it with
  PULUMI_POSTGRESQL_PROVIDER_BIN=/path/to/$prov_name, or install it into
  \${PULUMI_HOME:-~/.pulumi}/plugins/resource-postgresql-v$PULUMI_POSTGRESQL_VERSION/, then rerun.
  (--cli-only accepts the CLI alone: $bin)
EOF
    exit 3
  fi
  [ "${1:-}" != slow ] || [ -x "$bin/pulumi-language-nodejs" ] ||
    echo "ensure-pulumi: note: no pulumi-language-nodejs in $bin (Automation API inline programs do not need it)" >&2
  echo "$bin"
  exit 0
}

if cli_ok && { { prov_ok && link_ok; } || { [ "$cli_only" = 1 ] && [ -z "${PULUMI_POSTGRESQL_PROVIDER_BIN:-}" ]; }; } && ! langhost_wanted; then
  finish
fi

# 3. Fill in what is missing, one process at a time.
mkdir -p "$cache"
exec 9>"$cache/.pulumi.lock"
if ! flock -n 9; then
  log "waiting for another ensure-pulumi.sh (lock $cache/.pulumi.lock)"
  flock 9
fi
tmp=""
trap '[ -z "$tmp" ] || rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# Leftovers of a build that was killed (we hold the lock: nobody else is building).
rm -rf "$cache"/.pulumi-build-* "$cache"/.provider-*

# Atomically replaces directory $2 with the complete directory $1.
install_dir() {
  local old=""
  if [ -e "$2" ]; then old="$(mktemp -d "$cache/.old-XXXXXX")"; mv "$2" "$old/"; fi
  mv -T "$1" "$2"
  [ -z "$old" ] || rm -rf "$old"
}

if ! cli_ok; then
  command -v go >/dev/null || { echo "ensure-pulumi: go is required to build the pulumi CLI" >&2; exit 1; }
  log "building pulumi CLI v$PULUMI_VERSION (first run, ~8 min on 2 idle cores; $(go version | cut -d' ' -f3))"
  tmp="$(mktemp -d "$cache/.pulumi-build-XXXXXX")"
  chmod 755 "$tmp"
  mkdir "$tmp/bin"
  start=$SECONDS
  # -mod=readonly: go.mod/go.sum are committed and complete; never rewrite them.
  (cd "$root/tools/pulumi" &&
    CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false" go build -trimpath \
      -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION" \
      -o "$tmp/bin/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi) >&2
  got="$(PULUMI_SKIP_UPDATE_CHECK=true "$tmp/bin/pulumi" version)"
  [ "$got" = "v$PULUMI_VERSION" ] || { echo "ensure-pulumi: built pulumi reports $got, want v$PULUMI_VERSION" >&2; exit 1; }
  log "pulumi CLI built in $((SECONDS - start)) s"
  # Keep what the previous cache had beside the CLI (provider link, language host).
  for f in "$bin/$prov_name" "$bin/pulumi-language-nodejs"; do
    if [ -L "$f" ] || [ -e "$f" ]; then cp -P "$f" "$tmp/bin/"; fi
  done
  echo "$cli_stamp" >"$tmp/.stamp"
  install_dir "$tmp" "$cli_dir"
  tmp=""
fi

if ! prov_ok || [ -n "${PULUMI_POSTGRESQL_PROVIDER_BIN:-}" ]; then
  src=""
  plugin_dir="${PULUMI_HOME:-$HOME/.pulumi}/plugins/resource-postgresql-v$PULUMI_POSTGRESQL_VERSION"
  if [ -n "${PULUMI_POSTGRESQL_PROVIDER_BIN:-}" ]; then
    [ -x "$PULUMI_POSTGRESQL_PROVIDER_BIN" ] ||
      { echo "ensure-pulumi: PULUMI_POSTGRESQL_PROVIDER_BIN=$PULUMI_POSTGRESQL_PROVIDER_BIN is not an executable" >&2; exit 1; }
    src="$PULUMI_POSTGRESQL_PROVIDER_BIN"
  elif [ -x "$plugin_dir/$prov_name" ]; then
    src="$plugin_dir/$prov_name"
  fi
  if [ -n "$src" ] && ! { prov_ok && cmp -s "$src" "$prov_dir/$prov_name"; }; then
    log "caching $prov_name $PULUMI_POSTGRESQL_VERSION from $src"
    tmp="$(mktemp -d "$cache/.provider-XXXXXX")"
    chmod 755 "$tmp"
    cp "$src" "$tmp/$prov_name"
    chmod 755 "$tmp/$prov_name"
    echo "$prov_stamp" >"$tmp/.stamp"
    install_dir "$tmp" "$prov_dir"
    tmp=""
  elif [ -z "$src" ] && [ "$cli_only" != 1 ] && [ -x "$root/scripts/build-postgresql-provider.sh" ]; then
    # Writes $prov_dir atomically with the same .stamp format; has its own lock.
    "$root/scripts/build-postgresql-provider.sh" >&2 ||
      echo "ensure-pulumi: scripts/build-postgresql-provider.sh failed" >&2
  fi
fi

# The links in bin/ are replaced by rename, so a reader never sees a gap.
if prov_ok && ! link_ok; then
  ln -sfn "../../${prov_dir##*/}/$prov_name" "$bin/.$prov_name.$$"
  mv -T "$bin/.$prov_name.$$" "$bin/$prov_name"
elif ! prov_ok && { [ -L "$bin/$prov_name" ] || [ -e "$bin/$prov_name" ]; }; then
  rm -f "$bin/$prov_name"
fi
if langhost_wanted; then
  log "copying pulumi-language-nodejs from $PULUMI_LANGUAGE_NODEJS_BIN"
  cp "$PULUMI_LANGUAGE_NODEJS_BIN" "$bin/.pulumi-language-nodejs.$$"
  chmod 755 "$bin/.pulumi-language-nodejs.$$"
  mv -T "$bin/.pulumi-language-nodejs.$$" "$bin/pulumi-language-nodejs"
fi

finish slow
