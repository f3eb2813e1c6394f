#!/usr/bin/env bash
# Builds the script-tag distribution into dist/ (release, wasm-opt -Oz) and prints its sizes.
# Expects the toolchain from scripts/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
export TRUNK_SKIP_VERSION_CHECK=true
trunk build --release --skip-version-check 2>&1 | grep -vE '^\s*$' | tail -n 3
node scripts/size-report.mjs dist
