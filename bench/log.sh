#!/usr/bin/env bash
# The verifiable log at 1,000,000 rows, release build, one run:
#  (1) proof generation: parmana_inclusion_proof and parmana_consistency_proof latency (pgbench,
#      1 client, random ids/sizes);
#  (2) parmana-verify over the exported log: single-signature verify_strict on one core, batched
#      on one core, batched on every core (alternated, 3 rounds);
#  (3) parmana_verify(attestation) per row in PostgreSQL (serial) against raw verify_strict
#      (criterion, same run).
# Usage: bench/log.sh [rows, default 1000000]
source "$(dirname "$0")/lib.sh"
ROWS=${1:-1000000}
bench_setup
cargo build --release -q -p parmana-verify
TOOL=target/release/parmana-verify OUT=$(mktemp -d); chmod 755 "$OUT"
echo "== generating $ROWS attestations and sealing them"
bpsql -c "SELECT count(parmana.parmana_execute('log-' || g, 'loan-approval', '1.0.0', jsonb_build_object('credit_score', 400 + g % 400, 'loan_amount', g))) FROM generate_series(1, $ROWS) g" >/dev/null
bpsql -c 'SELECT parmana.parmana_checkpoint()' >/dev/null
bpsql -c '\timing on' -c 'SELECT parmana.parmana_checkpoint()->>'"'"'sealed'"'"' IS NOT NULL' | awk '/^Time:/ {print "checkpoint sealing " '"$ROWS"' " rows (tree built from nothing): " $2 " ms"}'
bpsql -c 'VACUUM ANALYZE' -c 'CHECKPOINT' >/dev/null
echo "tiles: $(bpsql -c "SELECT count(*) || ' rows, ' || pg_size_pretty(sum(length(hashes))) || ' of hashes, table ' || pg_size_pretty(pg_total_relation_size('parmana.log_tiles')) FROM parmana.log_tiles")"

echo "== (1) proof generation at $ROWS rows (1 client, 10 s each)"
cat > "$OUT/inclusion.sql" <<SQL
\set id random(1, $ROWS)
SELECT parmana.parmana_inclusion_proof(:id);
SQL
cat > "$OUT/consistency.sql" <<SQL
\set old random(1, $ROWS - 1)
SELECT parmana.parmana_consistency_proof(:old);
SQL
for kind in inclusion consistency; do
  for round in 1 2 3; do
    tps=$(runuser -u postgres -- $PGBIN/pgbench -h "$PARMANA_PGDIR" -p "$PARMANA_PGPORT" -n -c 1 -T 10 -f "$OUT/$kind.sql" bench | awk '/^tps = / {print $3}')
    echo "$kind round $round: $tps proofs/s = $(awk -v t="$tps" 'BEGIN {printf "%.3f", 1000 / t}') ms each"
  done
done

echo "== (2) parmana-verify over the export"
scripts/cluster.sh psql -d bench -c "COPY (SELECT id, attestation FROM parmana.attestations ORDER BY id) TO STDOUT" > "$OUT/log.copy"
scripts/cluster.sh psql -d bench -c "COPY (SELECT note FROM parmana.checkpoints WHERE note IS NOT NULL ORDER BY tree_size) TO STDOUT" > "$OUT/notes.copy"
bpsql -c "SELECT string_agg(public_key_pem, '') FROM parmana.signing_keys" > "$OUT/keys.pem"
bpsql -c "SELECT parmana.parmana_log_key()" > "$OUT/log.vkey"
echo "export: $(du -h "$OUT/log.copy" | cut -f1), $(nproc) cores"
declare -A RATE
for round in 1 2 3; do
  for mode in "strict 1" "batch 1" "batch $(nproc)"; do
    set -- $mode
    extra=(); [ "$1" = strict ] && extra=(--strict-only)
    line=$($TOOL log --threads "$2" "${extra[@]}" --public-key "$OUT/keys.pem" --log-key "@$OUT/log.vkey" --checkpoints "$OUT/notes.copy" "$OUT/log.copy" 2>&1 >/dev/null | tail -1)
    rate=$(echo "$line" | sed -E 's/.*\(([0-9]+) rows\/s\).*/\1/')
    RATE["$mode"]+="$rate "
    echo "round $round, $1 on $2 thread(s): $line"
  done
done
strict=$(printf '%s\n' ${RATE["strict 1"]} | median); one=$(printf '%s\n' ${RATE["batch 1"]} | median); all=$(printf '%s\n' ${RATE["batch $(nproc)"]} | median)
echo "median rows/s: strict 1 core $strict, batched 1 core $one, batched $(nproc) cores $all"
echo "per-core rate on all cores / strict on one core: $(awk -v a="$all" -v n="$(nproc)" -v s="$strict" 'BEGIN {printf "%.2f", a / n / s}'); batched / strict on one core: $(ratio "$one" "$strict")"

echo "== (3) parmana_verify per row (serial) against raw verify_strict"
SERIAL="SET max_parallel_workers_per_gather = 0"
T=()
for round in 1 2 3; do
  T+=("$(bpsql -c "$SERIAL" -c '\timing on' -c "SELECT count(*) FILTER (WHERE (parmana.parmana_verify(attestation)->>'valid')::boolean) FROM parmana.attestations" | awk '/^Time:/ {print $2}' | tail -1)")
done
ms=$(printf '%s\n' "${T[@]}" | median)
per_row=$(awk -v ms="$ms" -v n="$ROWS" 'BEGIN {printf "%.2f", ms * 1000 / n}')
# criterion prints "time: [low µs median µs high µs]"; the median is the fourth field.
raw=$(cargo bench -p parmana-core --bench core -- "verify_strict only" 2>&1 | grep -o 'time: *\[[^]]*\]' | head -1 | awk '{print $4}')
echo "parmana_verify serial: runs ${T[*]} ms, median $ms ms = $per_row µs per row; raw verify_strict $raw µs; ratio (raw / per row) $(awk -v r="$raw" -v p="$per_row" 'BEGIN {printf "%.3f", r / p}')"
rm -rf "$OUT"
