"""An attestation verifies outside PostgreSQL with an independent RFC 8785 implementation
(the `rfc8785` package) and a standard Ed25519 library (`cryptography`), using only the PEM
that parmana_public_key() returns. Nothing from parmana's own code is used here."""
import base64
import hashlib
import json
import uuid

import pytest
import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from conftest import claims_signals

ATTESTATION_TYPE = b"application/vnd.parmana.attestation.v1+json"


def pae(payload_type: bytes, body: bytes) -> bytes:
    return b"DSSEv1 %d %s %d %s" % (len(payload_type), payload_type, len(body), body)


def verify_offline(attestation: dict, public_pem: str) -> None:
    key = load_pem_public_key(public_pem.encode())
    body = {k: v for k, v in attestation.items() if k != "signature"}
    canonical = rfc8785.dumps(body)
    key.verify(base64.b64decode(attestation["signature"], validate=True), pae(ATTESTATION_TYPE, canonical))


def test_attestation_verifies_offline(conn):
    att = conn.execute(
        "SELECT parmana_execute(%s, 'claims-approval', 'v1', %s::jsonb)", (f"offline-{uuid.uuid4()}", claims_signals())
    ).fetchone()[0]
    pem = conn.execute("SELECT parmana_public_key()").fetchone()[0]
    verify_offline(att, pem)

    # signerKeyId is the SHA-256 of the raw public key.
    raw = load_pem_public_key(pem.encode()).public_bytes_raw()
    assert att["signerKeyId"] == hashlib.sha256(raw).hexdigest()
    # The fingerprint is recomputable from the signals alone (SPEC §5).
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
        "SELECT parmana_execute(%s, 'loan-approval', '1.0.0', '{\"credit_score\": 600, \"loan_amount\": 1}')",
        (f"dsse-{uuid.uuid4()}",),
    ).fetchone()[0]
    assert att["execution_state"] == "pending_override"
    env = conn.execute("SELECT parmana_dsse(%s::jsonb)", (json.dumps(att),)).fetchone()[0]
    pem = conn.execute("SELECT parmana_public_key(%s)", (env["signatures"][0]["keyid"],)).fetchone()[0]
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
