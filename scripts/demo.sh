#!/usr/bin/env bash
# Builds and installs parmana, starts a throwaway PostgreSQL 15 cluster as the postgres user,
# runs the claims-approval walkthrough (demo/claims.sql) and verifies one attestation offline
# with stock tools (Python rfc8785 + cryptography). Leaves the cluster running for you to explore.
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

echo "== offline verification with stock tools (no parmana code involved)"
scripts/cluster.sh psql -d parmana_demo -At -c "SELECT attestation FROM claims WHERE id = 'CLM-2024-00441'" > /tmp/parmana-attestation.json
scripts/cluster.sh psql -d parmana_demo -At -c "SELECT parmana.parmana_public_key()" > /tmp/parmana-public.pem
python3 scripts/verify_offline.py /tmp/parmana-attestation.json /tmp/parmana-public.pem

echo
echo "The cluster is still running. Explore:  PARMANA_PGDIR=$PARMANA_PGDIR PARMANA_PGPORT=$PARMANA_PGPORT scripts/cluster.sh psql -d parmana_demo"
echo "Stop it with:                          PARMANA_PGDIR=$PARMANA_PGDIR PARMANA_PGPORT=$PARMANA_PGPORT scripts/cluster.sh stop"
