-- The same durable writes as one parmana_execute, without governance: a replay row and an
-- attestation row of the same size, into tables with the same columns, indexes and constraints.
BEGIN;
INSERT INTO bench.replay_state (execution_id, execution_fingerprint, state, parked, policy_id, policy_version, executed_by)
SELECT 'b-' || pg_current_xact_id()::text, s.execution_fingerprint, 'CONFIRMED', false, 'loan-approval', '1.0.0', current_user
FROM bench.sample s;
INSERT INTO bench.attestations (execution_id, kind, execution_fingerprint, policy_id, policy_version, action, execution_state, signer_key_id, issued_at, db_user, attestation)
SELECT 'b-' || pg_current_xact_id()::text, 'decision', s.execution_fingerprint, 'loan-approval', '1.0.0', 'approve', 'completed', s.signer_key_id, now(), current_user, s.attestation
FROM bench.sample s;
COMMIT;
