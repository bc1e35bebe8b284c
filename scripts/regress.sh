#!/usr/bin/env bash
# Runs the pg_regress files (all, or those named) against the running test cluster, each alone in
# a database of its own: no file depends on another. Diffs are printed for failures.
# Env: PARMANA_PGDIR, PARMANA_PGPORT (scripts/cluster.sh), PG_CONFIG; PARMANA_REGRESS_ACCEPT=1 copies
# the results over the expected files (read the diffs first).
set -euo pipefail
cd "$(dirname "$0")/.."
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
PG_REGRESS=$("$PG_CONFIG" --pkglibdir)/pgxs/src/test/regress/pg_regress
HOST=${PARMANA_PGDIR:-/tmp/parmana-test-pg} PORT=${PARMANA_PGPORT:-54330}
OUT=$(mktemp -d); chmod 777 "$OUT"
TESTS=${*:-$(cd tests/pg_regress/sql && ls *.sql | sed 's/\.sql$//')}
failed=()
for t in $TESTS; do
  if ! "$PG_REGRESS" --host="$HOST" --port="$PORT" --user=postgres --inputdir=tests/pg_regress \
       --outputdir="$OUT/$t" --dbname="regress_$t" "$t" >"$OUT/$t.log" 2>&1; then
    cat "$OUT/$t/regression.diffs" 2>/dev/null || cat "$OUT/$t.log"
    if [ "${PARMANA_REGRESS_ACCEPT:-}" = 1 ] && [ -f "$OUT/$t/results/$t.out" ]; then
      cp "$OUT/$t/results/$t.out" "tests/pg_regress/expected/$t.out"
      echo "accepted $t"
    else
      failed+=("$t")
    fi
  else
    grep -E '^(ok|not ok)|^test ' "$OUT/$t.log" | head -1
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "pg_regress failed: ${failed[*]} (results in $OUT)"
  exit 1
fi
rm -rf "$OUT"
