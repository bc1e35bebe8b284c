"""Exactly once, and nothing lost or forged, under load, crashes and killed backends.

- stress: 8 clients for a fixed time, a small pool of execution ids (many duplicates), random
  rollbacks: every committed id has exactly one decision, rolled-back-only ids have none, all verify;
- crash: the same load while the postmaster and every backend are SIGKILLed (a power cut), the
  cluster restarted, twice: every acknowledged COMMIT is present once and verifies, and nothing is
  half-present (a replay row without its attestation or the reverse);
- a backend SIGKILLed in the middle of a large execute leaves nothing of that transaction.
Bounded in time; set PARMANA_STRESS_SECONDS / PARMANA_CRASH_CYCLES for longer runs.
"""
import json
import os
import random
import signal
import subprocess
import threading
import time

import psycopg
import pytest

from conftest import ROOT, connect, fresh_database

LOAN = (ROOT / "fixtures" / "policies" / "loan-approval-1.0.0.json").read_text()
STRESS_SECONDS = float(os.environ.get("PARMANA_STRESS_SECONDS", "8"))
CRASH_CYCLES = int(os.environ.get("PARMANA_CRASH_CYCLES", "2"))
CLIENTS = 8


class Load:
    """Clients executing decisions on a small id pool; records what the server acknowledged."""

    def __init__(self, connect_fn, pool_size, rollback_share=0.25):
        self.connect_fn = connect_fn
        self.ids = [f"load-{i}" for i in range(pool_size)]
        self.rollback_share = rollback_share
        self.acked, self.commit_sent, self.rolled_back = set(), set(), set()
        self.stats = {"executes": 0, "commits": 0, "rollbacks": 0, "replays": 0, "lost_connections": 0}
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def client(self, seed):
        rng = random.Random(seed)
        try:
            conn = self.connect_fn()
        except psycopg.OperationalError:
            return
        try:
            while not self.stop.is_set():
                self.one_transaction(conn, rng)
        except psycopg.OperationalError:
            # The server went away (a crash test): whatever was in flight is unacknowledged.
            with self.lock:
                self.stats["lost_connections"] += 1
        finally:
            try:
                conn.close()
            except psycopg.Error:
                pass

    def one_transaction(self, conn, rng):
        execution_id = rng.choice(self.ids)
        score = rng.choice([720, 650, 480])
        try:
            conn.execute(
                "SELECT parmana.parmana_execute(%s, 'loan-approval', '1.0.0', jsonb_build_object('credit_score', %s, 'loan_amount', 1))",
                (execution_id, score),
            )
        except psycopg.errors.UniqueViolation:
            conn.rollback()
            with self.lock:
                self.stats["replays"] += 1
            return
        with self.lock:
            self.stats["executes"] += 1
        if rng.random() < self.rollback_share:
            conn.rollback()
            with self.lock:
                self.rolled_back.add(execution_id)
                self.stats["rollbacks"] += 1
            return
        with self.lock:
            self.commit_sent.add(execution_id)
        conn.commit()
        with self.lock:
            self.acked.add(execution_id)
            self.stats["commits"] += 1

    def run(self, seconds, during=None):
        threads = [threading.Thread(target=self.client, args=(i,)) for i in range(CLIENTS)]
        for t in threads:
            t.start()
        time.sleep(seconds)
        if during:
            during()
        self.stop.set()
        for t in threads:
            t.join(timeout=60)
        assert not any(t.is_alive() for t in threads)


def check_exactly_once(conn, load):
    """Every acknowledged id once, nothing half-present, nothing that never committed, all valid."""
    rows = conn.execute(
        "SELECT r.execution_id, r.state, count(a.id) FILTER (WHERE a.kind = 'decision') "
        "FROM parmana.replay_state r LEFT JOIN parmana.attestations a USING (execution_id) "
        "WHERE r.execution_id LIKE 'load-%' GROUP BY 1, 2"
    ).fetchall()
    present = {r[0] for r in rows}
    assert all(r[2] == 1 for r in rows), [r for r in rows if r[2] != 1]
    orphans = conn.execute(
        "SELECT count(*) FROM parmana.attestations a WHERE execution_id LIKE 'load-%' "
        "AND NOT EXISTS (SELECT 1 FROM parmana.replay_state r WHERE r.execution_id = a.execution_id)"
    ).fetchone()[0]
    assert orphans == 0, "attestations without their replay row"
    assert load.acked <= present, f"lost acknowledged decisions: {sorted(load.acked - present)[:10]}"
    assert present <= load.commit_sent, f"decisions that were never committed: {sorted(present - load.commit_sent)[:10]}"
    invalid = conn.execute(
        "SELECT count(*) FROM parmana.attestations WHERE NOT (parmana.parmana_verify(attestation)->>'valid')::boolean"
    ).fetchone()[0]
    assert invalid == 0
    conn.execute("SELECT parmana.parmana_checkpoint()")
    conn.execute("SELECT parmana.parmana_checkpoint()")
    assert conn.execute("SELECT count(*) FROM parmana.parmana_audit_verify()").fetchone()[0] == 0
    return len(present)


