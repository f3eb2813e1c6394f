#!/usr/bin/env bash
# Builds the script-tag distribution into dist/: the widget module once per dialect (release,
# wasm-opt -Oz, Trunk; each build has only its own dialect's code), then the content-hashed
# names, the loader and the precompressed files (scripts/bundle.mjs), and prints the sizes
# against their budgets. Expects the toolchain from scripts/setup.sh.
# Usage: scripts/build-widget.sh [--check]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
export TRUNK_SKIP_VERSION_CHECK=true
# The dialects are Cargo.toml's `all-dialects` feature, the default one first: the loader falls
# back to it for an unknown data-dialect.
mapfile -t dialects < <(cargo metadata --no-deps --format-version 1 --offline | node -e '
  const meta = JSON.parse(require("fs").readFileSync(0, "utf8"));
  const dialects = meta.packages.find((p) => p.name === "chat-widget").features["all-dialects"];
  if (!dialects?.length) throw new Error("Cargo.toml names no dialect in the all-dialects feature");
  console.log(dialects.join("\n"));')
[[ ${#dialects[@]} -gt 0 ]] || { echo "build-widget: could not read the dialects from Cargo.toml" >&2; exit 1; }
for dialect in "${dialects[@]}"; do
  echo "build-widget: $dialect"
  trunk build --release --skip-version-check --features "$dialect,csr" --dist "target/widget/$dialect" 2>&1 \
    | grep -vE '^\s*$' | tail -n 1
done
node scripts/bundle.mjs dist target/widget "${dialects[@]}"
node scripts/size-report.mjs dist "$@"
