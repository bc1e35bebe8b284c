"""Tests of the independent verifier (verifier.py) against fixtures/vectors/.

Only docs/format.md and the vectors were used to write verifier.py and these tests.
Run: cd /work/main && python3 -m pytest -q tests/independent
"""

import base64
import hashlib
import json
import pathlib
import sys

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import verifier as v  # noqa: E402

VECTORS = HERE / ".." / ".." / "fixtures" / "vectors"


def load(name):
    return json.loads((VECTORS / name).read_text(encoding="utf-8"))


KEYS = load("keys.json")
DOCUMENTS = load("documents.json")
LOG = load("log.json")
TAMPERED = load("tampered.json")

PUBLIC_KEY = v.raw_public_key_from_pem(KEYS["publicKeyPem"])
LOG_KEY = v.parse_verifier_key(KEYS["logVerifierKey"])
WITNESS_KEY = v.parse_verifier_key(KEYS["witnessVerifierKey"])
SIGNING_KEY = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(KEYS["secretKeyHex"]))
WITNESS_SIGNING_KEY = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(KEYS["witnessSecretKeyHex"]))

# The policy file is not among the inputs this verifier may read, so the signal types are
# assumed from the vectors (both numeric signals; either numeric type gives the same result).
SCHEMAS = [
    {"credit_score": "integer", "loan_amount": "integer"},
    {"credit_score": "integer", "loan_amount": "number"},
]


def by_name(name):
    return next(d for d in DOCUMENTS if d["name"] == name)


def raw(key):
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


# ------------------------------------------------------------------------------------- keys

def test_keys():
    assert PUBLIC_KEY.hex() == KEYS["publicKeyHex"]
    assert raw(SIGNING_KEY.public_key()) == PUBLIC_KEY
    # privateKeyPem is an RFC 5958 OneAsymmetricKey v2 (version 1, with the public key as [1]);
    # cryptography 48 refuses it ("extra data"), so its DER is read by hand here.
    der = base64.b64decode("".join(KEYS["privateKeyPem"].strip().splitlines()[1:-1]))
    prefix = bytes.fromhex("3051020101300506032b657004220420")
    assert der[: len(prefix)] == prefix and der[48:51] == bytes.fromhex("812100") and len(der) == 83
    assert der[16:48].hex() == KEYS["secretKeyHex"]
    assert der[51:].hex() == KEYS["publicKeyHex"]
    private = Ed25519PrivateKey.from_private_bytes(der[16:48])
    assert raw(private.public_key()) == PUBLIC_KEY
    assert v.signer_key_id(PUBLIC_KEY) == KEYS["signerKeyId"]
    # RFC 8032 §7.1 TEST 1 and TEST 2 public keys
    assert KEYS["publicKeyHex"].startswith("d75a9801") and KEYS["publicKeyHex"].endswith("511a")
    witness_public = raw(WITNESS_SIGNING_KEY.public_key())
    assert witness_public.hex() == "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"


def test_verifier_keys_rebuilt_from_their_parts():
    log_key = v.make_verifier_key(KEYS["logOrigin"], v.NOTE_KEY_ED25519, PUBLIC_KEY)
    assert log_key.text() == KEYS["logVerifierKey"] == LOG_KEY.text()
    witness_public = raw(WITNESS_SIGNING_KEY.public_key())
    witness_key = v.make_verifier_key(KEYS["witnessName"], v.NOTE_KEY_COSIGNATURE, witness_public)
    assert witness_key.text() == KEYS["witnessVerifierKey"] == WITNESS_KEY.text()
    assert LOG_KEY.key_type == 0x01 and WITNESS_KEY.key_type == 0x04
    name, key_id, blob = KEYS["logVerifierKey"].split("+", 2)
    assert bytes.fromhex(key_id) == hashlib.sha256(
        name.encode() + b"\n" + b"\x01" + PUBLIC_KEY).digest()[:4]


def test_verifier_key_with_wrong_id_rejected():
    name, key_id, blob = KEYS["logVerifierKey"].split("+", 2)
    with pytest.raises(v.VerificationError):
        v.parse_verifier_key(f"{name}+{'%08x' % (int(key_id, 16) ^ 1)}+{blob}")
    with pytest.raises(v.VerificationError):
        v.parse_verifier_key(f"other.example/log+{key_id}+{blob}")


# -------------------------------------------------------------------------- runtime table

