"""Real PostgreSQL clients against the throwaway cluster started by scripts/test.sh."""
import json
import os
import pathlib

import psycopg
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
HOST = os.environ.get("PARMANA_PGDIR", "/tmp/parmana-test-pg")
PORT = int(os.environ.get("PARMANA_PGPORT", "54330"))
DBNAME = "parmana_py"


def connect(dbname=DBNAME, **kw):
    return psycopg.connect(host=HOST, port=PORT, user=kw.pop("user", "postgres"), dbname=dbname, **kw)


def fresh_database(name, version=None, policies=()):
    """A new database with the extension (optionally at `version`) and the given policy documents."""
    with connect("postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {name}")
    conn = connect(name, autocommit=True)
    conn.execute("CREATE EXTENSION parmana" + (f" VERSION '{version}'" if version else ""))
    for policy in policies:
        conn.execute("SELECT parmana.parmana_register_policy(%s::jsonb)", (policy,))
    return conn


def login_role(conn, name, *member_of):
    """A login role, created once per cluster, member of `member_of`."""
    if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone():
        conn.execute(f'CREATE ROLE "{name}" LOGIN')
    for role in member_of:
        conn.execute(f'GRANT "{role}" TO "{name}"')


@pytest.fixture(scope="session")
def database():
    """A fresh database with the extension and the three fixture policies registered."""
    policies = [path.read_text() for path in sorted((ROOT / "fixtures" / "policies").glob("*.json"))]
    fresh_database(DBNAME, policies=policies).close()
    return DBNAME


@pytest.fixture
def conn(database):
    with connect(autocommit=True) as c:
        yield c


def claims_signals(risk=42, vip=False, active=True, amount=8500):
    return json.dumps({"claim_amount": amount, "insurance_active": active, "risk_score": risk, "vip_customer": vip})
