-- Attacks by roles parmana does not trust (table owners, executors, reviewers, auditors), each
-- replayed as its attacker would run it, with the outcome parmana guarantees:
--   1. a caller's temporary table cannot take over a table's trigger during refresh;
--   2. code on a user's table cannot act under the session's identity inside refresh;
--   3. a table owner's trigger cannot review or step ids as the role writing the table;
--   4. a governed table's owner cannot resolve the decisions its table produced;
--   5. row-level security cannot hide rows from verification;
--   6. refresh touches only the governed table, never an inheritance child;
--   7. an operator on the caller's search_path is never used by parmana_verify.
\i tests/pg_regress/include/setup.sql
\set VERBOSITY terse
CALL regress.login_role('regress_hr_owner', '{parmana_executor,parmana_approver}');
CALL regress.login_role('regress_hr_exec', '{parmana_executor}');
CALL regress.login_role('regress_hr_clerk', '{parmana_executor,parmana_approver}');
CALL regress.login_role('regress_hr_reviewer', '{parmana_approver}');
CALL regress.login_role('regress_hr_auditor', '{parmana_auditor}');
DO $$ BEGIN
  EXECUTE format('GRANT CREATE, TEMPORARY ON DATABASE %I TO regress_hr_owner, regress_hr_exec, regress_hr_auditor', current_database());
END $$;
-- Whose rights a piece of code has, announced when it runs.
CREATE FUNCTION regress.whoami(what text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  RAISE NOTICE '% runs as % (superuser: %)', what, current_user,
    (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user);
  RETURN true;
END $$;
GRANT EXECUTE ON FUNCTION regress.whoami(text) TO PUBLIC;

-- A table owned by a superuser, with an ordinary logging trigger that names its log table without
-- a schema, and one owned by a non-superuser. Both governed by the claims policy.
CREATE TABLE public.su_claims (id bigint PRIMARY KEY, amount integer NOT NULL, risk_score integer NOT NULL,
  insurance_active boolean NOT NULL, vip boolean NOT NULL, decision text, state text, attestation jsonb);
CREATE TABLE public.su_claims_log (id bigint, state text);
CREATE FUNCTION public.su_claims_log() RETURNS trigger LANGUAGE plpgsql AS
  $$BEGIN INSERT INTO su_claims_log VALUES (NEW.id, NEW.state); RETURN NEW; END$$;
CREATE TRIGGER su_claims_log AFTER UPDATE ON public.su_claims FOR EACH ROW EXECUTE FUNCTION public.su_claims_log();
GRANT SELECT, INSERT, UPDATE ON public.su_claims TO regress_hr_exec, regress_hr_reviewer;
GRANT INSERT ON public.su_claims_log TO regress_hr_exec, regress_hr_reviewer;
INSERT INTO parmana.governed_tables
  (name, relation, policy_id, policy_version, execution_id_prefix, key_column, signals, attestation_column, action_column, state_column, on_reject)
VALUES ('su_claims', 'public.su_claims', 'claims-approval', 'v1', 'suclaim-', 'id',
  '{"claim_amount": {"column": "amount"}, "risk_score": {"column": "risk_score"}, "insurance_active": {"column": "insurance_active"}, "vip_customer": {"column": "vip"}}',
  'attestation', 'decision', 'state', 'record');
CREATE TRIGGER su_claims_governed BEFORE INSERT OR UPDATE ON public.su_claims
  FOR EACH ROW EXECUTE FUNCTION parmana.parmana_govern('su_claims');

\c - regress_hr_owner
\set VERBOSITY terse
CREATE SCHEMA hr;
GRANT USAGE ON SCHEMA hr TO PUBLIC;
CREATE TABLE hr.claims (id bigint PRIMARY KEY, amount integer NOT NULL, risk_score integer NOT NULL,
  insurance_active boolean NOT NULL, vip boolean NOT NULL, decision text, state text, attestation jsonb);
GRANT SELECT, INSERT, UPDATE ON hr.claims TO regress_hr_exec, regress_hr_clerk, regress_hr_reviewer, regress_hr_auditor;
\c - postgres
\set VERBOSITY terse
INSERT INTO parmana.governed_tables
  (name, relation, policy_id, policy_version, execution_id_prefix, key_column, signals, attestation_column, action_column, state_column, on_reject)
VALUES ('hr_claims', 'hr.claims', 'claims-approval', 'v1', 'hrclaim-', 'id',
  '{"claim_amount": {"column": "amount"}, "risk_score": {"column": "risk_score"}, "insurance_active": {"column": "insurance_active"}, "vip_customer": {"column": "vip"}}',
  'attestation', 'decision', 'state', 'record');
\c - regress_hr_owner
\set VERBOSITY terse
CREATE TRIGGER claims_governed BEFORE INSERT OR UPDATE ON hr.claims
  FOR EACH ROW EXECUTE FUNCTION parmana.parmana_govern('hr_claims');

-- Pending decisions to refresh: risk 30, no insurance, not VIP needs review.
\c - regress_hr_exec
\set VERBOSITY terse
INSERT INTO public.su_claims (id, amount, risk_score, insurance_active, vip) VALUES (1, 300, 30, false, false);
\c - regress_hr_reviewer
\set VERBOSITY terse
SELECT parmana.parmana_override('suclaim-1', true, 'Reviewer', 'parmana_approver', 'checked')->>'status' AS review;

-- 1. The executor plants a temporary table under the log table's name, with a trigger that would
--    make it superuser, and refreshes: refresh runs with the executor's own rights, so its trigger
--    runs as the executor and the ALTER ROLE fails.
\c - regress_hr_exec
\set VERBOSITY terse
CREATE FUNCTION pg_temp.escalate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM regress.whoami('temp table trigger');
  EXECUTE 'ALTER ROLE regress_hr_exec SUPERUSER';
  RETURN NULL;
END $$;
CREATE TEMP TABLE su_claims_log (id bigint, state text);
CREATE TRIGGER escalate BEFORE INSERT ON pg_temp.su_claims_log FOR EACH ROW EXECUTE FUNCTION pg_temp.escalate();
SELECT regress.err($$SELECT parmana.parmana_govern_refresh('su_claims')$$) AS refresh_with_planted_temp_table;
DROP TABLE pg_temp.su_claims_log;
SELECT rolsuper AS executor_became_superuser FROM pg_roles WHERE rolname = 'regress_hr_exec';
-- Without the plant, the executor's refresh works: its rights, the table's own log trigger.
SELECT regress.err($$SELECT parmana.parmana_govern_refresh('su_claims')$$) AS refresh_without_plant;
\c - postgres
\set VERBOSITY terse
SELECT id, decision, state FROM public.su_claims;

-- 2. The owner's trigger tries to act as whoever refreshes. Inside refresh (a restricted
--    operation) nothing records a login: AUTH-006, and the refresh fails whole.
\c - regress_hr_owner
\set VERBOSITY terse
CREATE FUNCTION hr.act_as_refresher() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM regress.whoami('owner trigger during refresh');
  PERFORM parmana.parmana_execute('hr-by-refresher', 'loan-approval', '1.0.0', '{"credit_score": 650, "loan_amount": 5}');
  RETURN NEW;