@pytest.mark.parametrize("version", sorted(v.DOCUMENTED_RUNTIME_HASHES))
def test_runtime_table(version):
    assert v.runtime_hash(version) == v.DOCUMENTED_RUNTIME_HASHES[version]


# ------------------------------------------------------------------------- canonical JSON

@pytest.mark.parametrize("number,text", [
    (9000.0, "9000"), (1e21, "1e+21"), (0.1, "0.1"), (1e20, "100000000000000000000"),
    (-0.0, "0"), (1e-6, "0.000001"), (1e-7, "1e-7"), (123.456, "123.456"), (-1.5e-9, "-1.5e-9"),
    (5e-324, "5e-324"), (1.7976931348623157e308, "1.7976931348623157e+308"), (2.0**53, "9007199254740992"),
    (333333333.33333329, "333333333.3333333"), (4.5, "4.5"), (720, "720"),
])
def test_jcs_numbers(number, text):
    assert v.jcs(number) == text.encode()
    assert rfc8785.dumps(number) == text.encode()


def test_jcs_large_integers_are_doubles():
    # format.md: numbers are IEEE-754 doubles. (rfc8785 0.1.4 refuses ints beyond ±(2^53 − 1).)
    assert v.jcs(2**53 + 1) == b"9007199254740992"
    assert v.jcs(10**21) == b"1e+21"
    with pytest.raises(v.VerificationError):
        v.jcs(10**400)


def test_jcs_strings_and_order():
    value = {"\u20ac": 1, "\r": 2, "1": 3, "\U0001f600": 4, "\ufb33": 5, "a\u0000\u001f\"\\\b\f\n\r\t/é": [True, None, False]}
    assert v.jcs(value) == rfc8785.dumps(value)
    # UTF-16 order puts the astral U+1F600 (D83D DE00) before U+FB33.
    assert v.jcs(value).decode().index("\U0001f600") < v.jcs(value).decode().index("\ufb33")
    assert b"\\u0000\\u001f" in v.jcs(value)


def test_jcs_matches_rfc8785_on_every_vector():
    for vector in DOCUMENTS:
        assert v.jcs(vector["document"]) == rfc8785.dumps(vector["document"])
    for leaf in LOG["leaves"]:
        assert v.jcs(v.parse_json(leaf["canonical"])) == leaf["canonical"].encode()


@pytest.mark.parametrize("text", ['{"a":1,"a":2}', '{"a":NaN}', '[1e400]', "[" + "9" * 400 + "]"])
def test_parse_json_rejects(text):
    with pytest.raises(v.VerificationError):
        v.parse_json(text)


# ---------------------------------------------------------------- documents.json: documents

@pytest.mark.parametrize("vector", DOCUMENTS, ids=[d["name"] for d in DOCUMENTS])
def test_document_vector(vector):
    doc = vector["document"]
    kind = v.check_members(doc)
    assert v.verify_document(doc, [PUBLIC_KEY]) == kind
    assert v.PAYLOAD_TYPES[kind] == vector["payloadType"]
    assert v.signed_body(doc) == vector["canonicalBody"].encode("utf-8")
    assert v.document_pae(doc) == vector["pae"].encode("utf-8")
    assert v.pae(vector["payloadType"], vector["canonicalBody"].encode()) == vector["pae"].encode()
    assert doc["signature"] == vector["signature"]
    assert doc["runtimeHash"] == v.runtime_hash(doc["runtimeVersion"])
    # Ed25519 is deterministic: the key of keys.json reproduces the signature byte for byte.
    assert base64.b64encode(SIGNING_KEY.sign(v.document_pae(doc))).decode() == vector["signature"]
    assert v.leaf_hash(doc).hex() == vector["leafHash"]


@pytest.mark.parametrize("vector", DOCUMENTS, ids=[d["name"] for d in DOCUMENTS])
def test_dsse_vector(vector):
    doc, envelope = vector["document"], vector["dsse"]
    assert v.to_dsse(doc) == envelope
    assert base64.b64decode(envelope["payload"]) == vector["canonicalBody"].encode()
    assert envelope["signatures"][0]["keyid"] == KEYS["signerKeyId"]
    assert v.dsse_to_document(envelope) == doc
    assert v.verify_dsse(envelope, [PUBLIC_KEY]) == doc


DECISIONS = [d for d in DOCUMENTS if "signals" in d]


