-- The audit trail: append-only records (even for a superuser), signed checkpoints (tree heads of
-- a Merkle tree over the log), parmana.parmana_audit_verify() finding every kind of tampering,
-- and the audit views. Root hashes differ per run (keys and times do), so details show <root>.
\i tests/pg_regress/include/setup.sql
\set VERBOSITY sqlstate
CALL regress.login_role('regress_audit_app', '{parmana_executor}');
CALL regress.login_role('regress_audit_reviewer', '{parmana_approver}');

-- A log to audit: decisions of every fixture, a resolved and a pending review.
\c - regress_audit_app
SELECT count(*) AS decided FROM (VALUES
  ('claim-high-risk', 'claims-approval', 'v1', '{"claim_amount": 100, "insurance_active": true, "risk_score": 81, "vip_customer": true}'),
  ('loan-720', 'loan-approval', '1.0.0', '{"credit_score": 720, "loan_amount": 15000}'),
  ('loan-700', 'loan-approval', '1.0.0', '{"credit_score": 700, "loan_amount": 15000}'),
  ('loan-499', 'loan-approval', '1.0.0', '{"credit_score": 499, "loan_amount": 15000}'),
  ('ins-fraud', 'insurance-claim-approval', '1.0.0', '{"claimAmount": 5, "customerTier": "bronze", "policyActive": true, "fraudCheckPassed": false, "incidentVerified": true}'),
  ('ov-approve', 'loan-approval', '1.0.0', '{"credit_score": 650, "loan_amount": 9000}'),
  ('ov-race', 'loan-approval', '1.0.0', '{"credit_score": 650, "loan_amount": 9000}')
) AS t(id, policy, version, signals), parmana.parmana_execute(id, policy, version, signals::jsonb) a;
\c - regress_audit_reviewer
SELECT parmana.parmana_override('ov-approve', true, 'Jane', 'parmana_approver', 'documents verified')->>'status' AS reviewed;
\c - postgres
\set VERBOSITY sqlstate

-- Append-only for everyone, the superuser running this file included.
SET client_min_messages = warning;  -- TRUNCATE .. CASCADE announces the cascade
SELECT regress.err($$UPDATE parmana.attestations SET action = 'approve' WHERE execution_id = 'loan-499'$$) AS update_attestation,
       regress.err($$DELETE FROM parmana.attestations WHERE execution_id = 'loan-499'$$) AS delete_attestation,
       regress.err($$TRUNCATE parmana.attestations CASCADE$$) AS truncate_attestations;
SELECT regress.err($$UPDATE parmana.policies SET policy_hash = 'x'$$) AS update_policy,
       regress.err($$DELETE FROM parmana.policies$$) AS delete_policy,
       regress.err($$TRUNCATE parmana.policies CASCADE$$) AS truncate_policies;
SELECT regress.err($$DELETE FROM parmana.signing_key_secrets$$) AS delete_secrets,
       regress.err($$UPDATE parmana.signing_keys SET public_key_pem = 'x'$$) AS update_public_key,
       regress.err($$DELETE FROM parmana.signing_keys$$) AS delete_keys;
-- An override is resolved once; afterwards its row, and always what was requested, is fixed.
SELECT regress.err($$UPDATE parmana.overrides SET resolution_status = 'rejected' WHERE execution_id = 'ov-approve'$$) AS re_resolve,
       regress.err($$UPDATE parmana.overrides SET action = 'approve' WHERE execution_id = 'ov-race'$$) AS change_request,
       regress.err($$DELETE FROM parmana.overrides WHERE execution_id = 'ov-race'$$) AS delete_override,
       regress.err($$TRUNCATE parmana.overrides CASCADE$$) AS truncate_overrides;
RESET client_min_messages;

-- Checkpoints: the first call sets a watermark, the next seals everything written before it.
SELECT (c->'sealed') = 'null' AS nothing_sealed_yet, (c->>'nextWatermark')::bigint = (SELECT max(id) FROM parmana.attestations) AS watermark_at_last_id
FROM parmana.parmana_checkpoint() c;
SELECT (c->'sealed'->>'rowCount')::bigint = (SELECT count(*) FROM parmana.attestations) AS sealed_every_row,
       c->'sealed'->>'checkpointId' AS checkpoint_id, c->'sealed'->>'previousDigest' = repeat('0', 64) AS chained_on_genesis,
       parmana.parmana_verify(c->'sealed')->>'valid' AS checkpoint_verifies
