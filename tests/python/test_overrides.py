"""The override workflow with real connections: notifications arrive only at commit, two
reviewers racing for one id produce exactly one resolution, and approved records verify with an
independent RFC 8785 library and a standard Ed25519 library."""
import base64
import hashlib
import json
import threading
import uuid

import psycopg
import pytest
import rfc8785
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from conftest import connect, login_role
from test_concurrency import wait_until_blocked

# Reviewers name credit_officer as their approver_role: a role their logins really belong to.
ROLES = {
    "py_exec": ["parmana_executor"],
    "py_reviewer_a": ["parmana_approver", "credit_officer"],
    "py_reviewer_b": ["parmana_approver", "credit_officer"],
}


@pytest.fixture(scope="module")
def roles(database):
    with connect(autocommit=True) as c:
        if not c.execute("SELECT 1 FROM pg_roles WHERE rolname = 'credit_officer'").fetchone():
            c.execute("CREATE ROLE credit_officer")
        for name, member_of in ROLES.items():
            login_role(c, name, *member_of)
    return ROLES


def execute_pending(execution_id):
    with connect(user="py_exec", autocommit=True) as c:
        att = c.execute(
            "SELECT parmana.parmana_execute(%s, 'loan-approval', '1.0.0', '{\"credit_score\": 650, \"loan_amount\": 9000}')",
            (execution_id,),
        ).fetchone()[0]
    assert att["execution_state"] == "pending_override"
    return att


def notifications(listener, timeout):
    """The parmana.overrides rows the notifications name: a payload carries only the row's id."""
    payloads = [json.loads(n.payload) for n in listener.notifies(timeout=timeout)]
    assert all(set(p) == {"id"} for p in payloads), payloads
    with connect(autocommit=True) as c:
        return [
            dict(zip(("id", "executionId", "status", "overrideId"), c.execute(
                "SELECT id, execution_id, resolution_status, override_id FROM parmana.overrides WHERE id = %s", (p["id"],)
            ).fetchone()))
            for p in payloads
        ]


def test_pending_notification_arrives_only_after_commit(roles):
    execution_id = f"notify-{uuid.uuid4()}"
    with connect(autocommit=True) as listener, connect(user="py_exec") as app:
        listener.execute("LISTEN parmana_pending_override")
        with app.transaction():
            app.execute(
                "SELECT parmana.parmana_execute(%s, 'loan-approval', '1.0.0', '{\"credit_score\": 650, \"loan_amount\": 1}')",
                (execution_id,),
            )
            assert [n for n in notifications(listener, 0.5) if n["executionId"] == execution_id] == []
        received = [n for n in notifications(listener, 5.0) if n["executionId"] == execution_id]
        assert [n["status"] for n in received] == ["pending"]


def test_rolled_back_execute_sends_nothing(roles):
    execution_id = f"notify-rb-{uuid.uuid4()}"
    with connect(autocommit=True) as listener, connect(user="py_exec") as app:
        listener.execute("LISTEN parmana_pending_override")
        with app.transaction() as tx:
            app.execute(
                "SELECT parmana.parmana_execute(%s, 'loan-approval', '1.0.0', '{\"credit_score\": 650, \"loan_amount\": 1}')",
                (execution_id,),
            )
            raise psycopg.Rollback(tx)
        assert [n for n in notifications(listener, 1.0) if n["executionId"] == execution_id] == []


def test_duplicate_execute_of_pending_id_is_refused(roles):
    execution_id = f"dup-pending-{uuid.uuid4()}"
    execute_pending(execution_id)
    with connect(user="py_exec", autocommit=True) as c, pytest.raises(psycopg.Error) as e:
        c.execute(
            "SELECT parmana.parmana_execute(%s, 'loan-approval', '1.0.0', '{\"credit_score\": 720, \"loan_amount\": 1}')", (execution_id,)
        )
    assert e.value.sqlstate == "23505" and "pending override" in str(e.value)