def test_decision_vectors_present():
    assert {d["name"] for d in DECISIONS} >= {"loan-1001", "loan-1002"}


@pytest.mark.parametrize("schema", SCHEMAS)
@pytest.mark.parametrize("vector", DECISIONS, ids=[d["name"] for d in DECISIONS])
def test_signals_and_fingerprint(vector, schema):
    doc = vector["document"]
    normalized = v.normalize_signals(schema, vector["signals"])
    assert v.canonical_signals(normalized) == vector["canonicalSignals"].encode()
    fp_input = v.fingerprint_input(doc["policyId"], doc["policyVersion"], normalized)
    assert fp_input == vector["fingerprintInput"].encode()
    assert fp_input == (b'{"policyId":"%s","policyVersion":"%s","signals":%s}' % (
        doc["policyId"].encode(), doc["policyVersion"].encode(), vector["canonicalSignals"].encode()))
    fingerprint = v.execution_fingerprint(doc["policyId"], doc["policyVersion"], normalized)
    assert fingerprint == hashlib.sha256(vector["fingerprintInput"].encode()).hexdigest()
    assert fingerprint == doc["execution_fingerprint"] == doc["signalsHash"]


def test_signal_normalization_rules():
    schema = {"n": "integer", "s": "string", "e": {"enum": ["caf\u00e9"]}, "b": "boolean"}
    out = v.normalize_signals(schema, {"n": 9000.0, "s": "a\r\nb\u0065\u0301", "e": "cafe\u0301", "b": True})
    assert out == {"n": 9000, "s": "a\nb\u00e9", "e": "caf\u00e9", "b": True}
    for bad in ({"n": 1.5}, {"n": 2.0**53}, {"n": True}, {"n": "1"}, {"x": 1}, {}):
        with pytest.raises(v.VerificationError):
            v.normalize_signals({"n": "integer"}, bad)
    with pytest.raises(v.VerificationError):
        v.normalize_signals({"e": {"enum": ["a"]}}, {"e": "b"})


def test_override_record_and_resolution_chain():
    pending = by_name("loan-1002")["document"]
    record = by_name("override of loan-1002")["document"]
    resolution = by_name("resolution of loan-1002")["document"]
    assert pending["execution_state"] == "pending_override"
    assert pending["decision"]["requires_override"] is True
    assert record["overrideId"] == v.override_id(record)
    assert record["pendingAttestationHash"] == v.pending_attestation_hash(pending)
    for member in ("executionId", "execution_fingerprint", "policyId", "policyVersion",
                   "policyHash", "schemaVersion", "decision"):
        assert record[member] == pending[member], member
    # approving signs a resolution with the same decision and execution_state completed
    assert record["approved"] is True
    assert resolution["overrideId"] == record["overrideId"]
    assert resolution["resolvedByLogin"] == record["resolvedByLogin"]
    assert resolution["decision"] == pending["decision"]
    assert resolution["execution_state"] == "completed"
    assert resolution["execution_fingerprint"] == pending["execution_fingerprint"]


def test_override_id_mismatch_rejected_even_if_signed():
    record = dict(by_name("override of loan-1002")["document"])
    record["overrideId"] = "0" * 64
    body = v.document_pae(record)
    record["signature"] = base64.b64encode(SIGNING_KEY.sign(body)).decode()
    v.verify_signature(record, [PUBLIC_KEY])  # the signature alone is fine...
    with pytest.raises(v.VerificationError, match="overrideId"):
        v.verify_document(record, [PUBLIC_KEY])  # ...the record is not


@pytest.mark.parametrize("change", [
    {"runtimeHash": "0" * 64}, {"runtimeVersion": "9.9.9"}, {"schemaVersion": "2.0.0"},
    {"runtimeVersion": "0.3.0"},
])
def test_validity_beyond_signature(change):
    doc = {**by_name("loan-1001")["document"], **change}
    doc["signature"] = base64.b64encode(SIGNING_KEY.sign(v.document_pae(doc))).decode()
    v.verify_signature(doc, [PUBLIC_KEY])
    with pytest.raises(v.VerificationError):
        v.verify_document(doc, [PUBLIC_KEY])


def test_unknown_members_are_accepted_when_signed():
    doc = {**by_name("loan-1001")["document"], "someFutureMember": {"x": [1, 2]}}
    doc["signature"] = base64.b64encode(SIGNING_KEY.sign(v.document_pae(doc))).decode()
    assert v.verify_document(doc, [PUBLIC_KEY]) == "attestation"


