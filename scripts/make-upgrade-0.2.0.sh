#!/usr/bin/env bash
# Assembles sql/parmana--0.1.0--0.2.0.sql from src/sql/audit.sql and the generated definitions of
# the functions 0.2.0 adds. Run only while 0.2.0 is unreleased; tests/python/test_upgrade.py checks
# that an upgraded database has exactly the objects of a fresh 0.2.0 install.
set -euo pipefail
cd "$(dirname "$0")/.."
schema=$(mktemp)
cargo pgrx schema pg15 --pg-config /usr/lib/postgresql/15/bin/pg_config -o "$schema" >/dev/null 2>&1
{
  echo "-- parmana 0.1.0 -> 0.2.0: the audit trail (append-only records, signed checkpoints, audit views, pg_dump configuration)."
  echo "\\echo Use \"ALTER EXTENSION parmana UPDATE TO '0.2.0'\" to load this file. \\quit"
  echo
  cat src/sql/audit.sql
  echo
  awk '/^-- parmana::audit::/{p=1} p{print} /^AS .MODULE_PATHNAME., .parmana_(checkpoint|audit_verify)_wrapper.;/{p=0; print ""}' "$schema"
  cat <<'SQL'
REVOKE EXECUTE ON FUNCTION @extschema@.parmana_checkpoint(), @extschema@.parmana_audit_verify(bigint, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.parmana_checkpoint() TO parmana_admin;
GRANT EXECUTE ON FUNCTION @extschema@.parmana_audit_verify(bigint, bigint) TO parmana_auditor, parmana_admin;
SQL
} > sql/parmana--0.1.0--0.2.0.sql
rm -f "$schema"