FROM parmana.parmana_checkpoint() c;
SELECT parmana.parmana_execute('audit-' || g, 'loan-approval', '1.0.0', jsonb_build_object('credit_score', 720, 'loan_amount', g))->>'execution_state'
FROM generate_series(1, 3) g;
SELECT parmana.parmana_checkpoint()->'sealed' = 'null' AS new_rows_wait_for_the_next_watermark;
SELECT (c->'sealed'->>'rowCount') AS sealed_rows, c->'sealed'->>'previousDigest' = (SELECT digest FROM parmana.checkpoints WHERE id = 1) AS chained
FROM parmana.parmana_checkpoint() c;
SELECT parmana.parmana_checkpoint()->'sealed' = 'null' AS idle_checkpoint_seals_nothing;
SELECT id, to_id - from_id AS id_span, row_count, signer_key_id = (SELECT key_id FROM parmana.signing_keys WHERE active) AS active_key
FROM parmana.checkpoints ORDER BY id;
SELECT regress.err($$DELETE FROM parmana.checkpoints$$) AS delete_checkpoint;

-- An intact log reports nothing, also through a window.
SELECT count(*) AS problems FROM parmana.parmana_audit_verify();
SELECT count(*) AS problems_in_window FROM parmana.parmana_audit_verify(10, 5);

-- The audit views.
SELECT policy_id, kind, action, execution_state, sum(attestations) AS attestations
FROM parmana.decisions_by_policy_day WHERE policy_id = 'loan-approval' GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4;
SELECT execution_id, resolution_status, approved_by, approver_role, resolved_by, time_to_resolve IS NOT NULL AS resolved
FROM parmana.override_history WHERE execution_id LIKE 'ov-%' ORDER BY execution_id;
SELECT source, active, attestations > 0 AS signed_some FROM parmana.attestations_by_key ORDER BY active DESC, created_at;

-- Tampering by a superuser who bypasses triggers: each kind is reported.
SET session_replication_role = replica;
-- 1. a changed decision (JSON and column together)
UPDATE parmana.attestations SET attestation = jsonb_set(attestation, '{decision,action}', '"approve"'), action = 'approve'
WHERE execution_id = 'loan-499';
-- 2. a changed signature
UPDATE parmana.attestations SET attestation = jsonb_set(attestation, '{signature}', to_jsonb(overlay(attestation->>'signature'
  PLACING CASE WHEN left(attestation->>'signature', 1) = 'A' THEN 'B' ELSE 'A' END FROM 1 FOR 1)))
WHERE execution_id = 'claim-high-risk';
-- 3. a stored column that disagrees with the signed JSON
UPDATE parmana.attestations SET execution_state = 'completed' WHERE execution_id = 'loan-700';
-- 4. a deleted row under a checkpoint
DELETE FROM parmana.attestations WHERE execution_id = 'ins-fraud';
-- 5. a tampered override record, and (on the same row) a stored column the record does not say
UPDATE parmana.overrides SET override_record = jsonb_set(override_record, '{approverRole}', '"teller"') WHERE execution_id = 'ov-approve';
-- 6. a document padded far past the TOAST threshold (stored out of line, read back detoasted)
UPDATE parmana.attestations SET attestation = attestation || jsonb_build_object('padding', (SELECT string_agg(md5(g::text), '') FROM generate_series(1, 3000) g))
WHERE execution_id = 'audit-3';
RESET session_replication_role;
SELECT pg_relation_size(reltoastrelid) > 0 AS stored_out_of_line FROM pg_class WHERE oid = 'parmana.attestations'::regclass;

SELECT problem, regexp_replace(detail, '[0-9a-f]{64}', '<root>', 'g') AS detail,
       (SELECT string_agg(execution_id, ',' ORDER BY id) FROM parmana.attestations a WHERE a.id BETWEEN first_id AND coalesce(last_id, first_id) AND last_id - first_id < 2) AS execution_id
FROM parmana.parmana_audit_verify() ORDER BY problem, detail, execution_id;

-- 5b. who resolved, changed in the columns only (the signed record still says who it was)
\c - regress_audit_reviewer
SELECT parmana.parmana_override('ov-race', false, 'Jane', 'parmana_approver', 'declined')->>'status' AS reviewed;
\c - postgres
\set VERBOSITY sqlstate
SET session_replication_role = replica;
UPDATE parmana.overrides SET resolved_login = 'postgres', approved_by = 'Someone Else' WHERE execution_id = 'ov-race';
RESET session_replication_role;
SELECT problem, detail FROM parmana.parmana_audit_verify() WHERE problem LIKE 'override%' ORDER BY problem, detail;

-- 7. a deleted checkpoint in the middle of the chain, and the deleted head of the chain.
SET session_replication_role = replica;
DELETE FROM parmana.checkpoints WHERE id = 1;
RESET session_replication_role;
SELECT problem, regexp_replace(detail, '[0-9a-f]{64}', '<root>', 'g') AS detail
FROM parmana.parmana_audit_verify() WHERE problem LIKE 'checkpoint%' ORDER BY problem, detail;
SET session_replication_role = replica;
DELETE FROM parmana.checkpoints WHERE id = (SELECT max(id) FROM parmana.checkpoints);
RESET session_replication_role;
SELECT problem, detail FROM parmana.parmana_audit_verify() WHERE problem = 'checkpoint_missing' ORDER BY detail;
