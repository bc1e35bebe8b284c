-- Bad-input catalogue: malformed input to every function gets a clear coded error (or, for
-- verification, valid:false) — never XX000, never a crashed backend. Each row is one input.
\set VERBOSITY sqlstate

CREATE TABLE regress.bad_inputs (n serial PRIMARY KEY, target text NOT NULL, input text NOT NULL, sql text NOT NULL);
INSERT INTO regress.bad_inputs (target, input, sql) VALUES
  -- parmana_execute: execution ids
  ('execute', 'NULL execution_id', $$SELECT parmana_execute(NULL, 'loan-approval', '1.0.0', '{"credit_score": 720, "loan_amount": 1}')$$),
  ('execute', 'empty execution_id', $$SELECT parmana_execute('', 'loan-approval', '1.0.0', '{"credit_score": 720, "loan_amount": 1}')$$),
  ('execute', '257-character execution_id', $$SELECT parmana_execute(repeat('x', 257), 'loan-approval', '1.0.0', '{"credit_score": 720, "loan_amount": 1}')$$),
  ('execute', '1 MB execution_id', $$SELECT parmana_execute(repeat('x', 1000000), 'loan-approval', '1.0.0', '{"credit_score": 720, "loan_amount": 1}')$$),
  ('execute', 'newline in execution_id', $$SELECT parmana_execute(E'a\nb', 'loan-approval', '1.0.0', '{"credit_score": 720, "loan_amount": 1}')$$),
  ('execute', 'U+0001 in execution_id', $$SELECT parmana_execute(E'a\u0001b', 'loan-approval', '1.0.0', '{"credit_score": 720, "loan_amount": 1}')$$),
  ('execute', 'DEL in execution_id', $$SELECT parmana_execute(E'a\x7fb', 'loan-approval', '1.0.0', '{"credit_score": 720, "loan_amount": 1}')$$),
  ('execute', 'U+0085 (NEL) in execution_id', $$SELECT parmana_execute(E'a\u0085b', 'loan-approval', '1.0.0', '{"credit_score": 720, "loan_amount": 1}')$$),
  -- parmana_execute: policy identity
  ('execute', 'NULL policy_id', $$SELECT parmana_execute('bad-1', NULL, '1.0.0', '{}')$$),
  ('execute', 'NULL policy_version', $$SELECT parmana_execute('bad-1', 'loan-approval', NULL, '{}')$$),
  ('execute', 'empty policy_id', $$SELECT parmana_execute('bad-1', '', '1.0.0', '{}')$$),
  ('execute', 'control characters in policy_id', $$SELECT parmana_execute('bad-1', E'loan\napproval', '1.0.0', '{}')$$),
  ('execute', '1 MB policy_version', $$SELECT parmana_execute('bad-1', 'loan-approval', repeat('9', 1000000), '{}')$$),
  -- parmana_execute: signals of the wrong shape
  ('execute', 'NULL signals', $$SELECT parmana_execute('bad-1', 'loan-approval', '1.0.0', NULL)$$),
  ('execute', 'signals: JSON null', $$SELECT parmana_execute('bad-1', 'loan-approval', '1.0.0', 'null')$$),
  ('execute', 'signals: array', $$SELECT parmana_execute('bad-1', 'loan-approval', '1.0.0', '[720, 1]')$$),
  ('execute', 'signals: string', $$SELECT parmana_execute('bad-1', 'loan-approval', '1.0.0', '"credit_score=720"')$$),
  ('execute', 'signals: number', $$SELECT parmana_execute('bad-1', 'loan-approval', '1.0.0', '720')$$),
  ('execute', 'signals: boolean', $$SELECT parmana_execute('bad-1', 'loan-approval', '1.0.0', 'true')$$),
  ('execute', 'signals: empty object', $$SELECT parmana_execute('bad-1', 'loan-approval', '1.0.0', '{}')$$),
  ('execute', 'object where an integer belongs', $$SELECT parmana_execute('bad-1', 'loan-approval', '1.0.0', '{"credit_score": {"value": 720}, "loan_amount": 1}')$$),
  ('execute', 'array where an integer belongs', $$SELECT parmana_execute('bad-1', 'loan-approval', '1.0.0', '{"credit_score": [720], "loan_amount": 1}')$$),
  ('execute', 'null where an integer belongs', $$SELECT parmana_execute('bad-1', 'loan-approval', '1.0.0', '{"credit_score": null, "loan_amount": 1}')$$),
  ('execute', 'array where a boolean belongs', $$SELECT parmana_execute('bad-1', 'claims-approval', 'v1', '{"claim_amount": 1, "insurance_active": [true], "risk_score": 1, "vip_customer": false}')$$),
  ('execute', 'object where a string belongs', $$SELECT parmana_execute('bad-1', 'kinds', '1.0.0', '{"ratio": 0.5, "note": {"text": "x"}}')$$),
  ('execute', 'number where an enum belongs', $$SELECT parmana_execute('bad-1', 'insurance-claim-approval', '1.0.0', '{"claimAmount": 1, "customerTier": 1, "policyActive": true, "fraudCheckPassed": true, "incidentVerified": true}')$$),
  ('execute', 'enum value in the wrong case', $$SELECT parmana_execute('bad-1', 'insurance-claim-approval', '1.0.0', '{"claimAmount": 1, "customerTier": "Gold", "policyActive": true, "fraudCheckPassed": true, "incidentVerified": true}')$$),
  -- parmana_execute: extreme numbers
  ('execute', 'integer 1e400', $$SELECT parmana_execute('bad-1', 'loan-approval', '1.0.0', '{"credit_score": 1e400, "loan_amount": 1}')$$),
  ('execute', 'integer -1e400', $$SELECT parmana_execute('bad-1', 'loan-approval', '1.0.0', '{"credit_score": -1e400, "loan_amount": 1}')$$),
  ('execute', 'number overflowing a double', $$SELECT parmana_execute('bad-1', 'kinds', '1.0.0', '{"ratio": 1.7976931348623159e308, "note": "x"}')$$),
  ('execute', 'integer 2^53', $$SELECT parmana_execute('bad-1', 'loan-approval', '1.0.0', '{"credit_score": 9007199254740992, "loan_amount": 1}')$$),
  ('execute', 'integer -2^53', $$SELECT parmana_execute('bad-1', 'loan-approval', '1.0.0', '{"credit_score": -9007199254740992, "loan_amount": 1}')$$),
  ('execute', 'integer 1e30', $$SELECT parmana_execute('bad-1', 'loan-approval', '1.0.0', '{"credit_score": 1e30, "loan_amount": 1}')$$),
  ('execute', 'integer 1 + 2^-52', $$SELECT parmana_execute('bad-1', 'loan-approval', '1.0.0', '{"credit_score": 1.0000000000000002, "loan_amount": 1}')$$),
  ('execute', 'integer 0.5', $$SELECT parmana_execute('bad-1', 'loan-approval', '1.0.0', '{"credit_score": 0.5, "loan_amount": 1}')$$),
  ('execute', 'integer as a string', $$SELECT parmana_execute('bad-1', 'loan-approval', '1.0.0', '{"credit_score": "720", "loan_amount": 1}')$$),
  ('execute', 'number as a string', $$SELECT parmana_execute('bad-1', 'kinds', '1.0.0', '{"ratio": "0.5", "note": "x"}')$$),
  -- parmana_execute: size, nesting, keys, Unicode
  ('execute', '100 kB string signal', $$SELECT parmana_execute('bad-1', 'kinds', '1.0.0', jsonb_build_object('ratio', 0.5, 'note', repeat('a', 100000)))$$),
  ('execute', '10,000 undeclared keys', $$SELECT parmana_execute('bad-1', 'loan-approval', '1.0.0', (SELECT jsonb_object_agg('k' || g, g) FROM generate_series(1, 10000) g))$$),
  ('execute', '10 kB undeclared key name', $$SELECT parmana_execute('bad-1', 'loan-approval', '1.0.0', jsonb_build_object(repeat('k', 10000), 1, 'credit_score', 720, 'loan_amount', 1))$$),
  ('execute', 'nested 200 deep', $$SELECT parmana_execute('bad-1', 'kinds', '1.0.0', ('{"ratio": 0.5, "note": ' || repeat('[', 200) || repeat(']', 200) || '}')::jsonb)$$),
  ('execute', 'nested 5000 deep', $$SELECT parmana_execute('bad-1', 'kinds', '1.0.0', ('{"ratio": 0.5, "note": ' || repeat('{"a":', 5000) || '1' || repeat('}', 5000) || '}')::jsonb)$$),
  ('execute', 'undeclared emoji key', $$SELECT parmana_execute('bad-1', 'loan-approval', '1.0.0', '{"credit_score": 720, "loan_amount": 1, "\ud83d\ude00": 1}')$$),
  ('execute', 'lone surrogate escape', $$SELECT parmana_execute('bad-1', 'kinds', '1.0.0', '{"ratio": 0.5, "note": "\ud800"}')$$),
  ('execute', 'NUL escape', $$SELECT parmana_execute('bad-1', 'kinds', '1.0.0', '{"ratio": 0.5, "note": "a\u0000b"}')$$),
  ('execute', 'invalid JSON text', $$SELECT parmana_execute('bad-1', 'kinds', '1.0.0', '{"ratio": 0.5,')$$),
  ('execute', 'control characters in a string signal', $$SELECT parmana_execute('bad-ctl', 'kinds', '1.0.0', '{"ratio": 0.5, "note": "a\u0007\u001bb"}')$$),
  ('simulate', 'all NULL', $$SELECT parmana_simulate(NULL, NULL, NULL)$$),
  ('simulate', 'signals: array', $$SELECT parmana_simulate('loan-approval', '1.0.0', '[]')$$),
  ('simulate', 'integer 1e400', $$SELECT parmana_simulate('loan-approval', '1.0.0', '{"credit_score": 1e400, "loan_amount": 1}')$$),
  -- parmana_register_policy
  ('register_policy', 'NULL', $$SELECT parmana_register_policy(NULL)$$),
  ('register_policy', 'JSON null', $$SELECT parmana_register_policy('null')$$),
  ('register_policy', 'array', $$SELECT parmana_register_policy('[]')$$),
  ('register_policy', 'empty object', $$SELECT parmana_register_policy('{}')$$),
  ('register_policy', 'numeric policyId', $$SELECT parmana_register_policy('{"policyId": 1, "policyVersion": "1.0.0", "schemaVersion": "1.0.0", "signalsSchema": {}, "rules": []}')$$),
  ('register_policy', 'control characters in policyId', $$SELECT parmana_register_policy(E'{"policyId": "a\\u0001b", "policyVersion": "1.0.0", "schemaVersion": "1.0.0", "signalsSchema": {}, "rules": []}')$$),
  ('register_policy', '1 MB policyVersion', $$SELECT parmana_register_policy(jsonb_build_object('policyId', 'p', 'policyVersion', repeat('1', 1000000), 'schemaVersion', '1.0.0', 'signalsSchema', '{}'::jsonb, 'rules', '[]'::jsonb))$$),
  ('register_policy', 'signalsSchema is an array', $$SELECT parmana_register_policy('{"policyId": "p", "policyVersion": "1.0.0", "schemaVersion": "1.0.0", "signalsSchema": [], "rules": []}')$$),
  ('register_policy', 'rules is a string', $$SELECT parmana_register_policy('{"policyId": "p", "policyVersion": "1.0.0", "schemaVersion": "1.0.0", "signalsSchema": {}, "rules": "all"}')$$),
  ('register_policy', 'condition with signal and all', $$SELECT parmana_register_policy('{"policyId": "p", "policyVersion": "1.0.0", "schemaVersion": "1.0.0", "signalsSchema": {"a": {"type": "integer"}}, "rules": [{"id": "r", "condition": {"signal": "a", "all": []}, "outcome": {"action": "x", "requires_override": false, "reason": "y"}}]}')$$),
  ('register_policy', 'equals null', $$SELECT parmana_register_policy('{"policyId": "p", "policyVersion": "1.0.0", "schemaVersion": "1.0.0", "signalsSchema": {"a": {"type": "integer"}}, "rules": [{"id": "r", "condition": {"signal": "a", "equals": null}, "outcome": {"action": "x", "requires_override": false, "reason": "y"}}]}')$$),
  ('register_policy', 'greater_than 1e400', $$SELECT parmana_register_policy('{"policyId": "p", "policyVersion": "1.0.0", "schemaVersion": "1.0.0", "signalsSchema": {"a": {"type": "number"}}, "rules": [{"id": "r", "condition": {"signal": "a", "greater_than": 1e400}, "outcome": {"action": "x", "requires_override": false, "reason": "y"}}]}')$$),
  ('register_policy', 'numeric rule id', $$SELECT parmana_register_policy('{"policyId": "p", "policyVersion": "1.0.0", "schemaVersion": "1.0.0", "signalsSchema": {}, "rules": [{"id": 1, "condition": {"all": []}, "outcome": {"action": "x", "requires_override": false, "reason": "y"}}]}')$$),
  ('register_policy', 'requires_override "yes"', $$SELECT parmana_register_policy('{"policyId": "p", "policyVersion": "1.0.0", "schemaVersion": "1.0.0", "signalsSchema": {}, "rules": [{"id": "r", "condition": {"all": []}, "outcome": {"action": "x", "requires_override": "yes", "reason": "y"}}]}')$$),
  ('register_policy', 'duplicate enum values', $$SELECT parmana_register_policy('{"policyId": "p", "policyVersion": "1.0.0", "schemaVersion": "1.0.0", "signalsSchema": {"e": {"type": "enum", "values": ["a", "a"]}}, "rules": []}')$$),
  ('register_policy', 'conditions nested 100 deep', $$SELECT parmana_register_policy(('{"policyId": "p", "policyVersion": "1.0.0", "schemaVersion": "1.0.0", "signalsSchema": {}, "rules": [{"id": "r", "condition": ' || repeat('{"not": ', 100) || '{"all": []}' || repeat('}', 100) || ', "outcome": {"action": "x", "requires_override": false, "reason": "y"}}]}')::jsonb)$$),
  ('register_policy', 'document nested 5000 deep', $$SELECT parmana_register_policy(('{"policyId": "p", "policyVersion": "1.0.0", "schemaVersion": "1.0.0", "signalsSchema": {}, "rules": [], "x": ' || repeat('[', 5000) || repeat(']', 5000) || '}')::jsonb)$$),
  -- parmana_override
  ('override', 'NULL execution_id', $$SELECT parmana_override(NULL, true, 'a', 'b', 'c')$$),
  ('override', 'NULL approved', $$SELECT parmana_override('ov-race', NULL, 'a', 'b', 'c')$$),
  ('override', 'blank reason', $$SELECT parmana_override('ov-race', true, 'a', 'b', E'\t ')$$),
  ('override', 'unknown id', $$SELECT parmana_override(repeat('z', 300), true, 'a', 'b', 'c')$$),
  -- the replay step API
  ('replay_reserve', 'NULL', $$SELECT parmana_replay_reserve(NULL)$$),
  ('replay_reserve', '257 characters', $$SELECT parmana_replay_reserve(repeat('x', 257))$$),
  ('replay_reserve', 'uppercase fingerprint', $$SELECT parmana_replay_reserve('bad-r1', upper(repeat('ab', 32)))$$),
  ('replay_reserve', 'short fingerprint', $$SELECT parmana_replay_reserve('bad-r1', 'abc')$$),
  ('replay_start', 'unseen id', $$SELECT parmana_replay_start('bad-never-reserved')$$),
  ('replay_start', 'control characters', $$SELECT parmana_replay_start(E'bad\n')$$),
  ('replay_confirm', 'NULL', $$SELECT parmana_replay_confirm(NULL)$$),
  ('replay_state', 'NULL', $$SELECT parmana_replay_state(NULL)$$),
  ('replay_has_executed', 'NULL', $$SELECT parmana_replay_has_executed(NULL)$$),
  -- keys, envelopes, audit
  ('public_key', 'empty key id', $$SELECT parmana_public_key('') IS NULL$$),
  ('public_key', '1 MB key id', $$SELECT parmana_public_key(repeat('f', 1000000)) IS NULL$$),
  ('dsse', 'empty object', $$SELECT parmana_dsse('{}')$$),
  ('dsse', 'JSON null', $$SELECT parmana_dsse('null')$$),
  ('dsse', 'huge number', $$SELECT parmana_dsse('{"execution_state": 1e400}')$$),
  ('dsse', 'bad signature', $$SELECT parmana_dsse(jsonb_set(attestation, '{signature}', '"@@"')) FROM parmana.attestations LIMIT 1$$),
  ('audit_verify', 'NULL from_id', $$SELECT count(*) FROM parmana_audit_verify(NULL)$$),
  ('audit_verify', 'negative window', $$SELECT count(*) FROM parmana_audit_verify(-5, -5)$$),
  ('audit_verify', 'from beyond the end', $$SELECT count(*) FROM parmana_audit_verify(9223372036854775807, 10)$$);

