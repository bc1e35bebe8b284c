#!/usr/bin/env python3
"""Verify a parmana attestation or override record offline, with stock libraries only.

usage: verify_offline.py ATTESTATION.json PUBLIC_KEY.pem
Needs: pip install rfc8785 cryptography
"""
import base64
import hashlib
import json
import sys

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_public_key

doc = json.load(open(sys.argv[1]))
key = load_pem_public_key(open(sys.argv[2], "rb").read())

payload_type = (b"application/vnd.parmana.attestation.v1+json" if "execution_state" in doc
                else b"application/vnd.parmana.override.v1+json")
body = rfc8785.dumps({k: v for k, v in doc.items() if k != "signature"})   # RFC 8785 canonical JSON
pae = b"DSSEv1 %d %s %d %s" % (len(payload_type), payload_type, len(body), body)  # DSSE v1 PAE

key_id = hashlib.sha256(key.public_bytes(Encoding.Raw, PublicFormat.Raw)).hexdigest()
if key_id != doc.get("signerKeyId"):
    sys.exit(f"INVALID: signerKeyId {doc.get('signerKeyId')} is not this key ({key_id})")
try:
    key.verify(base64.b64decode(doc["signature"], validate=True), pae)
except InvalidSignature:
    sys.exit("INVALID: signature does not verify")
print(f"VALID: {doc['executionId']} {doc.get('decision', {}).get('action', '')} "
      f"({doc.get('execution_state', 'override')}) signed by {key_id[:16]}…")
