#!/usr/bin/env bash
# Runs every test: Rust tests of parmana-core and parmana-verify, then the extension built and
# installed into a throwaway PostgreSQL 15 cluster, with pg_regress (expected output), isolation
# specs (interleaved sessions) and real-client Python tests (docs/testing.md).
# Env: PG_CONFIG (default: the Debian PostgreSQL 15), PARMANA_PGDIR, PARMANA_PGPORT.
set -euo pipefail
cd "$(dirname "$0")/.."
export PARMANA_PGDIR=${PARMANA_PGDIR:-/tmp/parmana-test-pg} PARMANA_PGPORT=${PARMANA_PGPORT:-54330}
export PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}

scripts/prereqs.sh

echo "== Rust tests of parmana-core and parmana-verify (no PostgreSQL)"
cargo test -p parmana-core -p parmana-verify
# The offline verifier, used by the Python tests.
cargo build -p parmana-verify
export PARMANA_VERIFY_BIN=$PWD/target/debug/parmana-verify

echo "== build and install the extension, from a share directory with no parmana files"
scripts/install.sh --clean
# The upgrade tests create 0.1.0 databases: the released 0.1.0 script and its control file.
SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
$SUDO install -m 644 sql/parmana--0.1.0.sql tests/upgrade/parmana--0.1.0.control "$("$PG_CONFIG" --sharedir)/extension/"

scripts/cluster.sh start
trap 'scripts/cluster.sh stop' EXIT

echo "== SQL regression tests (pg_regress, each file in its own database)"
scripts/regress.sh

echo "== concurrency specs (pg_isolation_regress)"
scripts/isolation.sh

echo "== benchmark smoke run (no timing asserted)"
bench/smoke.sh

echo "== the wire format verified by an implementation written from docs/format.md alone"
python3 -m pytest -q tests/independent

echo "== real-client tests (pytest)"
python3 -m pytest -q tests/python
