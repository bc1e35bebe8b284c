"""The audit trail across the operations a DBA performs: checkpoints while transactions are in
flight (in this database and in others), and pg_dump / pg_restore."""
import pathlib
import subprocess
import tempfile
import uuid

import psycopg
import pytest

from conftest import HOST, PORT, ROOT, connect, fresh_database, login_role

PG_BIN = "/usr/lib/postgresql/15/bin"
LOAN = (ROOT / "fixtures" / "policies" / "loan-approval-1.0.0.json").read_text()
CLAIMS = (ROOT / "fixtures" / "policies" / "claims-approval-v1.json").read_text()


def add_governed_history(conn, prefix):
    """Decisions of every kind: completed, pending, approved and rejected overrides, two keys."""
    conn.execute("SELECT parmana.parmana_register_policy(%s::jsonb)", (LOAN,))
    conn.execute("SELECT parmana.parmana_register_policy(%s::jsonb)", (CLAIMS,))
    for i in range(20):
        conn.execute(
            "SELECT parmana.parmana_execute(%s, 'loan-approval', '1.0.0', jsonb_build_object('credit_score', %s, 'loan_amount', %s))",
            (f"{prefix}-loan-{i}", 450 + 20 * i, 1000 + i),
        )
    conn.execute("SELECT parmana.parmana_rotate_key()")
    conn.execute(
        "SELECT parmana.parmana_execute(%s, 'claims-approval', 'v1', '{\"claim_amount\": 1, \"insurance_active\": true, \"risk_score\": 1, \"vip_customer\": false}')",
        (f"{prefix}-claim",),
    )
    login_role(conn, "audit_reviewer", "parmana_approver")
    dbname = conn.execute("SELECT current_database()").fetchone()[0]
    with connect(dbname, user="audit_reviewer", autocommit=True) as reviewer:
        reviewer.execute("SELECT parmana.parmana_override(%s, true, 'Jane', 'parmana_approver', 'ok')", (f"{prefix}-loan-3",))
        reviewer.execute("SELECT parmana.parmana_override(%s, false, 'Jane', 'parmana_approver', 'no')", (f"{prefix}-loan-4",))


def counts(conn):
    tables = ["policies", "replay_state", "attestations", "signing_keys", "signing_key_secrets", "overrides", "checkpoints"]
    return {t: conn.execute(f"SELECT count(*) FROM parmana.{t}").fetchone()[0] for t in tables}


def assert_intact(conn):
    assert conn.execute("SELECT count(*) FROM parmana.parmana_audit_verify()").fetchone()[0] == 0, \
        conn.execute("SELECT * FROM parmana.parmana_audit_verify()").fetchall()
    assert conn.execute(
        "SELECT bool_and((parmana.parmana_verify(attestation)->>'valid')::boolean) FROM parmana.attestations"
    ).fetchone()[0]


def test_checkpoint_waits_for_transactions_in_flight(database):
    conn = fresh_database("parmana_ckpt")
    try:
        conn.execute("SELECT parmana.parmana_register_policy(%s::jsonb)", (LOAN,))
        conn.execute("SELECT parmana.parmana_execute('ck-1', 'loan-approval', '1.0.0', '{\"credit_score\": 720, \"loan_amount\": 1}')")
        with connect("parmana_ckpt") as slow:
            # A transaction takes attestation id 2 and stays open.
            slow.execute("SELECT parmana.parmana_execute('ck-slow', 'loan-approval', '1.0.0', '{\"credit_score\": 720, \"loan_amount\": 1}')")
            conn.execute("SELECT parmana.parmana_execute('ck-3', 'loan-approval', '1.0.0', '{\"credit_score\": 720, \"loan_amount\": 1}')")
            first = conn.execute("SELECT parmana.parmana_checkpoint()").fetchone()[0]
            assert first["sealed"] is None and first["nextWatermark"] == 3
            # The open transaction started before the watermark: nothing may be sealed yet.
            second = conn.execute("SELECT parmana.parmana_checkpoint()").fetchone()[0]
            assert second["sealed"] is None and second["waitingFor"] == 3
            slow.commit()
        third = conn.execute("SELECT parmana.parmana_checkpoint()").fetchone()[0]
        assert third["sealed"]["rowCount"] == 3 and third["sealed"]["toId"] == 3
        assert_intact(conn)
    finally:
        conn.close()


def test_checkpoint_does_not_wait_for_unrelated_transactions(database):
    """Open transactions in another database, or in this one without attestations, hold nothing back."""
    conn = fresh_database("parmana_ckpt_unrelated", policies=[LOAN])
    try:
        conn.execute("SELECT parmana.parmana_execute('cu-1', 'loan-approval', '1.0.0', '{\"credit_score\": 720, \"loan_amount\": 1}')")
        with connect("postgres") as elsewhere, connect("parmana_ckpt_unrelated") as idle_here:
            elsewhere.execute("SELECT pg_current_xact_id()")          # an xid in another database
            idle_here.execute("CREATE TEMP TABLE unrelated (x int)")  # an xid here, no attestation
            idle_here.execute("SELECT pg_current_xact_id()")
            first = conn.execute("SELECT parmana.parmana_checkpoint()").fetchone()[0]
            assert first["nextWatermark"] == 1
            second = conn.execute("SELECT parmana.parmana_checkpoint()").fetchone()[0]
            assert second["sealed"] is not None and second["sealed"]["rowCount"] == 1, second
        assert_intact(conn)
    finally:
        conn.close()


def test_dump_and_restore_keep_everything_verifiable(database):
    src = fresh_database("parmana_dump_src")
    try:
        add_governed_history(src, "dump")
        src.execute("SELECT parmana.parmana_checkpoint()")
        src.execute("SELECT parmana.parmana_checkpoint()")
        src.execute("SELECT parmana.parmana_execute('dump-after-checkpoint', 'loan-approval', '1.0.0', '{\"credit_score\": 720, \"loan_amount\": 1}')")
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
            dst.execute("SELECT parmana.parmana_execute('dump-loan-0', 'loan-approval', '1.0.0', '{\"credit_score\": 720, \"loan_amount\": 1}')")
        assert e.value.sqlstate == "23505"
        att = dst.execute("SELECT parmana.parmana_execute('after-restore', 'loan-approval', '1.0.0', '{\"credit_score\": 720, \"loan_amount\": 1}')").fetchone()[0]
        assert att["signerKeyId"] == active
        dst.execute("SELECT parmana.parmana_checkpoint()")
        sealed = dst.execute("SELECT parmana.parmana_checkpoint()").fetchone()[0]["sealed"]
        assert sealed["checkpointId"] == 2 and sealed["rowCount"] == 2
        assert_intact(dst)


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
