"""An independent verifier for the parmana wire format.

Written from docs/format.md alone (and checked against fixtures/vectors/): no other file of
the repository was read to write it. Standard library plus `cryptography` (Ed25519 primitive
only); canonical JSON is implemented here and cross-checked against `rfc8785` by the tests.

Every public `verify_*` / `open_*` function raises `VerificationError` on anything invalid.
Choices made where docs/format.md is silent or ambiguous are marked `CHOICE:`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Iterable, Mapping, Optional

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_public_key,
)


class VerificationError(Exception):
    """Raised for anything that is not a valid parmana document, proof or note."""


def _fail(message: str) -> None:
    raise VerificationError(message)


# --------------------------------------------------------------------------------------------
# Conventions: SHA-256, hex, base64
# --------------------------------------------------------------------------------------------

def H(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def hex_h(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


_HEX64 = re.compile(r"[0-9a-f]{64}\Z")


def is_hex64(value: Any) -> bool:
    return isinstance(value, str) and bool(_HEX64.match(value))


def b64decode(text: Any) -> bytes:
    """Standard base64 with padding (RFC 4648 §4), never URL-safe; strict."""
    if not isinstance(text, str) or not re.fullmatch(r"[A-Za-z0-9+/]*={0,2}", text) or len(text) % 4:
        _fail(f"not standard padded base64: {text!r}")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise VerificationError(f"bad base64: {exc}") from None
    # CHOICE: reject non-canonical base64 (non-zero padding bits) so one value has one text.
    if base64.b64encode(raw).decode("ascii") != text:
        _fail("non-canonical base64")
    return raw


def b64encode(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


# --------------------------------------------------------------------------------------------
# Canonical JSON (RFC 8785), as described in "Canonical JSON"
# --------------------------------------------------------------------------------------------

def _reject_constant(name: str) -> None:
    _fail(f"{name} is not JSON")


def _parse_int(text: str) -> int:
    value = int(text)
    try:
        float(value)
    except OverflowError:
        _fail("number outside the double range")
    return value


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        _fail("number outside the double range")
    return value


def _pairs(pairs: list) -> dict:
    obj: dict = {}
    for key, value in pairs:
        if key in obj:
            # CHOICE: the document does not say; duplicate names make JCS input ambiguous.
            _fail(f"duplicate member {key!r}")
        obj[key] = value
    return obj


def parse_json(data: bytes | str) -> Any:
    """Strict JSON (RFC 8259, UTF-8): no NaN/Infinity, no duplicate names, doubles only."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            _fail("JSON is not UTF-8")
    try:
        return json.loads(
            data,
            object_pairs_hook=_pairs,
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_reject_constant,
        )
    except json.JSONDecodeError as exc:
        raise VerificationError(f"bad JSON: {exc}") from None


def _es_number(value: float) -> str:
    """ECMAScript Number.prototype.toString for a finite double."""
    if value == 0:
        return "0"  # also -0
    if value < 0:
        return "-" + _es_number(-value)
    # repr() is the shortest round-tripping decimal, the digits ECMAScript asks for.
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    s = "".join(map(str, digits))
    k = len(s)
    n = k + exponent  # value = 0.s × 10^n
    if k <= n <= 21:
        return s + "0" * (n - k)
    if 0 < n <= 21:
        return s[:n] + "." + s[n:]
    if -6 < n <= 0:
        return "0." + "0" * (-n) + s
    e = n - 1
    exp = ("+" if e >= 0 else "-") + str(abs(e))
    if k == 1:
        return s + "e" + exp
    return s[0] + "." + s[1:] + "e" + exp


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _jcs_string(text: str) -> str:
    out = ['"']
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20:
            out.append("\\u%04x" % ord(ch))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _utf16_key(name: str) -> bytes:
    # Big-endian UTF-16 bytes compare exactly as the sequence of UTF-16 code units.
    return name.encode("utf-16-be", "surrogatepass")


def _jcs(value: Any, out: list) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        try:
            as_double = float(value)
        except OverflowError:
            _fail("number outside the double range")
        out.append(_es_number(as_double))
    elif isinstance(value, float):
        if not math.isfinite(value):
            _fail("NaN and infinities are not JSON")
        out.append(_es_number(value))
    elif isinstance(value, str):
        out.append(_jcs_string(value))
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _jcs(item, out)
        out.append("]")
    elif isinstance(value, dict):
        out.append("{")
        for i, name in enumerate(sorted(value, key=_utf16_key)):
            if not isinstance(name, str):
                _fail("object member names must be strings")
            if i:
                out.append(",")
            out.append(_jcs_string(name))
            out.append(":")
            _jcs(value[name], out)
        out.append("}")
    else:
        _fail(f"not a JSON value: {type(value).__name__}")


