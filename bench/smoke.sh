#!/usr/bin/env bash
# A smoke run for CI: every benchmark script runs a few iterations against the test cluster
# (debug build), so the scripts keep working. Nothing is timed or asserted on time.
set -euo pipefail
cd "$(dirname "$0")/.."
PGBIN=/usr/lib/postgresql/15/bin
psql_() { scripts/cluster.sh psql -d bench_smoke -v ON_ERROR_STOP=1 -qAt "$@"; }
scripts/cluster.sh psql -d postgres -q -c 'SET client_min_messages = warning' -c 'DROP DATABASE IF EXISTS bench_smoke' -c 'CREATE DATABASE bench_smoke'
psql_ -c 'CREATE EXTENSION parmana' -c "SELECT parmana.parmana_register_policy('$(cat fixtures/policies/loan-approval-1.0.0.json)'::jsonb)" >/dev/null
psql_ -f bench/baseline-setup.sql >/dev/null
for script in bench/execute.sql bench/execute_txn.sql bench/baseline.sql; do
  runuser -u postgres -- $PGBIN/pgbench -h "$PARMANA_PGDIR" -p "$PARMANA_PGPORT" -n -c 2 -t 5 -f "$script" bench_smoke >/dev/null
done
echo "pgbench scripts: $(psql_ -c 'SELECT count(*) FROM parmana.attestations') governed and $(psql_ -c 'SELECT count(*) FROM bench.attestations') baseline rows written"
python3 bench/memory.py "$PARMANA_PGDIR" "$PARMANA_PGPORT" 30000 bench_smoke
if command -v perf >/dev/null && perf record -q -e cpu-clock -o /dev/null true 2>/dev/null; then
  profile=$(mktemp -d)
  python3 bench/profile.py "$PARMANA_PGDIR" "$PARMANA_PGPORT" bench_smoke "$profile/verify" \
    "SELECT count(*) FILTER (WHERE (parmana.parmana_verify(attestation)->>'valid')::boolean) FROM parmana.attestations" > "$profile/report.txt"
  echo "bench/profile.py: $(grep -c '%' "$profile/report.txt") profile lines"; rm -rf "$profile"
else
  echo "bench/profile.py skipped: perf is not usable here"
fi
ran=$(cargo bench -p parmana-core --bench core -- --test 2>&1 | grep -c '^Success' || true)
echo "criterion benchmarks run once: $ran"
[ "$ran" -ge 8 ]