def test_untrusted_key_rejected():
    other = raw(Ed25519PrivateKey.from_private_bytes(bytes(32)).public_key())
    with pytest.raises(v.VerificationError, match="not trusted"):
        v.verify_document(by_name("loan-1001")["document"], [other])


def test_checkpoint_record_names_the_logged_tree():
    record = by_name("checkpoint 1")["document"]
    leaves = [base64.b64decode(leaf["leafHash"]) for leaf in LOG["leaves"]]
    assert record["treeSize"] == len(leaves) == record["rowCount"]
    assert record["digest"] == v.merkle_root(leaves[: record["treeSize"]]).hex()
    assert record["previousDigest"] == "0" * 64 and record["checkpointId"] == 1
    assert record["origin"] == KEYS["logOrigin"]
    v.check_checkpoint_record(record, v.open_checkpoint(LOG["signedNote"], LOG_KEY))
    with pytest.raises(v.VerificationError):
        v.check_checkpoint_record(record, v.open_checkpoint(LOG["signedNotesBySize"][2], LOG_KEY))


# ---------------------------------------------------------------------- strict Ed25519

def _secret_scalar(seed):
    h = hashlib.sha512(seed).digest()
    a = int.from_bytes(h[:32], "little")
    return (a & ((1 << 254) - 8)) | (1 << 254)


def test_strict_rejects_non_canonical_s():
    doc = by_name("loan-1001")["document"]
    sig = base64.b64decode(doc["signature"])
    s = int.from_bytes(sig[32:], "little") + v._L
    assert s < 2**256
    malleated = sig[:32] + s.to_bytes(32, "little")
    with pytest.raises(v.VerificationError, match="S"):
        v.ed25519_verify_strict(PUBLIC_KEY, v.document_pae(doc), malleated)
    with pytest.raises(v.VerificationError):
        v.verify_document({**doc, "signature": base64.b64encode(malleated).decode()}, [PUBLIC_KEY])


def test_strict_rejects_small_order_public_key():
    identity = (1).to_bytes(32, "little")
    assert v.is_small_order(identity)
    forged = identity + bytes(32)  # R = identity, S = 0 "verifies" any message under A = identity
    with pytest.raises(v.VerificationError, match="public key"):
        v.ed25519_verify_strict(identity, b"any message", forged)


def test_strict_rejects_small_order_r():
    # A signature whose R is the identity point, made with the known secret: [S]B = R + [k]A holds.
    message = b"small-order R"
    r_bytes = (1).to_bytes(32, "little")
    k = int.from_bytes(hashlib.sha512(r_bytes + PUBLIC_KEY + message).digest(), "little") % v._L
    s = k * _secret_scalar(bytes.fromhex(KEYS["secretKeyHex"])) % v._L
    sig = r_bytes + s.to_bytes(32, "little")
    with pytest.raises(v.VerificationError, match="R is a small-order"):
        v.ed25519_verify_strict(PUBLIC_KEY, message, sig)