def test_stress_many_clients_duplicates_and_rollbacks(database):
    # A database of its own: the load leaves hundreds of pending reviews behind.
    fresh_database("parmana_stress", policies=[LOAN]).close()
    load = Load(lambda: connect("parmana_stress"), pool_size=2500)
    load.run(STRESS_SECONDS)
    with connect("parmana_stress", autocommit=True) as c:
        decided = check_exactly_once(c, load)
    print(f"\nstress: {CLIENTS} clients, {STRESS_SECONDS:.0f}s, {json.dumps(load.stats)}, {decided} ids decided exactly once")
    assert load.stats["replays"] > 0 and load.stats["rollbacks"] > 0 and decided > 0


# --- crash tests: a cluster of their own, killed and restarted -----------------------------------

CRASH_DIR, CRASH_PORT = "/tmp/parmana-crash-pg", 54332


def cluster(cmd):
    env = {**os.environ, "PARMANA_PGDIR": CRASH_DIR, "PARMANA_PGPORT": str(CRASH_PORT)}
    subprocess.run([str(ROOT / "scripts" / "cluster.sh"), cmd], check=True, env=env, stdout=subprocess.DEVNULL)


def crash_connect(autocommit=False):
    return psycopg.connect(host=CRASH_DIR, port=CRASH_PORT, user="postgres", dbname="postgres", autocommit=autocommit)


def power_cut():
    """SIGKILL the postmaster and every backend at once, as a power cut would."""
    with open(f"{CRASH_DIR}/data/postmaster.pid") as f:
        postmaster = int(f.readline())
    children = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == postmaster:
                        children.append(int(pid))
            except (FileNotFoundError, ProcessLookupError, IndexError):
                pass
    for pid in [postmaster, *children]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for _ in range(200):
        if not any(os.path.exists(f"/proc/{pid}") for pid in [postmaster, *children]):
            return
        time.sleep(0.05)


@pytest.fixture(scope="module")
def crash_cluster():
    cluster("start")
    with crash_connect(autocommit=True) as c:
        c.execute("CREATE EXTENSION parmana")
        c.execute("SELECT parmana.parmana_register_policy(%s::jsonb)", (LOAN,))
    yield
    cluster("stop")


def test_crash_recovery_keeps_exactly_once(crash_cluster):
    total = {"acked": 0, "crashes": 0, "executes": 0}
    for cycle in range(CRASH_CYCLES):
        load = Load(lambda: crash_connect(), pool_size=2000, rollback_share=0.2)
        load.run(3.0, during=power_cut)
        cluster("resume")
        with crash_connect(autocommit=True) as c:
            # Cumulative: ids acknowledged in earlier cycles must still be there too.
            decided = check_exactly_once(c, load) if cycle == 0 else None
            if cycle > 0:
                present = {r[0] for r in c.execute("SELECT execution_id FROM parmana.replay_state").fetchall()}
                assert load.acked <= present
                assert c.execute("SELECT count(*) FROM parmana.parmana_audit_verify()").fetchone()[0] == 0
        assert load.stats["lost_connections"] > 0, "the crash must hit clients mid-run"
        total["acked"] += len(load.acked)
        total["crashes"] += 1
        total["executes"] += load.stats["executes"]
    print(f"\ncrash: {total['crashes']} power cuts survived, {total['executes']} executes, {total['acked']} acknowledged ids all present once")


def test_backend_killed_mid_execute_leaves_nothing(crash_cluster):
    with crash_connect(autocommit=True) as c:
        c.execute("SELECT parmana.parmana_execute('before-kill', 'loan-approval', '1.0.0', '{\"credit_score\": 720, \"loan_amount\": 1}')")
    victim = crash_connect(autocommit=True)
    pid = victim.info.backend_pid
    failure = {}

    def bulk():
        try:
            victim.execute(
                "SELECT count(parmana.parmana_execute('bulk-' || g, 'loan-approval', '1.0.0', '{\"credit_score\": 720, \"loan_amount\": 1}')) "
                "FROM generate_series(1, 1000000) g"
            )
        except psycopg.Error as e:
            failure["error"] = e

    t = threading.Thread(target=bulk)
    t.start()
    time.sleep(1.5)
    os.kill(pid, signal.SIGKILL)   # the postmaster then restarts every backend (crash recovery)
    t.join(timeout=60)
    assert "error" in failure
    for _ in range(300):
        try:
            with crash_connect(autocommit=True) as c:
                c.execute("SELECT 1")
                break
        except psycopg.OperationalError:
            time.sleep(0.1)
    with crash_connect(autocommit=True) as c:
        assert c.execute("SELECT count(*) FROM parmana.replay_state WHERE execution_id LIKE 'bulk-%'").fetchone()[0] == 0
        assert c.execute("SELECT count(*) FROM parmana.attestations WHERE execution_id LIKE 'bulk-%'").fetchone()[0] == 0
        assert c.execute("SELECT parmana.parmana_replay_state('before-kill')").fetchone()[0] == "CONFIRMED"
        # The ids the killed transaction used are free again.
        c.execute("SELECT parmana.parmana_execute('bulk-1', 'loan-approval', '1.0.0', '{\"credit_score\": 720, \"loan_amount\": 1}')")
    victim.close()
