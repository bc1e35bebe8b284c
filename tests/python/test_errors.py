"""PostgreSQL's own errors that pass through parmana's Rust code (lock timeout, statement timeout,
serialization failure) reach the client with their SQLSTATE and nothing else: no Rust backtrace,
source path or symbol in the message, detail, hint or context. The test cluster runs with
RUST_BACKTRACE=1 in its environment (scripts/cluster.sh), so a leak would show."""
import re
import threading
import uuid

import psycopg
import pytest

from conftest import connect, claims_signals
from test_concurrency import wait_until_blocked

LEAK = re.compile(r"backtrace|stack|\.rs\b|rustc|pgrx|/src/|::|0x[0-9a-f]{6,}", re.I)


def assert_clean(err):
    d = err.diag
    for part in (d.message_primary, d.message_detail, d.message_hint, d.context):
        assert not (part and LEAK.search(part)), f"leaks Rust internals: {part!r}"


def blocked_duplicate(setup, expected_sqlstate):
    """A second client executes the id a first client holds, under `setup`; returns its error."""
    execution_id = f"err-{uuid.uuid4()}"
    call = "SELECT parmana.parmana_execute(%s, 'claims-approval', 'v1', %s::jsonb)"
    with connect() as holder, connect() as waiter:
        holder.execute(call, (execution_id, claims_signals()))
        for statement in setup:
            waiter.execute(statement)
        with pytest.raises(psycopg.Error) as e:
            waiter.execute(call, (execution_id, claims_signals()))
        holder.rollback()
    assert e.value.sqlstate == expected_sqlstate, e.value
    assert_clean(e.value)
    return e.value


def test_lock_timeout_is_55P03_without_backtrace(database):
    blocked_duplicate(["SET lock_timeout = '200ms'"], "55P03")


def test_statement_timeout_is_57014_without_backtrace(database):
    blocked_duplicate(["SET statement_timeout = '200ms'"], "57014")


def test_serialization_failure_is_40001_without_backtrace(database):
    execution_id = f"err-ser-{uuid.uuid4()}"
    call = "SELECT parmana.parmana_execute(%s, 'claims-approval', 'v1', %s::jsonb)"
    first, second, observer = connect(), connect(), connect(autocommit=True)
    outcome = {}
    try:
        # A reservation that lapses at once: both transactions may claim it, one must lose.
        with connect(autocommit=True) as c:
            c.execute("SET parmana.reservation_ttl = 1")
            c.execute("SELECT parmana.parmana_replay_reserve(%s)", (execution_id,))
            c.execute("SELECT pg_sleep(1.1)")
        first.execute("BEGIN ISOLATION LEVEL SERIALIZABLE")
        second.execute("BEGIN ISOLATION LEVEL SERIALIZABLE")
        second.execute("SELECT 1")  # take the snapshot before the first commits
        first.execute(call, (execution_id, claims_signals()))

        def run():
            try:
                second.execute(call, (execution_id, claims_signals()))
                outcome["second"] = "ok"
            except psycopg.Error as e:
                outcome["second"] = e

        thread = threading.Thread(target=run)
        thread.start()
        assert wait_until_blocked(observer, second.info.backend_pid)
        first.commit()
        thread.join(timeout=10)
        err = outcome["second"]
        assert isinstance(err, psycopg.Error) and err.sqlstate == "40001", err
        assert_clean(err)
    finally:
        for c in (first, second, observer):
            c.close()


def test_parmana_errors_carry_no_internals_either(database):
    with connect(autocommit=True) as c:
        for sql in [
            "SELECT parmana.parmana_execute('x y ', 'claims-approval', 'v1', '{}')",
            "SELECT parmana.parmana_execute('err-unknown', 'nope', 'v1', '{}')",
            "SELECT parmana.parmana_override('nothing', true, 'a', 'b', 'c')",
        ]:
            with pytest.raises(psycopg.Error) as e:
                c.execute(sql)
            assert e.value.diag.message_primary.startswith("["), e.value
            assert_clean(e.value)
