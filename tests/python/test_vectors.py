"""The published vectors (fixtures/vectors/, documented in docs/format.md) reproduced byte for byte:
by the extension (verification, DSSE, fingerprints and decisions, and, signing with the vectors'
key and origin, the same checkpoint note and proofs over the same attestations) and by the
offline tool; every tampered vector is rejected by both."""
import json

import pytest

from conftest import ROOT, connect, fresh_database
from test_key_file import set_key_file, set_setting, write_key_file
from tlog_support import run_tool

VECTORS = ROOT / "fixtures" / "vectors"
KEYS = json.loads((VECTORS / "keys.json").read_text())
DOCUMENTS = json.loads((VECTORS / "documents.json").read_text())
LOG = json.loads((VECTORS / "log.json").read_text())
TAMPERED = json.loads((VECTORS / "tampered.json").read_text())
LOAN = (ROOT / "fixtures" / "policies" / "loan-approval-1.0.0.json").read_text()


@pytest.fixture(scope="module")
def vector_log():
    """A database signing with the vectors' key and origin, holding the vectors' attestations."""
    set_key_file(write_key_file(KEYS["privateKeyPem"].encode()))
    set_setting("parmana.log_origin", KEYS["logOrigin"])
    try:
        conn = fresh_database("parmana_vectors", policies=[LOAN])
        for leaf in LOG["leaves"]:
            doc = json.loads(leaf["canonical"])
            conn.execute(
                "INSERT INTO parmana.attestations (execution_id, kind, execution_fingerprint, policy_id, policy_version, "
                "action, execution_state, signer_key_id, issued_at, db_user, override_id, attestation) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, current_user, %s, %s)",
                (doc["executionId"], "resolution" if "overrideId" in doc else "decision", doc["execution_fingerprint"],
                 doc["policyId"], doc["policyVersion"], doc["decision"]["action"], doc["execution_state"],
                 doc["signerKeyId"], doc["issuedAt"], doc.get("overrideId"), leaf["canonical"]),
            )
        conn.execute("SELECT parmana.parmana_checkpoint()")
        conn.execute("SELECT parmana.parmana_checkpoint()")
        yield conn
        conn.close()
    finally:
        set_key_file(None)
        set_setting("parmana.log_origin", None)


def test_the_extension_verifies_every_document_vector(conn):
    for vector in DOCUMENTS:
        report = conn.execute("SELECT parmana.parmana_verify(%s, %s)", (json.dumps(vector["document"]), KEYS["publicKeyPem"])).fetchone()[0]
        assert report["valid"], (vector["name"], report)
        assert conn.execute("SELECT parmana.parmana_dsse(%s)", (json.dumps(vector["document"]),)).fetchone()[0] == vector["dsse"]


def test_the_extension_reproduces_fingerprints_and_decisions(conn):
    for vector in (v for v in DOCUMENTS if "signals" in v):
        doc = vector["document"]
        simulated = conn.execute("SELECT parmana.parmana_simulate(%s, %s, %s)",
                                 (doc["policyId"], doc["policyVersion"], json.dumps(vector["signals"]))).fetchone()[0]
        assert simulated["execution_fingerprint"] == doc["execution_fingerprint"]
        assert simulated["decision"] == doc["decision"]
        assert simulated["policyHash"] == doc["policyHash"]


def test_the_extension_rejects_every_tampered_document(conn):
    for vector in TAMPERED:
        if vector["kind"] == "document":
            report = conn.execute("SELECT parmana.parmana_verify(%s, %s)", (json.dumps(vector["input"]), KEYS["publicKeyPem"])).fetchone()[0]
            assert not report["valid"], vector["name"]


def test_the_extension_seals_the_same_tree_head_and_proofs(vector_log):
    assert vector_log.execute("SELECT parmana.parmana_log_key()").fetchone()[0] == KEYS["logVerifierKey"]
    assert vector_log.execute("SELECT note FROM parmana.checkpoints WHERE tree_size = 4").fetchone()[0] == LOG["signedNote"]
    for proof in LOG["inclusionProofs"]:
        ours = vector_log.execute("SELECT parmana.parmana_inclusion_proof(%s)", (proof["leafIndex"] + 1,)).fetchone()[0]
        assert (ours["leafIndex"], ours["leafHash"], ours["hashes"]) == (proof["leafIndex"], proof["leafHash"], proof["hashes"])
    for proof in LOG["consistencyProofs"]:
        ours = vector_log.execute("SELECT parmana.parmana_consistency_proof(%s)", (proof["oldSize"],)).fetchone()[0]
        assert (ours["oldRootHash"], ours["newRootHash"], ours["hashes"]) == (proof["oldRootHash"], proof["newRootHash"], proof["hashes"])


def test_the_tool_verifies_the_vectors_and_rejects_the_tampered(tmp_path):
    (tmp_path / "key.pem").write_text(KEYS["publicKeyPem"])
    docs = tmp_path / "documents.jsonl"
    docs.write_text("".join(json.dumps(v["document"]) + "\n" + json.dumps(v["dsse"]) + "\n" for v in DOCUMENTS))
    assert run_tool("document", "--public-key", tmp_path / "key.pem", docs).returncode == 0
    note = tmp_path / "cosigned.note"
    note.write_text(LOG["cosignedNote"])
    result = run_tool("note", "--key", KEYS["logVerifierKey"], "--key", KEYS["witnessVerifierKey"], note)
    assert result.returncode == 0 and KEYS["witnessName"] in result.stdout
    proofs = tmp_path / "inclusion.jsonl"
    proofs.write_text("".join(json.dumps(p) + "\n" for p in LOG["inclusionProofs"]))
    assert run_tool("inclusion", "--log-key", KEYS["logVerifierKey"], proofs).returncode == 0
    proofs.write_text("".join(json.dumps(p) + "\n" for p in LOG["consistencyProofs"]))
    assert run_tool("consistency", "--log-key", KEYS["logVerifierKey"], proofs).returncode == 0

    for vector in TAMPERED:
        path = tmp_path / "tampered.json"
        kind, item = vector["kind"], vector["input"]
        if kind in ("document", "dsse"):
            path.write_text(json.dumps(item))
            args = ("document", "--public-key", tmp_path / "key.pem", path)
        elif kind in ("inclusion", "consistency"):
            path.write_text(json.dumps(item))
            args = (kind, "--log-key", KEYS["logVerifierKey"], path)
        else:
            path.write_text(item)
            args = ("note", "--key", KEYS["logVerifierKey"], "--key", KEYS["witnessVerifierKey"], path)
        result = run_tool(*args)
        assert result.returncode == 1, (vector["name"], result.stdout, result.stderr)
