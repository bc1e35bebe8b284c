-- Registering policies: compile errors carry POL codes, registered versions are immutable.
\i tests/pg_regress/include/setup.sql
\set VERBOSITY sqlstate

SELECT name, r->>'policyId' AS policy_id, r->>'policyVersion' AS version, r->>'policyHash' AS policy_hash, r->'warnings' AS warnings
FROM regress.fixtures, parmana.parmana_register_policy(document) r ORDER BY name;

-- Identical document again: a no-op returning the same hash.
SELECT parmana.parmana_register_policy(document)->>'policyHash' AS same_hash FROM regress.fixtures WHERE name = 'loan';
SELECT count(*) AS registered FROM parmana.policies;

-- Different content under a registered version is refused.
SELECT regress.err($$SELECT parmana.parmana_register_policy(jsonb_set(document, '{rules,0,outcome,reason}', '"changed"')) FROM regress.fixtures WHERE name = 'loan'$$);
-- The stored document is the one registered first.
SELECT document->'rules'->0->'outcome'->>'reason' AS reason FROM parmana.policies WHERE policy_id = 'loan-approval';

-- Compile errors, one per code.
SELECT code, regress.err(format('SELECT parmana.parmana_register_policy(%L::jsonb)', doc)) AS result FROM (VALUES
  ('POL-002', '[1, 2]'),
  ('POL-003', '{"policyVersion": "1.0.0", "schemaVersion": "1.0.0", "signalsSchema": {}, "rules": []}'),
  ('POL-004', '{"policyId": "p", "schemaVersion": "1.0.0", "signalsSchema": {}, "rules": []}'),
  ('POL-005', '{"policyId": "p", "policyVersion": "1.0.0", "signalsSchema": {}, "rules": []}'),
  ('POL-006', '{"policyId": "p", "policyVersion": "1.0.0", "schemaVersion": "1.0.0", "rules": []}'),
  ('POL-007', '{"policyId": "p", "policyVersion": "1.0.0", "schemaVersion": "1.0.0", "signalsSchema": {}}'),
  ('POL-009', '{"policyId": "p", "policyVersion": "1.0.0", "schemaVersion": "2.0.0", "signalsSchema": {}, "rules": []}'),
  ('POL-010', '{"policyId": "p", "policyVersion": "1.0.0", "schemaVersion": "1.0.0", "signalsSchema": {"a": {}}, "rules": []}'),
  ('POL-011', '{"policyId": "p", "policyVersion": "1.0.0", "schemaVersion": "1.0.0", "signalsSchema": {"a": {"type": "float"}}, "rules": []}'),
  ('POL-012', '{"policyId": "p", "policyVersion": "1.0.0", "schemaVersion": "1.0.0", "signalsSchema": {"a": {"type": "enum"}}, "rules": []}'),
  ('POL-013', '{"policyId": "p", "policyVersion": "1.0.0", "schemaVersion": "1.0.0", "signalsSchema": {}, "rules": [{"condition": {"all": []}}]}'),
  ('POL-014', '{"policyId": "p", "policyVersion": "1.0.0", "schemaVersion": "1.0.0", "signalsSchema": {"a": {"type": "integer"}}, "rules": [{"id": "r", "condition": {"signal": "a", "between": [1, 2]}, "outcome": {"action": "x", "requires_override": false, "reason": "y"}}]}'),
  ('POL-015', '{"policyId": "p", "policyVersion": "1.0.0", "schemaVersion": "1.0.0", "signalsSchema": {}, "rules": [{"id": "r", "condition": {"signal": "a", "equals": 1}, "outcome": {"action": "x", "requires_override": false, "reason": "y"}}]}'),
  ('POL-016', '{"policyId": "p", "policyVersion": "1.0.0", "schemaVersion": "1.0.0", "signalsSchema": {"a": {"type": "boolean"}}, "rules": [{"id": "r", "condition": {"signal": "a", "greater_than": 1}, "outcome": {"action": "x", "requires_override": false, "reason": "y"}}]}'),
  ('POL-017', '{"policyId": "p", "policyVersion": "1.0.0", "schemaVersion": "1.0.0", "signalsSchema": {}, "rules": [{"id": "r", "condition": {"all": []}, "outcome": {"action": "x"}}]}'),
  ('POL-020', '{"policyId": "p", "policyVersion": "1.0.0", "schemaVersion": "1.0.0", "signalsSchema": {}, "rules": [{"id": "r", "condition": {"all": []}, "outcome": {"action": "x", "requires_override": false, "reason": "y"}}, {"id": "r", "condition": {"all": []}, "outcome": {"action": "x", "requires_override": false, "reason": "y"}}]}'),
  ('POL-002', '{"policyId": "p", "policyVersion": "1.0.0", "schemaVersion": "1.0.0", "signalsSchema": {"a": {"type": "number"}}, "rules": [{"id": "r", "condition": {"signal": "a", "greater_than": 1e400}, "outcome": {"action": "x", "requires_override": false, "reason": "y"}}]}')
) AS t(code, doc);
SELECT regress.err('SELECT parmana.parmana_register_policy(NULL)') AS null_policy;

-- A policy without catch-all registers with warning POL-021 (used for SYS-006 later).
SELECT r->'warnings'->0->>'code' AS warning
FROM parmana.parmana_register_policy('{"policyId": "no-catch-all", "policyVersion": "1.0.0", "schemaVersion": "1.0.0",
  "signalsSchema": {"amount": {"type": "integer"}},
  "rules": [{"id": "small", "condition": {"signal": "amount", "less_than": 100}, "outcome": {"action": "approve", "requires_override": false, "reason": "small"}}]}') r;

-- Nothing half-written: failed registrations left no rows.
SELECT policy_id, policy_version FROM parmana.policies ORDER BY 1, 2;
