-- The review workflow: pending rows, approval and rejection, signed records that verify, and
-- authority checked against who the caller really is (logins and role membership, never typed
-- names), with separate non-superuser logins.
\i tests/pg_regress/include/setup.sql
\set VERBOSITY sqlstate
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'regress_credit_officer') THEN CREATE ROLE regress_credit_officer; END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'regress_risk_manager') THEN CREATE ROLE regress_risk_manager; END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'regress_teller') THEN CREATE ROLE regress_teller; END IF;
END $$;
CALL regress.login_role('regress_ov_exec', '{parmana_executor}');
CALL regress.login_role('regress_ov_jane', '{parmana_approver,regress_credit_officer}');
CALL regress.login_role('regress_ov_bob', '{parmana_approver,regress_credit_officer}');
CALL regress.login_role('regress_ov_rita', '{parmana_approver,regress_risk_manager}');
CALL regress.login_role('regress_ov_both', '{parmana_executor,parmana_approver,regress_credit_officer}');
CALL regress.login_role('regress_ov_granted', '{regress_credit_officer}');
GRANT EXECUTE ON FUNCTION parmana.parmana_override(text, boolean, text, text, text) TO regress_ov_granted;
SELECT parmana.parmana_execute('loan-720', 'loan-approval', '1.0.0', '{"credit_score": 720, "loan_amount": 1}')->>'execution_state' AS completed;

-- Decisions that need a human, executed by the application login.
\c - regress_ov_exec
\set VERBOSITY sqlstate
SELECT id, parmana.parmana_execute(id, 'loan-approval', '1.0.0', '{"credit_score": 650, "loan_amount": 9000}')->>'execution_state' AS state
FROM unnest(ARRAY['ov-approve', 'ov-reject', 'ov-authority', 'ov-race']) id;
\c - postgres
\set VERBOSITY sqlstate

-- They are parked, queued and visible in the view, with who executed.
SELECT execution_id, policy_id, policy_version, action, reason, requested_by, requested_login
FROM parmana.pending_overrides WHERE execution_id LIKE 'ov-%' ORDER BY execution_id;
SELECT execution_id, state, parked FROM parmana.replay_state WHERE execution_id LIKE 'ov-%' ORDER BY execution_id;

-- Approve: a signed override record, a completed resolution attestation, OVERRIDDEN; both name
-- the login that decided.
\c - regress_ov_jane
\set VERBOSITY sqlstate
SELECT r->>'status' AS status, r->>'executionId' AS execution_id,
       r->>'overrideId' ~ '^[0-9a-f]{64}$' AS override_id_is_sha256,
       r->'override'->>'overrideId' = r->>'overrideId' AS record_carries_id,
       r->'resolution'->>'overrideId' = r->>'overrideId' AS resolution_carries_id,
       r->'resolution'->>'execution_state' AS resolution_state,
       r->'resolution'->>'resolvedByLogin' AS resolution_login,
       r->'resolution'->'decision'->>'action' AS original_action,
       r->'override'->>'approved' AS approved, r->'override'->>'approvedBy' AS approved_by,
       r->'override'->>'approverRole' AS approver_role, r->'override'->>'reason' AS reason,
       r->'override'->>'resolvedBy' AS resolved_by, r->'override'->>'resolvedByLogin' AS resolved_by_login
FROM parmana.parmana_override('ov-approve', true, 'Jane Reviewer', 'regress_credit_officer', 'documents verified by phone') r;
\c - postgres
\set VERBOSITY sqlstate
SELECT parmana.parmana_replay_state('ov-approve') AS state, parmana.parmana_replay_has_executed('ov-approve') AS executed;
SELECT resolution_status, approved_by, approver_role, resolution_reason, resolved_by, resolved_login, override_id IS NOT NULL AS has_id
FROM parmana.overrides WHERE execution_id = 'ov-approve';
SELECT kind, action, execution_state, db_user, db_login, override_id IS NOT NULL AS has_override_id
FROM parmana.attestations WHERE execution_id = 'ov-approve' ORDER BY id;
SELECT count(*) AS still_pending FROM parmana.pending_overrides WHERE execution_id = 'ov-approve';

