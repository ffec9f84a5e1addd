#!/usr/bin/env bash
# A throwaway PostgreSQL 15 on loopback for tests (./dev test runs it).
#
#   eval "$(tools/pg_test_server.sh start)"   # exports SOTTO_TEST_PG_DSN
#   tools/pg_test_server.sh stop              # stops it, deletes its data
#
# start prints one `export SOTTO_TEST_PG_DSN=...` line on stdout and nothing
# else; progress and server output go to var/pg/server.log. The cluster
# lives in var/pg/data (in /tmp if the postgres user cannot reach the
# checkout), trusts local connections and runs with fsync off: it holds
# nothing worth keeping. PostgreSQL refuses to run as root, so as root the
# server runs as the `postgres` user (runuser); as any other user it runs
# as that user, no sudo needed. A second start first stops a server a
# crashed earlier run left behind.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
STATE_DIR="$ROOT/var/pg"
STATE="$STATE_DIR/state"
LOG="$STATE_DIR/server.log"
# A fixed port when free keeps the DSN, and so every test's cache key in
# Bazel (--test_env is part of it), the same from run to run.
PREFERRED_PORT="${SOTTO_TEST_PG_PORT:-54329}"

die() { printf 'pg_test_server: %s\n' "$*" >&2; exit 1; }

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

port_is_free() {
  /usr/bin/python3 - "$1" <<'PY' 2>/dev/null
import socket, sys
s = socket.socket()
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
PY
}

free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

cmd_stop() {
  [ -f "$STATE" ] || return 0
  local data sock
  data="$(sed -n 's/^data=//p' "$STATE")"
  sock="$(sed -n 's/^sock=//p' "$STATE")"
  if [ -n "$data" ] && [ -f "$data/postmaster.pid" ]; then
    if ! as_pg "$PG_BIN/pg_ctl" -D "$data" -m immediate -w -t 20 stop >>"$LOG" 2>&1; then
      # pg_ctl could not; end the postmaster we started, by its pid.
      local pid
      pid="$(head -n 1 "$data/postmaster.pid" 2>/dev/null || true)"
      [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  [ -n "$data" ] && rm -rf "$data"
  [ -n "$sock" ] && rm -rf "$sock"
  rm -f "$STATE"
}

cmd_start() {
  [ -x "$PG_BIN/initdb" ] || die "no $PG_BIN/initdb; run ./dev setup (package postgresql)"
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || die "no postgres user; run ./dev setup (package postgresql)"
  fi
  mkdir -p "$STATE_DIR"
  cmd_stop
  : >"$LOG"

  local data="$STATE_DIR/data" sock
  rm -rf "$data"
  mkdir -p "$data"
  if [ "$(id -u)" -eq 0 ]; then
    chown -R postgres "$data"
    # The checkout may sit where the postgres user cannot reach (/root).
    if ! runuser -u postgres -- test -w "$data"; then
      rm -rf "$data"
      data="$(mktemp -d /tmp/sotto-pg-data.XXXXXX)"
      chown -R postgres "$data"
    fi
  fi
  # Socket paths are limited to ~107 bytes; keep it short.
  sock="$(mktemp -d /tmp/sotto-pg-sock.XXXXXX)"
  [ "$(id -u)" -eq 0 ] && chown postgres "$sock"
  printf 'data=%s\nsock=%s\n' "$data" "$sock" >"$STATE"

  as_pg "$PG_BIN/initdb" -D "$data" -A trust -U sotto -E UTF8 --no-sync >>"$LOG" 2>&1 ||
    die "initdb failed; see $LOG"

  local port attempt
  for attempt in 1 2 3; do
    if [ "$attempt" -eq 1 ] && port_is_free "$PREFERRED_PORT"; then
      port="$PREFERRED_PORT"
    else
      port="$(free_port)"
    fi
    if as_pg "$PG_BIN/pg_ctl" -D "$data" -l "$data/postgres.log" -w -t 30 \
      -o "-p $port -k $sock -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
      start >>"$LOG" 2>&1; then
      printf 'port=%s\n' "$port" >>"$STATE"
      as_pg "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$port" -U sotto -d postgres \
        -c 'CREATE DATABASE sotto_test' >>"$LOG" 2>&1 || die "CREATE DATABASE failed; see $LOG"
      printf 'export SOTTO_TEST_PG_DSN=postgresql://sotto@127.0.0.1:%s/sotto_test\n' "$port"
      return 0
    fi
    # Someone took the port between the probe and the bind: try another.
  done
  cat "$data/postgres.log" >>"$LOG" 2>/dev/null || true
  cmd_stop
  die "PostgreSQL did not start; see $LOG"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  *) die "usage: $0 start|stop" ;;
esac
