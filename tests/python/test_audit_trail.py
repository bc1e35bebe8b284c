"""The audit trail across the operations a DBA performs: checkpoints while transactions are in
flight, pg_dump / pg_restore, and ALTER EXTENSION parmana UPDATE from 0.1.0 on a database with data."""
import pathlib
import subprocess
import tempfile
import uuid

import psycopg
import pytest

from conftest import HOST, PORT, ROOT, connect, fresh_database

PG_BIN = "/usr/lib/postgresql/15/bin"
LOAN = (ROOT / "fixtures" / "policies" / "loan-approval-1.0.0.json").read_text()
CLAIMS = (ROOT / "fixtures" / "policies" / "claims-approval-v1.json").read_text()


def add_governed_history(conn, prefix):
    """Decisions of every kind: completed, pending, approved and rejected overrides, two keys."""
    conn.execute("SELECT parmana_register_policy(%s::jsonb)", (LOAN,))
    conn.execute("SELECT parmana_register_policy(%s::jsonb)", (CLAIMS,))
    for i in range(20):
        conn.execute(
            "SELECT parmana_execute(%s, 'loan-approval', '1.0.0', jsonb_build_object('credit_score', %s, 'loan_amount', %s))",
            (f"{prefix}-loan-{i}", 450 + 20 * i, 1000 + i),
        )
    conn.execute("SELECT parmana_rotate_key()")
    conn.execute(
        "SELECT parmana_execute(%s, 'claims-approval', 'v1', '{\"claim_amount\": 1, \"insurance_active\": true, \"risk_score\": 1, \"vip_customer\": false}')",
        (f"{prefix}-claim",),
    )
    conn.execute("DROP ROLE IF EXISTS audit_reviewer")
    conn.execute("CREATE ROLE audit_reviewer IN ROLE parmana_approver")
    conn.execute("SET ROLE audit_reviewer")
    conn.execute("SELECT parmana_override(%s, true, 'jane', 'credit_officer', 'ok')", (f"{prefix}-loan-3",))
    conn.execute("SELECT parmana_override(%s, false, 'jane', 'credit_officer', 'no')", (f"{prefix}-loan-4",))
    conn.execute("RESET ROLE")


def counts(conn):
    tables = ["policies", "replay_state", "attestations", "signing_keys", "signing_key_secrets", "overrides", "checkpoints"]
    return {t: conn.execute(f"SELECT count(*) FROM parmana.{t}").fetchone()[0] for t in tables}


def assert_intact(conn):
    assert conn.execute("SELECT count(*) FROM parmana_audit_verify()").fetchone()[0] == 0, \
        conn.execute("SELECT * FROM parmana_audit_verify()").fetchall()
    assert conn.execute(
        "SELECT bool_and((parmana_verify(attestation)->>'valid')::boolean) FROM parmana.attestations"
    ).fetchone()[0]


def test_checkpoint_waits_for_transactions_in_flight(database):
    conn = fresh_database("parmana_ckpt")
    try:
        conn.execute("SELECT parmana_register_policy(%s::jsonb)", (LOAN,))
        conn.execute("SELECT parmana_execute('ck-1', 'loan-approval', '1.0.0', '{\"credit_score\": 720, \"loan_amount\": 1}')")
        with connect("parmana_ckpt") as slow:
            # A transaction takes attestation id 2 and stays open.
            slow.execute("SELECT parmana_execute('ck-slow', 'loan-approval', '1.0.0', '{\"credit_score\": 720, \"loan_amount\": 1}')")
            conn.execute("SELECT parmana_execute('ck-3', 'loan-approval', '1.0.0', '{\"credit_score\": 720, \"loan_amount\": 1}')")
            first = conn.execute("SELECT parmana_checkpoint()").fetchone()[0]
            assert first["sealed"] is None and first["nextWatermark"] == 3
            # The open transaction started before the watermark: nothing may be sealed yet.
            second = conn.execute("SELECT parmana_checkpoint()").fetchone()[0]
            assert second["sealed"] is None and second["waitingFor"] == 3
            slow.commit()
        third = conn.execute("SELECT parmana_checkpoint()").fetchone()[0]
        assert third["sealed"]["rowCount"] == 3 and third["sealed"]["toId"] == 3
        assert_intact(conn)
    finally:
        conn.close()


