#!/usr/bin/env bash
# Issue #4 benchmarks, on a release build in a throwaway cluster:
#  (1) parmana_execute TPS with a checkpointer running every second vs without, alternated
#      A B A B A B in one run (pgbench, 2 clients), medians and ratio;
#  (2) parmana_checkpoint() sealing 100,000 new rows, three times, median.
# Usage: bench/audit.sh [seconds per pgbench run, default 20]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-20}
export PARMANA_PGDIR=${PARMANA_PGDIR:-/tmp/parmana-bench-pg} PARMANA_PGPORT=${PARMANA_PGPORT:-54331}
PGBIN=/usr/lib/postgresql/15/bin
SUDO=; [ "$(id -u)" = 0 ] || SUDO=--sudo
cargo pgrx install --release --pg-config $PGBIN/pg_config $SUDO >/dev/null
scripts/cluster.sh start >/dev/null
trap 'kill $CKPT 2>/dev/null || true; scripts/cluster.sh stop' EXIT
psql() { scripts/cluster.sh psql -d bench -v ON_ERROR_STOP=1 -qAt "$@"; }
scripts/cluster.sh psql -d postgres -qc 'CREATE DATABASE bench'
psql -c 'CREATE EXTENSION parmana' -c "SELECT parmana_register_policy('$(cat fixtures/policies/loan-approval-1.0.0.json)'::jsonb)" >/dev/null
pgbench_tps() {
  runuser -u postgres -- $PGBIN/pgbench -h "$PARMANA_PGDIR" -p "$PARMANA_PGPORT" -n -c 2 -j 2 -T "$SECS" -f bench/execute.sql bench \
    | awk '/^tps = / {print $3}'
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

echo "== (1) execute TPS, checkpointer off (A) vs every second (B), ${SECS}s each, 2 clients"
A=(); B=()
for round in 1 2 3; do
  A+=("$(pgbench_tps)")
  ( while true; do psql -c 'SELECT parmana_checkpoint()' >/dev/null; sleep 1; done ) & CKPT=$!
  B+=("$(pgbench_tps)")
  kill $CKPT; wait $CKPT 2>/dev/null || true
  echo "round $round: A ${A[-1]}  B ${B[-1]}"
done
MA=$(printf '%s\n' "${A[@]}" | median); MB=$(printf '%s\n' "${B[@]}" | median)
echo "median TPS: without checkpoints $MA, with checkpoints $MB, ratio B/A $(awk -v a="$MA" -v b="$MB" 'BEGIN {printf "%.3f", b/a}')"
psql -c 'SELECT parmana_checkpoint()' -c 'SELECT parmana_checkpoint()' >/dev/null
echo "audit of everything written: $(psql -c 'SELECT count(*) FROM parmana.attestations') attestations, $(psql -c 'SELECT count(*) FROM parmana_audit_verify()') problems"

echo "== (2) parmana_checkpoint() over 100,000 new rows"
T=()
for round in 1 2 3; do
  psql -c "SELECT count(parmana_execute('ck-$round-' || g, 'loan-approval', '1.0.0', '{\"credit_score\": 720, \"loan_amount\": 1}')) FROM generate_series(1, 100000) g" >/dev/null
  psql -c 'SELECT parmana_checkpoint()' >/dev/null
  ms=$(psql -c '\timing on' -c 'SELECT parmana_checkpoint()->'"'"'sealed'"'"'->>'"'"'rowCount'"'"'' | awk '/^Time:/ {print $2}')
  rows=$(psql -c 'SELECT row_count FROM parmana.checkpoints ORDER BY id DESC LIMIT 1')
  echo "round $round: sealed $rows rows in $ms ms"
  T+=("$ms")
done
echo "median checkpoint time for 100,000 rows: $(printf '%s\n' "${T[@]}" | median) ms"