def test_two_reviewers_race_exactly_one_wins(roles):
    execution_id = f"race-review-{uuid.uuid4()}"
    execute_pending(execution_id)
    first, second = connect(user="py_reviewer_a"), connect(user="py_reviewer_b")
    observer = connect(autocommit=True)
    listener = connect(autocommit=True)
    listener.execute("LISTEN parmana_override_resolved")
    outcome = {}

    def second_reviewer():
        try:
            with second.transaction():
                second.execute("SELECT parmana.parmana_override(%s, false, 'bob', 'credit_officer', 'reject')", (execution_id,))
            outcome["second"] = "won"
        except psycopg.Error as e:
            outcome["second"] = e

    try:
        with first.transaction():
            result = first.execute(
                "SELECT parmana.parmana_override(%s, true, 'alice', 'credit_officer', 'approve')", (execution_id,)
            ).fetchone()[0]
            thread = threading.Thread(target=second_reviewer)
            thread.start()
            assert wait_until_blocked(observer, second.info.backend_pid), "the second reviewer must wait for the first"
        thread.join(timeout=10)
        err = outcome["second"]
        assert isinstance(err, psycopg.Error) and err.sqlstate == "55000" and str(err).startswith("[SYS-026]")
        assert result["status"] == "approved"
        rows = observer.execute(
            "SELECT kind, execution_state FROM parmana.attestations WHERE execution_id = %s ORDER BY id", (execution_id,)
        ).fetchall()
        assert rows == [("decision", "pending_override"), ("resolution", "completed")]
        assert observer.execute("SELECT parmana.parmana_replay_state(%s)", (execution_id,)).fetchone()[0] == "OVERRIDDEN"
        resolved = [n for n in notifications(listener, 5.0) if n["executionId"] == execution_id]
        assert [(n["status"], n["overrideId"]) for n in resolved] == [("approved", result["overrideId"])]
    finally:
        for c in (first, second, observer, listener):
            c.close()


def pae(payload_type: bytes, body: bytes) -> bytes:
    return b"DSSEv1 %d %s %d %s" % (len(payload_type), payload_type, len(body), body)


def test_approved_override_verifies_offline(roles):
    execution_id = f"offline-override-{uuid.uuid4()}"
    pending = execute_pending(execution_id)
    with connect(user="py_reviewer_a", autocommit=True) as c:
        result = c.execute(
            "SELECT parmana.parmana_override(%s, true, 'alice', 'credit_officer', 'verified income')", (execution_id,)
        ).fetchone()[0]
    record, resolution = result["override"], result["resolution"]
    with connect(autocommit=True) as c:
        pem = c.execute("SELECT parmana.parmana_public_key(%s)", (record["signerKeyId"],)).fetchone()[0]
    key = load_pem_public_key(pem.encode())

    def check(doc, payload_type):
        body = rfc8785.dumps({k: v for k, v in doc.items() if k != "signature"})
        key.verify(base64.b64decode(doc["signature"], validate=True), pae(payload_type, body))

    check(record, b"application/vnd.parmana.override.v1+json")
    check(resolution, b"application/vnd.parmana.attestation.v1+json")
    # overrideId is the hash of the record's canonical body; the record names the pending attestation.
    without_id = {k: v for k, v in record.items() if k not in ("overrideId", "signature")}
    assert record["overrideId"] == hashlib.sha256(rfc8785.dumps(without_id)).hexdigest() == result["overrideId"]
    assert record["pendingAttestationHash"] == hashlib.sha256(rfc8785.dumps(pending)).hexdigest()
    # The resolution carries the decision as first made, unchanged, and the override's id.
    assert resolution["decision"] == pending["decision"]
    assert resolution["execution_state"] == "completed" and resolution["overrideId"] == record["overrideId"]
    assert resolution["execution_fingerprint"] == pending["execution_fingerprint"]


def test_a_stranger_listening_learns_only_a_row_id(roles):
    """PostgreSQL cannot stop a role with no parmana grant from LISTENing or NOTIFYing; the
    payload therefore names only the overrides row, which the stranger cannot read."""
    with connect(autocommit=True) as c:
        login_role(c, "py_stranger")
    execution_id = f"stranger-{uuid.uuid4()}"
    with connect(user="py_stranger", autocommit=True) as stranger:
        stranger.execute("LISTEN parmana_pending_override")
        execute_pending(execution_id)
        payloads = [json.loads(n.payload) for n in stranger.notifies(timeout=5.0, stop_after=1)]
        assert len(payloads) == 1 and set(payloads[0]) == {"id"}
        assert execution_id not in json.dumps(payloads)
        with pytest.raises(psycopg.Error) as e:
            stranger.execute("SELECT execution_id FROM parmana.pending_overrides")
        assert e.value.sqlstate == "42501"
        # A forged notification changes nothing: it is a wake-up, and the queue is the truth.
        stranger.execute("SELECT pg_notify('parmana_override_resolved', %s)", (json.dumps({"id": payloads[0]["id"]}),))
    with connect(autocommit=True) as c:
        assert c.execute("SELECT resolution_status FROM parmana.overrides WHERE execution_id = %s", (execution_id,)).fetchone()[0] == "pending"