def test_dump_and_restore_keep_everything_verifiable(database):
    src = fresh_database("parmana_dump_src")
    try:
        add_governed_history(src, "dump")
        src.execute("SELECT parmana_checkpoint()")
        src.execute("SELECT parmana_checkpoint()")
        src.execute("SELECT parmana_execute('dump-after-checkpoint', 'loan-approval', '1.0.0', '{\"credit_score\": 720, \"loan_amount\": 1}')")
        before = counts(src)
        active = src.execute("SELECT key_id FROM parmana.signing_keys WHERE active").fetchone()[0]
        assert before["checkpoints"] == 1 and before["signing_keys"] == 2
        assert_intact(src)
    finally:
        src.close()

    with tempfile.TemporaryDirectory() as tmp:
        dump = pathlib.Path(tmp) / "parmana.dump"
        subprocess.run([f"{PG_BIN}/pg_dump", "-h", HOST, "-p", str(PORT), "-U", "postgres", "-Fc", "-f", str(dump), "parmana_dump_src"], check=True)
        with connect("postgres", autocommit=True) as admin:
            admin.execute("DROP DATABASE IF EXISTS parmana_dump_dst WITH (FORCE)")
            admin.execute("CREATE DATABASE parmana_dump_dst")
        restore = subprocess.run(
            [f"{PG_BIN}/pg_restore", "-h", HOST, "-p", str(PORT), "-U", "postgres", "--exit-on-error", "-d", "parmana_dump_dst", str(dump)],
            capture_output=True, text=True,
        )
        assert restore.returncode == 0, restore.stderr

    with connect("parmana_dump_dst", autocommit=True) as dst:
        after = counts(dst)
        # CREATE EXTENSION on restore generated one more key; the restored active key took over.
        assert after == {**before, "signing_keys": before["signing_keys"] + 1, "signing_key_secrets": before["signing_key_secrets"] + 1}
        assert dst.execute("SELECT key_id FROM parmana.signing_keys WHERE active").fetchone()[0] == active
        assert_intact(dst)
        # Private keys stay owner-only after restore.
        assert dst.execute("SELECT has_table_privilege('parmana_admin', 'parmana.signing_key_secrets', 'SELECT')").fetchone()[0] is False
        # The restored replay state still refuses replays, and new work continues the same chain.
        with pytest.raises(psycopg.Error) as e:
            dst.execute("SELECT parmana_execute('dump-loan-0', 'loan-approval', '1.0.0', '{\"credit_score\": 720, \"loan_amount\": 1}')")
        assert e.value.sqlstate == "23505"
        att = dst.execute("SELECT parmana_execute('after-restore', 'loan-approval', '1.0.0', '{\"credit_score\": 720, \"loan_amount\": 1}')").fetchone()[0]
        assert att["signerKeyId"] == active
        dst.execute("SELECT parmana_checkpoint()")
        sealed = dst.execute("SELECT parmana_checkpoint()").fetchone()[0]["sealed"]
        assert sealed["checkpointId"] == 2 and sealed["rowCount"] == 2
        assert_intact(dst)


