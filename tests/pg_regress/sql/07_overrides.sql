-- The override workflow (SPEC §9): pending rows, approval and rejection, signed records that
-- verify, and the authority rules, with separate non-superuser roles.
\set VERBOSITY sqlstate

SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_exec, regress_reviewer, regress_both, regress_granted;
RESET client_min_messages;
CREATE ROLE regress_exec LOGIN IN ROLE parmana_executor;
CREATE ROLE regress_reviewer LOGIN IN ROLE parmana_approver;
CREATE ROLE regress_both LOGIN IN ROLE parmana_executor, parmana_approver;
CREATE ROLE regress_granted LOGIN;

-- Decisions that need a human, executed by the application role.
SET ROLE regress_exec;
SELECT id, parmana_execute(id, 'loan-approval', '1.0.0', '{"credit_score": 650, "loan_amount": 9000}')->>'execution_state' AS state
FROM unnest(ARRAY['ov-approve', 'ov-reject', 'ov-authority', 'ov-race']) id;
RESET ROLE;

-- They are parked, queued and visible in the view.
SELECT execution_id, policy_id, policy_version, action, reason, requested_by
FROM parmana.pending_overrides WHERE execution_id LIKE 'ov-%' ORDER BY execution_id;
SELECT execution_id, state, parked FROM parmana.replay_state WHERE execution_id LIKE 'ov-%' ORDER BY execution_id;

-- Approve: a signed override record, a completed resolution attestation, OVERRIDDEN.
SET ROLE regress_reviewer;
SELECT r->>'status' AS status, r->>'executionId' AS execution_id,
       r->>'overrideId' ~ '^[0-9a-f]{64}$' AS override_id_is_sha256,
       r->'override'->>'overrideId' = r->>'overrideId' AS record_carries_id,
       r->'resolution'->>'overrideId' = r->>'overrideId' AS resolution_carries_id,
       r->'resolution'->>'execution_state' AS resolution_state,
       r->'resolution'->'decision'->>'action' AS original_action,
       r->'override'->>'approved' AS approved, r->'override'->>'approvedBy' AS approved_by,
       r->'override'->>'approverRole' AS approver_role, r->'override'->>'reason' AS reason,
       r->'override'->>'resolvedBy' AS resolved_by
FROM parmana_override('ov-approve', true, 'jane.reviewer', 'credit_officer', 'documents verified by phone') r;
RESET ROLE;
SELECT parmana_replay_state('ov-approve') AS state, parmana_replay_has_executed('ov-approve') AS executed;
SELECT resolution_status, approved_by, approver_role, resolution_reason, resolved_by, override_id IS NOT NULL AS has_id
FROM parmana.overrides WHERE execution_id = 'ov-approve';
SELECT kind, action, execution_state, db_user, override_id IS NOT NULL AS has_override_id
FROM parmana.attestations WHERE execution_id = 'ov-approve' ORDER BY id;
SELECT count(*) AS still_pending FROM parmana.pending_overrides WHERE execution_id = 'ov-approve';

-- The record and the resolution verify (tests/python checks pendingAttestationHash independently).
SELECT parmana_verify(o.override_record) AS record, parmana_verify(a.attestation) AS resolution,
       parmana_verify(o.override_record, parmana_public_key())->>'valid' AS record_explicit_key
FROM parmana.overrides o JOIN parmana.attestations a ON a.id = o.resolution_attestation_id WHERE o.execution_id = 'ov-approve';
-- Tampering with the record or its id fails.
SELECT parmana_verify(jsonb_set(override_record, '{approved}', 'false'))->>'reason' AS flipped_approved,
       parmana_verify(jsonb_set(override_record, '{approverRole}', '"teller"'))->>'reason' AS changed_role,
       parmana_verify(jsonb_set(override_record, '{overrideId}', to_jsonb(repeat('0', 64))))->>'valid' AS changed_id
FROM parmana.overrides WHERE execution_id = 'ov-approve';
SELECT e->>'payloadType' AS override_dsse_type FROM parmana.overrides, parmana_dsse(override_record) e WHERE execution_id = 'ov-approve';

