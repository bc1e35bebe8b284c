#!/usr/bin/env bash
# Runs every test: core unit tests, then the extension built and installed into a throwaway
# PostgreSQL 15 cluster, with pg_regress (expected output) and real-client Python tests.
set -euo pipefail
cd "$(dirname "$0")/.."
export PARMANA_PGDIR=${PARMANA_PGDIR:-/tmp/parmana-test-pg} PARMANA_PGPORT=${PARMANA_PGPORT:-54330}
PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
PG_REGRESS=$($PG_CONFIG --pkglibdir)/pgxs/src/test/regress/pg_regress

scripts/prereqs.sh

echo "== core unit tests (no PostgreSQL)"
cargo test -p parmana-core

echo "== build and install the extension"
SUDO=; [ "$(id -u)" = 0 ] || SUDO=--sudo
cargo pgrx install --pg-config "$PG_CONFIG" $SUDO

scripts/cluster.sh start
trap 'scripts/cluster.sh stop' EXIT

echo "== SQL regression tests (pg_regress)"
OUT=$(mktemp -d); chmod 777 "$OUT"
TESTS=$(cd tests/pg_regress/sql && ls *.sql | sed 's/\.sql$//')
if ! "$PG_REGRESS" --host="$PARMANA_PGDIR" --port="$PARMANA_PGPORT" --user=postgres \
     --inputdir=tests/pg_regress --outputdir="$OUT" --dbname=parmana_regress $TESTS; then
  cat "$OUT/regression.diffs" || true
  exit 1
fi

echo "== benchmark smoke run (no timing asserted)"
bench/smoke.sh

echo "== real-client tests (pytest)"
python3 -m pytest -q tests/python
