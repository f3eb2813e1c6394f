#!/usr/bin/env bash
# One command for the demo: installs what is missing, builds the widget, starts the reference
# server (SQLite file in ./data) and prints the demo page's URL. Ctrl-C stops it.
# ADDR=0.0.0.0:8787 scripts/demo.sh to listen elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."
NEED_BROWSER=0 scripts/setup.sh
echo "[demo] building the widget (release)"
scripts/build-widget.sh
echo "[demo] building and starting the reference server"
exec cargo run --quiet --release -p chat-widget-server -- \
  --addr "${ADDR:-127.0.0.1:8787}" --data-dir ./data --dist-dir ./dist
