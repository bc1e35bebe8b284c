-- A database owner who is not a superuser controls schema public and the database's settings,
-- but not schema parmana: it cannot plant a function that governance or the documented
-- (schema-qualified) calls resolve to, cannot drop the extension or its records by dropping or
-- renaming schemas, and cannot read keys.
\i tests/pg_regress/include/setup.sql
\set VERBOSITY terse
CALL regress.login_role('regress_dbo_owner');
CALL regress.login_role('regress_dbo_app', '{parmana_executor}');
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_dbo_db;
RESET client_min_messages;
CREATE DATABASE regress_dbo_db OWNER regress_dbo_owner;
\o /dev/null
SELECT current_database() AS home \gset
\o
\c regress_dbo_db postgres
\set VERBOSITY terse
CREATE EXTENSION parmana;
CREATE SCHEMA regress;
CREATE FUNCTION regress.err(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE sql;
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ' ' || coalesce(substring(SQLERRM from '^\[[^]]+\]'), SQLERRM);
END
$$;
GRANT USAGE ON SCHEMA regress TO PUBLIC;
\set loan `cat fixtures/policies/loan-approval-1.0.0.json`
SELECT parmana.parmana_register_policy(:'loan')->>'policyId' AS registered;
SELECT parmana.parmana_execute('dbo-1', 'loan-approval', '1.0.0', '{"credit_score": 720, "loan_amount": 1}')->>'execution_state' AS decided;

-- The owner replaces public with its own, full of look-alikes that would approve anything.
\c regress_dbo_db regress_dbo_owner
\set VERBOSITY terse
ALTER SCHEMA public RENAME TO public_before;
CREATE SCHEMA public;
GRANT USAGE ON SCHEMA public TO PUBLIC;
CREATE FUNCTION public.parmana_execute(text, text, text, jsonb) RETURNS jsonb LANGUAGE sql
  AS $$ SELECT '{"execution_state": "completed", "decision": {"action": "approve"}, "forged": true}'::jsonb $$;
CREATE FUNCTION public.parmana_execute(text, text, text, text) RETURNS jsonb LANGUAGE sql
  AS $$ SELECT '{"execution_state": "completed", "decision": {"action": "approve"}, "forged": true}'::jsonb $$;
CREATE FUNCTION public.parmana_verify(jsonb) RETURNS jsonb LANGUAGE sql AS $$ SELECT '{"valid": true, "forged": true}'::jsonb $$;
CREATE FUNCTION public.parmana_verify(jsonb, text) RETURNS jsonb LANGUAGE sql AS $$ SELECT '{"valid": true, "forged": true}'::jsonb $$;
ALTER DATABASE regress_dbo_db SET search_path = public, parmana;
-- What it cannot do: touch schema parmana, the extension, keys or superuser-only settings.
SELECT attempt, regress.err(sql) AS result FROM (VALUES
  ('drop schema parmana', $$DROP SCHEMA parmana CASCADE$$),
  ('rename schema parmana', $$ALTER SCHEMA parmana RENAME TO parmana_gone$$),
  ('drop the extension', $$DROP EXTENSION parmana$$),
  ('alter the extension', $$ALTER EXTENSION parmana UPDATE$$),
  ('create in schema parmana', $$CREATE FUNCTION parmana.parmana_verify(jsonb, integer) RETURNS jsonb LANGUAGE sql AS 'SELECT NULL::jsonb'$$),
  ('replace a parmana function', $$CREATE OR REPLACE FUNCTION parmana.parmana_verify(jsonb, text) RETURNS jsonb LANGUAGE sql AS 'SELECT NULL::jsonb'$$),
  ('read private keys', $$SELECT private_key_pem FROM parmana.signing_key_secrets$$),
  ('delete attestations', $$DELETE FROM parmana.attestations$$),
  ('disable triggers by setting', $$ALTER DATABASE regress_dbo_db SET session_replication_role = replica$$),
  ('lift a limit by setting', $$ALTER DATABASE regress_dbo_db SET parmana.max_signals_bytes = 100000000$$),
  ('revoke usage on schema parmana', $$REVOKE USAGE ON SCHEMA parmana FROM PUBLIC$$),
  ('grant itself parmana_admin', $$GRANT parmana_admin TO regress_dbo_owner$$),
  ('an event trigger', $$CREATE EVENT TRIGGER spy ON ddl_command_start EXECUTE FUNCTION pg_catalog.pg_event_trigger_dropped_objects()$$)
) AS t(attempt, sql);
SELECT has_schema_privilege('public', 'parmana', 'USAGE') AS public_still_uses_parmana;
-- It may drop public, with everything in it: governance lives elsewhere.
DROP SCHEMA public_before CASCADE;

-- A new session gets the owner's search_path, public first. The documented calls are qualified:
-- they reach parmana's functions, and so does the governed table's trigger.
\c regress_dbo_db regress_dbo_app
\set VERBOSITY terse
SHOW search_path;
-- An unqualified call follows the owner's search_path into the planted function: the reason the
-- documentation calls parmana.parmana_execute(...) qualified.
SELECT parmana_execute('dbo-unqualified', 'loan-approval', '1.0.0', '{"credit_score": 720, "loan_amount": 1}') ? 'forged' AS unqualified_call_is_hijacked;
SELECT a ? 'forged' AS forged, a->>'execution_state' AS state, parmana.parmana_verify(a)->>'valid' AS really_valid
FROM parmana.parmana_execute('dbo-2', 'loan-approval', '1.0.0', '{"credit_score": 400, "loan_amount": 1}') a;
\c regress_dbo_db postgres
\set VERBOSITY terse
CREATE TABLE regress.loans (id bigint PRIMARY KEY, credit_score int NOT NULL, amount int NOT NULL, decision text, attestation jsonb);
INSERT INTO parmana.governed_tables (name, relation, policy_id, policy_version, execution_id_prefix, key_column, signals, attestation_column, action_column, on_reject)
VALUES ('loans', 'regress.loans', 'loan-approval', '1.0.0', 'dboloan-', 'id',
  '{"credit_score": {"column": "credit_score"}, "loan_amount": {"column": "amount"}}', 'attestation', 'decision', 'record');
CREATE TRIGGER loans_governed BEFORE INSERT OR UPDATE ON regress.loans FOR EACH ROW EXECUTE FUNCTION parmana.parmana_govern('loans');
GRANT INSERT, SELECT ON regress.loans TO regress_dbo_app;
\c regress_dbo_db regress_dbo_app
\set VERBOSITY terse
INSERT INTO regress.loans (id, credit_score, amount) VALUES (1, 400, 10);
SELECT id, decision, attestation ? 'forged' AS forged, parmana.parmana_verify(attestation)->>'valid' AS valid FROM regress.loans;

-- The owner dropping public (and everything it planted) leaves the extension and every record.
\c regress_dbo_db regress_dbo_owner
\set VERBOSITY terse
DROP SCHEMA public CASCADE;
\c regress_dbo_db postgres
\set VERBOSITY terse
SELECT extname, extnamespace::regnamespace FROM pg_extension WHERE extname = 'parmana';
SELECT count(*) AS attestations, bool_and((parmana.parmana_verify(attestation)->>'valid')::boolean) AS all_valid FROM parmana.attestations;
SELECT count(*) AS problems FROM parmana.parmana_audit_verify();
\c :home postgres
SET client_min_messages = warning;
DROP DATABASE regress_dbo_db;
