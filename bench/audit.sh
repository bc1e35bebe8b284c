#!/usr/bin/env bash
# Audit-trail benchmarks, on a release build in a throwaway cluster:
#  (1) parmana_execute TPS with a checkpointer running every second vs without, alternated
#      A B A B A B in one run (pgbench, 2 clients), medians and ratio;
#  (2) parmana.parmana_checkpoint() sealing 100,000 new rows, three times, median.
# Usage: bench/audit.sh [seconds per pgbench run, default 20]
source "$(dirname "$0")/lib.sh"
SECS=${1:-20}
bench_setup
trap 'kill $CKPT 2>/dev/null || true; scripts/cluster.sh stop' EXIT

echo "== (1) execute TPS, checkpointer off (A) vs every second (B), ${SECS}s each, 2 clients"
A=(); B=()
for round in 1 2 3; do
  A+=("$(pgbench_tps "$SECS" bench/execute.sql)")
  ( while true; do bpsql -c 'SELECT parmana.parmana_checkpoint()' >/dev/null; sleep 1; done ) & CKPT=$!
  B+=("$(pgbench_tps "$SECS" bench/execute.sql)")
  kill $CKPT; wait $CKPT 2>/dev/null || true
  echo "round $round: A ${A[-1]}  B ${B[-1]}"
done
MA=$(printf '%s\n' "${A[@]}" | median); MB=$(printf '%s\n' "${B[@]}" | median)
echo "median TPS: without checkpoints $MA, with checkpoints $MB, ratio B/A $(ratio "$MB" "$MA")"
bpsql -c 'SELECT parmana.parmana_checkpoint()' -c 'SELECT parmana.parmana_checkpoint()' >/dev/null
echo "audit of everything written: $(bpsql -c 'SELECT count(*) FROM parmana.attestations') attestations, $(bpsql -c 'SELECT count(*) FROM parmana.parmana_audit_verify()') problems"

echo "== (2) parmana.parmana_checkpoint() over 100,000 new rows"
T=()
for round in 1 2 3; do
  bpsql -c "SELECT count(parmana.parmana_execute('ck-$round-' || g, 'loan-approval', '1.0.0', '{\"credit_score\": 720, \"loan_amount\": 1}')) FROM generate_series(1, 100000) g" >/dev/null
  bpsql -c 'SELECT parmana.parmana_checkpoint()' >/dev/null
  ms=$(bpsql -c '\timing on' -c "SELECT parmana.parmana_checkpoint()->'sealed'->>'rowCount'" | awk '/^Time:/ {print $2}')
  rows=$(bpsql -c 'SELECT row_count FROM parmana.checkpoints ORDER BY id DESC LIMIT 1')
  echo "round $round: sealed $rows rows in $ms ms"
  T+=("$ms")
done
echo "median checkpoint time for 100,000 rows: $(printf '%s\n' "${T[@]}" | median) ms"
