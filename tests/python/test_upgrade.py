"""ALTER EXTENSION parmana UPDATE on databases holding what old releases really wrote.

tests/upgrade/fixtures/ holds the governance data of a 0.1.0 and a 0.3.0 database, written by
builds of those releases. Each is loaded into a database created at that version (0.1.0's install
script and control file are installed by scripts/test.sh), then upgraded through every script
in between. Afterwards the catalog equals a fresh install's, every old attestation and override
record verifies, replays stay refused, and old governed tables keep working.
"""
import os
import subprocess

import psycopg
import pytest

from conftest import HOST, PORT, ROOT, connect, fresh_database, login_role

FIXTURES = ROOT / "tests" / "upgrade" / "fixtures"

CATALOG = """
SELECT 'member ' || pg_describe_object(classid, objid, objsubid) FROM pg_depend
 WHERE refobjid = (SELECT oid FROM pg_extension WHERE extname = 'parmana') AND deptype = 'e'
UNION ALL SELECT 'extension ' || extnamespace::regnamespace || ' ' || extrelocatable || ' ' || extversion
  FROM pg_extension WHERE extname = 'parmana'
UNION ALL SELECT 'extension depends on ' || pg_describe_object(refclassid, refobjid, refobjsubid) FROM pg_depend
 WHERE classid = 'pg_extension'::regclass AND objid = (SELECT oid FROM pg_extension WHERE extname = 'parmana')
UNION ALL SELECT 'schema ' || nspname || ' ' || coalesce(nspacl::text, '') FROM pg_namespace WHERE nspname = 'parmana'
UNION ALL SELECT 'function ' || pg_get_functiondef(p.oid) || coalesce(p.proacl::text, '')
  FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.deptype = 'e'
 WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'parmana')
UNION ALL SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '')
  FROM information_schema.columns WHERE table_schema = 'parmana'
UNION ALL SELECT 'constraint ' || conrelid::regclass || ' ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE connamespace = 'parmana'::regnamespace
UNION ALL SELECT 'index ' || pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid::regclass::text LIKE 'parmana.%'
UNION ALL SELECT 'trigger ' || pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid::regclass::text LIKE 'parmana.%' AND NOT tgisinternal
UNION ALL SELECT 'view ' || c.oid::regclass || ' ' || pg_get_viewdef(c.oid) || coalesce(c.reloptions::text, '') FROM pg_class c
 WHERE c.relnamespace = 'parmana'::regnamespace AND c.relkind = 'v'
UNION ALL SELECT 'default ' || c.oid::regclass || '.' || a.attname || ' ' || pg_get_expr(d.adbin, d.adrelid)
  FROM pg_attrdef d JOIN pg_class c ON c.oid = d.adrelid JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
 WHERE c.relnamespace = 'parmana'::regnamespace
UNION ALL SELECT 'acl ' || c.oid::regclass || ' ' || coalesce(c.relacl::text, '') FROM pg_class c WHERE c.relnamespace = 'parmana'::regnamespace
UNION ALL SELECT 'config ' || c::regclass FROM pg_extension e, unnest(e.extconfig) c WHERE e.extname = 'parmana'
UNION ALL SELECT 'in public ' || p.oid::regprocedure FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace
"""


def load_fixture(version):
    """A database created at `version` holding that release's fixture data."""
    name = "parmana_upgrade_" + version.replace(".", "_")
    conn = fresh_database(name, version="0.1.0")
    if version != "0.1.0":
        conn.execute(f"ALTER EXTENSION parmana UPDATE TO '{version}'")
    # The fixture replaces the key CREATE EXTENSION generated; triggers stay off while it loads.
    subprocess.run(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", HOST, "-p", str(PORT), "-U", "postgres", "-d", name,
         "-c", "DELETE FROM parmana.signing_key_secrets; DELETE FROM parmana.signing_keys",
         "-f", str(FIXTURES / f"parmana-{version}.sql")],
        check=True, capture_output=True, text=True, env={**os.environ, "PGOPTIONS": "-c session_replication_role=replica"},
    )
    return conn


def catalog(conn):
    return sorted(r[0] for r in conn.execute(CATALOG).fetchall())


def counts(conn):
    tables = ["policies", "replay_state", "attestations", "signing_keys", "signing_key_secrets", "overrides"]
    return {t: conn.execute(f"SELECT count(*) FROM parmana.{t}").fetchone()[0] for t in tables}


