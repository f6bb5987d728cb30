#!/usr/bin/env bash
# The policy pack as a binary analyzer plugin, for engines without the Node.js
# language host (pulumi-language-nodejs cannot be built offline here):
#
#   scripts/pulumi.sh <stack> preview --policy-pack policy/analyzer.sh [--policy-pack-config f.json]
#
# Given an executable instead of a directory, the engine (pkg/resource/plugin/
# analyzer_plugin.go, NewPolicyAnalyzer) starts it as `<path> <engine address>`
# and speaks the Analyzer gRPC protocol with it. This script starts the pack the
# way the language host would: @pulumi/pulumi's run-policy-pack in this folder
# (it compiles index.ts with ts-node), so the engine, the pack and its
# enforcement are the real ones; only who launches the pack differs. With the
# language host present, `--policy-pack policy` is the same pack.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
runner="$(node -p 'require.resolve("@pulumi/pulumi/cmd/run-policy-pack")')"
exec node "$runner" "${1:?usage: analyzer.sh <engine address>}" .