END $$;
CREATE TRIGGER act_as_refresher AFTER UPDATE ON hr.claims FOR EACH ROW EXECUTE FUNCTION hr.act_as_refresher();
\c - regress_hr_exec
\set VERBOSITY terse
INSERT INTO hr.claims (id, amount, risk_score, insurance_active, vip) VALUES (1, 300, 30, false, false);
\c - regress_hr_reviewer
\set VERBOSITY terse
SELECT parmana.parmana_override('hrclaim-1', true, 'Reviewer', 'parmana_approver', 'checked')->>'status' AS review;
\c - postgres
\set VERBOSITY terse
SELECT regress.err($$SELECT parmana.parmana_govern_refresh('hr_claims')$$) AS refresh_by_superuser;
\c - regress_hr_clerk
\set VERBOSITY terse
SELECT regress.err($$SELECT parmana.parmana_govern_refresh('hr_claims')$$) AS refresh_by_clerk;
SELECT count(*) AS decided_as_refresher FROM parmana.pending_overrides WHERE execution_id = 'hr-by-refresher';
\c - regress_hr_owner
DROP TRIGGER act_as_refresher ON hr.claims;

-- 3. The owner's trigger runs as whoever inserts. Reviews and replay steps are refused there
--    (AUTH-007); a decision is not, but see 4.
\c - regress_hr_owner
\set VERBOSITY terse
CREATE FUNCTION hr.act_as_writer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM regress.whoami('owner trigger during insert');
  PERFORM parmana.parmana_execute('hrclaim-self-' || NEW.id, 'claims-approval', 'v1',
    '{"claim_amount": 5, "risk_score": 30, "insurance_active": false, "vip_customer": false}');
  IF NEW.id = 3 THEN PERFORM parmana.parmana_replay_reserve('hr-step-' || NEW.id); END IF;
  IF NEW.id = 4 THEN PERFORM parmana.parmana_replay_fail('hr-step-1'); END IF;
  IF NEW.id = 5 THEN
    PERFORM parmana.parmana_override('hrclaim-1', true, 'Owner', 'parmana_approver', 'self-approved');
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER act_as_writer AFTER INSERT ON hr.claims FOR EACH ROW EXECUTE FUNCTION hr.act_as_writer();
\c - regress_hr_exec
\set VERBOSITY terse
SELECT parmana.parmana_replay_reserve('hr-step-1') AS executor_reserves;
SELECT regress.err($$INSERT INTO hr.claims (id, amount, risk_score, insurance_active, vip) VALUES (2, 300, 30, false, false)$$) AS decision_in_trigger,
       regress.err($$INSERT INTO hr.claims (id, amount, risk_score, insurance_active, vip) VALUES (3, 300, 30, false, false)$$) AS reserve_in_trigger,
       regress.err($$INSERT INTO hr.claims (id, amount, risk_score, insurance_active, vip) VALUES (4, 300, 30, false, false)$$) AS step_in_trigger;
