"""An attestation verifies outside PostgreSQL with an independent RFC 8785 implementation
(the `rfc8785` package) and a standard Ed25519 library (`cryptography`), using only the PEM
that parmana.parmana_public_key() returns. Nothing from parmana's own code is used here."""
import base64
import hashlib
import json
import uuid

import pytest
import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from conftest import ROOT, claims_signals, fresh_database

ATTESTATION_TYPE = b"application/vnd.parmana.attestation.v1+json"
CHECKPOINT_TYPE = b"application/vnd.parmana.checkpoint.v1+json"


def pae(payload_type: bytes, body: bytes) -> bytes:
    return b"DSSEv1 %d %s %d %s" % (len(payload_type), payload_type, len(body), body)


def verify_offline(attestation: dict, public_pem: str, payload_type: bytes = ATTESTATION_TYPE) -> None:
    key = load_pem_public_key(public_pem.encode())
    body = {k: v for k, v in attestation.items() if k != "signature"}
    canonical = rfc8785.dumps(body)
    key.verify(base64.b64decode(attestation["signature"], validate=True), pae(payload_type, canonical))


def test_attestation_verifies_offline(conn):
    att = conn.execute(
        "SELECT parmana.parmana_execute(%s, 'claims-approval', 'v1', %s::jsonb)", (f"offline-{uuid.uuid4()}", claims_signals())
    ).fetchone()[0]
    pem = conn.execute("SELECT parmana.parmana_public_key()").fetchone()[0]
    verify_offline(att, pem)

    # signerKeyId is the SHA-256 of the raw public key.
    raw = load_pem_public_key(pem.encode()).public_bytes_raw()
    assert att["signerKeyId"] == hashlib.sha256(raw).hexdigest()
    # The fingerprint is recomputable from the signals alone (docs/format.md).
    signals = json.loads(claims_signals())
    expected = hashlib.sha256(rfc8785.dumps({"policyId": "claims-approval", "policyVersion": "v1", "signals": signals})).hexdigest()
    assert att["execution_fingerprint"] == expected == "556198846e28e59b2ecbaac7fc3383f1811a067d22698a4b4c5e550afa2b403a"

    # Any single changed field breaks it.
    for field in att:
        if field == "signature":
            continue
        tampered = dict(att)
        tampered[field] = {"x": 1} if isinstance(att[field], dict) else str(att[field]) + "x"
        with pytest.raises(InvalidSignature):
            verify_offline(tampered, pem)


def test_dsse_envelope_verifies_offline(conn):
    att = conn.execute(
        "SELECT parmana.parmana_execute(%s, 'loan-approval', '1.0.0', '{\"credit_score\": 600, \"loan_amount\": 1}')",
        (f"dsse-{uuid.uuid4()}",),
    ).fetchone()[0]
    assert att["execution_state"] == "pending_override"
    env = conn.execute("SELECT parmana.parmana_dsse(%s::jsonb)", (json.dumps(att),)).fetchone()[0]
    pem = conn.execute("SELECT parmana.parmana_public_key(%s)", (env["signatures"][0]["keyid"],)).fetchone()[0]
    payload = base64.b64decode(env["payload"])
    load_pem_public_key(pem.encode()).verify(
        base64.b64decode(env["signatures"][0]["sig"]), pae(env["payloadType"].encode(), payload)
    )
    assert json.loads(payload) == {k: v for k, v in att.items() if k != "signature"}


def test_every_stored_attestation_verifies_offline(conn):
    rows = conn.execute(
        "SELECT a.attestation, k.public_key_pem FROM parmana.attestations a JOIN parmana.signing_keys k ON k.key_id = a.signer_key_id"
    ).fetchall()
    assert rows
    for att, pem in rows:
        verify_offline(att, pem)


def merkle_root(leaves):
    """RFC 9162 MTH over leaf hashes, as the RFC defines it: split at the largest power of two."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + merkle_root(leaves[:k]) + merkle_root(leaves[k:])).digest()


def test_checkpoint_root_and_note_recompute_offline():
    """A checkpoint's tree head is recomputable from the rows with stock tools: the RFC 9162 root
    of leaf = SHA-256(0x00 ‖ JCS(attestation)) in id order, and its note is an Ed25519 signature
    over the note text by the key parmana_log_key() names. Reasons with quotes, backslashes and
    non-ASCII text exercise every string path of the reader that feeds the tree (the checkpointer
    reads jsonb's binary form, this test reads JSON text)."""
    policy = json.loads((ROOT / "fixtures" / "policies" / "loan-approval-1.0.0.json").read_text())
    policy["policyId"] = "loan-approval-texts"
    reasons = ['Score "below" C:\\limits\\min — refusé', "Ünïcödé ☃ 𝄞 approved", "review / <manual> & 'check'"]
    for rule, reason in zip(policy["rules"], reasons):
        rule["outcome"]["reason"] = reason
    conn = fresh_database("parmana_offline_ckpt", policies=[json.dumps(policy)])
    try:
        for i, score in enumerate([450, 720, 600] * 4):
            conn.execute(
                "SELECT parmana.parmana_execute(%s, 'loan-approval-texts', '1.0.0', jsonb_build_object('credit_score', %s, 'loan_amount', %s))",
                (f"ck-offline-{i}", score, 1000 + i),
            )
        conn.execute("SELECT parmana.parmana_checkpoint()")  # watermark
        checkpoint = conn.execute("SELECT parmana.parmana_checkpoint()->'sealed'").fetchone()[0]
        assert checkpoint["treeSize"] == 12

        rows = conn.execute("SELECT attestation FROM parmana.attestations ORDER BY id").fetchall()
        assert {att["decision"]["reason"] for (att,) in rows} == set(reasons)
        root = merkle_root([hashlib.sha256(b"\x00" + rfc8785.dumps(att)).digest() for (att,) in rows])
        assert checkpoint["digest"] == root.hex()

        pem = conn.execute("SELECT parmana.parmana_public_key(%s)", (checkpoint["signerKeyId"],)).fetchone()[0]
        verify_offline(checkpoint, pem, CHECKPOINT_TYPE)

        # The note: "<origin>\n<size>\n<base64 root>\n", then "— <origin> base64(key id ‖ signature)".
        note = conn.execute("SELECT note FROM parmana.checkpoints WHERE tree_size = 12").fetchone()[0]
        vkey = conn.execute("SELECT parmana.parmana_log_key()").fetchone()[0]
        origin, key_hash, key_b64 = vkey.split("+", 2)
        text, signature_line = note.split("\n\n")
        text += "\n"
        assert text == f"{origin}\n12\n{base64.b64encode(root).decode()}\n"
        name, blob = signature_line.rstrip("\n").removeprefix("\u2014 ").split(" ")
        blob = base64.b64decode(blob)
        key_material = base64.b64decode(key_b64)
        assert name == origin and key_material[0] == 1
        assert blob[:4].hex() == key_hash == hashlib.sha256(origin.encode() + b"\n" + key_material).digest()[:4].hex()
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
        Ed25519PublicKey.from_public_bytes(key_material[1:]).verify(blob[4:], text.encode())
        assert conn.execute("SELECT count(*) FROM parmana.parmana_audit_verify()").fetchone()[0] == 0
    finally:
        conn.close()
