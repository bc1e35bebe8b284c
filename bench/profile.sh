#!/usr/bin/env bash
# Profiles (perf, sampled in the backend) of execution, verification, checkpointing and the audit
# check, to see where the time goes. Usage: bench/profile.sh [rows, default 200000]. Needs perf (linux-perf) and root.
source "$(dirname "$0")/lib.sh"
command -v perf >/dev/null || { echo "bench/profile.sh needs perf (Debian: apt-get install linux-perf)" >&2; exit 1; }
ROWS=${1:-200000}
bench_setup
OUT=$(mktemp -d /tmp/parmana-profile.XXXXXX)
prof() { python3 bench/profile.py "$PARMANA_PGDIR" "$PARMANA_PGPORT" bench "$OUT/$1" "$2"; }
echo "== parmana_execute: $ROWS decisions in one statement"
prof execute "SELECT count(parmana.parmana_execute('p-' || g, 'loan-approval', '1.0.0', jsonb_build_object('credit_score', 400 + g % 400, 'loan_amount', g))) FROM generate_series(1, $ROWS) g"
bpsql -c 'VACUUM ANALYZE parmana.attestations' -c 'CHECKPOINT'
bpsql -c 'SELECT count(*) FROM parmana.attestations' >/dev/null
echo "== parmana_verify (key registry), serial, over $ROWS attestations"
prof verify "SELECT count(*) FILTER (WHERE (parmana.parmana_verify(attestation)->>'valid')::boolean) FROM parmana.attestations"
echo "== parmana.parmana_checkpoint() sealing $ROWS rows"
bpsql -c 'SELECT parmana.parmana_checkpoint()' >/dev/null  # sets the watermark the next call seals up to
prof checkpoint "SELECT parmana.parmana_checkpoint()"
echo "== parmana.parmana_audit_verify() over $ROWS rows and their checkpoint"
prof audit_verify "SELECT count(*) FROM parmana.parmana_audit_verify()"
echo "perf data: $OUT"
