#!/usr/bin/env bash
# One command for every test: installs what is missing, then runs
#   1. native tests of the protocol crate and the reference server, the server's against
#      SQLite and again against PostgreSQL (a throw-away cluster: scripts/with-postgres.sh;
#      if it cannot start, this fails),
#   2. browser tests of the widget (wasm-bindgen-test in headless Chromium),
#   3. the release builds of the script-tag bundle (sizes printed and checked against their
#      budgets) and of the Leptos example,
#   4. Playwright end-to-end tests: real widget, real server, real Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

scripts/setup.sh
export PATH="$PWD/node_modules/.bin:$PATH"
export CARGO_TERM_COLOR=never
# One full run gains nothing from incremental caches, and they would double target/'s size.
export CARGO_INCREMENTAL=0
# The browser suite waits out real countdowns and back-offs; give the runner room (default 20 s).
export WASM_BINDGEN_TEST_TIMEOUT=300
# The property tests (protocol/tests/*.rs with proptest!) draw new random cases on every plain
# `cargo test`, which is how developers find new counterexamples (they are then kept in the
# *.proptest-regressions files, replayed first). This command replays one fixed seed so that
# its result is reproducible: run `cargo test -p chat-widget-protocol` a few times to explore.
export PROPTEST_RNG_SEED="${PROPTEST_RNG_SEED:-20261205}"

step "native tests: protocol and reference server (SQLite)"
# Two commands, not one with both -p: together, the protocol's dev-dependencies change the
# features of crates the server shares, and the PostgreSQL run below would build every server
# test binary again (half a minute and about 0.8 GB of target/).
cargo test -p chat-widget-protocol
cargo test -p chat-widget-server

step "reference server tests against PostgreSQL (throw-away cluster)"
scripts/with-postgres.sh cargo test -p chat-widget-server

step "browser tests: widget in headless Chromium (wasm-bindgen-test)"
# ChromeDriver leaves each run's browser profile in the temporary folder (20 to 100 MB, most
# of it the cached test module): it goes into a folder of its own, removed afterwards.
browser_tmp=$(mktemp -d)
trap 'rm -rf "$browser_tmp"' EXIT
TMPDIR="$browser_tmp" cargo test --target wasm32-unknown-unknown -p chat-widget --lib --tests
rm -rf "$browser_tmp"

step "the Leptos components render on the server, and their doc examples compile (native)"
cargo test -p chat-widget --no-default-features --features ssr,leptos,chatbots --test ssr
cargo test -p chat-widget --doc

step "release build of the script-tag bundle, and its size budget"
scripts/build-widget.sh --check

step "the Leptos example app builds (the e2e tests load it)"
(cd examples/leptos-app && TRUNK_SKIP_VERSION_CHECK=true trunk build --release --skip-version-check 2>&1 | tail -n 1)

step "end-to-end tests (Playwright + Chromium + reference server)"
cargo build -p chat-widget-server
node --test --test-concurrency=1 e2e/

echo
echo "all tests passed in $(( $(date +%s) - started )) s"
