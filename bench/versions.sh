#!/usr/bin/env bash
# 0.3.0 against this version, alternated A B A B A B in one run: parmana_execute TPS (pgbench,
# 2 clients) and parmana_checkpoint() sealing 100,000 new rows. Both are release packages
# (`cargo pgrx package`); 0.3.0 is built from its commit in a git worktree the first time.
# Usage: bench/versions.sh [seconds per pgbench run, default 15]   Env: BEFORE_COMMIT, BEFORE_PKG.
source "$(dirname "$0")/lib.sh"
SECS=${1:-15}
BEFORE_COMMIT=${BEFORE_COMMIT:-354ae37}
BEFORE_PKG=${BEFORE_PKG:-/tmp/parmana-bench-before-pkg}
AFTER_PKG=${AFTER_PKG:-/tmp/parmana-bench-after-pkg}
PG_CONFIG=$PGBIN/pg_config
if [ ! -f "$BEFORE_PKG/$($PG_CONFIG --pkglibdir)/parmana.so" ]; then
  tree=/tmp/parmana-bench-before-src
  [ -d "$tree" ] || git worktree add -f "$tree" "$BEFORE_COMMIT" >/dev/null
  (cd "$tree" && cargo pgrx package --pg-config $PG_CONFIG --out-dir "$BEFORE_PKG" >/dev/null)
fi
cargo pgrx package --pg-config $PG_CONFIG --out-dir "$AFTER_PKG" >/dev/null
use_package() {  # install a package's files in place of whatever parmana is installed, restart
  scripts/cluster.sh stop >/dev/null 2>&1 || true
  rm -f "$($PG_CONFIG --sharedir)"/extension/parmana* "$($PG_CONFIG --pkglibdir)/parmana.so"
  cp -r "$1"/usr/* /usr/
  scripts/cluster.sh resume >/dev/null
}
scripts/cluster.sh start >/dev/null
trap 'scripts/cluster.sh stop >/dev/null 2>&1; rm -f "$($PG_CONFIG --sharedir)"/extension/parmana* "$($PG_CONFIG --pkglibdir)/parmana.so"; cp -r "$AFTER_PKG"/usr/* /usr/' EXIT
fresh_bench_db() {
  scripts/cluster.sh psql -d postgres -q -c 'SET client_min_messages = warning' -c 'DROP DATABASE IF EXISTS bench' -c 'CREATE DATABASE bench'
  bpsql -c 'CREATE EXTENSION parmana' -c "SELECT $1parmana_register_policy('$(cat fixtures/policies/loan-approval-1.0.0.json)'::jsonb)" >/dev/null
}
# 0.3.0 lives in public and names functions without a schema; 0.4.0 in schema parmana.
EXEC_BEFORE=$(mktemp); sed 's/parmana\.parmana_execute/parmana_execute/' bench/execute.sql > "$EXEC_BEFORE"; chmod 644 "$EXEC_BEFORE"
declare -A TPS CKPT
for round in 1 2 3; do
  for version in before after; do
    if [ $version = before ]; then use_package "$BEFORE_PKG"; schema=""; script=$EXEC_BEFORE
    else use_package "$AFTER_PKG"; schema="parmana."; script=bench/execute.sql; fi
    fresh_bench_db "$schema"
    TPS[$version]+="$(pgbench_tps "$SECS" "$script") "
    bpsql -c "SELECT count(${schema}parmana_execute('ck-' || g, 'loan-approval', '1.0.0', '{\"credit_score\": 720, \"loan_amount\": 1}')) FROM generate_series(1, 100000) g" >/dev/null
    bpsql -c "SELECT ${schema}parmana_checkpoint()" >/dev/null   # seals the pgbench rows, sets the watermark
    bpsql -c 'CHECKPOINT' >/dev/null
    ms=$(bpsql -c '\timing on' -c "SELECT ${schema}parmana_checkpoint()->'sealed'->>'rowCount'" | awk '/^Time:/ {print $2}')
    CKPT[$version]+="$ms "
    echo "round $round $version: checkpoint of 100,000 rows $ms ms"
  done
done
for version in before after; do
  echo "$version: execute TPS runs ${TPS[$version]}median $(printf '%s\n' ${TPS[$version]} | median); checkpoint ms runs ${CKPT[$version]}median $(printf '%s\n' ${CKPT[$version]} | median)"
done
echo "ratios after/before: execute TPS $(ratio "$(printf '%s\n' ${TPS[after]} | median)" "$(printf '%s\n' ${TPS[before]} | median)"), checkpoint time $(ratio "$(printf '%s\n' ${CKPT[after]} | median)" "$(printf '%s\n' ${CKPT[before]} | median)")"
