-- parmana.parmana_verify: stored attestations verify; changing any single field fails; malformed input
-- is valid:false with a reason, never an exception; rotation keeps old attestations verifiable.
\i tests/pg_regress/include/setup.sql
\set VERBOSITY sqlstate

-- Decisions to verify: the documented quickstart and one per fixture.
SELECT count(*) AS executed FROM (VALUES
  ('claim-CLM-2024-00441', 'claims-approval', 'v1', '{"claim_amount": 8500, "insurance_active": true, "risk_score": 42, "vip_customer": false}'),
  ('loan-720', 'loan-approval', '1.0.0', '{"credit_score": 720, "loan_amount": 15000}'),
  ('loan-650', 'loan-approval', '1.0.0', '{"credit_score": 650, "loan_amount": 15000}'),
  ('ins-all-ok', 'insurance-claim-approval', '1.0.0', '{"claimAmount": 1, "customerTier": "gold", "policyActive": true, "fraudCheckPassed": true, "incidentVerified": true}')
) AS t(id, policy, version, signals), parmana.parmana_execute(id, policy, version, signals::jsonb) a;

SELECT count(*) AS attestations, bool_and((parmana.parmana_verify(attestation)->>'valid')::boolean) AS all_valid_registry,
       bool_and((parmana.parmana_verify(attestation, parmana.parmana_public_key())->>'valid')::boolean) AS all_valid_explicit_key
FROM parmana.attestations;

SELECT parmana.parmana_verify(attestation) AS report FROM parmana.attestations WHERE execution_id = 'claim-CLM-2024-00441';

-- Change one field at a time (strings get a suffix, the decision changes its action, the
-- signature flips a bit): each must fail, with the signature check named.
WITH a AS (SELECT attestation FROM parmana.attestations WHERE execution_id = 'claim-CLM-2024-00441'),
tampered AS (
  SELECT key,
         CASE WHEN key = 'signature' THEN jsonb_set(attestation, '{signature}',
                to_jsonb(translate(encode(set_byte(decode(attestation->>'signature', 'base64'), 0,
                  (get_byte(decode(attestation->>'signature', 'base64'), 0) # 1)), 'base64'), E'\n', '')))
              WHEN key = 'decision' THEN jsonb_set(attestation, '{decision,action}', '"reject"')
              ELSE jsonb_set(attestation, ARRAY[key], to_jsonb((attestation->>key) || 'x')) END AS doc
  FROM a, jsonb_object_keys(attestation) key
)
SELECT key, r->>'valid' AS valid, r->>'signatureVerified' AS signature, r->>'reason' AS reason
FROM tampered, parmana.parmana_verify(doc, parmana.parmana_public_key()) r ORDER BY key;

-- The same through the registry form, and one nested change: requires_override flipped.
SELECT parmana.parmana_verify(jsonb_set(attestation, '{decision,requires_override}', 'true'))->>'valid' AS flipped_override
FROM parmana.attestations WHERE execution_id = 'claim-CLM-2024-00441';

-- Malformed input: valid:false with a reason, never an error.
SELECT input, parmana.parmana_verify(doc) AS registry, parmana.parmana_verify(doc, parmana.parmana_public_key())->>'reason' AS explicit_reason FROM (VALUES
  ('null',            NULL::jsonb),
  ('json null',       'null'),
  ('number',          '42'),
  ('string',          '"attestation"'),
  ('array',           '[1, 2]'),
  ('empty object',    '{}'),
  ('huge number',     '{"execution_state": 1e400}'),
  ('missing fields',  '{"execution_state": "completed", "signature": "AAAA"}')
) AS t(input, doc);
SELECT parmana.parmana_verify(attestation - 'signature')->>'reason' AS no_signature,
       parmana.parmana_verify(jsonb_set(attestation, '{signature}', '"@@@"'))->>'reason' AS not_base64,
       parmana.parmana_verify(jsonb_set(attestation, '{signature}', '"AAAA"'))->>'reason' AS short_signature,
       parmana.parmana_verify(jsonb_set(attestation, '{signerKeyId}', '"unknown"'))->>'reason' AS unknown_key,
       parmana.parmana_verify(attestation, 'not a pem')->>'reason' AS bad_pem,
       parmana.parmana_verify(attestation, NULL)->>'reason' AS null_key
FROM parmana.attestations WHERE execution_id = 'claim-CLM-2024-00441';

-- Rotation: a new active key signs; attestations signed before still verify from the registry.
SELECT key_id AS old_key FROM parmana.signing_keys WHERE active \gset
SELECT r->>'previousKeyId' = :'old_key' AS retired_previous, r->>'signerKeyId' <> :'old_key' AS new_key
FROM parmana.parmana_rotate_key() r;
SELECT count(*) AS keys, count(*) FILTER (WHERE active) AS active, count(*) FILTER (WHERE retired_at IS NOT NULL) AS retired
FROM parmana.signing_keys;
SELECT a->>'signerKeyId' = (SELECT key_id FROM parmana.signing_keys WHERE active) AS signed_with_new_key,
       parmana.parmana_verify(a)->>'valid' AS new_valid
FROM parmana.parmana_execute('after-rotation', 'loan-approval', '1.0.0', '{"credit_score": 720, "loan_amount": 1}') a;
SELECT bool_and((parmana.parmana_verify(attestation)->>'valid')::boolean) AS all_still_valid,
       count(DISTINCT signer_key_id) AS signer_keys
FROM parmana.attestations;
-- An old attestation against the new key alone: the key does not match its signerKeyId.
SELECT parmana.parmana_verify(attestation, parmana.parmana_public_key())->>'reason' AS old_with_new_key,
       parmana.parmana_verify(attestation, parmana.parmana_public_key(:'old_key'))->>'valid' AS old_with_old_key
FROM parmana.attestations WHERE execution_id = 'claim-CLM-2024-00441';

-- DSSE: the same signature in a standard envelope over the canonical body.
SELECT e->>'payloadType' AS payload_type,
       e->'signatures'->0->>'sig' = a.attestation->>'signature' AS same_signature,
       e->'signatures'->0->>'keyid' = a.attestation->>'signerKeyId' AS keyid,
       convert_from(decode(e->>'payload', 'base64'), 'UTF8')::jsonb = a.attestation - 'signature' AS payload_is_body
FROM parmana.attestations a, parmana.parmana_dsse(a.attestation) e WHERE a.execution_id = 'claim-CLM-2024-00441';
SELECT regress.err($$SELECT parmana.parmana_dsse('{"a": 1}')$$) AS dsse_not_signed;
SELECT parmana.parmana_dsse(NULL) IS NULL AS dsse_null;

-- Verification writes nothing.
SELECT count(*) AS attestations_before FROM parmana.attestations \gset
SELECT count(*) FROM parmana.attestations, parmana.parmana_verify(attestation) v;
SELECT count(*) = :attestations_before AS unchanged FROM parmana.attestations;