def test_small_order_points():
    # The eight small-order points include the identity, (0, -1) and points of order 4 and 8.
    assert v.is_small_order(((v._P - 1)).to_bytes(32, "little"))   # (0, -1), order 2
    assert v.is_small_order(bytes.fromhex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"))
    assert not v.is_small_order(PUBLIC_KEY)
    with pytest.raises(v.VerificationError):
        v.is_small_order(b"\xff" * 31 + b"\x7f")  # y ≥ p: not a canonical encoding


# ------------------------------------------------------------------------------ log.json

LEAF_DOCS = ["loan-1001", "loan-1002", "resolution of loan-1002", "loan-1003 (explained)"]


def log_leaf_hashes():
    return [v.leaf_hash_of_entry(leaf["canonical"].encode("utf-8")) for leaf in LOG["leaves"]]


def test_leaves():
    assert [leaf["index"] for leaf in LOG["leaves"]] == list(range(len(LOG["leaves"])))
    for leaf, name in zip(LOG["leaves"], LEAF_DOCS):
        doc = by_name(name)["document"]
        assert v.check_members(doc) == "attestation"
        assert leaf["executionId"] == doc["executionId"]
        assert leaf["canonical"].encode() == v.jcs(doc)
        assert base64.b64decode(leaf["leafHash"]) == v.leaf_hash(doc)
        assert v.leaf_hash(doc).hex() == by_name(name)["leafHash"]


def test_roots_by_size():
    leaves = log_leaf_hashes()
    assert [base64.b64encode(v.merkle_root(leaves[:n])).decode()
            for n in range(1, len(leaves) + 1)] == LOG["rootsBySize"]


def test_signed_notes_by_size():
    leaves = log_leaf_hashes()
    for n, note in enumerate(LOG["signedNotesBySize"], start=1):
        checkpoint = v.open_checkpoint(note, LOG_KEY)
        assert checkpoint.origin == KEYS["logOrigin"]
        assert checkpoint.tree_size == n
        assert checkpoint.root_hash == v.merkle_root(leaves[:n])
        assert base64.b64encode(checkpoint.root_hash).decode() == LOG["rootsBySize"][n - 1]
        # the note signature is reproducible byte for byte
        text = f"{KEYS['logOrigin']}\n{n}\n{LOG['rootsBySize'][n - 1]}\n"
        sig = base64.b64encode(LOG_KEY.key_id + SIGNING_KEY.sign(text.encode())).decode()
        assert note == f"{text}\n\u2014 {KEYS['logOrigin']} {sig}\n"


def test_signed_note():
    assert LOG["signedNote"] == LOG["signedNotesBySize"][-1]
    assert v.parse_signed_note(LOG["signedNote"]).text == LOG["checkpointText"]
    checkpoint = v.open_checkpoint(LOG["signedNote"], LOG_KEY)
    assert checkpoint.tree_size == len(LOG["leaves"])
    assert checkpoint.root_hash == v.merkle_root(log_leaf_hashes())
    with pytest.raises(v.VerificationError):  # the witness key does not sign log notes
        v.open_checkpoint(LOG["signedNote"], WITNESS_KEY)


def test_cosigned_note():
    note = LOG["cosignedNote"]
    assert note.startswith(LOG["signedNote"])
    checkpoint, timestamp = v.verify_cosigned_checkpoint(note, LOG_KEY, WITNESS_KEY)
    assert timestamp == LOG["cosignatureTimestamp"]
    assert checkpoint == v.open_checkpoint(LOG["signedNote"], LOG_KEY)
    text, found = v.verify_note(note, [LOG_KEY, WITNESS_KEY])
    assert found == {LOG_KEY.text(): None, WITNESS_KEY.text(): LOG["cosignatureTimestamp"]}
    # reproduce the cosignature line byte for byte
    message = b"cosignature/v1\ntime %d\n" % timestamp + LOG["checkpointText"].encode()
    blob = WITNESS_KEY.key_id + timestamp.to_bytes(8, "big") + WITNESS_SIGNING_KEY.sign(message)
    assert note == LOG["signedNote"] + f"\u2014 {KEYS['witnessName']} {base64.b64encode(blob).decode()}\n"
    with pytest.raises(v.VerificationError):  # without the witness's line
        v.verify_cosigned_checkpoint(LOG["signedNote"], LOG_KEY, WITNESS_KEY)


@pytest.mark.parametrize("proof", LOG["inclusionProofs"], ids=lambda p: f"leaf{p['leafIndex']}")
def test_inclusion_proof(proof):
    leaves = log_leaf_hashes()
    index = proof["leafIndex"]
    attestation = v.parse_json(LOG["leaves"][index]["canonical"])
    assert attestation == by_name(LEAF_DOCS[index])["document"]
    # from the leaf hash recomputed from the attestation, against the root of the signed note
    checkpoint = v.verify_inclusion_proof(proof, LOG_KEY, attestation=attestation)
    assert checkpoint.tree_size == proof["treeSize"] == 4
    v.verify_inclusion_proof(proof, LOG_KEY)  # from the proof's leafHash
    assert [base64.b64decode(h) for h in proof["hashes"]] == v.audit_path(index, leaves)
    # the wrong attestation for this proof is rejected
    other = v.parse_json(LOG["leaves"][(index + 1) % 4]["canonical"])
    with pytest.raises(v.VerificationError):
        v.verify_inclusion_proof(proof, LOG_KEY, attestation=other)


@pytest.mark.parametrize("proof", LOG["consistencyProofs"], ids=lambda p: f"{p['oldSize']}to{p['newSize']}")
def test_consistency_proof(proof):
    leaves = log_leaf_hashes()
    old, new = v.verify_consistency_proof(proof, LOG_KEY)
    assert (old.tree_size, new.tree_size) == (proof["oldSize"], proof["newSize"])
    assert old.root_hash == v.merkle_root(leaves[: old.tree_size])
    assert new.root_hash == v.merkle_root(leaves)
    # and against notes kept from signedNotesBySize
    v.verify_consistency_proof(proof, LOG_KEY, old_note=LOG["signedNotesBySize"][old.tree_size - 1],
                               new_note=LOG["signedNotesBySize"][new.tree_size - 1])
    assert [base64.b64decode(h) for h in proof["hashes"]] == v.consistency_path(old.tree_size, leaves)
    # the proof does not connect any other kept head
    for size, note in enumerate(LOG["signedNotesBySize"][:-1], start=1):
        if size != old.tree_size:
            with pytest.raises(v.VerificationError):
                v.verify_consistency_proof({**proof, "oldSize": size}, LOG_KEY, old_note=note)


def test_consistency_proof_sizes_must_match_the_notes():
    proof = LOG["consistencyProofs"][0]
    with pytest.raises(v.VerificationError):
        v.verify_consistency_proof({**proof, "oldSize": 2}, LOG_KEY)


def test_merkle_algorithms_on_a_larger_tree():
    leaves = [v.leaf_hash_of_entry(b"%d" % i) for i in range(13)]
    for n in range(1, 14):
        root = v.merkle_root(leaves[:n])
        for i in range(n):
            path = v.audit_path(i, leaves[:n])
            v.verify_inclusion(i, n, leaves[i], path, root)
            for j in range(n):
                if j != i and leaves[j] != leaves[i]:
                    with pytest.raises(v.VerificationError):
                        v.verify_inclusion(j, n, leaves[i], path, root)
        for m in range(1, n + 1):
            proof = v.consistency_path(m, leaves[:n])
            v.verify_consistency(m, n, v.merkle_root(leaves[:m]), root, proof)
            if m < n:
                with pytest.raises(v.VerificationError):
                    v.verify_consistency(m, n, v.merkle_root(leaves[1:m + 1]), root, proof)
                with pytest.raises(v.VerificationError):
                    v.verify_consistency(m, n, v.merkle_root(leaves[:m]), root, proof[:-1])


# -------------------------------------------------------------------------- tampered.json

KINDS = {"document", "dsse", "inclusion", "consistency", "note", "cosignedNote"}


def test_tampered_kinds_known():
    assert {t["kind"] for t in TAMPERED} <= KINDS
    assert {t["kind"] for t in TAMPERED} == KINDS  # every kind is exercised


def reject(entry):
    kind, data = entry["kind"], entry["input"]
    if kind == "document":
        v.verify_document(data, [PUBLIC_KEY])
    elif kind == "dsse":
        v.verify_dsse(data, [PUBLIC_KEY])
    elif kind == "inclusion":
        v.verify_inclusion_proof(data, LOG_KEY)
    elif kind == "consistency":
        v.verify_consistency_proof(data, LOG_KEY)
    elif kind == "note":
        v.open_checkpoint(data, LOG_KEY)
    elif kind == "cosignedNote":
        v.verify_cosigned_checkpoint(data, LOG_KEY, WITNESS_KEY)
    else:
        raise AssertionError(f"unknown kind {kind}")


EXPECTED_REASON = {
    "document": "signature", "dsse": "signature", "note": "signature", "cosignedNote": "signature",
    "inclusion": "inclusion proof", "consistency": "consistency proof",
}


@pytest.mark.parametrize("entry", TAMPERED, ids=[t["name"] for t in TAMPERED])
def test_tampered_rejected(entry):
    with pytest.raises(v.VerificationError) as caught:
        reject(entry)
    assert EXPECTED_REASON[entry["kind"]] in str(caught.value), (entry["why"], str(caught.value))


def test_forked_head_is_validly_signed_but_inconsistent():
    entry = next(t for t in TAMPERED if t["kind"] == "consistency")
    forked = v.open_checkpoint(entry["input"]["oldCheckpoint"], LOG_KEY)  # signed by the log key
    assert forked.tree_size == 2
    assert base64.b64encode(forked.root_hash).decode() != LOG["rootsBySize"][1]
