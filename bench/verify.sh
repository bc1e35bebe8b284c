#!/usr/bin/env bash
# (b) parmana_verify throughput over a table of attestations, serial and with parallel workers.
# Usage: bench/verify.sh [rows, default 1000000]
source "$(dirname "$0")/lib.sh"
ROWS=${1:-1000000}
bench_setup
echo "== generating $ROWS attestations"
bpsql -c "SELECT count(parmana.parmana_execute('v-' || g, 'loan-approval', '1.0.0', jsonb_build_object('credit_score', 400 + g % 400, 'loan_amount', g))) FROM generate_series(1, $ROWS) g" >/dev/null
bpsql -c 'VACUUM ANALYZE parmana.attestations' -c 'CHECKPOINT'
# Warm the cache and let background writes settle, so the first measured variant is not penalized.
bpsql -c 'SELECT count(*) FROM parmana.attestations' >/dev/null
timed() { bpsql -c '\timing on' "$@" | awk '/^Time:/ {print $2}' | tail -1; }
SERIAL="SET max_parallel_workers_per_gather = 0"
PARALLEL="SET max_parallel_workers_per_gather = 2; SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0"
FORMS=("parmana.parmana_verify(attestation)" "parmana.parmana_verify(attestation, (SELECT parmana.parmana_public_key()))")
declare -A RUNS
# Variants alternated within each round.
for round in 1 2 3; do
  for form in "${FORMS[@]}"; do
    for mode in serial parallel; do
      settings=$SERIAL; [ $mode = parallel ] && settings=$PARALLEL
      RUNS["$form|$mode"]+="$(timed -c "$settings" -c "SELECT count(*) FILTER (WHERE ($form->>'valid')::boolean) FROM parmana.attestations") "
    done
  done
done
for form in "${FORMS[@]}"; do
  for mode in serial parallel; do
    runs=${RUNS["$form|$mode"]}
    ms=$(printf '%s\n' $runs | median)
    echo "$form, $mode: median $ms ms for $ROWS rows = $(awk -v n="$ROWS" -v ms="$ms" 'BEGIN {printf "%.0f", n / (ms / 1000)}') verifications/s (runs: $runs)"
  done
done
bpsql -c "EXPLAIN (COSTS OFF) SELECT count(*) FILTER (WHERE (parmana.parmana_verify(attestation)->>'valid')::boolean) FROM parmana.attestations" -c "$PARALLEL" \
  -c "EXPLAIN (COSTS OFF) SELECT count(*) FILTER (WHERE (parmana.parmana_verify(attestation)->>'valid')::boolean) FROM parmana.attestations" | sed 's/^/  plan: /'
