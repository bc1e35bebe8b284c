"""Shared by the transparency-log tests: the independent RFC 9162 checker (tlog.py from the shared
test vectors, used in place), the parmana-verify binary, and a log database with its keys."""
import base64
import json
import os
import subprocess
import sys

import pytest
import rfc8785

from conftest import ROOT

TLOG_DIR = os.environ.get("PARMANA_TLOG_VECTORS", str(ROOT.parent / "shared" / "vectors" / "tlog"))
if os.path.exists(os.path.join(TLOG_DIR, "tlog.py")):
    sys.path.insert(0, TLOG_DIR)
    import tlog  # noqa: E402
else:
    tlog = None
needs_tlog = pytest.mark.skipif(tlog is None, reason=f"independent RFC 9162 checker not found in {TLOG_DIR}")

TOOL = os.environ.get("PARMANA_VERIFY_BIN", str(ROOT / "target" / "debug" / "parmana-verify"))
LOAN = (ROOT / "fixtures" / "policies" / "loan-approval-1.0.0.json").read_text()
SMALL = 70


def run_tool(*args, stdin=None):
    return subprocess.run([TOOL, *map(str, args)], input=stdin, capture_output=True, text=True)


def execute(conn, first, last, prefix="tl"):
    conn.execute(
        "SELECT count(*) FROM (SELECT parmana.parmana_execute(%s || g, 'loan-approval', '1.0.0', "
        "jsonb_build_object('credit_score', 720, 'loan_amount', g)) FROM generate_series(%s::int, %s::int) g) x",
        (f"{prefix}-", first, last),
    )


def b64(text):
    return base64.b64decode(text)


def leaf_of(attestation):
    return tlog.leaf_hash(rfc8785.dumps(attestation))


class Log:
    """A database whose log has checkpoints at known sizes, with its keys written to files."""

    def __init__(self, conn, tmp):
        self.conn = conn
        self.vkey = conn.execute("SELECT parmana.parmana_log_key()").fetchone()[0]
        self.vkey_file = tmp / "log.vkey"
        self.vkey_file.write_text(self.vkey + "\n")
        self.pem_file = tmp / "keys.pem"
        self.pem_file.write_text(
            "".join(r[0] for r in conn.execute("SELECT public_key_pem FROM parmana.signing_keys").fetchall())
        )
        self.tmp = tmp

    def heads(self):
        """tree size -> (root, note), every note verified by tlog with the log's key."""
        out = {}
        for size, note in self.conn.execute(
            "SELECT tree_size, note FROM parmana.checkpoints WHERE note IS NOT NULL ORDER BY tree_size"
        ).fetchall():
            checkpoint, _ = tlog.verify_checkpoint(note, [self.vkey])
            assert checkpoint.tree_size == size
            out[size] = (checkpoint.root_hash, note)
        return out

    def write_lines(self, name, docs):
        path = self.tmp / name
        path.write_text("".join(json.dumps(d) + "\n" for d in docs))
        return path


def stolen_key(conn):
    """The active private key, as a superuser can read it: the seed inside its PKCS#8 DER."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    pem = conn.execute(
        "SELECT s.private_key_pem FROM parmana.signing_key_secrets s JOIN parmana.signing_keys k USING (key_id) WHERE k.active"
    ).fetchone()[0]
    der = base64.b64decode("".join(line for line in pem.splitlines() if not line.startswith("-----")))
    at = der.index(b"\x04\x22\x04\x20") + 4
    return Ed25519PrivateKey.from_private_bytes(der[at:at + 32])


def resign(attestation, key):
    """Sign an attestation the way parmana does: Ed25519 over DSSE PAE of its canonical body."""
    body = {k: v for k, v in attestation.items() if k != "signature"}
    canonical = rfc8785.dumps(body)
    payload_type = b"application/vnd.parmana.attestation.v1+json"
    pae = b"DSSEv1 %d %s %d %s" % (len(payload_type), payload_type, len(canonical), canonical)
    return dict(body, signature=base64.b64encode(key.sign(pae)).decode())


def rewrite_and_reseal(conn, attestation_id):
    """What a superuser holding the key can do: change a decision with triggers off, re-sign it,
    throw the tree away and let the next checkpoints seal the rewritten log. Returns the attestation as it was."""
    original = conn.execute("SELECT attestation FROM parmana.attestations WHERE id = %s", (attestation_id,)).fetchone()[0]
    forged = resign(dict(original, decision=dict(original["decision"], action="reject")), stolen_key(conn))
    with conn.transaction():
        conn.execute("SET LOCAL session_replication_role = replica")
        conn.execute("UPDATE parmana.attestations SET attestation = %s, action = 'reject' WHERE id = %s",
                     (json.dumps(forged), attestation_id))
        conn.execute("DELETE FROM parmana.checkpoints")
        conn.execute("DELETE FROM parmana.log_tiles")
        conn.execute("UPDATE parmana.checkpoint_state SET watermark_id = 0, head_checkpoint_id = NULL, head_digest = NULL")
    return original