def jcs(value: Any) -> bytes:
    """JCS(x): the RFC 8785 canonical form, as UTF-8 bytes."""
    out: list = []
    _jcs(value, out)
    try:
        return "".join(out).encode("utf-8")
    except UnicodeEncodeError:
        _fail("string holds a lone surrogate")


# --------------------------------------------------------------------------------------------
# Signals and the execution fingerprint
# --------------------------------------------------------------------------------------------

MAX_SAFE_INTEGER = 2**53 - 1


def _normalize_text(text: str) -> str:
    return unicodedata.normalize("NFC", text).replace("\r\n", "\n")


def normalize_signals(schema: Mapping[str, Any], signals: Mapping[str, Any]) -> dict:
    """Validate and normalize signals against a signals schema.

    CHOICE: docs/format.md names the signal types but not how `signalsSchema` is written, so the
    schema here is `{name: "integer" | "number" | "boolean" | "string" | {"enum": [values]}}`.
    """
    if not isinstance(signals, Mapping):
        _fail("signals must be an object")
    extra = set(signals) - set(schema)
    if extra:
        _fail(f"undeclared signals: {sorted(extra)}")
    result = {}
    for name, kind in schema.items():
        if name not in signals:
            _fail(f"missing signal {name!r}")
        value = signals[name]
        if kind == "boolean":
            if not isinstance(value, bool):
                _fail(f"{name}: not a boolean")
            result[name] = value
        elif kind in ("integer", "number"):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                _fail(f"{name}: not a number")
            if isinstance(value, float) and not math.isfinite(value):
                _fail(f"{name}: not a finite number")
            if kind == "integer":
                if isinstance(value, float):
                    if value != math.floor(value):
                        _fail(f"{name}: not an integer")
                    value = int(value)
                if abs(value) > MAX_SAFE_INTEGER:
                    _fail(f"{name}: integer outside ±(2^53 − 1)")
            else:
                float(value)  # OverflowError for ints beyond the double range
            result[name] = value
        elif kind == "string":
            if not isinstance(value, str):
                _fail(f"{name}: not a string")
            result[name] = _normalize_text(value)
        elif isinstance(kind, Mapping) and "enum" in kind:
            if not isinstance(value, str):
                _fail(f"{name}: enum value not a string")
            value = _normalize_text(value)
            # CHOICE: the enum's own values are compared in the same normalized form.
            if value not in [_normalize_text(v) for v in kind["enum"]]:
                _fail(f"{name}: not one of the enum values")
            result[name] = value
        else:
            _fail(f"{name}: unknown signal type {kind!r}")
    return result


def canonical_signals(normalized: Mapping[str, Any]) -> bytes:
    return jcs(dict(normalized))


def fingerprint_input(policy_id: str, policy_version: str, normalized: Mapping[str, Any]) -> bytes:
    return jcs({"policyId": policy_id, "policyVersion": policy_version, "signals": dict(normalized)})


def execution_fingerprint(policy_id: str, policy_version: str, normalized: Mapping[str, Any]) -> str:
    """`execution_fingerprint` = `signalsHash` = hex H(fingerprint input)."""
    return hex_h(fingerprint_input(policy_id, policy_version, normalized))


def policy_hash(policy_document: Any) -> str:
    return hex_h(jcs(policy_document))


# --------------------------------------------------------------------------------------------
# Ed25519 with the strict rules of "Signatures, DSSE PAE"
# --------------------------------------------------------------------------------------------

_P = 2**255 - 19
_L = 2**252 + 27742317777372353535851937790883648493  # ℓ, the prime order of the base point
_D = (-121665 * pow(121666, _P - 2, _P)) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)


