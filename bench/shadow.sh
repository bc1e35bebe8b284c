#!/usr/bin/env bash
# parmana_execute TPS with a shadow candidate evaluated on every execution vs without, alternated
# A B A B A B in one run (pgbench, 2 clients, release build). The candidate differs in one rule.
# Usage: bench/shadow.sh [seconds per run, default 15]
source "$(dirname "$0")/lib.sh"
SECS=${1:-15}
bench_setup
bpsql -c "SELECT parmana.parmana_register_policy(jsonb_set(jsonb_set(document, '{policyVersion}', '\"1.1.0\"'), '{rules,1,condition,greater_than}', '680')) FROM parmana.policies WHERE policy_version = '1.0.0'" >/dev/null
SCRIPT=$(mktemp); chmod 644 "$SCRIPT"
cat > "$SCRIPT" <<'SQL'
\set score random(400, 800)
SELECT parmana.parmana_execute('s-' || pg_current_xact_id()::text, 'loan-approval', '1.0.0', jsonb_build_object('credit_score', :score, 'loan_amount', 15000));
SQL
A=(); B=()
for round in 1 2 3; do
  bpsql -c "DELETE FROM parmana.shadow_evaluations" >/dev/null
  A+=("$(pgbench_tps "$SECS" "$SCRIPT")")
  bpsql -c "INSERT INTO parmana.shadow_evaluations (policy_id, policy_version, candidate_version) VALUES ('loan-approval', '1.0.0', '1.1.0')" >/dev/null
  B+=("$(pgbench_tps "$SECS" "$SCRIPT")")
  echo "round $round: without shadow ${A[-1]} TPS, with shadow ${B[-1]} TPS"
done
MA=$(printf '%s\n' "${A[@]}" | median); MB=$(printf '%s\n' "${B[@]}" | median)
echo "median TPS: without $MA, with $MB, ratio with/without $(ratio "$MB" "$MA"); divergences recorded: $(bpsql -c 'SELECT count(*) FROM parmana.shadow_divergences')"
