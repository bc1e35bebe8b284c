#!/usr/bin/env bash
# Builds and installs parmana, starts a throwaway PostgreSQL 15 cluster as the postgres user,
# runs the claims-approval walkthrough (demo/claims.sql, demo/governed_claims.sql), seals the log
# and verifies an attestation, its inclusion proof and the whole exported log offline with
# parmana-verify, which needs only the public keys. Leaves the cluster running for you to explore.
set -euo pipefail
cd "$(dirname "$0")/.."
export PARMANA_PGDIR=${PARMANA_PGDIR:-/tmp/parmana-demo-pg} PARMANA_PGPORT=${PARMANA_PGPORT:-54329}
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}

scripts/prereqs.sh
export PG_CONFIG
scripts/install.sh
scripts/cluster.sh start
scripts/cluster.sh psql -d postgres -c 'DROP DATABASE IF EXISTS parmana_demo' -c 'CREATE DATABASE parmana_demo' >/dev/null
scripts/cluster.sh psql -d parmana_demo -f demo/claims.sql
scripts/cluster.sh psql -d parmana_demo -f demo/governed_claims.sql

echo "== offline verification with parmana-verify (public keys only)"
cargo build -q -p parmana-verify
VERIFY=target/debug/parmana-verify OUT=$(mktemp -d)
q() { scripts/cluster.sh psql -d parmana_demo -At -c "$1"; }
q "SELECT parmana.parmana_checkpoint()" >/dev/null   # sets the watermark
q "SELECT parmana.parmana_checkpoint()" >/dev/null   # seals everything written before it
q "SELECT max(tree_size) FROM parmana.checkpoints" | sed 's/^/log sealed at tree size /'
q "SELECT string_agg(public_key_pem, '') FROM parmana.signing_keys" > "$OUT/keys.pem"
q "SELECT parmana.parmana_log_key()" > "$OUT/log.vkey"
q "SELECT attestation FROM claims WHERE id = 'CLM-2024-00441'" > "$OUT/attestation.json"
q "SELECT parmana.parmana_inclusion_proof(a.id) FROM parmana.attestations a WHERE a.execution_id = 'claim-CLM-2024-00441'" > "$OUT/proof.json"
scripts/cluster.sh psql -d parmana_demo -c "COPY (SELECT id, attestation FROM parmana.attestations ORDER BY id) TO STDOUT" > "$OUT/log.copy"
scripts/cluster.sh psql -d parmana_demo -c "COPY (SELECT note FROM parmana.checkpoints WHERE note IS NOT NULL ORDER BY tree_size) TO STDOUT" > "$OUT/notes.copy"
$VERIFY document --public-key "$OUT/keys.pem" "$OUT/attestation.json"
$VERIFY inclusion --log-key "@$OUT/log.vkey" --public-key "$OUT/keys.pem" "$OUT/proof.json"
$VERIFY log --public-key "$OUT/keys.pem" --log-key "@$OUT/log.vkey" --checkpoints "$OUT/notes.copy" "$OUT/log.copy"
echo "(files in $OUT)"

echo
echo "The cluster is still running. Explore:  PARMANA_PGDIR=$PARMANA_PGDIR PARMANA_PGPORT=$PARMANA_PGPORT scripts/cluster.sh psql -d parmana_demo"
echo "Stop it with:                          PARMANA_PGDIR=$PARMANA_PGDIR PARMANA_PGPORT=$PARMANA_PGPORT scripts/cluster.sh stop"