CATALOG = """
SELECT 'member ' || pg_describe_object(classid, objid, objsubid) FROM pg_depend
 WHERE refobjid = (SELECT oid FROM pg_extension WHERE extname = 'parmana') AND deptype = 'e'
UNION ALL SELECT 'function ' || pg_get_functiondef(p.oid) || coalesce(p.proacl::text, '')
  FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.deptype = 'e'
 WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'parmana')
UNION ALL SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '')
  FROM information_schema.columns WHERE table_schema = 'parmana'
UNION ALL SELECT 'constraint ' || conrelid::regclass || ' ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE connamespace = 'parmana'::regnamespace
UNION ALL SELECT 'index ' || pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid::regclass::text LIKE 'parmana.%'
UNION ALL SELECT 'trigger ' || pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid::regclass::text LIKE 'parmana.%' AND NOT tgisinternal
UNION ALL SELECT 'view ' || c.oid::regclass || ' ' || pg_get_viewdef(c.oid) FROM pg_class c WHERE c.relnamespace = 'parmana'::regnamespace AND c.relkind = 'v'
UNION ALL SELECT 'acl ' || c.oid::regclass || ' ' || coalesce(c.relacl::text, '') FROM pg_class c WHERE c.relnamespace = 'parmana'::regnamespace
UNION ALL SELECT 'config ' || c::regclass FROM pg_extension e, unnest(e.extconfig) c WHERE e.extname = 'parmana'
"""


def test_upgrade_from_0_1_0_with_data(database):
    """0.1.0 -> the current version through every upgrade script in between."""
    old = fresh_database("parmana_upgrade", version="0.1.0")
    try:
        add_governed_history(old, "upg")
        # Nothing is append-only yet in 0.1.0: the upgrade must not depend on that.
        assert old.execute("SELECT extversion FROM pg_extension WHERE extname = 'parmana'").fetchone()[0] == "0.1.0"
        before = counts_0_1_0(old)
        old.execute("ALTER EXTENSION parmana UPDATE")
        latest = old.execute("SELECT default_version FROM pg_available_extensions WHERE name = 'parmana'").fetchone()[0]
        assert latest != "0.1.0"
        assert old.execute("SELECT extversion FROM pg_extension WHERE extname = 'parmana'").fetchone()[0] == latest
        assert counts_0_1_0(old) == before
        assert_intact(old)
        with pytest.raises(psycopg.Error) as e:
            old.execute("DELETE FROM parmana.attestations")
        assert e.value.sqlstate == "42501"
        old.execute("SELECT parmana_checkpoint()")
        assert old.execute("SELECT parmana_checkpoint()").fetchone()[0]["sealed"]["rowCount"] == before["attestations"]
        assert_intact(old)
        upgraded = sorted(r[0] for r in old.execute(CATALOG).fetchall())
    finally:
        old.close()
    with fresh_database("parmana_fresh") as fresh:
        installed = sorted(r[0] for r in fresh.execute(CATALOG).fetchall())
    assert upgraded == installed, "\n".join(
        [f"- only upgraded: {x}" for x in sorted(set(upgraded) - set(installed))]
        + [f"+ only fresh: {x}" for x in sorted(set(installed) - set(upgraded))]
    )


def counts_0_1_0(conn):
    tables = ["policies", "replay_state", "attestations", "signing_keys", "signing_key_secrets", "overrides"]
    return {t: conn.execute(f"SELECT count(*) FROM parmana.{t}").fetchone()[0] for t in tables}


def test_non_superuser_pg_dump_cannot_reach_private_keys(database):
    """An admin (or any non-superuser) dumping the database gets an error, not the private keys."""
    with connect(autocommit=True) as c:
        c.execute("DROP ROLE IF EXISTS dump_admin")
        c.execute("CREATE ROLE dump_admin LOGIN IN ROLE parmana_admin")
        c.execute("GRANT CONNECT ON DATABASE parmana_py TO dump_admin")
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp) / "dump.sql"
        run = subprocess.run(
            [f"{PG_BIN}/pg_dump", "-h", HOST, "-p", str(PORT), "-U", "dump_admin", "-f", str(out), "parmana_py"],
            capture_output=True, text=True,
        )
        assert run.returncode != 0
        assert "permission denied" in run.stderr
        assert not out.exists() or "PRIVATE KEY" not in out.read_text()
