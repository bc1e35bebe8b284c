"""Two real client connections race for one execution id: the second blocks on the first
transaction's replay row, then fails with 23505 if the first committed, or wins if it rolled back."""
import threading
import time
import uuid

import psycopg
import pytest

from conftest import claims_signals, connect


def wait_until_blocked(observer, pid, timeout=10.0):
    """Poll pg_stat_activity until backend `pid` waits on a lock."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = observer.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
        if row and row[0] == "Lock":
            return True
        time.sleep(0.02)
    return False


def race(first_outcome):
    execution_id = f"race-{uuid.uuid4()}"
    first, second, observer = connect(), connect(), connect(autocommit=True)
    result = {}

    def duplicate():
        try:
            with second.transaction():
                att = second.execute(
                    "SELECT parmana.parmana_execute(%s, 'claims-approval', 'v1', %s::jsonb)", (execution_id, claims_signals())
                ).fetchone()[0]
            result["attestation"] = att
        except psycopg.Error as e:
            result["error"] = e

    try:
        with first.transaction() as tx:
            first.execute("SELECT parmana.parmana_execute(%s, 'claims-approval', 'v1', %s::jsonb)", (execution_id, claims_signals()))
            thread = threading.Thread(target=duplicate)
            thread.start()
            assert wait_until_blocked(observer, second.info.backend_pid), "the duplicate did not wait for the first transaction"
            assert thread.is_alive()
            if first_outcome == "rollback":
                raise psycopg.Rollback(tx)
        thread.join(timeout=10)
        assert not thread.is_alive()
        rows = observer.execute(
            "SELECT count(*) FROM parmana.attestations WHERE execution_id = %s", (execution_id,)
        ).fetchone()[0]
        return execution_id, result, rows
    finally:
        for c in (first, second, observer):
            c.close()


def test_concurrent_duplicate_waits_then_fails_after_commit(database):
    execution_id, result, rows = race("commit")
    err = result.get("error")
    assert err is not None, "the duplicate must fail"
    assert err.sqlstate == "23505"
    assert str(err).startswith("[INV-013@replay]")
    assert execution_id in str(err)
    assert rows == 1, "exactly one decision is stored"


def test_concurrent_duplicate_waits_then_wins_after_rollback(database):
    execution_id, result, rows = race("rollback")
    assert "error" not in result, result.get("error")
    assert result["attestation"]["executionId"] == execution_id
    assert rows == 1, "the second transaction's decision is the only one"


def test_many_clients_one_winner(database):
    """Eight clients execute the same id at once: exactly one commits a decision."""
    execution_id = f"herd-{uuid.uuid4()}"
    barrier = threading.Barrier(8)
    outcomes = []

    def client():
        with connect(autocommit=True) as c:
            barrier.wait()
            try:
                c.execute("SELECT parmana.parmana_execute(%s, 'claims-approval', 'v1', %s::jsonb)", (execution_id, claims_signals()))
                outcomes.append("ok")
            except psycopg.Error as e:
                outcomes.append(e.sqlstate)

    threads = [threading.Thread(target=client) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == ["23505"] * 7 + ["ok"]
    with connect(autocommit=True) as c:
        assert c.execute("SELECT count(*) FROM parmana.attestations WHERE execution_id = %s", (execution_id,)).fetchone()[0] == 1
