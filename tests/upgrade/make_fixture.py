#!/usr/bin/env python3
"""Writes fixtures/parmana-<version>.sql: the governance data an old release really wrote.

Run against a cluster with that release's build installed (scripts/cluster.sh), from the
repository root: `python3 tests/upgrade/make_fixture.py 0.3.0`. The history is history.sql
(plus history-0.3.0.sql for 0.3.0 and later); the output is COPY data for every table of schema
parmana, the sequence positions, and the governed business table. test_upgrade.py loads it into a
database created at that version and upgrades it. The fixture holds the throwaway signing key of
the database it was made in.
"""
import io
import os
import pathlib
import subprocess
import sys

import psycopg

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
HOST = os.environ.get("PARMANA_PGDIR", "/tmp/parmana-pg")
PORT = os.environ.get("PARMANA_PGPORT", "54329")
DB = "parmana_fixture"
BUSINESS_TABLES = ["public.old_claims"]


def psql(*args):
    subprocess.run(["psql", "-X", "-q", "-h", HOST, "-p", PORT, "-U", "postgres", *args], check=True,
                   stdout=subprocess.DEVNULL)


def copy_block(conn, table):
    columns = [r[0] for r in conn.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
        (table,)).fetchall()]
    out = io.StringIO()
    out.write(f"COPY {table} ({', '.join(columns)}) FROM stdin;\n")
    with conn.cursor().copy(f"COPY (SELECT {', '.join(columns)} FROM {table} ORDER BY 1) TO STDOUT") as copy:
        for chunk in copy:
            out.write(bytes(chunk).decode())
    out.write("\\.\n\n")
    return out.getvalue()


def main(version):
    psql("-d", "postgres", "-c", f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)", "-c", f"CREATE DATABASE {DB}")
    psql("-d", DB, "-c", f"CREATE EXTENSION parmana VERSION '{version}'")
    policies = ROOT / "fixtures" / "policies"
    variables = ["-v", f"loan={(policies / 'loan-approval-1.0.0.json').read_text()}",
                 "-v", f"claims={(policies / 'claims-approval-v1.json').read_text()}"]
    psql("-d", DB, *variables, "-f", str(HERE / "history.sql"))
    if tuple(map(int, version.split("."))) >= (0, 3, 0):
        psql("-d", DB, "-f", str(HERE / "history-0.3.0.sql"))

    with psycopg.connect(host=HOST, port=PORT, user="postgres", dbname=DB, autocommit=True) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT format('parmana.%I', relname) FROM pg_class WHERE relnamespace = 'parmana'::regnamespace "
            "AND relkind = 'r' ORDER BY relname").fetchall()]
        sequences = conn.execute(
            "SELECT format('parmana.%I', sequencename), coalesce(last_value, start_value), last_value IS NOT NULL FROM pg_sequences "
            "WHERE schemaname = 'parmana' ORDER BY 1").fetchall()
        business = [t for t in BUSINESS_TABLES if conn.execute("SELECT to_regclass(%s)", (t,)).fetchone()[0]]
        parts = [
            f"-- The governance data a parmana {version} build wrote (tests/upgrade/make_fixture.py).\n"
            "-- Loaded by test_upgrade.py into a database created at that version, with triggers off.\n"
            "-- It holds the throwaway signing key of the database it was made in: a test key, nothing else.\n\n",
            "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'old_reviewer') THEN\n"
            "  CREATE ROLE old_reviewer IN ROLE parmana_approver; END IF; END $$;\n\n",
        ]
        parts += [copy_block(conn, t) for t in tables]
        parts += [f"SELECT pg_catalog.setval('{s}', {v}, {str(bool(c)).lower()});\n" for s, v, c in sequences]
        for table in business:
            ddl = conn.execute(
                "SELECT 'CREATE TABLE ' || %s || ' (' || string_agg(format('%%I %%s%%s', attname, format_type(atttypid, atttypmod),"
                " CASE WHEN attnotnull THEN ' NOT NULL' ELSE '' END), ', ' ORDER BY attnum) || ', PRIMARY KEY (id));'"
                " FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped", (table, table)).fetchone()[0]
            triggers = [r[0] for r in conn.execute(
                "SELECT pg_get_triggerdef(oid) || ';' FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal ORDER BY tgname",
                (table,)).fetchall()]
            parts += ["\n" + ddl + "\n", copy_block(conn, table), *[t + "\n" for t in triggers]]
    target = HERE / "fixtures" / f"parmana-{version}.sql"
    target.parent.mkdir(exist_ok=True)
    target.write_text("".join(parts))
    print(f"wrote {target.relative_to(ROOT)}")


if __name__ == "__main__":
    main(sys.argv[1])