-- The record and the resolution verify (tests/python checks them with stock tools).
SELECT parmana.parmana_verify(o.override_record) AS record, parmana.parmana_verify(a.attestation) AS resolution,
       parmana.parmana_verify(o.override_record, parmana.parmana_public_key())->>'valid' AS record_explicit_key
FROM parmana.overrides o JOIN parmana.attestations a ON a.id = o.resolution_attestation_id WHERE o.execution_id = 'ov-approve';
-- Tampering with the record, its id or the named login fails.
SELECT parmana.parmana_verify(jsonb_set(override_record, '{approved}', 'false'))->>'reason' AS flipped_approved,
       parmana.parmana_verify(jsonb_set(override_record, '{approverRole}', '"teller"'))->>'reason' AS changed_role,
       parmana.parmana_verify(jsonb_set(override_record, '{resolvedByLogin}', '"someone_else"'))->>'valid' AS changed_login,
       parmana.parmana_verify(jsonb_set(override_record, '{overrideId}', to_jsonb(repeat('0', 64))))->>'valid' AS changed_id
FROM parmana.overrides WHERE execution_id = 'ov-approve';
SELECT e->>'payloadType' AS override_dsse_type FROM parmana.overrides, parmana.parmana_dsse(override_record) e WHERE execution_id = 'ov-approve';

-- Already resolved: SYS-026, whichever way the second reviewer decides.
\c - regress_ov_bob
\set VERBOSITY sqlstate
SELECT regress.err($$SELECT parmana.parmana_override('ov-approve', true, 'Bob', 'regress_credit_officer', 'again')$$) AS approve_again,
       regress.err($$SELECT parmana.parmana_override('ov-approve', false, 'Bob', 'regress_credit_officer', 'too late')$$) AS reject_after;

-- Reject: signed record, blocked attestation, terminal REJECTED.
SELECT r->>'status' AS status, r->'resolution'->>'execution_state' AS resolution_state, r->'override'->>'approved' AS approved
FROM parmana.parmana_override('ov-reject', false, 'Bob', 'regress_credit_officer', 'income could not be verified') r;
\c - postgres
\set VERBOSITY sqlstate
SELECT parmana.parmana_replay_state('ov-reject') AS state, parmana.parmana_replay_has_executed('ov-reject') AS executed;
SELECT bool_and((parmana.parmana_verify(attestation)->>'valid')::boolean) AS all_valid FROM parmana.attestations WHERE execution_id = 'ov-reject';
SELECT regress.err($$SELECT parmana.parmana_execute('ov-reject', 'loan-approval', '1.0.0', '{"credit_score": 720, "loan_amount": 1}')$$) AS execute_rejected;
SELECT regress.err($$SELECT parmana.parmana_replay_reserve('ov-reject')$$) AS reserve_rejected;

-- Nothing pending: SYS-021 for unknown ids and for decisions that never needed review.
\c - regress_ov_jane
\set VERBOSITY sqlstate
SELECT regress.err($$SELECT parmana.parmana_override('no-such-id', true, 'a', 'regress_credit_officer', 'c')$$) AS unknown_id,
       regress.err($$SELECT parmana.parmana_override('loan-720', true, 'a', 'regress_credit_officer', 'c')$$) AS completed_id;
-- All five arguments are required; approved_by is a printable, non-blank label.
SELECT regress.err($$SELECT parmana.parmana_override(NULL, true, 'a', 'regress_credit_officer', 'c')$$) AS null_id,
       regress.err($$SELECT parmana.parmana_override('ov-race', NULL, 'a', 'regress_credit_officer', 'c')$$) AS null_approved,
       regress.err($$SELECT parmana.parmana_override('ov-race', true, NULL, 'regress_credit_officer', 'c')$$) AS null_approved_by,
       regress.err($$SELECT parmana.parmana_override('ov-race', true, 'a', NULL, 'c')$$) AS null_role,
       regress.err($$SELECT parmana.parmana_override('ov-race', true, 'a', 'regress_credit_officer', '')$$) AS empty_reason;
SELECT input, regress.err(format('SELECT parmana.parmana_override(%L, true, %L, %L, %L)', 'ov-race', approved_by, 'regress_credit_officer', 'c')) AS result
FROM (VALUES ('blank', '   '), ('zero-width space', U&'\200B'), ('right-to-left override', U&'Jane \202E'), ('newline', E'Jane\nDoe'),
             ('257 characters', repeat('j', 257)), ('decomposed é', U&'Rene\0301')) AS t(input, approved_by);

