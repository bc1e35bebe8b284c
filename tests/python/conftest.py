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


@pytest.fixture(scope="session")
def database():
    """A fresh database with the extension and the three fixture policies registered."""
    with connect("postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DBNAME} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {DBNAME}")
    with connect(autocommit=True) as conn:
        conn.execute("CREATE EXTENSION parmana")
        for path in sorted((ROOT / "fixtures" / "policies").glob("*.json")):
            conn.execute("SELECT parmana_register_policy(%s::jsonb)", (path.read_text(),))
    return DBNAME


@pytest.fixture
def conn(database):
    with connect(autocommit=True) as c:
        yield c


def claims_signals(risk=42, vip=False, active=True, amount=8500):
    return json.dumps({"claim_amount": amount, "insurance_active": active, "risk_score": risk, "vip_customer": vip})