SELECT n, target, input, regress.err(sql) AS result FROM regress.bad_inputs ORDER BY n;

-- Verification takes anything: malformed documents and keys are valid:false with a reason.
WITH a AS (SELECT attestation AS doc, parmana_public_key(signer_key_id) AS pem FROM parmana.attestations ORDER BY id LIMIT 1)
SELECT input, v->>'valid' AS valid, v->>'reason' AS reason FROM a, LATERAL (VALUES
  ('NULL', parmana_verify(NULL::jsonb, pem)),
  ('JSON null', parmana_verify('null', pem)),
  ('huge number', parmana_verify('{"execution_state": 1e400}', pem)),
  ('nested 5000 deep', parmana_verify(('{"execution_state": ' || repeat('[', 5000) || repeat(']', 5000) || '}')::jsonb, pem)),
  ('nested 127 deep (the limit)', parmana_verify(('{"execution_state": ' || repeat('[', 126) || repeat(']', 126) || '}')::jsonb, pem)),
  ('nested 128 deep', parmana_verify(('{"execution_state": ' || repeat('[', 127) || repeat(']', 127) || '}')::jsonb, pem)),
  ('numeric executionId', parmana_verify(jsonb_set(doc, '{executionId}', '1'), pem)),
  ('1 MB reason', parmana_verify(jsonb_set(doc, '{decision,reason}', to_jsonb(repeat('r', 1000000))), pem)),
  ('signature of 1 MB', parmana_verify(jsonb_set(doc, '{signature}', to_jsonb(repeat('QUFB', 250000))), pem)),
  ('execution_state an object', parmana_verify(jsonb_set(doc, '{execution_state}', '{"a": 1}'), pem)),
  ('NULL key', parmana_verify(doc, NULL)),
  ('empty key', parmana_verify(doc, '')),
  ('private key PEM as public key', parmana_verify(doc, E'-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n-----END PRIVATE KEY-----')),
  ('truncated PEM', parmana_verify(doc, E'-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----')),
  ('registry: unknown key', parmana_verify(jsonb_set(doc, '{signerKeyId}', to_jsonb(repeat('0', 64)))))
) AS t(input, v);

-- The catalogue's verdict: no internal errors, and the backend is still alive.
SELECT count(*) AS inputs, count(*) FILTER (WHERE regress.err(sql) LIKE 'XX%') AS internal_errors FROM regress.bad_inputs;
SELECT 'still alive' AS backend;
