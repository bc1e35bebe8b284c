-- parmana.parmana_execute: the fixtures decide as their rules say, replay is refused, rollback frees
-- the id, simulate writes nothing, and bad input gets its code.
\i tests/pg_regress/include/setup.sql
\set VERBOSITY sqlstate

-- The documented quickstart: approve / standard_approval / completed, with the published fingerprint.
SELECT a->>'executionId' AS id, a->'decision'->>'action' AS action, a->'decision'->>'reason' AS reason,
       a->'decision'->>'ruleId' AS rule, a->>'execution_state' AS state, a->>'execution_fingerprint' AS fingerprint,
       a->>'signalsHash' = a->>'execution_fingerprint' AS signals_hash_is_fingerprint,
       a->>'policyHash' = (SELECT policy_hash FROM parmana.policies WHERE policy_id = 'claims-approval') AS policy_hash_ok,
       a->>'signerKeyId' = (SELECT key_id FROM parmana.signing_keys WHERE active) AS signed_by_active_key,
       a->>'issuedAt' ~ '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$' AS rfc3339_utc,
       length(decode(a->>'signature', 'base64')) AS signature_bytes
FROM parmana.parmana_execute('claim-CLM-2024-00441', 'claims-approval', 'v1',
  '{"claim_amount": 8500, "insurance_active": true, "risk_score": 42, "vip_customer": false}') a;

-- Every rule of every fixture, at its boundaries.
SELECT id, a->'decision'->>'action' AS action, a->'decision'->>'ruleId' AS rule, a->'decision'->>'requires_override' AS override,
       a->>'execution_state' AS state
FROM (VALUES
  ('claim-high-risk',   'claims-approval', 'v1', '{"claim_amount": 100, "insurance_active": true, "risk_score": 81, "vip_customer": true}'),
  ('claim-risk-80-vip', 'claims-approval', 'v1', '{"claim_amount": 100, "insurance_active": true, "risk_score": 80, "vip_customer": true}'),
  ('claim-risk-69',     'claims-approval', 'v1', '{"claim_amount": 100, "insurance_active": true, "risk_score": 69, "vip_customer": false}'),
  ('claim-risk-70',     'claims-approval', 'v1', '{"claim_amount": 100, "insurance_active": true, "risk_score": 70, "vip_customer": false}'),
  ('claim-inactive',    'claims-approval', 'v1', '{"claim_amount": 100, "insurance_active": false, "risk_score": 10, "vip_customer": false}'),
  ('loan-720',          'loan-approval', '1.0.0', '{"credit_score": 720, "loan_amount": 15000}'),
  ('loan-700',          'loan-approval', '1.0.0', '{"credit_score": 700, "loan_amount": 15000}'),
  ('loan-500',          'loan-approval', '1.0.0', '{"credit_score": 500, "loan_amount": 15000}'),
  ('loan-499',          'loan-approval', '1.0.0', '{"credit_score": 499, "loan_amount": 15000}'),
  ('ins-all-ok',        'insurance-claim-approval', '1.0.0', '{"claimAmount": 1, "customerTier": "gold", "policyActive": true, "fraudCheckPassed": true, "incidentVerified": true}'),
  ('ins-zero-amount',   'insurance-claim-approval', '1.0.0', '{"claimAmount": 0, "customerTier": "gold", "policyActive": true, "fraudCheckPassed": true, "incidentVerified": true}'),
  ('ins-fraud',         'insurance-claim-approval', '1.0.0', '{"claimAmount": 5, "customerTier": "bronze", "policyActive": true, "fraudCheckPassed": false, "incidentVerified": true}')
) AS t(id, policy, version, signals), parmana.parmana_execute(id, policy, version, signals::jsonb) a
ORDER BY id;

-- The fixture README's loan fingerprint.
SELECT execution_fingerprint FROM parmana.attestations WHERE execution_id = 'loan-720';

-- Stored: one decision row per id, replay state by outcome (pending ids are parked in EXECUTING).
SELECT r.execution_id, r.state, r.parked, a.kind, a.action, a.execution_state, a.db_user = current_user AS db_user_ok
FROM parmana.replay_state r JOIN parmana.attestations a USING (execution_id) ORDER BY 1;

