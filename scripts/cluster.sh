#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster run as the postgres user (PostgreSQL refuses root).
# Usage: scripts/cluster.sh start|resume|stop|psql [args]
# Env: PARMANA_PGDIR, PARMANA_PGPORT, PARMANA_PGOPTS (more server options, e.g. "-c wal_level=logical").
set -euo pipefail
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
DIR=${PARMANA_PGDIR:-/tmp/parmana-pg}
PORT=${PARMANA_PGPORT:-54329}
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case "${1:-}" in
  start)
    if [ -f "$DIR/data/postmaster.pid" ]; then as_pg "$PGBIN/pg_ctl" -D "$DIR/data" -m immediate stop >/dev/null 2>&1 || true; fi
    rm -rf "$DIR"; mkdir -p "$DIR"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$DIR"
    as_pg "$PGBIN/initdb" -D "$DIR/data" -A trust -U postgres --encoding=UTF8 --locale=C >"$DIR/initdb.log"
    # RUST_BACKTRACE on purpose: clients must never see a Rust backtrace, and tests prove it.
    as_pg env RUST_BACKTRACE=1 "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w \
      -o "-c listen_addresses='' -c unix_socket_directories='$DIR' -c port=$PORT ${PARMANA_PGOPTS:-}" start >/dev/null
    echo "cluster up: host=$DIR port=$PORT (log $DIR/server.log)"
    ;;
  resume)
    # Start the existing cluster again (after a crash: PostgreSQL runs recovery).
    as_pg env RUST_BACKTRACE=1 "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 120 \
      -o "-c listen_addresses='' -c unix_socket_directories='$DIR' -c port=$PORT ${PARMANA_PGOPTS:-}" start >/dev/null
    ;;
  stop)
    if [ -f "$DIR/data/postmaster.pid" ]; then as_pg "$PGBIN/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null; fi
    ;;
  psql)
    shift; exec psql -X -h "$DIR" -p "$PORT" -U postgres "$@"
    ;;
  *) echo "usage: $0 start|resume|stop|psql [args]" >&2; exit 2 ;;
esac
