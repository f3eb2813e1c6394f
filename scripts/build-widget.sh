#!/usr/bin/env bash
# Builds the script-tag distribution into dist/ (release, wasm-opt -Oz), then names the widget's
# files by content hash, writes the loader and precompresses everything (scripts/bundle.mjs),
# and prints the sizes against their budgets. Expects the toolchain from scripts/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
export TRUNK_SKIP_VERSION_CHECK=true
trunk build --release --skip-version-check 2>&1 | grep -vE '^\s*$' | tail -n 3
node scripts/bundle.mjs dist
node scripts/size-report.mjs dist "$@"
