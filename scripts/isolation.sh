#!/usr/bin/env bash
# Runs the concurrency specs (tests/isolation/specs) with pg_isolation_regress against the running
# test cluster: real sessions, interleaved step by step, compared with tests/isolation/expected.
# Env: PARMANA_PGDIR, PARMANA_PGPORT (scripts/cluster.sh), PG_CONFIG; PARMANA_REGRESS_ACCEPT=1
# copies the results over the expected files (read the diffs first).
set -euo pipefail
cd "$(dirname "$0")/.."
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
ISOLATION=$("$PG_CONFIG" --pkglibdir)/pgxs/src/test/isolation/pg_isolation_regress
HOST=${PARMANA_PGDIR:-/tmp/parmana-test-pg} PORT=${PARMANA_PGPORT:-54330}
OUT=$(mktemp -d); chmod 777 "$OUT"
TESTS=${*:-$(cd tests/isolation/specs && ls *.spec | sed 's/\.spec$//')}
failed=()
for t in $TESTS; do
  if ! "$ISOLATION" --host="$HOST" --port="$PORT" --user=postgres --inputdir=tests/isolation \
       --outputdir="$OUT/$t" --dbname="isolation_$t" "$t" >"$OUT/$t.log" 2>&1; then
    cat "$OUT/$t/regression.diffs" 2>/dev/null || cat "$OUT/$t.log"
    if [ "${PARMANA_REGRESS_ACCEPT:-}" = 1 ] && [ -f "$OUT/$t/results/$t.out" ]; then
      cp "$OUT/$t/results/$t.out" "tests/isolation/expected/$t.out"; echo "accepted $t"
    else
      failed+=("$t")
    fi
  else
    grep -E '^(ok|not ok)|^test ' "$OUT/$t.log" | head -1
  fi
done
if [ ${#failed[@]} -gt 0 ]; then echo "isolation specs failed: ${failed[*]} (results in $OUT)"; exit 1; fi
rm -rf "$OUT"