@pytest.fixture(scope="module")
def fresh_catalog(database):
    with fresh_database("parmana_upgrade_fresh") as fresh:
        return catalog(fresh)


@pytest.mark.parametrize("version", ["0.1.0", "0.3.0"])
def test_upgrade_with_old_data(version, fresh_catalog):
    conn = load_fixture(version)
    try:
        assert conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'parmana'").fetchone()[0] == version
        before = counts(conn)
        old_ids = [r[0] for r in conn.execute("SELECT execution_id FROM parmana.replay_state ORDER BY 1").fetchall()]
        conn.execute("ALTER EXTENSION parmana UPDATE")
        latest = conn.execute("SELECT default_version FROM pg_available_extensions WHERE name = 'parmana'").fetchone()[0]
        assert conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'parmana'").fetchone()[0] == latest

        # Nothing lost, everything verifies, the audit finds nothing.
        assert counts(conn) == before
        assert conn.execute(
            "SELECT bool_and((parmana.parmana_verify(attestation)->>'valid')::boolean) FROM parmana.attestations"
        ).fetchone()[0]
        assert conn.execute(
            "SELECT coalesce(bool_and((parmana.parmana_verify(override_record)->>'valid')::boolean), true) "
            "FROM parmana.overrides WHERE override_record IS NOT NULL"
        ).fetchone()[0]
        assert conn.execute("SELECT count(*) FROM parmana.parmana_audit_verify()").fetchone()[0] == 0

        # Every old id stays decided or in flight: claiming one again is a replay.
        decided = [i for i in old_ids if conn.execute("SELECT parmana.parmana_replay_state(%s)", (i,)).fetchone()[0]
                   not in ("EXPIRED",)]
        for execution_id in decided:
            with pytest.raises(psycopg.Error) as e:
                conn.execute("SELECT parmana.parmana_replay_reserve(%s)", (execution_id,))
            assert e.value.sqlstate == "23505", execution_id

        # Old pending reviews resolve under the new rules: another login, a role it belongs to.
        login_role(conn, "upgrade_reviewer", "parmana_approver")
        pending = conn.execute(
            "SELECT execution_id FROM parmana.pending_overrides WHERE policy_id = 'loan-approval' ORDER BY id LIMIT 1"
        ).fetchone()[0]
        with connect(conn.info.dbname, user="upgrade_reviewer", autocommit=True) as reviewer:
            result = reviewer.execute(
                "SELECT parmana.parmana_override(%s, true, 'Reviewer', 'parmana_approver', 'after upgrade')", (pending,)
            ).fetchone()[0]
        assert result["override"]["resolvedByLogin"] == "upgrade_reviewer"

        # New work continues the log, signed by the key the old release made active.
        att = conn.execute(
            "SELECT parmana.parmana_execute('after-upgrade', 'loan-approval', '1.0.0', '{\"credit_score\": 720, \"loan_amount\": 1}')"
        ).fetchone()[0]
        assert att["signerKeyId"] == conn.execute("SELECT key_id FROM parmana.signing_keys WHERE active").fetchone()[0]
        conn.execute("SELECT parmana.parmana_checkpoint()")
        assert conn.execute("SELECT parmana.parmana_checkpoint()").fetchone()[0]["sealed"] is not None
        assert conn.execute("SELECT count(*) FROM parmana.parmana_audit_verify()").fetchone()[0] == 0

        if version == "0.3.0":
            check_governed_table(conn)
        upgraded = catalog(conn)
    finally:
        conn.close()
    assert upgraded == fresh_catalog, "\n".join(
        [f"- only upgraded: {x}" for x in sorted(set(upgraded) - set(fresh_catalog))]
        + [f"+ only fresh: {x}" for x in sorted(set(fresh_catalog) - set(upgraded))]
    )


