#!/usr/bin/env bash
# parmana_govern_verify over a governed table of 1,000,000 rows (release build): rows inserted
# through the parmana_govern trigger, then verified three times; median and rows per second.
# Usage: bench/govern_verify.sh [rows, default 1000000]
source "$(dirname "$0")/lib.sh"
ROWS=${1:-1000000}
bench_setup
bpsql -c "CREATE TABLE loans (id bigint PRIMARY KEY, score integer NOT NULL, amount integer NOT NULL, decision text, state text, attestation jsonb)" \
      -c "INSERT INTO parmana.governed_tables (name, relation, policy_id, policy_version, execution_id_prefix, key_column, signals, attestation_column, action_column, state_column, on_reject) VALUES ('loans', 'loans', 'loan-approval', '1.0.0', 'loan-', 'id', '{\"credit_score\": {\"column\": \"score\"}, \"loan_amount\": {\"column\": \"amount\"}}', 'attestation', 'decision', 'state', 'record')" \
      -c "CREATE TRIGGER loans_governed BEFORE INSERT OR UPDATE ON loans FOR EACH ROW EXECUTE FUNCTION parmana.parmana_govern('loans')" >/dev/null
start=$(date +%s)
bpsql -c "INSERT INTO loans (id, score, amount) SELECT g, 400 + g % 400, g FROM generate_series(1, $ROWS) g" >/dev/null
echo "inserted $ROWS governed rows in $(( $(date +%s) - start )) s"
bpsql -c 'VACUUM ANALYZE' -c 'CHECKPOINT' >/dev/null
T=()
for round in 1 2 3; do
  T+=("$(bpsql -c '\timing on' -c "SELECT count(*) FROM parmana.parmana_govern_verify('loans')" | awk '/^Time:/ {print $2}' | tail -1)")
  echo "round $round: ${T[-1]} ms"
done
ms=$(printf '%s\n' "${T[@]}" | median)
echo "median $ms ms for $ROWS rows = $(awk -v n="$ROWS" -v ms="$ms" 'BEGIN {printf "%.0f", n / (ms / 1000)}') rows/s; problems found: $(bpsql -c "SELECT count(*) FROM parmana.parmana_govern_verify('loans')")"
