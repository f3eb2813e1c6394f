#!/usr/bin/env bash
# Installs what building and testing the widget needs, skipping whatever is already there.
# Safe to run again and again; every step checks first. See ../shared/TOOLCHAIN.md for why each pin.
set -euo pipefail
cd "$(dirname "$0")/.."

WASM_BINDGEN_VERSION=0.2.130
TRUNK_VERSION=0.21.14
need_browser=${NEED_BROWSER:-1}

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 3 minutes)"
  # Not --locked: its lock file pins a crate version the registry no longer has.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

if [ "$(trunk --version 2>/dev/null | awk '{print $2}')" != "$TRUNK_VERSION" ]; then
  say "installing trunk $TRUNK_VERSION (about 8 minutes)"
  cargo install trunk --version "$TRUNK_VERSION" --locked --force
fi

if [ "$need_browser" = 1 ] && { ! [ -x /usr/bin/chromium ] || ! [ -x /usr/bin/chromedriver ]; }; then
  say "installing Debian chromium and chromium-driver"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium chromium-driver >/dev/null
fi

# The server's tests also run against PostgreSQL (scripts/with-postgres.sh makes a throw-away
# cluster with initdb/pg_ctl; the package's own cluster is not used).
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  say "installing Debian postgresql (the server's tests run against it too)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
fi

if ! [ -x node_modules/.bin/wasm-opt ] || ! [ -d node_modules/playwright-core ] || ! [ -d node_modules/pngjs ] || ! [ -d node_modules/axe-core ] || ! [ -d node_modules/terser ] || ! [ -d node_modules/lightningcss ] \
   || [ package.json -nt node_modules/.install-stamp ]; then
  say "installing npm packages (binaryen's wasm-opt, playwright-core, terser, lightningcss, ...)"
  npm ci --no-audit --no-fund --loglevel=error
  touch node_modules/.install-stamp
fi
say "toolchain ready"
