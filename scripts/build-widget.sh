#!/usr/bin/env bash
# Builds the script-tag distribution into dist/ (release, wasm-opt -Oz), then names the widget's
# files by content hash, writes the loader and precompresses everything (scripts/bundle.mjs),
# and prints the sizes against their budgets. Expects the toolchain from scripts/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
export TRUNK_SKIP_VERSION_CHECK=true
# Size: panics and Debug output in a shipped widget only ever reach the console, so the
# script-tag build drops their file/line tables and Debug formatting (about 44 KB brotli of
# 273). Both are rustc -Z flags; RUSTC_BOOTSTRAP lets the pinned stable rustc accept them.
# Its own target dir, so tests and the Leptos example (built without them) never thrash it.
export RUSTC_BOOTSTRAP=1
export RUSTFLAGS="-Zlocation-detail=none -Zfmt-debug=none"
export CARGO_TARGET_DIR="$PWD/target/script-tag"
trunk build --release --skip-version-check 2>&1 | grep -vE '^\s*$' | tail -n 3
node scripts/bundle.mjs dist
node scripts/size-report.mjs dist "$@"