-- Replay of a committed id: 23505, with the code in the message, for completed and pending ids.
SELECT regress.err($$SELECT parmana.parmana_execute('claim-CLM-2024-00441', 'claims-approval', 'v1', '{"claim_amount": 8500, "insurance_active": true, "risk_score": 42, "vip_customer": false}')$$) AS replay_completed;
SELECT regress.err($$SELECT parmana.parmana_execute('loan-700', 'loan-approval', '1.0.0', '{"credit_score": 720, "loan_amount": 1}')$$) AS replay_pending;
SELECT parmana.parmana_execute('loan-720', 'loan-approval', '1.0.0', '{"credit_score": 720, "loan_amount": 15000}');

-- A rolled-back execute leaves nothing behind, and the id can be used again.
BEGIN;
SELECT parmana.parmana_execute('rollback-me', 'loan-approval', '1.0.0', '{"credit_score": 720, "loan_amount": 1}')->>'execution_state' AS in_txn;
ROLLBACK;
SELECT count(*) AS replay_rows FROM parmana.replay_state WHERE execution_id = 'rollback-me';
SELECT count(*) AS attestation_rows FROM parmana.attestations WHERE execution_id = 'rollback-me';
SELECT parmana.parmana_execute('rollback-me', 'loan-approval', '1.0.0', '{"credit_score": 720, "loan_amount": 1}')->>'execution_state' AS reused;

-- A failing business write in the same transaction takes the decision with it.
CREATE TABLE regress.payments (id text PRIMARY KEY, attestation jsonb NOT NULL CHECK (attestation->>'execution_state' = 'completed'));
SELECT regress.err($$INSERT INTO regress.payments SELECT 'p-1', parmana.parmana_execute('payment-p-1', 'loan-approval', '1.0.0', '{"credit_score": 600, "loan_amount": 1}')$$) AS business_write;
SELECT count(*) AS left_behind FROM parmana.replay_state WHERE execution_id = 'payment-p-1';

-- Simulate evaluates only: same decision and fingerprint, no rows.
SELECT count(*) AS before_replay, (SELECT count(*) FROM parmana.attestations) AS before_attestations FROM parmana.replay_state \gset
SELECT s->>'simulated' AS simulated, s->'decision'->>'action' AS action, s->'decision'->>'ruleId' AS rule, s->>'execution_state' AS state,
       s->>'execution_fingerprint' AS fingerprint, s ? 'signature' AS signed
FROM parmana.parmana_simulate('claims-approval', 'v1', '{"claim_amount": 8500, "insurance_active": true, "risk_score": 42, "vip_customer": false}') s;
SELECT count(*) = :before_replay AS replay_unchanged, (SELECT count(*) FROM parmana.attestations) = :before_attestations AS attestations_unchanged
FROM parmana.replay_state;

-- Errors: unknown policy, no rule matched, bad execution ids, NULL arguments.
SELECT regress.err($$SELECT parmana.parmana_execute('x-1', 'nope', 'v1', '{}')$$) AS unknown_policy;
SELECT regress.err($$SELECT parmana.parmana_execute('x-2', 'claims-approval', 'v9', '{}')$$) AS unknown_version;
SELECT regress.err($$SELECT parmana.parmana_simulate('nope', 'v1', '{}')$$) AS simulate_unknown;
SELECT regress.err($$SELECT parmana.parmana_execute('x-3', 'no-catch-all', '1.0.0', '{"amount": 500}')$$) AS no_rule_matched;
SELECT parmana.parmana_execute('x-4', 'no-catch-all', '1.0.0', '{"amount": 5}')->'decision'->>'action' AS matched;
SELECT regress.err($$SELECT parmana.parmana_execute('', 'loan-approval', '1.0.0', '{"credit_score": 720, "loan_amount": 1}')$$) AS empty_id;
SELECT regress.err(format('SELECT parmana.parmana_execute(%L, %L, %L, %L)', repeat('x', 257), 'loan-approval', '1.0.0', '{"credit_score": 720, "loan_amount": 1}')) AS long_id;
SELECT regress.err(format('SELECT parmana.parmana_execute(%L, %L, %L, %L)', E'id\twith tab', 'loan-approval', '1.0.0', '{"credit_score": 720, "loan_amount": 1}')) AS control_char_id;
SELECT regress.err($$SELECT parmana.parmana_execute(NULL, 'loan-approval', '1.0.0', '{}')$$) AS null_id;
SELECT regress.err($$SELECT parmana.parmana_execute('x-5', 'loan-approval', '1.0.0', NULL)$$) AS null_signals;

