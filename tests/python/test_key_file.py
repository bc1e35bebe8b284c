"""parmana.signing_key_file: a PEM PKCS#8 key file signs instead of the embedded key, its public
key is registered automatically, and a broken file fails closed with SYS-030."""
import hashlib
import os
import pwd
import tempfile
import time
import uuid

import psycopg
from psycopg import sql
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from conftest import claims_signals, connect
from test_offline_verify import verify_offline


def write_key_file(pem: bytes) -> str:
    directory = tempfile.mkdtemp(prefix="parmana-key-")
    path = os.path.join(directory, "signing.pem")
    with open(path, "wb") as f:
        f.write(pem)
    os.chmod(path, 0o600)
    if os.geteuid() == 0:
        pg = pwd.getpwnam("postgres")
        os.chown(directory, pg.pw_uid, pg.pw_gid)
        os.chown(path, pg.pw_uid, pg.pw_gid)
    return path


def set_setting(name, value):
    """ALTER SYSTEM SET (or RESET, for None) a parmana setting, and wait until new sessions see it."""
    with connect(autocommit=True) as c:
        c.execute("LOAD 'parmana'")
        if value is None:
            c.execute(sql.SQL("ALTER SYSTEM RESET {}").format(sql.Identifier(*name.split("."))))
        else:
            c.execute(sql.SQL("ALTER SYSTEM SET {} = {}").format(sql.Identifier(*name.split(".")), sql.Literal(value)))
        c.execute("SELECT pg_reload_conf()")
    expected = value or ""
    for _ in range(100):  # the postmaster signals backends asynchronously
        with connect(autocommit=True) as c:
            c.execute("LOAD 'parmana'")
            if c.execute(sql.SQL("SHOW {}").format(sql.Identifier(*name.split(".")))).fetchone()[0] == expected:
                return
        time.sleep(0.05)
    raise AssertionError(f"{name} did not take effect")


def set_key_file(path):
    set_setting("parmana.signing_key_file", path)


@pytest.fixture
def key_file(database):
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())  # OpenSSL's PKCS#8 v1
    path = write_key_file(pem)
    set_key_file(path)
    try:
        yield key, path
    finally:
        set_key_file(None)


def test_file_key_signs_and_registers(key_file):
    key, path = key_file
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    key_id = hashlib.sha256(raw).hexdigest()
    with connect(autocommit=True) as c:
        att = c.execute(
            "SELECT parmana.parmana_execute(%s, 'claims-approval', 'v1', %s::jsonb)", (f"file-{uuid.uuid4()}", claims_signals())
        ).fetchone()[0]
        assert att["signerKeyId"] == key_id
        pem = key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
        verify_offline(att, pem)
        assert c.execute("SELECT source FROM parmana.signing_keys WHERE key_id = %s", (key_id,)).fetchone()[0] == "file"
        assert c.execute("SELECT parmana.parmana_verify(%s::jsonb)->>'valid'", (psycopg.types.json.Jsonb(att),)).fetchone()[0] == "true"
        assert c.execute("SELECT parmana.parmana_runtime_manifest()->>'signerKeyId'").fetchone()[0] == key_id
        assert c.execute("SELECT parmana.parmana_public_key()").fetchone()[0].strip() == pem.strip()
        with pytest.raises(psycopg.Error) as e:
            c.execute("SELECT parmana.parmana_rotate_key()")
        assert e.value.sqlstate == "55000" and str(e.value).startswith("[SYS-031]")


def test_broken_key_file_fails_closed(database):
    path = write_key_file(b"-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n")
    set_key_file(path)
    try:
        with connect(autocommit=True) as c:
            execution_id = f"broken-{uuid.uuid4()}"
            with pytest.raises(psycopg.Error) as e:
                c.execute("SELECT parmana.parmana_execute(%s, 'claims-approval', 'v1', %s::jsonb)", (execution_id, claims_signals()))
            assert e.value.sqlstate == "55000" and str(e.value).startswith("[SYS-030]")
            assert "bm90IGEga2V5" not in str(e.value), "no key material in errors"
            # Fail closed: nothing claimed, so the id is still usable once the key is fixed.
            assert c.execute("SELECT count(*) FROM parmana.replay_state WHERE execution_id = %s", (execution_id,)).fetchone()[0] == 0
            assert c.execute("SELECT parmana.parmana_runtime_manifest()->'signerKeyId'").fetchone()[0] is None
    finally:
        set_key_file(None)