def check_governed_table(conn):
    """0.3.0's governed table: bound to its table, intact, still governed, and refreshable."""
    history = conn.execute(
        "SELECT relation::text, valid_from::text FROM parmana.governed_tables_history WHERE name = 'old_claims'"
    ).fetchall()
    assert [(r, str(v)) for r, v in history] == [("old_claims", "-infinity")]
    assert conn.execute("SELECT count(*) FROM parmana.parmana_govern_verify('old_claims')").fetchone()[0] == 0
    row = conn.execute(
        "INSERT INTO old_claims (id, amount, risk_score, insurance_active, vip) VALUES (31, 8500.40, 42, true, false) "
        "RETURNING decision, state, attestation->>'executionId'"
    ).fetchone()
    assert row == ("approve", "completed", "oldclaim-31")
    with pytest.raises(psycopg.Error) as e:
        conn.execute("INSERT INTO old_claims (id, amount, risk_score, insurance_active, vip) VALUES (1, 1, 1, true, false)")
    assert e.value.sqlstate == "23505"
    # 0.3.0 listed claims_supervisor as the authority for this policy, as a name; now a reviewer
    # must belong to that role.
    if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = 'claims_supervisor'").fetchone():
        conn.execute("CREATE ROLE claims_supervisor")
    conn.execute("REVOKE claims_supervisor FROM upgrade_reviewer")
    pending = conn.execute("SELECT id FROM old_claims WHERE state = 'pending_override' ORDER BY id LIMIT 1").fetchone()[0]
    with connect(conn.info.dbname, user="upgrade_reviewer", autocommit=True) as reviewer:
        with pytest.raises(psycopg.Error) as e:
            reviewer.execute("SELECT parmana.parmana_override(%s, false, 'R', 'claims_supervisor', 'no')", (f"oldclaim-{pending}",))
        assert e.value.sqlstate == "42501" and "[AUTH-002]" in str(e.value)
        conn.execute("GRANT claims_supervisor TO upgrade_reviewer")
        reviewer.execute("SELECT parmana.parmana_override(%s, false, 'R', 'claims_supervisor', 'no')", (f"oldclaim-{pending}",))
    assert conn.execute("SELECT parmana.parmana_govern_refresh('old_claims')").fetchone()[0] == 1
    assert conn.execute("SELECT count(*) FROM parmana.parmana_govern_verify('old_claims')").fetchone()[0] == 0


PLANTED_OPERATORS = [("oid", "regclass", "oid"), ("regclass", "oid", "oid"), ("oid", "regnamespace", "oid"),
                     ("oid", "regprocedure", "oid"), ("oid", "regrole", "oid"), ("name", "text", "text"),
                     ("text", "name", "text"), ("bigint", "integer", "bigint")]


@pytest.mark.parametrize("version", ["0.1.0", "0.3.0"])
def test_upgrade_ignores_objects_planted_in_public(version):
    """Before 0.4.0 parmana lived in public, which the database owner controls. Operators it plants
    there that match the upgrade scripts' comparisons better than the built-in ones (and answer
    correctly, so nothing looks wrong) are never run by the upgrade, which runs as a superuser."""
    conn = load_fixture(version)
    try:
        login_role(conn, "upgrade_db_owner")
        conn.execute(f"ALTER DATABASE {conn.info.dbname} OWNER TO upgrade_db_owner")
        conn.execute("CREATE TABLE public.hijacked (who name, superuser boolean)")
        conn.execute("ALTER TABLE public.hijacked OWNER TO upgrade_db_owner")
        conn.execute("GRANT INSERT ON public.hijacked TO PUBLIC")
        with connect(conn.info.dbname, user="upgrade_db_owner", autocommit=True) as owner:
            for left, right, common in PLANTED_OPERATORS:
                for op, name in (("=", "eq"), ("<>", "ne")):
                    fn = f"public.planted_{name}_{left}_{right}"
                    owner.execute(
                        f"CREATE FUNCTION {fn}(l {left}, r {right}) RETURNS boolean LANGUAGE plpgsql AS $f$ BEGIN "
                        "INSERT INTO public.hijacked SELECT current_user, rolsuper FROM pg_catalog.pg_roles "
                        "WHERE rolname = current_user; "
                        f"RETURN l::{common} OPERATOR(pg_catalog.{op}) r::{common}; END $f$")
                    owner.execute(f"CREATE OPERATOR public.{op} (LEFTARG = {left}, RIGHTARG = {right}, FUNCTION = {fn})")
        conn.execute("ALTER EXTENSION parmana UPDATE")
        assert conn.execute("SELECT count(*) FROM public.hijacked").fetchone()[0] == 0
        assert conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = 'upgrade_db_owner'").fetchone()[0] is False
        assert conn.execute("SELECT count(*) FROM parmana.parmana_audit_verify()").fetchone()[0] == 0
    finally:
        conn.close()
