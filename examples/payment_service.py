#!/usr/bin/env python3
"""A payment service governed by parmana, following the production checklist:

- the execution id is derived from the business id (payment-<id>), never random;
- signals are normalized (amount in integer cents, lower-case currency) and carry no personal data
  (the beneficiary's name stays in the business row, not in the signals);
- the decision and the business write happen in ONE transaction: both commit or neither does;
- the attestation is verified independently (RFC 8785 + Ed25519 with the public key) and both
  execution_state and decision.action are checked before the payment is released;
- pending reviews are stored and not acted on;
- replay errors (23505) are never retried; transient errors (serialization failure, deadlock,
  lock timeout, lost connection) are retried with exponential backoff; anything else fails closed.

usage: payment_service.py --dsn DSN ID:AMOUNT:CURRENCY:VERIFIED [...]
Prints one JSON line per payment: {"payment", "outcome", "attempts", ...}.
"""
import argparse
import base64
import json
import random
import sys
import time

import psycopg
import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import load_pem_public_key

TRANSIENT = {"40001", "40P01", "55P03"}  # serialization failure, deadlock, lock not available
ATTESTATION_TYPE = b"application/vnd.parmana.attestation.v1+json"


class VerificationFailed(Exception):
    pass


def verify(attestation, public_pem):
    """Independent verification: no trust in the database's own verify function."""
    key = load_pem_public_key(public_pem.encode())
    body = rfc8785.dumps({k: v for k, v in attestation.items() if k != "signature"})
    pae = b"DSSEv1 %d %s %d %s" % (len(ATTESTATION_TYPE), ATTESTATION_TYPE, len(body), body)
    try:
        key.verify(base64.b64decode(attestation["signature"], validate=True), pae)
        return True
    except (InvalidSignature, ValueError, KeyError):
        return False


def govern_payment(conn, payment, public_keys):
    """One transaction: decide, verify, write the payment, release it only if authorized."""
    pid, amount, currency, verified = payment
    signals = {
        "amount_cents": round(amount * 100),
        "currency": currency.strip().lower(),
        "beneficiary_verified": verified,
    }
    with conn.transaction():
        conn.execute("SET LOCAL lock_timeout = '200ms'")
        attestation = conn.execute(
            "SELECT parmana.parmana_execute(%s, 'payment-release', '1.0.0', %s::jsonb)", (f"payment-{pid}", json.dumps(signals))
        ).fetchone()[0]
        key_id = attestation["signerKeyId"]
        if key_id not in public_keys:
            public_keys[key_id] = conn.execute("SELECT parmana.parmana_public_key(%s)", (key_id,)).fetchone()[0]
        if not verify(attestation, public_keys[key_id]):
            raise VerificationFailed("attestation failed verification: refusing to act")  # rolls back
        state, action = attestation["execution_state"], attestation["decision"]["action"]
        if state == "completed" and action == "approve":
            status = "released"          # only here would the money move
        elif state == "pending_override":
            status = "awaiting_review"   # a reviewer decides; the resolution attestation authorizes
        else:
            status = "rejected"
        conn.execute(
            "INSERT INTO payments (id, amount, currency, beneficiary, status, attestation, released_at) "
            "VALUES (%s, %s, %s, %s, %s, %s::jsonb, CASE WHEN %s = 'released' THEN now() END)",
            (pid, amount, currency, "(kept in the business row, never in signals)", status, json.dumps(attestation), status),
        )
    return {"outcome": status, "executionId": attestation["executionId"], "reason": attestation["decision"]["reason"]}


def process(dsn, payment, public_keys, max_attempts=5, base_delay=0.1):
    attempts = 0
    while True:
        attempts += 1
        try:
            with psycopg.connect(dsn) as conn:
                result = govern_payment(conn, payment, public_keys)
            return {"payment": payment[0], "attempts": attempts, **result}
        except VerificationFailed as e:
            # Fail closed: the transaction rolled back, nothing was paid. Not retried: investigate.
            return {"payment": payment[0], "attempts": attempts, "outcome": "failed", "error": str(e)}
        except psycopg.errors.UniqueViolation as e:
            # A replay: this payment was already decided. Never retry; report what was decided.
            return {"payment": payment[0], "attempts": attempts, "outcome": "already_decided", "error": str(e).splitlines()[0]}
        except (psycopg.OperationalError, psycopg.errors.DatabaseError) as e:
            code = getattr(e, "sqlstate", None)
            transient = code in TRANSIENT or isinstance(e, psycopg.OperationalError) and code is None
            if not transient or attempts >= max_attempts:
                return {"payment": payment[0], "attempts": attempts, "outcome": "failed", "sqlstate": code, "error": str(e).splitlines()[0]}
            time.sleep(base_delay * 2 ** (attempts - 1) * (1 + random.random()))


def parse(spec):
    pid, amount, currency, verified = spec.split(":")
    return pid, float(amount), currency, verified.lower() in ("1", "true", "yes")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dsn", required=True)
    p.add_argument("payments", nargs="+", type=parse, help="ID:AMOUNT:CURRENCY:VERIFIED")
    args = p.parse_args(argv)
    keys = {}
    for payment in args.payments:
        print(json.dumps(process(args.dsn, payment, keys)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
