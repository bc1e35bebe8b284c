"""examples/payment_service.py against a real database: released, awaiting review, rejected,
a replay reported without retry, invalid input failing without retry, and a transient lock
timeout retried with backoff until it succeeds."""
import json
import subprocess
import sys
import threading
import time

from conftest import HOST, PORT, ROOT, connect, fresh_database

DB = "parmana_examples"


def setup_module():
    with fresh_database(DB, policies=[(ROOT / "examples" / "payments-policy.json").read_text()]) as c:
        c.execute((ROOT / "examples" / "payments.sql").read_text())


def pay(*payments):
    dsn = f"host={HOST} port={PORT} user=postgres dbname={DB}"
    run = subprocess.run([sys.executable, str(ROOT / "examples" / "payment_service.py"), "--dsn", dsn, *payments],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    return {r["payment"]: r for r in map(json.loads, run.stdout.splitlines())}


def test_outcomes_and_error_handling():
    out = pay("P1:120.50:EUR:true", "P2:25000:usd:true", "P3:10:eur:false", "P1:120.50:EUR:true", "P4:5:xyz:true")
    # P1 appears twice: the second run reports the replay and does not retry.
    assert out["P1"]["outcome"] == "already_decided" and out["P1"]["attempts"] == 1
    assert out["P2"]["outcome"] == "awaiting_review"
    assert out["P3"]["outcome"] == "rejected"
    assert out["P4"]["outcome"] == "failed" and out["P4"]["sqlstate"] == "22023" and out["P4"]["attempts"] == 1
    with connect(DB, autocommit=True) as c:
        rows = dict(c.execute("SELECT id, status FROM payments").fetchall())
        assert rows == {"P1": "released", "P2": "awaiting_review", "P3": "rejected"}
        released = c.execute("SELECT attestation FROM payments WHERE id = 'P1'").fetchone()[0]
        assert released["execution_state"] == "completed" and released["decision"]["action"] == "approve"
        assert released["executionId"] == "payment-P1"
        # 120.50 EUR became 12050 cents and "eur": the fingerprint is the normalized one.
        expected = c.execute(
            "SELECT parmana.parmana_simulate('payment-release', '1.0.0', '{\"amount_cents\": 12050, \"currency\": \"eur\", \"beneficiary_verified\": true}')->>'execution_fingerprint'"
        ).fetchone()[0]
        assert released["execution_fingerprint"] == expected
        assert c.execute("SELECT count(*) FROM parmana.replay_state WHERE execution_id = 'payment-P4'").fetchone()[0] == 0


def test_transient_lock_timeout_is_retried():
    blocker = connect(DB)
    blocker.execute("LOCK TABLE payments IN ACCESS EXCLUSIVE MODE")
    release = threading.Timer(0.8, blocker.commit)
    release.start()
    try:
        out = pay("P5:99:gbp:true")
    finally:
        release.join()
        blocker.close()
    assert out["P5"]["outcome"] == "released"
    assert out["P5"]["attempts"] >= 2, out