-- Already resolved: SYS-026, whichever way the second reviewer decides.
SET ROLE regress_reviewer;
SELECT regress.err($$SELECT parmana_override('ov-approve', true, 'jane.reviewer', 'credit_officer', 'again')$$) AS approve_again,
       regress.err($$SELECT parmana_override('ov-approve', false, 'bob.reviewer', 'credit_officer', 'too late')$$) AS reject_after;

-- Reject: signed record, blocked attestation, terminal REJECTED.
SELECT r->>'status' AS status, r->'resolution'->>'execution_state' AS resolution_state, r->'override'->>'approved' AS approved
FROM parmana_override('ov-reject', false, 'bob.reviewer', 'credit_officer', 'income could not be verified') r;
RESET ROLE;
SELECT parmana_replay_state('ov-reject') AS state, parmana_replay_has_executed('ov-reject') AS executed;
SELECT bool_and((parmana_verify(attestation)->>'valid')::boolean) AS all_valid FROM parmana.attestations WHERE execution_id = 'ov-reject';
SELECT regress.err($$SELECT parmana_execute('ov-reject', 'loan-approval', '1.0.0', '{"credit_score": 720, "loan_amount": 1}')$$) AS execute_rejected;
SELECT regress.err($$SELECT parmana_replay_reserve('ov-reject')$$) AS reserve_rejected;

-- Nothing pending: SYS-021 for unknown ids and for decisions that never needed review.
SET ROLE regress_reviewer;
SELECT regress.err($$SELECT parmana_override('no-such-id', true, 'a', 'b', 'c')$$) AS unknown_id,
       regress.err($$SELECT parmana_override('loan-720', true, 'a', 'b', 'c')$$) AS completed_id;
-- All five arguments are required.
SELECT regress.err($$SELECT parmana_override(NULL, true, 'a', 'b', 'c')$$) AS null_id,
       regress.err($$SELECT parmana_override('ov-race', NULL, 'a', 'b', 'c')$$) AS null_approved,
       regress.err($$SELECT parmana_override('ov-race', true, NULL, 'b', 'c')$$) AS null_approved_by,
       regress.err($$SELECT parmana_override('ov-race', true, 'a', ' ', 'c')$$) AS blank_role,
       regress.err($$SELECT parmana_override('ov-race', true, 'a', 'b', '')$$) AS empty_reason;
RESET ROLE;

-- Authority 1: only parmana_approver may resolve (EXECUTE is not enough on its own).
SET ROLE regress_exec;
SELECT regress.err($$SELECT parmana_override('ov-race', true, 'a', 'credit_officer', 'c')$$) AS executor_overrides;
RESET ROLE;
GRANT EXECUTE ON FUNCTION parmana_override(text, boolean, text, text, text) TO regress_granted;
SET ROLE regress_granted;
SELECT regress.err($$SELECT parmana_override('ov-race', true, 'a', 'credit_officer', 'c')$$) AS granted_but_not_approver;
RESET ROLE;

-- Authority 2: when the policy lists authorities, approver_role must be one of them.
INSERT INTO parmana.override_authorities VALUES ('loan-approval', 'credit_officer'), ('loan-approval', 'risk_manager');
SET ROLE regress_reviewer;
SELECT regress.err($$SELECT parmana_override('ov-authority', true, 'tim.teller', 'teller', 'looks fine')$$) AS wrong_role;
SELECT parmana_override('ov-authority', true, 'rita.risk', 'risk_manager', 'within appetite')->>'status' AS listed_role;
RESET ROLE;

-- Authority 3: separation of duties — whoever executed may not resolve.
SET ROLE regress_both;
SELECT parmana_execute('ov-sod', 'loan-approval', '1.0.0', '{"credit_score": 650, "loan_amount": 1}')->>'execution_state' AS state;
SELECT regress.err($$SELECT parmana_override('ov-sod', true, 'self', 'credit_officer', 'approving my own')$$) AS self_approval;
RESET ROLE;
SET ROLE regress_reviewer;
SELECT parmana_override('ov-sod', true, 'jane.reviewer', 'credit_officer', 'independent review')->>'status' AS other_reviewer;
RESET ROLE;

-- Refused attempts changed nothing.
SELECT execution_id, resolution_status FROM parmana.overrides WHERE execution_id LIKE 'ov-%' ORDER BY execution_id;
SELECT count(*) AS resolutions FROM parmana.attestations WHERE kind = 'resolution';