-- Invalid signals: every VAL code, and none of them claims the id.
SELECT code, regress.err(format('SELECT parmana.parmana_execute(%L, %L, %L, %L)', 'val-' || code, policy, version, signals)) AS result FROM (VALUES
  ('VAL-001', 'loan-approval', '1.0.0', '[720]'),
  ('VAL-003', 'loan-approval', '1.0.0', '{"credit_score": 720, "loan_amount": 1, "name": "x"}'),
  ('VAL-004', 'loan-approval', '1.0.0', '{"credit_score": 720}'),
  ('VAL-006', 'claims-approval', 'v1', '{"claim_amount": 1, "insurance_active": "true", "risk_score": 1, "vip_customer": false}'),
  ('VAL-007', 'loan-approval', '1.0.0', '{"credit_score": 720.5, "loan_amount": 1}'),
  ('VAL-007', 'loan-approval', '1.0.0', '{"credit_score": "720", "loan_amount": 1}'),
  ('VAL-007', 'loan-approval', '1.0.0', '{"credit_score": 9007199254740992, "loan_amount": 1}'),
  ('VAL-009', 'insurance-claim-approval', '1.0.0', '{"claimAmount": 1, "customerTier": 3, "policyActive": true, "fraudCheckPassed": true, "incidentVerified": true}'),
  ('VAL-011', 'insurance-claim-approval', '1.0.0', '{"claimAmount": 1, "customerTier": "platinum", "policyActive": true, "fraudCheckPassed": true, "incidentVerified": true}'),
  ('VAL-010', 'loan-approval', '1.0.0', '{"credit_score": 1e400, "loan_amount": 1}')
) AS t(code, policy, version, signals);
SELECT count(*) AS claimed_by_invalid FROM parmana.replay_state WHERE execution_id LIKE 'val-%';

-- VAL-005, VAL-008 and VAL-014 need number and string signals.
SELECT parmana.parmana_register_policy('{"policyId": "kinds", "policyVersion": "1.0.0", "schemaVersion": "1.0.0",
  "signalsSchema": {"ratio": {"type": "number"}, "note": {"type": "string"}},
  "rules": [{"id": "all", "condition": {"all": []}, "outcome": {"action": "approve", "requires_override": false, "reason": "ok"}}]}')->>'policyId' AS registered;
SELECT code, regress.err(format('SELECT parmana.parmana_execute(%L, %L, %L, %L)', 'kinds-' || n, 'kinds', '1.0.0', signals)) AS result FROM (VALUES
  (1, 'VAL-005', '{"ratio": "0.5", "note": "x"}'),
  (2, 'VAL-008', '{"ratio": 0.5, "note": 5}'),
  (3, 'VAL-014', '{"ratio": 0.5, "note": "contact jane.doe@example.com"}'),
  (4, 'VAL-014', '{"ratio": 0.5, "note": "ssn 078-05-1120"}'),
  (5, 'VAL-014', '{"ratio": 0.5, "note": "card 4111-1111-1111-1111"}'),
  (6, 'ok',      '{"ratio": 0.5, "note": "member M-12345"}')
) AS t(n, code, signals);

-- An error never echoes a signal value.
\set VERBOSITY default
DO $$
BEGIN
  PERFORM parmana.parmana_execute('kinds-pii', 'kinds', '1.0.0', '{"ratio": 0.5, "note": "jane.doe@example.com"}');
EXCEPTION WHEN OTHERS THEN
  RAISE NOTICE 'message mentions the signal: %, echoes the value: %', SQLERRM LIKE '%"note"%', SQLERRM LIKE '%jane%';
END $$;
\set VERBOSITY sqlstate

-- VAL-013: the size limit (superuser-only setting), 54000.
SET parmana.max_signals_bytes = 40;
SELECT regress.err($$SELECT parmana.parmana_execute('kinds-big', 'kinds', '1.0.0', '{"ratio": 0.5, "note": "a long note that exceeds forty bytes of canonical JSON"}')$$) AS too_large;
RESET parmana.max_signals_bytes;
-- With the PII guard off, the same string passes (superuser only).
SET parmana.reject_pii = off;
SELECT parmana.parmana_execute('kinds-pii-off', 'kinds', '1.0.0', '{"ratio": 0.5, "note": "ssn 078-05-1120"}')->>'execution_state' AS pii_guard_off;
RESET parmana.reject_pii;

-- Signal strings are NFC-normalized and CRLF becomes LF before hashing: same fingerprint.
SELECT (parmana.parmana_simulate('kinds', '1.0.0', '{"ratio": 1.0, "note": "cafe\u0301\r\nbar"}')->>'execution_fingerprint')
     = (parmana.parmana_simulate('kinds', '1.0.0', '{"ratio": 1, "note": "caf\u00e9\nbar"}')->>'execution_fingerprint') AS normalized;
