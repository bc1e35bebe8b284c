"""A witness: a second PostgreSQL cluster, owned by an auditor, holds the attestation log by native
logical replication, refuses rewrites of rows it already holds, and cosigns the primary's tree
heads only while they are consistent with its copy. A superuser on the primary who rewrites a
decision (triggers off), re-signs it with the stolen key and re-seals the log passes the primary's
own audit, but not the witness.
"""
import base64
import hashlib
import json
import os
import subprocess
import time

import psycopg
import pytest

from conftest import ROOT
from tlog_support import LOAN, execute, rewrite_and_reseal, run_tool

CLUSTER = ROOT / "scripts" / "cluster.sh"
PRIMARY = ("/tmp/parmana-witness-primary", 54341)
WITNESS = ("/tmp/parmana-witness-copy", 54342)
WITNESS_NAME = "auditor.example/witness"


def cluster(where, action, options=""):
    env = {**os.environ, "PARMANA_PGDIR": where[0], "PARMANA_PGPORT": str(where[1]), "PARMANA_PGOPTS": options}
    subprocess.run(["bash", str(CLUSTER), action], check=True, env=env, capture_output=True)


def connect(where, dbname):
    return psycopg.connect(host=where[0], port=where[1], user="postgres", dbname=dbname, autocommit=True)


@pytest.fixture(scope="module")
def clusters():
    cluster(PRIMARY, "start", "-c wal_level=logical")
    cluster(WITNESS, "start")
    try:
        with connect(PRIMARY, "postgres") as c:
            c.execute("CREATE DATABASE ledger")
        with connect(WITNESS, "postgres") as c:
            c.execute("CREATE DATABASE copy")
        yield
    finally:
        cluster(WITNESS, "stop")
        cluster(PRIMARY, "stop")


def wait_for(query_conn, query, expected, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        value = query_conn.execute(query).fetchone()[0]
        if value == expected or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def cosignature_key(witness):
    """The witness's cosignature verifier key, computed here from its public key (c2sp.org/signed-note)."""
    pem = witness.execute("SELECT parmana.parmana_public_key()").fetchone()[0]
    raw = base64.b64decode("".join(line for line in pem.splitlines() if not line.startswith("-----")))[-32:]
    key_id = hashlib.sha256(WITNESS_NAME.encode() + b"\n\x04" + raw).digest()[:4]
    return f"{WITNESS_NAME}+{key_id.hex()}+" + base64.b64encode(b"\x04" + raw).decode()


def test_a_witness_catches_a_superuser_rewriting_history(clusters, tmp_path):
    primary = connect(PRIMARY, "ledger")
    witness = connect(WITNESS, "copy")
    try:
        primary.execute("CREATE EXTENSION parmana")
        primary.execute("SELECT parmana.parmana_register_policy(%s::jsonb)", (LOAN,))
        execute(primary, 1, 20)
        primary.execute("SELECT parmana.parmana_checkpoint()")
        primary.execute("SELECT parmana.parmana_checkpoint()")
        log_key = primary.execute("SELECT parmana.parmana_log_key()").fetchone()[0]
        primary.execute("CREATE PUBLICATION parmana_log FOR TABLE parmana.attestations, parmana.checkpoints "
                        "WITH (publish = 'insert, update, delete')")

        # The auditor's cluster: parmana for its tables and functions, witness mode, a subscription.
        witness.execute("CREATE EXTENSION parmana")
        witness.execute("SELECT parmana.parmana_witness_enable()")
        witness.execute(f"CREATE SUBSCRIPTION parmana_log CONNECTION 'host={PRIMARY[0]} port={PRIMARY[1]} "
                        "dbname=ledger user=postgres' PUBLICATION parmana_log")
        assert wait_for(witness, "SELECT count(*) FROM parmana.checkpoints WHERE tree_size = 20", 1) == 1
        assert wait_for(witness, "SELECT count(*) FROM parmana.attestations", 20) == 20
        assert witness.execute("SELECT count(*) FROM parmana.parmana_witness_check(%s)", (log_key,)).fetchone()[0] == 0
        assert witness.execute("SELECT parmana.parmana_witness_key(%s)", (WITNESS_NAME,)).fetchone()[0] == cosignature_key(witness)

        # Honest growth: the witness cosigns each new head, which the tool checks with both keys.
        cosigned = witness.execute("SELECT parmana.parmana_witness_cosign(%s, %s)", (log_key, WITNESS_NAME)).fetchone()[0]
        execute(primary, 21, 30)
        primary.execute("SELECT parmana.parmana_checkpoint()")
        primary.execute("SELECT parmana.parmana_checkpoint()")
        assert wait_for(witness, "SELECT max(tree_size) FROM parmana.checkpoints", 30) == 30
        cosigned = witness.execute("SELECT parmana.parmana_witness_cosign(%s, %s)", (log_key, WITNESS_NAME)).fetchone()[0]
        (tmp_path / "cosigned.note").write_text(cosigned)
        checked = run_tool("note", "--key", log_key, "--key", cosignature_key(witness), tmp_path / "cosigned.note")
        assert checked.returncode == 0 and WITNESS_NAME in checked.stdout, checked.stdout + checked.stderr
        assert witness.execute("SELECT tree_size FROM parmana.witness_heads").fetchone()[0] == 30

        # The attack: rewrite decision 5 with triggers off, re-sign it, throw the tree away, re-seal.
        original = rewrite_and_reseal(primary, 5)
        # The log goes on: new heads get ids 1, 2 (which the witness holds) and then 3.
        for first in (31, 41, 51):
            execute(primary, first, first + 9)
            primary.execute("SELECT parmana.parmana_checkpoint()")
            primary.execute("SELECT parmana.parmana_checkpoint()")
        # On the primary, nothing looks wrong any more.
        assert primary.execute("SELECT count(*) FROM parmana.parmana_audit_verify()").fetchone()[0] == 0
        assert primary.execute("SELECT array_agg(tree_size ORDER BY id) FROM parmana.checkpoints").fetchone()[0] == [40, 50, 60]

        # The witness kept its rows, recorded every rewrite, and says what happened.
        assert wait_for(witness, "SELECT count(*) FROM parmana.attestations", 60) == 60
        assert wait_for(witness, "SELECT count(*) FROM parmana.checkpoints WHERE tree_size = 60", 1) == 1
        kept = witness.execute("SELECT attestation FROM parmana.attestations WHERE id = 5").fetchone()[0]
        assert kept == original
        problems = witness.execute("SELECT problem, detail FROM parmana.parmana_witness_check(%s)", (log_key,)).fetchall()
        details = "\n".join(f"{p}: {d}" for p, d in problems)
        print(details)
        assert [p for p, _ in problems].count("rewrite_refused") == 5, details
        for rewrite in ("UPDATE attestations id 5", "DELETE checkpoints id 1", "DELETE checkpoints id 2",
                        "INSERT checkpoints id 1", "INSERT checkpoints id 2"):
            assert f"replication tried to {rewrite};" in details, rewrite
        assert "checkpoint_inconsistent: checkpoint 3 states root" in details and "history was rewritten" in details
        with pytest.raises(psycopg.Error) as refused:
            witness.execute("SELECT parmana.parmana_witness_cosign(%s, %s)", (log_key, WITNESS_NAME))
        assert "[WIT-002]" in str(refused.value)
        assert witness.execute("SELECT tree_size FROM parmana.witness_heads").fetchone()[0] == 30
    finally:
        try:
            witness.execute("DROP SUBSCRIPTION IF EXISTS parmana_log")
        finally:
            witness.close()
            primary.close()
