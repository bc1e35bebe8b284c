#!/usr/bin/env bash
# (a) parmana_execute vs a baseline transaction doing the same durable writes without governance,
# with synchronous_commit on and off, 2 clients, alternated A B A B ... in one run.
# Usage: bench/execute.sh [seconds per run, default 15] [rounds, default 3]
source "$(dirname "$0")/lib.sh"
SECS=${1:-15}; ROUNDS=${2:-3}
bench_setup
bpsql -f bench/baseline-setup.sql >/dev/null
echo "attestation size: $(bpsql -c "SELECT pg_column_size(attestation) FROM bench.sample") bytes (jsonb)"
for sync in on off; do
  bpsql -c "ALTER SYSTEM SET synchronous_commit = $sync" -c 'SELECT pg_reload_conf()' >/dev/null
  A=(); B=()
  for round in $(seq "$ROUNDS"); do
    B+=("$(pgbench_tps "$SECS" bench/baseline.sql)")
    A+=("$(pgbench_tps "$SECS" bench/execute_txn.sql)")
    echo "synchronous_commit=$sync round $round: baseline ${B[-1]} TPS, parmana_execute ${A[-1]} TPS"
  done
  MA=$(printf '%s\n' "${A[@]}" | median); MB=$(printf '%s\n' "${B[@]}" | median)
  echo "synchronous_commit=$sync median: baseline $MB TPS, parmana_execute $MA TPS, ratio $(ratio "$MA" "$MB")"
done
