-- The history an old release leaves behind, run against that release (functions in public, as
-- they were before 0.4.0) by make_fixture.py. Decisions of every kind: completed, pending,
-- approved and rejected overrides, an authority rule, two signing keys; from 0.2.0 on also
-- checkpoints, from 0.3.0 on a governed business table. Not part of any install.
\set ON_ERROR_STOP 1
SELECT parmana_register_policy(:'loan'::jsonb);
SELECT parmana_register_policy(:'claims'::jsonb);
SELECT parmana_execute('old-loan-' || i, 'loan-approval', '1.0.0',
                       jsonb_build_object('credit_score', 450 + 20 * i, 'loan_amount', 1000 + i))
FROM generate_series(0, 19) i;
SELECT parmana_rotate_key() IS NOT NULL AS rotated;
SELECT parmana_execute('old-claim-1', 'claims-approval', 'v1',
  '{"claim_amount": 8500, "insurance_active": true, "risk_score": 42, "vip_customer": false}');
INSERT INTO parmana.override_authorities VALUES ('claims-approval', 'claims_supervisor');
DROP ROLE IF EXISTS old_reviewer;
CREATE ROLE old_reviewer IN ROLE parmana_approver;
SET ROLE old_reviewer;
SELECT parmana_override('old-loan-3', true, 'jane', 'credit_officer', 'income verified')->>'status';
SELECT parmana_override('old-loan-4', false, 'jane', 'credit_officer', 'no documents')->>'status';
RESET ROLE;
SELECT parmana_replay_reserve('old-reserved-1');
SELECT parmana_replay_mark_executed('old-legacy-1');
