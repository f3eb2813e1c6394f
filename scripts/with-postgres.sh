#!/usr/bin/env bash
# Runs a command with a throw-away PostgreSQL cluster: initdb in a temp dir, the server on a
# free loopback port (trust auth, user `test`), CHAT_TEST_DATABASE_URL pointing at it, and
# the cluster stopped and deleted afterwards (also on failure or Ctrl-C).
#   scripts/with-postgres.sh cargo test -p chat-widget-server
# Needs Debian's `postgresql` package (scripts/setup.sh installs it). As root, initdb and
# pg_ctl run as the `postgres` user the package creates (they refuse to run as root).
# If the cluster cannot start, this fails with the reason; it never runs the command without.
# PG_DURABLE=1 keeps PostgreSQL's durable defaults (fsync on): for benchmarks, not tests.
set -euo pipefail

fail() { printf '\033[1m[postgres]\033[0m %s\n' "$*" >&2; exit 1; }
say() { printf '\033[1m[postgres]\033[0m %s\n' "$*"; }

[ $# -gt 0 ] || fail "usage: scripts/with-postgres.sh COMMAND [ARGS...]"

PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$PG_BIN" ] || ! [ -x "$PG_BIN/initdb" ]; then
  fail "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): run scripts/setup.sh, or apt-get install postgresql"
fi

PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/chat-widget-pg.XXXXXX")
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
stop() {
  if [ -f "$PG_DIR/data/postmaster.pid" ]; then
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
  fi
  rm -rf "$PG_DIR"
}
trap stop EXIT
trap 'exit 130' INT TERM
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || fail "no 'postgres' user to run the cluster as (is Debian's postgresql installed?)"
  chown postgres "$PG_DIR"
fi

# A free loopback port: the first of a few random ones that nobody answers on.
port=""
for _ in $(seq 1 50); do
  candidate=$(( 20000 + RANDOM % 40000 ))
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then port=$candidate; break; fi
done
[ -n "$port" ] || fail "no free loopback port found"

as_pg "$PG_BIN/initdb" -D "$PG_DIR/data" -A trust -U test -E UTF8 >"$PG_DIR/initdb.log" 2>&1 \
  || fail "initdb failed: $(tail -n 5 "$PG_DIR/initdb.log")"
# fsync off: a test cluster thrown away at the end needs no durability, and tests run faster.
fast="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
[ "${PG_DURABLE:-0}" = 1 ] && fast=""
as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
  -o "-p $port -k $PG_DIR -c listen_addresses=127.0.0.1 -c max_connections=300 $fast" \
  start >/dev/null 2>&1 || fail "the cluster did not start: $(tail -n 5 "$PG_DIR/server.log" 2>/dev/null)"

export CHAT_TEST_DATABASE_URL="postgres://test@127.0.0.1:$port/postgres"
say "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (CHAT_TEST_DATABASE_URL)${fast:+, fsync off}"
status=0
"$@" || status=$?
exit $status
