-- The security boundary: code that a non-superuser can define never runs with the extension
-- owner's rights. A table owner, an executor and a parmana_admin plant every kind of user code
-- they can on and around a governed table; each piece announces, when it runs, whose rights it
-- has and whether it could read a private key. Governance then runs over that table in every way
-- it can: inserts, updates, refresh (also by a superuser, as a scheduled job would) and
-- verification. Every NOTICE below is one firing: never a superuser, never a key byte.
\i tests/pg_regress/include/setup.sql
\set VERBOSITY terse
CALL regress.login_role('regress_sb_owner', '{parmana_executor}');
CALL regress.login_role('regress_sb_exec', '{parmana_executor}');
CALL regress.login_role('regress_sb_admin', '{parmana_admin}');
CALL regress.login_role('regress_sb_reviewer', '{parmana_approver}');
DO $$ BEGIN
  EXECUTE format('GRANT CREATE, TEMPORARY ON DATABASE %I TO regress_sb_owner, regress_sb_exec, regress_sb_admin', current_database());
END $$;

-- The spy every attacker plants: who am I, and can I read the signing key?
CREATE FUNCTION regress.spy_source(schema_name text) RETURNS text LANGUAGE sql AS $outer$
SELECT format($f$
CREATE FUNCTION %1$I.spy(vector text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $body$
DECLARE
  key text;
BEGIN
  BEGIN
    SELECT sum(length(private_key_pem))::text || ' bytes' INTO key FROM parmana.signing_key_secrets;
  EXCEPTION WHEN OTHERS THEN
    key := 'denied';
  END;
  RAISE NOTICE 'spy %%: current_user=%% session_user=%% superuser=%% key=%%', vector, current_user, session_user,
    (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user), key;
  RETURN true;
END
$body$;
$f$, schema_name)
$outer$;
GRANT EXECUTE ON FUNCTION regress.spy_source(text) TO PUBLIC;

-- 1. The table owner's table: triggers, a rule, a generated column, an index expression, a column
--    default, a domain CHECK, an enum with casts to json, jsonb and text, row-level security.
\c - regress_sb_owner
\set VERBOSITY terse
CREATE SCHEMA sb_owner;
SELECT regress.spy_source('sb_owner') \gexec
CREATE FUNCTION sb_owner.spy_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM sb_owner.spy(TG_ARGV[0]); RETURN CASE WHEN TG_LEVEL = 'ROW' THEN NEW END; END $$;
CREATE TYPE sb_owner.mood AS ENUM ('calm', 'angry');
CREATE FUNCTION sb_owner.mood_json(sb_owner.mood) RETURNS json LANGUAGE sql IMMUTABLE AS $$ SELECT to_json(sb_owner.spy('cast to json')) $$;
CREATE FUNCTION sb_owner.mood_jsonb(sb_owner.mood) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$ SELECT to_jsonb(sb_owner.spy('cast to jsonb')) $$;
CREATE FUNCTION sb_owner.mood_text(sb_owner.mood) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT sb_owner.spy('cast to text')::text $$;
CREATE CAST (sb_owner.mood AS json) WITH FUNCTION sb_owner.mood_json(sb_owner.mood);
CREATE CAST (sb_owner.mood AS jsonb) WITH FUNCTION sb_owner.mood_jsonb(sb_owner.mood);
CREATE CAST (sb_owner.mood AS text) WITH FUNCTION sb_owner.mood_text(sb_owner.mood);
CREATE DOMAIN sb_owner.checked_state AS text CHECK (sb_owner.spy('domain check'));
CREATE TABLE sb_owner.claims (
  id               bigint PRIMARY KEY,
  amount           integer NOT NULL,
  risk_score       integer NOT NULL,
  insurance_active boolean NOT NULL,
  vip              boolean NOT NULL,
  mood             sb_owner.mood NOT NULL DEFAULT 'calm',
  note             text DEFAULT (sb_owner.spy('column default'))::text,
  decision         text,
  state            sb_owner.checked_state,
  attestation      jsonb,
  generated        boolean GENERATED ALWAYS AS (sb_owner.spy('generated column') AND state IS NOT NULL) STORED
);
CREATE INDEX claims_spy ON sb_owner.claims ((sb_owner.spy('index expression') AND state IS NOT NULL));
CREATE TRIGGER a_statement BEFORE INSERT OR UPDATE ON sb_owner.claims
  FOR EACH STATEMENT EXECUTE FUNCTION sb_owner.spy_trigger('statement trigger');
CREATE TRIGGER z_row AFTER INSERT OR UPDATE ON sb_owner.claims
  FOR EACH ROW EXECUTE FUNCTION sb_owner.spy_trigger('row trigger');
CREATE RULE spy_rule AS ON UPDATE TO sb_owner.claims DO ALSO SELECT sb_owner.spy('rule');
ALTER TABLE sb_owner.claims ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY spy_policy ON sb_owner.claims USING (sb_owner.spy('row-level security policy'));
CREATE TRIGGER claims_governed BEFORE INSERT OR UPDATE ON sb_owner.claims
  FOR EACH ROW EXECUTE FUNCTION parmana.parmana_govern('sb_claims');
GRANT USAGE ON SCHEMA sb_owner TO regress_sb_exec, regress_sb_admin;
GRANT SELECT, INSERT, UPDATE ON sb_owner.claims TO regress_sb_exec;
-- The owner cannot reach into parmana's own tables either.
SELECT regress.err('CREATE TRIGGER t BEFORE INSERT ON parmana.attestations FOR EACH ROW EXECUTE FUNCTION sb_owner.spy_trigger()') AS trigger_on_attestations,
       regress.err('CREATE RULE r AS ON INSERT TO parmana.replay_state DO ALSO SELECT 1') AS rule_on_replay_state,
       regress.err('CREATE POLICY p ON parmana.signing_key_secrets USING (true)') AS policy_on_secrets,
       regress.err('CREATE FUNCTION parmana.planted() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$') AS function_in_schema;

-- 2. The admin binds a configuration to the table.
\c - regress_sb_admin
\set VERBOSITY terse
INSERT INTO parmana.governed_tables
  (name, relation, policy_id, policy_version, execution_id_prefix, key_column, signals, attestation_column, action_column, state_column, on_reject)
VALUES ('sb_claims', 'sb_owner.claims', 'claims-approval', 'v1', 'sbclaim-', 'id',
  '{"claim_amount": {"column": "amount"}, "risk_score": {"column": "risk_score"}, "insurance_active": {"column": "insurance_active"}, "vip_customer": {"column": "vip"}}',
  'attestation', 'decision', 'state', 'record');

-- 3. An executor inserts and updates: everything runs as that executor.
\c - regress_sb_exec
\set VERBOSITY terse
INSERT INTO sb_owner.claims (id, amount, risk_score, insurance_active, vip) VALUES (1, 300, 30, false, false);
UPDATE sb_owner.claims SET note = 'called back' WHERE id = 1;

-- 4. A reviewer resolves the claim; refresh copies the resolution in, in a restricted operation:
--    run by a superuser (a scheduled job) it touches the table as its owner, run by an executor
--    with the executor's own rights.
\c - regress_sb_reviewer
\set VERBOSITY terse
SELECT parmana.parmana_override('sbclaim-1', true, 'Reviewer', 'parmana_approver', 'coverage confirmed')->>'status' AS review;
\c - postgres
\set VERBOSITY terse
SELECT parmana.parmana_govern_refresh('sb_claims') AS refreshed_by_superuser;
\c - regress_sb_exec
\set VERBOSITY terse
INSERT INTO sb_owner.claims (id, amount, risk_score, insurance_active, vip) VALUES (2, 300, 30, false, false);
\c - regress_sb_reviewer
\set VERBOSITY terse
SELECT parmana.parmana_override('sbclaim-2', true, 'Reviewer', 'parmana_approver', 'coverage confirmed')->>'status' AS review;
\c - regress_sb_exec
\set VERBOSITY terse
SELECT parmana.parmana_govern_refresh('sb_claims') AS refreshed_by_executor;

-- 5. Verification reads the table the same way, with row-level security off: a policy the owner
--    forces on itself would hide rows, so verification refuses until the owner stops forcing it.
\c - postgres
\set VERBOSITY terse
SELECT count(*) AS problems FROM parmana.parmana_govern_verify('sb_owner.claims');
\c - regress_sb_owner
ALTER TABLE sb_owner.claims NO FORCE ROW LEVEL SECURITY;
\c - postgres
\set VERBOSITY terse
SELECT count(*) AS problems FROM parmana.parmana_govern_verify('sb_owner.claims');
\c - regress_sb_exec
\set VERBOSITY terse
SELECT id, decision, state FROM sb_owner.claims ORDER BY id;

-- 6. Operators and functions in a schema the attacker owns, first on its search_path: parmana's
--    functions pin theirs, so none of these is ever called (no NOTICE).
\c - regress_sb_exec
\set VERBOSITY terse
CREATE SCHEMA sb_exec;
SELECT regress.spy_source('sb_exec') \gexec
CREATE FUNCTION sb_exec.text_eq(text, text) RETURNS boolean LANGUAGE sql AS $$ SELECT sb_exec.spy('operator =') AND $1 OPERATOR(pg_catalog.=) $2 $$;
CREATE OPERATOR sb_exec.= (LEFTARG = text, RIGHTARG = text, FUNCTION = sb_exec.text_eq);
CREATE FUNCTION sb_exec.lower(text) RETURNS text LANGUAGE sql AS $$ SELECT sb_exec.spy('lower')::text $$;
CREATE FUNCTION sb_exec.starts_with(text, text) RETURNS boolean LANGUAGE sql AS $$ SELECT sb_exec.spy('starts_with') $$;
CREATE FUNCTION sb_exec.to_jsonb(anyelement) RETURNS jsonb LANGUAGE sql AS $$ SELECT to_jsonb(sb_exec.spy('to_jsonb')) $$;
CREATE FUNCTION sb_exec.jsonb_build_object(VARIADIC text[]) RETURNS jsonb LANGUAGE sql AS $$ SELECT to_jsonb(sb_exec.spy('jsonb_build_object')) $$;
CREATE FUNCTION sb_exec.clock_timestamp() RETURNS timestamptz LANGUAGE sql AS $$ SELECT CASE WHEN sb_exec.spy('clock_timestamp') THEN now() END $$;
CREATE FUNCTION sb_exec.has_table_privilege(regclass, text) RETURNS boolean LANGUAGE sql AS $$ SELECT sb_exec.spy('has_table_privilege') $$;
CREATE FUNCTION sb_exec.pg_notify(text, text) RETURNS void LANGUAGE sql AS $$ SELECT NULL::void FROM (SELECT sb_exec.spy('pg_notify')) x $$;
CREATE FUNCTION sb_exec.parmana_execute(text, text, text, text) RETURNS jsonb LANGUAGE sql AS $$ SELECT to_jsonb(sb_exec.spy('parmana_execute')) $$;
SET search_path = sb_exec, public, parmana;
INSERT INTO sb_owner.claims (id, amount, risk_score, insurance_active, vip) VALUES (3, 300, 30, false, false);
SELECT parmana.parmana_execute('sb-direct', 'loan-approval', '1.0.0', '{"credit_score": 650, "loan_amount": 1}')->>'execution_state' AS qualified_call;
SELECT parmana.parmana_replay_reserve('sb-step') AS reserve, parmana.parmana_replay_start('sb-step') AS start;
RESET search_path;

-- 7. Temporary objects: a temp domain over jsonb whose CHECK calls a pg_temp function, a temp table
--    using it, governed by the admin (the first attack found), and temp look-alikes of parmana's names.
\c - regress_sb_admin
\set VERBOSITY terse
CREATE FUNCTION pg_temp.spy(vector text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE key text;
BEGIN
  BEGIN
    SELECT sum(length(private_key_pem))::text || ' bytes' INTO key FROM parmana.signing_key_secrets;
  EXCEPTION WHEN OTHERS THEN key := 'denied';
  END;
  RAISE NOTICE 'spy %: current_user=% session_user=% superuser=% key=%', vector, current_user, session_user,
    (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user), key;
  RETURN true;
END $$;
CREATE DOMAIN pg_temp.spying_jsonb AS jsonb CHECK (pg_temp.spy('temp domain check'));
CREATE TEMP TABLE temp_claims (id bigint PRIMARY KEY, amount integer, risk_score integer, insurance_active boolean,
  vip boolean, attestation pg_temp.spying_jsonb);
CREATE TEMP TABLE signing_key_secrets (key_id text, private_key_pem text);
CREATE TEMP TABLE governed_tables (name text);
INSERT INTO parmana.governed_tables
  (name, relation, policy_id, policy_version, execution_id_prefix, key_column, signals, attestation_column, on_reject)
SELECT 'temp_claims', 'pg_temp.temp_claims'::regclass, 'claims-approval', 'v1', 'tempclaim-', 'id',
  '{"claim_amount": {"column": "amount"}, "risk_score": {"column": "risk_score"}, "insurance_active": {"column": "insurance_active"}, "vip_customer": {"column": "vip"}}',
  'attestation', 'record';
CREATE TRIGGER temp_governed BEFORE INSERT ON temp_claims FOR EACH ROW EXECUTE FUNCTION parmana.parmana_govern('temp_claims');
-- The admin is no executor: refused, and the CHECK ran as the admin.
SELECT regress.err($$INSERT INTO temp_claims VALUES (1, 300, 30, true, false, '{}')$$) AS admin_inserts;
DELETE FROM parmana.governed_tables WHERE name = 'temp_claims';

-- 8. Nothing above read a key, and no parmana function is reachable through public.
\c - postgres
\set VERBOSITY terse
SELECT count(*) AS parmana_functions_outside_schema_parmana FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'parmana' WHERE p.pronamespace <> 'parmana'::regnamespace;
