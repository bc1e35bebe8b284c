-- The claims-approval walkthrough: register, execute (approve / reject / pending), verify,
-- replay error. Run by scripts/demo.sh against a throwaway cluster.
\set ON_ERROR_STOP 1
\pset pager off
\echo '== 1. install the extension (creates schema parmana, the roles and an embedded signing key)'
CREATE EXTENSION parmana;
SELECT jsonb_pretty(parmana.parmana_runtime_manifest());

\echo '== 2. register the claims-approval policy, version v1'
\set policy `cat fixtures/policies/claims-approval-v1.json`
SELECT jsonb_pretty(parmana.parmana_register_policy(:'policy'));

\echo '== 3. a claims table and three governed writes, each in its own transaction'
CREATE TABLE claims (id text PRIMARY KEY, amount integer NOT NULL, attestation jsonb NOT NULL);

BEGIN;
INSERT INTO claims
SELECT 'CLM-2024-00441', 8500, parmana.parmana_execute('claim-CLM-2024-00441', 'claims-approval', 'v1',
  '{"claim_amount": 8500, "insurance_active": true, "risk_score": 42, "vip_customer": false}');
COMMIT;

BEGIN;
INSERT INTO claims
SELECT 'CLM-2024-00442', 120000, parmana.parmana_execute('claim-CLM-2024-00442', 'claims-approval', 'v1',
  '{"claim_amount": 120000, "insurance_active": true, "risk_score": 91, "vip_customer": false}');
COMMIT;

BEGIN;
INSERT INTO claims
SELECT 'CLM-2024-00443', 3000, parmana.parmana_execute('claim-CLM-2024-00443', 'claims-approval', 'v1',
  '{"claim_amount": 3000, "insurance_active": false, "risk_score": 30, "vip_customer": false}');
COMMIT;

\echo '== 4. the decisions: approve, reject, and a reject that waits for a human override'
SELECT id, attestation->'decision'->>'action' AS action, attestation->'decision'->>'reason' AS reason,
       attestation->>'execution_state' AS state
FROM claims ORDER BY id;

\echo '== 5. the full signed attestation of the approved claim'
SELECT jsonb_pretty(attestation) FROM claims WHERE id = 'CLM-2024-00441';

\echo '== 6. verification: with the key registry, with an explicit public key, and after tampering'
SELECT id, parmana.parmana_verify(attestation)->>'valid' AS registry,
       parmana.parmana_verify(attestation, parmana.parmana_public_key())->>'valid' AS explicit_key,
       parmana.parmana_verify(jsonb_set(attestation, '{decision,action}',
         CASE WHEN attestation->'decision'->>'action' = 'approve' THEN '"reject"' ELSE '"approve"' END::jsonb))->>'reason' AS if_action_flipped
FROM claims ORDER BY id;

\echo '== 7. replay: deciding the same business transaction again fails with 23505'
\set ON_ERROR_STOP 0
SELECT parmana.parmana_execute('claim-CLM-2024-00441', 'claims-approval', 'v1',
  '{"claim_amount": 8500, "insurance_active": true, "risk_score": 42, "vip_customer": false}');
\set ON_ERROR_STOP 1

\echo '== 8. a reviewer resolves the pending claim: another login (separation of duties compares'
\echo '   logins), naming an approver role it really belongs to. Approval confirms the decision as it'
\echo '   stands (here: reject) without re-evaluating the policy.'
SELECT execution_id, action, reason, requested_by, requested_login FROM parmana.pending_overrides;
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'claims_supervisor') THEN CREATE ROLE claims_supervisor; END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'demo_reviewer') THEN CREATE ROLE demo_reviewer LOGIN; END IF;
END $$;
GRANT parmana_approver, claims_supervisor TO demo_reviewer;
\c - demo_reviewer
SELECT r->>'status' AS status, r->>'overrideId' AS override_id, r->'resolution'->>'execution_state' AS resolution_state,
       r->'override'->>'resolvedByLogin' AS decided_by
FROM parmana.parmana_override('claim-CLM-2024-00443', true, 'Jane Reviewer', 'claims_supervisor', 'coverage confirmed with the insurer') r;
\c - postgres
SELECT parmana.parmana_verify(override_record)->>'valid' AS override_record_valid FROM parmana.overrides WHERE execution_id = 'claim-CLM-2024-00443';

\echo '== 9. replay state and the audit table'
SELECT execution_id, state, parked FROM parmana.replay_state ORDER BY execution_id;
SELECT id, execution_id, kind, action, execution_state, db_user, db_login, issued_at FROM parmana.attestations ORDER BY id;

\echo '== 10. the public key anyone can use to verify offline'
SELECT parmana.parmana_public_key();