-- Authority 1: the caller must be a member of parmana_approver (EXECUTE alone is not enough).
\c - regress_ov_exec
\set VERBOSITY sqlstate
SELECT regress.err($$SELECT parmana.parmana_override('ov-race', true, 'a', 'regress_credit_officer', 'c')$$) AS executor_overrides;
\c - regress_ov_granted
\set VERBOSITY sqlstate
SELECT regress.err($$SELECT parmana.parmana_override('ov-race', true, 'a', 'regress_credit_officer', 'c')$$) AS granted_but_not_approver;

-- Authority 2: approver_role must be a role the login really belongs to, and one the policy's
-- authorities list when it lists any. Typing a listed name is not enough.
\c - postgres
\set VERBOSITY sqlstate
INSERT INTO parmana.override_authorities VALUES ('loan-approval', 'regress_credit_officer'), ('loan-approval', 'regress_risk_manager');
\c - regress_ov_jane
\set VERBOSITY sqlstate
SELECT regress.err($$SELECT parmana.parmana_override('ov-authority', true, 'Jane', 'regress_risk_manager', 'typing a listed role')$$) AS not_a_member,
       regress.err($$SELECT parmana.parmana_override('ov-authority', true, 'Jane', 'no_such_role', 'typing a made-up role')$$) AS no_such_role,
       regress.err($$SELECT parmana.parmana_override('ov-authority', true, 'Jane', 'parmana_approver', 'a role I have, not listed')$$) AS member_not_listed;
\set VERBOSITY default
SELECT parmana.parmana_override('ov-authority', true, 'Jane', 'regress_teller', 'x');
\set VERBOSITY sqlstate
\c - regress_ov_rita
\set VERBOSITY sqlstate
SELECT parmana.parmana_override('ov-authority', true, 'Rita', 'regress_risk_manager', 'within appetite')->>'status' AS listed_and_member;

-- Authority 3: separation of duties compares logins, whatever SET ROLE says: a login holding both
-- roles may not approve what it executed, in either order.
\c - regress_ov_both
\set VERBOSITY sqlstate
SET ROLE parmana_executor;
SELECT parmana.parmana_execute('ov-sod', 'loan-approval', '1.0.0', '{"credit_score": 650, "loan_amount": 1}')->>'execution_state' AS executed_as_executor;
RESET ROLE;
SET ROLE parmana_approver;
SELECT regress.err($$SELECT parmana.parmana_override('ov-sod', true, 'self', 'regress_credit_officer', 'approving my own')$$) AS self_approval_via_set_role;
RESET ROLE;
SELECT regress.err($$SELECT parmana.parmana_override('ov-sod', true, 'self', 'regress_credit_officer', 'approving my own')$$) AS self_approval;
\c - regress_ov_jane
\set VERBOSITY sqlstate
SELECT parmana.parmana_override('ov-sod', true, 'Jane', 'regress_credit_officer', 'independent review')->>'status' AS other_reviewer;

-- Refused attempts changed nothing.
\c - postgres
\set VERBOSITY sqlstate
SELECT execution_id, resolution_status, requested_login, resolved_login FROM parmana.overrides WHERE execution_id LIKE 'ov-%' ORDER BY execution_id;
SELECT count(*) AS resolutions FROM parmana.attestations WHERE kind = 'resolution';

-- Who could approve, then and now: every change to the authorities is kept with who made it.
DELETE FROM parmana.override_authorities WHERE approver_role = 'regress_risk_manager';
SELECT policy_id, approver_role, valid_to IS NULL AS still_listed, listed_by_login, unlisted_by_login
FROM parmana.override_authorities_history WHERE policy_id = 'loan-approval' ORDER BY approver_role;
SELECT approver_role FROM parmana.override_authorities WHERE policy_id = 'loan-approval';
SELECT regress.err($$UPDATE parmana.override_authorities SET approver_role = 'regress_teller'$$) AS update_refused,
       regress.err($$INSERT INTO parmana.override_authorities VALUES ('loan-approval', 'no_such_role')$$) AS unknown_role,
       regress.err($$DELETE FROM parmana.override_authority_versions$$) AS history_is_append_only;
