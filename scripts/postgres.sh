#!/usr/bin/env bash
# A private PostgreSQL for garita's tests and local clusters: Debian's `postgresql` package, one database cluster
# of its own under target/postgres, listening on 127.0.0.1 only (port 55432 unless GARITA_PG_PORT is set).
#
#   bash scripts/postgres.sh start   install if missing, create the cluster once, start it; prints the URL
#   bash scripts/postgres.sh env     like start, then prints `export GARITA_TEST_DATABASE=...` for eval
#   bash scripts/postgres.sh stop    stop it (the data stays for the next start)
#   bash scripts/postgres.sh url     print the URL only
#
# The role `garita` (password `garita`) may create databases: each test makes its own and drops it afterwards.
# The system's own cluster is left alone. fsync stays on: the durability tests mean it.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${GARITA_PG_PORT:-55432}"
ROOT="${GARITA_PG_DIR:-$(pwd)/target/postgres}"
DATA="$ROOT/data"
SOCK="$ROOT/run"
URL="postgres://garita:garita@127.0.0.1:$PORT/postgres"

say() { echo "postgres.sh: $*" >&2; }

as_pg() {
  # PostgreSQL refuses to run as root; run its tools as the `postgres` user the package creates.
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

bindir() {
  local dir
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
  if [ -z "$dir" ] || [ ! -x "$dir/initdb" ]; then return 1; fi
  echo "$dir"
}

install() {
  if bindir >/dev/null; then return 0; fi
  say "installing Debian's postgresql package"
  local sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >/dev/null
  # The package starts the system cluster on 5432; garita does not use it.
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    for conf in /etc/postgresql/*/main; do
      [ -d "$conf" ] || continue
      $sudo pg_ctlcluster "$(basename "$(dirname "$conf")")" main stop >/dev/null 2>&1 || true
    done
  fi
  bindir >/dev/null || { say "postgresql did not install"; exit 1; }
}

start() {
  install
  local bin
  bin="$(bindir)"
  mkdir -p "$ROOT"
  if [ "$(id -u)" = 0 ]; then chown postgres: "$ROOT"; fi
  if [ ! -f "$DATA/PG_VERSION" ]; then
    say "creating a cluster in $DATA"
    local pw="$ROOT/.pw"
    echo garita >"$pw"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$pw"; fi
    as_pg "$bin/initdb" -D "$DATA" -U garita --pwfile="$pw" -A scram-sha-256 --auth-local=trust \
      -E UTF8 --locale=C.UTF-8 >/dev/null
    rm -f "$pw"
    mkdir -p "$SOCK"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$SOCK"; fi
    {
      echo "listen_addresses = '127.0.0.1'"
      echo "port = $PORT"
      echo "unix_socket_directories = '$SOCK'"
      echo "max_connections = 300"
      echo "shared_buffers = 128MB"
      echo "fsync = on"
      echo "synchronous_commit = on"
    } | as_pg tee -a "$DATA/postgresql.conf" >/dev/null
  fi
  mkdir -p "$SOCK"
  if [ "$(id -u)" = 0 ]; then chown postgres: "$SOCK"; fi
  if as_pg "$bin/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    say "running on 127.0.0.1:$PORT"
  else
    as_pg "$bin/pg_ctl" -D "$DATA" -l "$ROOT/server.log" -w -t 60 start >/dev/null
    say "started on 127.0.0.1:$PORT (log: $ROOT/server.log)"
  fi
}

stop() {
  local bin
  bin="$(bindir)" || exit 0
  if [ -f "$DATA/PG_VERSION" ]; then as_pg "$bin/pg_ctl" -D "$DATA" -m fast stop >/dev/null 2>&1 || true; fi
  say "stopped"
}

case "${1:-start}" in
  start) start; echo "$URL" ;;
  env) start; echo "export GARITA_TEST_DATABASE=$URL" ;;
  stop) stop ;;
  url) echo "$URL" ;;
  *) echo "usage: scripts/postgres.sh start|env|stop|url" >&2; exit 2 ;;
esac