def _decode_point(encoded: bytes) -> tuple:
    """RFC 8032 §5.1.3 point decoding; raises on a non-canonical or off-curve encoding."""
    if len(encoded) != 32:
        _fail("an Ed25519 point is 32 bytes")
    y = int.from_bytes(encoded, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    if y >= _P:
        _fail("non-canonical point encoding")
    u = (y * y - 1) % _P
    v = (_D * y * y + 1) % _P
    x2 = u * pow(v, _P - 2, _P) % _P
    if x2 == 0:
        if sign:
            _fail("invalid point encoding")
        return (0, y)
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P:
        x = x * _SQRT_M1 % _P
    if (x * x - x2) % _P:
        _fail("point not on the curve")
    if x & 1 != sign:
        x = _P - x
    return (x, y)


def _add(p1: tuple, p2: tuple) -> tuple:
    (x1, y1), (x2, y2) = p1, p2
    t = _D * x1 * x2 * y1 * y2 % _P
    x3 = (x1 * y2 + x2 * y1) * pow(1 + t, _P - 2, _P) % _P
    y3 = (y1 * y2 + x1 * x2) * pow(1 - t, _P - 2, _P) % _P  # a = −1
    return (x3, y3)


def is_small_order(encoded: bytes) -> bool:
    point = _decode_point(encoded)
    for _ in range(3):
        point = _add(point, point)
    return point == (0, 1)


def ed25519_verify_strict(public_key: bytes, message: bytes, signature: bytes) -> None:
    """verify_strict: S < ℓ, R and A not small-order, then the Ed25519 equation."""
    try:
        _verify_strict(public_key, message, signature)
    except VerificationError as exc:
        raise VerificationError(f"Ed25519 signature invalid: {exc}") from None


def _verify_strict(public_key: bytes, message: bytes, signature: bytes) -> None:
    if len(public_key) != 32:
        _fail("an Ed25519 public key is 32 bytes")
    if len(signature) != 64:
        _fail("an Ed25519 signature is 64 bytes")
    r, s = signature[:32], int.from_bytes(signature[32:], "little")
    if s >= _L:
        _fail("S is not canonical (S ≥ ℓ)")
    try:
        small_a = is_small_order(public_key)
    except VerificationError as exc:
        raise VerificationError(f"public key: {exc}") from None
    if small_a:
        _fail("public key is a small-order point")
    try:
        small_r = is_small_order(r)
    except VerificationError as exc:
        raise VerificationError(f"R: {exc}") from None
    if small_r:
        _fail("R is a small-order point")
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except InvalidSignature:
        _fail("the Ed25519 equation does not hold")


# --------------------------------------------------------------------------------------------
# Keys and key ids
# --------------------------------------------------------------------------------------------

def raw_public_key_from_pem(pem: str | bytes) -> bytes:
    if isinstance(pem, str):
        pem = pem.encode("ascii")
    key = load_pem_public_key(pem)
    if not isinstance(key, Ed25519PublicKey):
        _fail("not an Ed25519 (OID 1.3.101.112) public key")
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def signer_key_id(raw_public_key: bytes) -> str:
    """`signerKeyId` = hex H(raw 32-byte public key)."""
    return hex_h(raw_public_key)


NOTE_KEY_ED25519 = 0x01
NOTE_KEY_COSIGNATURE = 0x04


def note_key_id(name: str, key_type: int, raw_public_key: bytes) -> bytes:
    """First 4 bytes of H(name ‖ 0x0A ‖ type ‖ public key)."""
    return H(name.encode("utf-8") + b"\n" + bytes([key_type]) + raw_public_key)[:4]


@dataclass(frozen=True)
class VerifierKey:
    name: str
    key_id: bytes
    key_type: int
    public_key: bytes

    def text(self) -> str:
        return f"{self.name}+{self.key_id.hex()}+{b64encode(bytes([self.key_type]) + self.public_key)}"


def _check_key_name(name: str) -> None:
    # C2SP signed-note: a key name is non-empty and holds no white space and no '+'.
    if not name or "+" in name or any(ch.isspace() for ch in name):
        _fail(f"bad key name {name!r}")


def make_verifier_key(name: str, key_type: int, raw_public_key: bytes) -> VerifierKey:
    _check_key_name(name)
    return VerifierKey(name, note_key_id(name, key_type, raw_public_key), key_type, raw_public_key)


def parse_verifier_key(text: str) -> VerifierKey:
    """`<name>+<key id>+<base64(type ‖ public key)>`; the key id is checked, not trusted."""
    # A base64 text may itself hold '+', so split at the first two only.
    name, _, rest = text.partition("+")
    key_id_hex, _, key_b64 = rest.partition("+")
    if not re.fullmatch(r"[0-9a-f]{8}", key_id_hex):
        _fail(f"bad verifier key {text!r}")
    _check_key_name(name)
    blob = b64decode(key_b64)
    if len(blob) != 33 or blob[0] not in (NOTE_KEY_ED25519, NOTE_KEY_COSIGNATURE):
        _fail("verifier key is not an Ed25519 note or cosignature key")
    key = make_verifier_key(name, blob[0], blob[1:])
    if key.key_id.hex() != key_id_hex:
        _fail("verifier key id does not match its name and key")
    return key


# --------------------------------------------------------------------------------------------
# Signed documents: DSSE PAE, kinds, runtime table, overrideId, validity
# --------------------------------------------------------------------------------------------

PAYLOAD_TYPES = {
    "attestation": "application/vnd.parmana.attestation.v1+json",
    "override": "application/vnd.parmana.override.v1+json",
    "checkpoint": "application/vnd.parmana.checkpoint.v1+json",
}
SUPPORTED_SCHEMA_VERSIONS = ("1.0.0",)

_CAPS_020 = [
    "attestation-signing", "audit-checkpoints", "deterministic-evaluation", "dsse-envelope",
    "override-workflow", "replay-protection",
]
RUNTIME_DEFINITIONS = {
    "0.1.0": [
        "attestation-signing", "deterministic-evaluation", "dsse-envelope", "override-workflow",
        "replay-protection",
    ],
    "0.2.0": list(_CAPS_020),
    # "as 0.2.0, then table-governance"
    "0.3.0": _CAPS_020 + ["table-governance"],
    "0.4.0": [
        "attestation-signing", "audit-checkpoints", "decision-explanations",
        "deterministic-evaluation", "dsse-envelope", "governed-row-binding",
        "identity-bound-reviews", "merkle-log", "override-workflow", "policy-testing",
        "replay-protection", "shadow-evaluation", "table-governance", "witness-cosigning",
    ],
}
# The hashes printed in the table of docs/format.md; the tests recompute them from the lists.
DOCUMENTED_RUNTIME_HASHES = {
    "0.1.0": "fddb15f99f7679f492c33db73c7bc37869cd0e592250001761c0cb62741777e9",
    "0.2.0": "585c1e4c5998863dc12533c76c65c90445012e91050fc14e53302428313c8d22",
    "0.3.0": "a48dff9366c9cbd5ddcf46d993189b3a7aa98e37579631b237d150811ac2f828",
    "0.4.0": "28823bb211654fba8aa125735efd75813a26c85b244fd14a54c5f5b78e64c231",
}


def runtime_definition(version: str) -> dict:
    if version not in RUNTIME_DEFINITIONS:
        _fail(f"unknown runtimeVersion {version!r}")
    return {
        "runtime_version": version,
        "supported_schema_versions": ["1.0.0"],
        "capabilities": list(RUNTIME_DEFINITIONS[version]),
    }


def runtime_hash(version: str) -> str:
    return hex_h(jcs(runtime_definition(version)))


def pae(payload_type: str, body: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding."""
    pt = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(pt), pt, len(body), body)


def document_kind(doc: Mapping[str, Any]) -> str:
    """Tell the kinds apart by their members.

    CHOICE: the document gives one marker member per kind; a document with none or with more
    than one of them is rejected rather than classified by precedence.
    """
    if not isinstance(doc, Mapping):
        _fail("a signed document is a JSON object")
    kinds = [k for k, marker in (("attestation", "execution_state"), ("override", "approved"),
                                 ("checkpoint", "digest")) if marker in doc]
    if len(kinds) != 1:
        _fail(f"cannot tell the document kind (markers for {kinds})")
    return kinds[0]


def signed_body(doc: Mapping[str, Any]) -> bytes:
    """body = JCS(document without its "signature" member)."""
    return jcs({k: v for k, v in doc.items() if k != "signature"})


def document_pae(doc: Mapping[str, Any]) -> bytes:
    return pae(PAYLOAD_TYPES[document_kind(doc)], signed_body(doc))


def leaf_hash(doc: Mapping[str, Any]) -> bytes:
    """leaf hash = H(0x00 ‖ JCS(attestation, signature included))."""
    return H(b"\x00" + jcs(doc))


def override_id(record: Mapping[str, Any]) -> str:
    """`overrideId` = hex H(JCS(record without overrideId and signature))."""
    return hex_h(jcs({k: v for k, v in record.items() if k not in ("overrideId", "signature")}))


def pending_attestation_hash(pending: Mapping[str, Any]) -> str:
    """`pendingAttestationHash` = hex H(JCS(pending attestation, signature included))."""
    return hex_h(jcs(pending))


def _trusted_keys(keys: Iterable[bytes] | Mapping[str, bytes] | bytes) -> dict:
    if isinstance(keys, bytes):
        keys = [keys]
    if isinstance(keys, Mapping):
        keys = list(keys.values())
    return {signer_key_id(k): k for k in keys}


def verify_signature(doc: Mapping[str, Any], keys) -> None:
    """The signature verifies, strictly, by the trusted key named in `signerKeyId`."""
    trusted = _trusted_keys(keys)
    key_id = doc.get("signerKeyId")
    if not is_hex64(key_id):
        _fail("signerKeyId is not 64 lowercase hex digits")
    if key_id not in trusted:
        _fail("signature by a key that is not trusted (signerKeyId unknown)")
    if "signature" not in doc:
        _fail("signature member missing")
    signature = b64decode(doc["signature"])
    ed25519_verify_strict(trusted[key_id], document_pae(doc), signature)


def verify_document(doc: Mapping[str, Any], keys) -> str:
    """A document is valid when its signature verifies, its runtimeHash matches the documented
    definition of its runtimeVersion, its schemaVersion is supported and, for an override record,
    its overrideId is the hash of its body. Returns the kind."""
    kind = document_kind(doc)
    verify_signature(doc, keys)
    version = doc.get("runtimeVersion")
    if not isinstance(version, str) or version not in RUNTIME_DEFINITIONS:
        _fail(f"unknown runtimeVersion {version!r}")
    if doc.get("runtimeHash") != runtime_hash(version):
        _fail("runtimeHash is not the hash of the runtime definition")
    if doc.get("schemaVersion") not in SUPPORTED_SCHEMA_VERSIONS:
        _fail(f"unsupported schemaVersion {doc.get('schemaVersion')!r}")
    if kind == "override" and doc.get("overrideId") != override_id(doc):
        _fail("overrideId is not the hash of the record")
    return kind


# Member checks beyond "valid" (the document lists the members but does not say that a verifier
# must check them; the tests apply these to every vector).

_ISSUED_AT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z\Z")
_COMMON = ("issuedAt", "schemaVersion", "runtimeVersion", "runtimeHash", "signerKeyId", "signature")
_REQUIRED = {
    "attestation": _COMMON + ("executionId", "execution_fingerprint", "signalsHash", "policyId",
                              "policyVersion", "policyHash", "decision", "execution_state"),
    "override": _COMMON + ("executionId", "execution_fingerprint", "policyId", "policyVersion",
                           "policyHash", "decision", "pendingAttestationHash", "approved",
                           "approvedBy", "approverRole", "reason", "resolvedBy",
                           "resolvedByLogin", "overrideId"),
    "checkpoint": _COMMON + ("checkpointId", "fromId", "toId", "rowCount", "digest",
                             "previousDigest"),
}
_BAD_ID_CATEGORIES = {"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"}


def check_execution_id(value: Any) -> None:
    """1–256 characters of NFC text, no control, format, private-use, unassigned or separator
    characters, no space at either end.

    CHOICE: "characters" are code points; "separator" is read as line/paragraph separators
    (Zl, Zp) and "space" as any Zs character, allowed inside but not at either end (reading
    "separator" as all of Z* would make the "no space at either end" clause redundant).
    """
    if not isinstance(value, str) or not 1 <= len(value) <= 256:
        _fail("executionId must be 1–256 characters")
    if unicodedata.normalize("NFC", value) != value:
        _fail("executionId is not NFC")
    if any(unicodedata.category(ch) in _BAD_ID_CATEGORIES for ch in value):
        _fail("executionId holds a forbidden character")
    if unicodedata.category(value[0]) == "Zs" or unicodedata.category(value[-1]) == "Zs":
        _fail("executionId has a space at an end")


def check_members(doc: Mapping[str, Any]) -> str:
    kind = document_kind(doc)
    missing = [m for m in _REQUIRED[kind] if m not in doc]
    if missing:
        _fail(f"{kind} lacks {missing}")
    if not isinstance(doc["issuedAt"], str) or not _ISSUED_AT.match(doc["issuedAt"]):
        _fail("issuedAt is not RFC 3339 UTC with six fraction digits")
    for member in ("runtimeHash", "signerKeyId", "execution_fingerprint", "signalsHash",
                   "policyHash", "pendingAttestationHash", "overrideId", "digest",
                   "previousDigest"):
        if member in doc and not is_hex64(doc[member]):
            _fail(f"{member} is not 64 lowercase hex digits")
    if kind in ("attestation", "override"):
        check_execution_id(doc["executionId"])
        decision = doc["decision"]
        if not (isinstance(decision, dict) and set(decision) >= {"action", "reason", "requires_override", "ruleId"}
                and isinstance(decision["requires_override"], bool)):
            _fail("decision is malformed")
    if kind == "attestation":
        if doc["execution_fingerprint"] != doc["signalsHash"]:
            _fail("execution_fingerprint and signalsHash differ")
        if doc["execution_state"] not in ("completed", "pending_override", "blocked"):
            _fail("unknown execution_state")
    if kind == "override" and not isinstance(doc["approved"], bool):
        _fail("approved is not a boolean")
    if kind == "checkpoint":
        for member in ("checkpointId", "fromId", "toId", "rowCount") + (("treeSize",) if "treeSize" in doc else ()):
            if isinstance(doc[member], bool) or not isinstance(doc[member], int) or doc[member] < 0:
                _fail(f"{member} is not a non-negative integer")
        if not doc["fromId"] < doc["toId"] and doc["rowCount"]:
            _fail("fromId must be below toId")
    return kind


# --------------------------------------------------------------------------------------------
# DSSE envelopes
# --------------------------------------------------------------------------------------------

def to_dsse(doc: Mapping[str, Any]) -> dict:
    """`parmana_dsse(document)`: the same signature as a standard DSSE envelope."""
    return {
        "payloadType": PAYLOAD_TYPES[document_kind(doc)],
        "payload": b64encode(signed_body(doc)),
        "signatures": [{"keyid": doc["signerKeyId"], "sig": doc["signature"]}],
    }


def dsse_to_document(envelope: Mapping[str, Any]) -> dict:
    """The envelope's document: its payload with `signature` put back.

    CHOICE: exactly one signature; its keyid must be the payload's signerKeyId; the payload
    must be canonical (JCS of itself) and hold no `signature` member; payloadType must be the
    type of the kind the payload's members name.
    """
    if not isinstance(envelope, Mapping) or set(envelope) != {"payloadType", "payload", "signatures"}:
        _fail("not a DSSE envelope")
    signatures = envelope["signatures"]
    if not isinstance(signatures, list) or len(signatures) != 1 or not isinstance(signatures[0], Mapping):
        _fail("a parmana envelope carries exactly one signature")
    payload = b64decode(envelope["payload"])
    body = parse_json(payload)
    if not isinstance(body, dict):
        _fail("payload is not a JSON object")
    if jcs(body) != payload:
        _fail("payload is not canonical JSON")
    if "signature" in body:
        _fail("payload must not hold a signature member")
    if envelope["payloadType"] != PAYLOAD_TYPES[document_kind(body)]:
        _fail("payloadType is not the type of the payload's kind")
    if signatures[0].get("keyid") != body.get("signerKeyId"):
        _fail("envelope keyid differs from signerKeyId")
    return {**body, "signature": signatures[0].get("sig")}


def verify_dsse(envelope: Mapping[str, Any], keys) -> dict:
    """Verify the envelope as DSSE (PAE over the payload bytes as sent) and the document it
    carries as a parmana document; returns the document."""
    trusted = _trusted_keys(keys)
    if not isinstance(envelope, Mapping) or not isinstance(envelope.get("payloadType"), str):
        _fail("not a DSSE envelope")
    sigs = envelope.get("signatures")
    if not isinstance(sigs, list) or len(sigs) != 1 or not isinstance(sigs[0], Mapping):
        _fail("a parmana envelope carries exactly one signature")
    key = trusted.get(sigs[0].get("keyid"))
    if key is None:
        _fail("signature by a key that is not trusted (keyid unknown)")
    payload = b64decode(envelope.get("payload"))
    ed25519_verify_strict(key, pae(envelope["payloadType"], payload), b64decode(sigs[0].get("sig")))
    doc = dsse_to_document(envelope)
    verify_document(doc, trusted.values())
    return doc


# --------------------------------------------------------------------------------------------
# The log: RFC 9162 Merkle tree
# --------------------------------------------------------------------------------------------

def leaf_hash_of_entry(entry: bytes) -> bytes:
    return H(b"\x00" + entry)


def node_hash(left: bytes, right: bytes) -> bytes:
    return H(b"\x01" + left + right)


def _split(n: int) -> int:
    """The largest power of two smaller than n (n ≥ 2)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def merkle_root(leaf_hashes: list) -> bytes:
    """MTH(D[n]) over leaf hashes (RFC 9162 §2.1.1)."""
    n = len(leaf_hashes)
    if n == 0:
        return H(b"")
    if n == 1:
        return leaf_hashes[0]
    k = _split(n)
    return node_hash(merkle_root(leaf_hashes[:k]), merkle_root(leaf_hashes[k:]))


def audit_path(index: int, leaf_hashes: list) -> list:
    """PATH(m, D[n]) (RFC 9162 §2.1.3.1); used by the tests to cross-check the vectors."""
    n = len(leaf_hashes)
    if n <= 1:
        return []
    k = _split(n)
    if index < k:
        return audit_path(index, leaf_hashes[:k]) + [merkle_root(leaf_hashes[k:])]
    return audit_path(index - k, leaf_hashes[k:]) + [merkle_root(leaf_hashes[:k])]


def consistency_path(m: int, leaf_hashes: list) -> list:
    """PROOF(m, D[n]) (RFC 9162 §2.1.4.1)."""

    def sub(m: int, d: list, complete: bool) -> list:
        n = len(d)
        if m == n:
            return [] if complete else [merkle_root(d)]
        k = _split(n)
        if m <= k:
            return sub(m, d[:k], complete) + [merkle_root(d[k:])]
        return sub(m - k, d[k:], False) + [merkle_root(d[:k])]

    return sub(m, leaf_hashes, True)


def verify_inclusion(leaf_index: int, tree_size: int, leaf: bytes, path: list, root: bytes) -> None:
    """RFC 9162 §2.1.3.2."""
    if leaf_index >= tree_size or leaf_index < 0:
        _fail("inclusion proof: leaf index not in the tree")
    fn, sn, r = leaf_index, tree_size - 1, leaf
    for p in path:
        if sn == 0:
            _fail("inclusion proof: path too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0 or r != root:
        _fail("inclusion proof: the path does not lead to the root")


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes, path: list) -> None:
    """RFC 9162 §2.1.4.2 (with equal sizes needing an empty proof and equal roots)."""
    if not 0 < first <= second:
        _fail("consistency proof: sizes out of order")
    if first == second:
        if path or first_root != second_root:
            _fail("consistency proof: equal sizes with different roots")
        return
    if not path:
        _fail("consistency proof: empty proof")
    path = list(path)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            _fail("consistency proof: path too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if fr != first_root or sr != second_root or sn != 0:
        _fail("consistency proof: the path does not connect the two roots")


# --------------------------------------------------------------------------------------------
# Signed notes (C2SP signed-note), checkpoints (tlog-checkpoint), cosignatures
# --------------------------------------------------------------------------------------------

EM_DASH = "\u2014"


@dataclass(frozen=True)
class SignedNote:
    text: str
    signatures: tuple  # of (name, raw signature bytes)


def parse_signed_note(note: str) -> SignedNote:
    if not isinstance(note, str) or not note.endswith("\n"):
        _fail("a signed note ends in a newline")
    cut = note.rfind("\n\n")
    if cut < 0:
        _fail("a signed note has a blank line before its signatures")
    text, block = note[: cut + 1], note[cut + 2:]
    signatures = []
    for line in block[:-1].split("\n"):
        if not line.startswith(EM_DASH + " "):
            _fail(f"bad signature line {line!r}")
        fields = line[2:].split(" ")
        if len(fields) != 2:
            _fail(f"bad signature line {line!r}")
        name, sig_b64 = fields
        _check_key_name(name)
        raw = b64decode(sig_b64)
        if len(raw) < 5:
            _fail("signature too short")
        signatures.append((name, raw))
    if not signatures:
        _fail("a signed note carries at least one signature")
    return SignedNote(text, tuple(signatures))


def cosignature_message(timestamp: int, text: str) -> bytes:
    return b"cosignature/v1\ntime %d\n" % timestamp + text.encode("utf-8")


def _verify_line(key: VerifierKey, text: str, raw: bytes) -> Optional[int]:
    """Verify one signature line by `key`; returns the cosignature timestamp (or None)."""
    if key.key_type == NOTE_KEY_ED25519:
        if len(raw) != 4 + 64:
            _fail("note signature has the wrong length")
        ed25519_verify_strict(key.public_key, text.encode("utf-8"), raw[4:])
        return None
    if len(raw) != 4 + 8 + 64:
        _fail("cosignature has the wrong length")
    timestamp = int.from_bytes(raw[4:12], "big")
    ed25519_verify_strict(key.public_key, cosignature_message(timestamp, text), raw[12:])
    return timestamp


def verify_note(note: str, keys: Iterable[VerifierKey]) -> tuple:
    """Verify a signed note. Returns (text, {key text: cosignature timestamp or None}) of the
    given keys that signed it. Lines by other keys are ignored (C2SP); a line that names one of
    the given keys (name and key id) but does not verify rejects the note."""
    parsed = parse_signed_note(note)
    found = {}
    for key in keys:
        for name, raw in parsed.signatures:
            if name == key.name and raw[:4] == key.key_id:
                found[key.text()] = _verify_line(key, parsed.text, raw)
    return parsed.text, found


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    tree_size: int
    root_hash: bytes


def parse_checkpoint_text(text: str) -> Checkpoint:
    """`<origin>\\n<tree size>\\n<base64 root hash>\\n`.

    CHOICE: exactly these three lines (format.md calls the note text "the first three lines";
    C2SP tlog-checkpoint would allow extension lines after them); the size in canonical decimal.
    """
    if not text.endswith("\n"):
        _fail("checkpoint text ends in a newline")
    lines = text[:-1].split("\n")
    if len(lines) != 3:
        _fail("checkpoint text is exactly three lines")
    origin, size, root = lines
    if not origin:
        _fail("empty origin")
    if not re.fullmatch(r"0|[1-9][0-9]*", size):
        _fail("tree size is not a decimal number")
    root_hash = b64decode(root)
    if len(root_hash) != 32:
        _fail("root hash is not 32 bytes")
    return Checkpoint(origin, int(size), root_hash)


def open_checkpoint(note: str, log_key: VerifierKey) -> Checkpoint:
    """A checkpoint note signed by the log's key (key type 0x01).

    CHOICE: the origin line must equal the log key's name, as the signature line
    `— <origin> ...` in format.md implies.
    """
    if log_key.key_type != NOTE_KEY_ED25519:
        _fail("the log key signs notes with type 0x01")
    text, found = verify_note(note, [log_key])
    if log_key.text() not in found:
        _fail("note carries no signature by the log's key")
    checkpoint = parse_checkpoint_text(text)
    if checkpoint.origin != log_key.name:
        _fail("checkpoint origin is not the log key's name")
    return checkpoint


def verify_cosigned_checkpoint(note: str, log_key: VerifierKey, witness_key: VerifierKey) -> tuple:
    """Both the log's signature and the witness's cosignature verify; returns (checkpoint, time)."""
    if witness_key.key_type != NOTE_KEY_COSIGNATURE:
        _fail("a witness cosigns with key type 0x04")
    checkpoint = open_checkpoint(note, log_key)
    _, found = verify_note(note, [witness_key])
    if witness_key.text() not in found:
        _fail("note carries no cosignature by the witness")
    return checkpoint, found[witness_key.text()]


def verify_inclusion_proof(proof: Mapping[str, Any], log_key: VerifierKey,
                           attestation: Optional[Mapping[str, Any]] = None,
                           checkpoint_note: Optional[str] = None) -> Checkpoint:
    """Verify a `parmana_inclusion_proof` result against the root of a signed note (the proof's
    own `checkpoint`, or `checkpoint_note` if given), from the leaf hash recomputed from the
    attestation (the proof's `attestation` member or the `attestation` argument).

    CHOICE: without any attestation the proof's `leafHash` is used (the vectors' proofs carry no
    `attestation`); with one, `leafHash`, when present, must equal the recomputed hash. The
    proof's `treeSize` must equal the note's size.
    """
    checkpoint = open_checkpoint(checkpoint_note or proof.get("checkpoint"), log_key)
    if attestation is None:
        attestation = proof.get("attestation")
    if attestation is not None:
        leaf = leaf_hash(attestation)
        if "leafHash" in proof and b64decode(proof["leafHash"]) != leaf:
            _fail("inclusion proof: leafHash is not the attestation's leaf hash")
    else:
        leaf = b64decode(proof.get("leafHash"))
    if proof.get("treeSize") != checkpoint.tree_size:
        _fail("inclusion proof: treeSize is not the signed note's size")
    index = proof.get("leafIndex")
    if isinstance(index, bool) or not isinstance(index, int):
        _fail("inclusion proof: bad leafIndex")
    hashes = [b64decode(h) for h in proof.get("hashes", [])]
    verify_inclusion(index, checkpoint.tree_size, leaf, hashes, checkpoint.root_hash)
    return checkpoint


def verify_consistency_proof(proof: Mapping[str, Any], log_key: VerifierKey,
                             old_note: Optional[str] = None, new_note: Optional[str] = None) -> tuple:
    """Verify a `parmana_consistency_proof` result between two signed notes: the proof's own
    (`oldCheckpoint`, `checkpoint`) unless notes you kept are passed. Sizes and roots are taken
    from the notes only; the proof's oldSize/newSize must agree with them."""
    old = open_checkpoint(old_note or proof.get("oldCheckpoint") or _fail("no old signed note"), log_key)
    new = open_checkpoint(new_note or proof.get("checkpoint"), log_key)
    if old.origin != new.origin:
        _fail("consistency proof: notes of different logs")
    if proof.get("oldSize") != old.tree_size or proof.get("newSize") != new.tree_size:
        _fail("consistency proof: sizes differ from the signed notes")
    hashes = [b64decode(h) for h in proof.get("hashes", [])]
    verify_consistency(old.tree_size, new.tree_size, old.root_hash, new.root_hash, hashes)
    return old, new


def check_checkpoint_record(record: Mapping[str, Any], checkpoint: Checkpoint) -> None:
    """A (0.4.0+) checkpoint record names the same tree head as its signed note."""
    if record.get("origin") != checkpoint.origin or record.get("treeSize") != checkpoint.tree_size:
        _fail("checkpoint record and note name different heads")
    if record.get("digest") != checkpoint.root_hash.hex():
        _fail("checkpoint record digest is not the note's root")


def legacy_checkpoint_digest(previous_digest: str, rows: Iterable[tuple]) -> str:
    """Pre-0.4.0 chained digest over (id, attestation) rows with fromId < id ≤ toId, in id order.

    CHOICE: `previousDigest` enters as its 64 hex characters (ASCII), like the per-row hashes;
    format.md does not say, and no vector exercises this.
    """
    data = previous_digest.encode("ascii") + b"\n"
    for row_id, attestation in sorted(rows, key=lambda r: r[0]):
        data += b"%d %s\n" % (row_id, hex_h(jcs(attestation)).encode("ascii"))
    return hex_h(data)
