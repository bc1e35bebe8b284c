"""examples/reviewer.py, the README's LISTEN-based reviewer loop, resolves a backlog item and
new pending decisions as they are committed."""
import os
import subprocess
import sys
import time
import uuid

from conftest import HOST, PORT, ROOT, connect
from test_overrides import execute_pending, roles  # noqa: F401 (fixture)


def test_reviewer_worker_resolves_backlog_and_new_events(roles):
    backlog_id = f"worker-backlog-{uuid.uuid4()}"
    execute_pending(backlog_id)
    dsn = f"host={HOST} port={PORT} user=py_reviewer_b dbname=parmana_py"
    worker = subprocess.Popen(
        [sys.executable, str(ROOT / "examples" / "reviewer.py"), "--dsn", dsn, "--reviewer", "worker-bot",
         "--role", "credit_officer", "--idle-timeout", "20"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        assert worker.stdout.readline().startswith("listening")
        new_ids = [f"worker-new-{uuid.uuid4()}" for _ in range(3)]
        for execution_id in new_ids:
            execute_pending(execution_id)
        deadline = time.monotonic() + 20
        with connect(autocommit=True) as c:
            while time.monotonic() < deadline:
                states = [c.execute("SELECT parmana.parmana_replay_state(%s)", (i,)).fetchone()[0] for i in [backlog_id, *new_ids]]
                if all(s == "OVERRIDDEN" for s in states):
                    break
                time.sleep(0.1)
            assert states == ["OVERRIDDEN"] * 4
            approvers = c.execute(
                "SELECT DISTINCT approved_by, resolved_by::text FROM parmana.overrides WHERE execution_id = ANY(%s)",
                ([backlog_id, *new_ids],),
            ).fetchall()
            assert approvers == [("worker-bot", "py_reviewer_b")]
    finally:
        worker.terminate()
        worker.wait(timeout=10)