SELECT parmana.parmana_replay_state('hr-step-1') AS executor_reservation_untouched;
-- A clerk who also reviews inserts: the trigger cannot approve as the clerk.
\c - regress_hr_clerk
\set VERBOSITY terse
SELECT regress.err($$INSERT INTO hr.claims (id, amount, risk_score, insurance_active, vip) VALUES (5, 300, 30, false, false)$$) AS review_in_trigger;
SELECT resolution_status FROM parmana.overrides WHERE execution_id = 'hrclaim-1';
\c - regress_hr_owner
DROP TRIGGER act_as_writer ON hr.claims;

-- 4. The owner holds parmana_approver, yet resolves no decision of its own table: its triggers
--    ran as every writer, so it could have made them (AUTH-003). Another reviewer can.
\c - regress_hr_owner
\set VERBOSITY terse
SELECT regress.err($$SELECT parmana.parmana_override('hrclaim-self-2', true, 'Owner', 'parmana_approver', 'fine')$$) AS owner_resolves_planted,
       regress.err($$SELECT parmana.parmana_override('hrclaim-2', true, 'Owner', 'parmana_approver', 'fine')$$) AS owner_resolves_row;
\c - regress_hr_reviewer
\set VERBOSITY terse
SELECT parmana.parmana_override('hrclaim-2', true, 'Reviewer', 'parmana_approver', 'checked')->>'status' AS other_reviewer;

-- 5. The owner tampers with a row and hides it behind a policy it forces on itself, and the
--    auditor is confined by its own policy: verification refuses instead of reporting a clean
--    table, for a superuser (reading as the owner) and for the auditor.
\c - regress_hr_owner
\set VERBOSITY terse
UPDATE hr.claims SET decision = 'approve' WHERE id = 1;
ALTER TABLE hr.claims ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY others_see_all ON hr.claims USING (true);
CREATE POLICY owner_hides ON hr.claims AS RESTRICTIVE FOR SELECT TO regress_hr_owner USING (id <> 1);
CREATE POLICY auditor_sees_little ON hr.claims AS RESTRICTIVE FOR SELECT TO regress_hr_auditor USING (id > 100);
\c - postgres
\set VERBOSITY terse
SELECT regress.err($$SELECT count(*) FROM parmana.parmana_govern_verify('hr.claims')$$) AS verify_as_superuser;
\c - regress_hr_auditor
\set VERBOSITY terse
SELECT regress.err($$SELECT count(*) FROM parmana.parmana_govern_verify('hr.claims')$$) AS verify_as_auditor;
\c - regress_hr_owner
ALTER TABLE hr.claims NO FORCE ROW LEVEL SECURITY;
\c - postgres
\set VERBOSITY terse
SELECT key, problem FROM parmana.parmana_govern_verify('hr.claims') ORDER BY key, problem;

-- 6. An inheritance child of a governed table, with a row whose key matches a pending one:
--    refresh updates only the governed table.
CREATE TABLE public.su_claims_archive () INHERITS (public.su_claims);
ALTER TABLE public.su_claims_archive DISABLE TRIGGER USER;
INSERT INTO public.su_claims_archive (id, amount, risk_score, insurance_active, vip, decision, state)
  VALUES (2, 1, 99, true, false, 'reject', 'pending_override');
\c - regress_hr_exec
\set VERBOSITY terse
INSERT INTO public.su_claims (id, amount, risk_score, insurance_active, vip) VALUES (2, 300, 30, false, false);
\c - regress_hr_reviewer
\set VERBOSITY terse
SELECT parmana.parmana_override('suclaim-2', true, 'Reviewer', 'parmana_approver', 'checked')->>'status' AS review;
SELECT parmana.parmana_govern_refresh('su_claims') AS refreshed;
\c - postgres
SELECT tableoid::regclass AS held_in, id, decision, state FROM public.su_claims WHERE id = 2 ORDER BY 1;

-- 7. An operator in a schema the auditor owns, put first on the database's search_path by its
--    owner: a superuser's bulk parmana_verify(jsonb) never calls it.
\c - regress_hr_auditor
\set VERBOSITY terse
CREATE SCHEMA hr_auditor;
GRANT USAGE ON SCHEMA hr_auditor TO PUBLIC;
CREATE FUNCTION hr_auditor.text_eq(text, text) RETURNS boolean LANGUAGE sql AS
  $$ SELECT regress.whoami('planted operator =') AND $1 OPERATOR(pg_catalog.=) $2 $$;
CREATE OPERATOR hr_auditor.= (LEFTARG = text, RIGHTARG = text, FUNCTION = hr_auditor.text_eq);
\c - postgres
\set VERBOSITY terse
SET search_path = hr_auditor, pg_catalog, public;
SELECT count(*) FILTER (WHERE (parmana.parmana_verify(attestation)->>'valid')::boolean) AS verified
FROM parmana.attestations;
RESET search_path;
