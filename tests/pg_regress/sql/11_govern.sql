-- parmana_govern: a claims table governed by the claims-approval policy.
\set VERBOSITY sqlstate
SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_clerk;
RESET client_min_messages;

CREATE TABLE regress.claims (
  id               bigint PRIMARY KEY,
  amount           numeric(12, 2) NOT NULL,
  risk_score       integer NOT NULL,
  insurance_active boolean NOT NULL,
  vip              boolean NOT NULL,
  tier             text,
  note             text,
  decision         text,
  state            text,
  attestation      jsonb
);
INSERT INTO parmana.governed_tables
  (name, policy_id, policy_version, execution_id_prefix, key_column, signals, attestation_column, action_column, state_column, on_reject)
VALUES ('claims', 'claims-approval', 'v1', 'claim-', 'id',
  '{"claim_amount": {"column": "amount", "round": 0}, "risk_score": {"column": "risk_score"},
    "insurance_active": {"column": "insurance_active"}, "vip_customer": {"column": "vip"}}',
  'attestation', 'decision', 'state', 'record');
CREATE TRIGGER claims_governed BEFORE INSERT OR UPDATE ON regress.claims
  FOR EACH ROW EXECUTE FUNCTION parmana_govern('claims');

-- Approve, reject (recorded), pending review; amounts are rounded to the declared scale first:
-- 8500.40 becomes 8500, so the first row has the SPEC §5 fingerprint.
INSERT INTO regress.claims (id, amount, risk_score, insurance_active, vip) VALUES
  (1, 8500.40, 42, true, false), (2, 100, 91, true, false), (3, 300, 30, false, false);
SELECT id, decision, state, attestation->>'executionId' AS execution_id, attestation->>'execution_fingerprint' AS fingerprint,
       parmana_verify(attestation)->>'valid' AS valid
FROM regress.claims ORDER BY id;

-- Re-inserting the same business key is a replay: the insert fails before the primary key is checked.
SELECT regress.err($$INSERT INTO regress.claims (id, amount, risk_score, insurance_active, vip) VALUES (1, 1, 1, true, false)$$) AS reinsert;
-- Even after the business row is gone, the id is decided.
DELETE FROM regress.claims WHERE id = 2;
SELECT regress.err($$INSERT INTO regress.claims (id, amount, risk_score, insurance_active, vip) VALUES (2, 1, 1, true, false)$$) AS reinsert_deleted;

-- UPDATE: the business key and the columns signals come from are fixed; other columns are free.
SELECT regress.err($$UPDATE regress.claims SET amount = 1 WHERE id = 1$$) AS change_signal_column,
       regress.err($$UPDATE regress.claims SET id = 99 WHERE id = 1$$) AS change_key,
       regress.err($$UPDATE regress.claims SET note = 'called the customer' WHERE id = 1$$) AS change_other_column;

-- A reviewer resolves the pending claim; refresh copies the resolution into the row.
SET ROLE regress_reviewer;
SELECT parmana_override('claim-3', true, 'jane.reviewer', 'claims_supervisor', 'coverage confirmed')->>'status' AS review;
RESET ROLE;
SELECT parmana_govern_refresh('claims') AS refreshed, parmana_govern_refresh('claims') AS refreshed_again;
SELECT id, decision, state, attestation->>'overrideId' IS NOT NULL AS has_override, parmana_verify(attestation)->>'valid' AS valid
FROM regress.claims WHERE id = 3;

-- Rejections can block the write (nothing is kept) or skip the row (the signed rejection is kept).
UPDATE parmana.governed_tables SET on_reject = 'block' WHERE name = 'claims';
SELECT regress.err($$INSERT INTO regress.claims (id, amount, risk_score, insurance_active, vip) VALUES (10, 100, 95, true, false)$$) AS blocked;
SELECT parmana_replay_state('claim-10') IS NULL AS blocked_left_nothing;
UPDATE parmana.governed_tables SET on_reject = 'skip' WHERE name = 'claims';
INSERT INTO regress.claims (id, amount, risk_score, insurance_active, vip) VALUES (11, 100, 95, true, false), (12, 100, 10, true, false);
SELECT id, decision FROM regress.claims WHERE id IN (11, 12) ORDER BY id;
SELECT parmana_replay_state('claim-11') AS skipped_but_decided;
UPDATE parmana.governed_tables SET on_reject = 'record' WHERE name = 'claims';

-- A bulk insert of 10,000 rows in one statement governs every row.
INSERT INTO regress.claims (id, amount, risk_score, insurance_active, vip)
SELECT g, 100 + g % 9000, g % 100, g % 7 <> 0, g % 13 = 0 FROM generate_series(1000, 10999) g;
SELECT count(*) AS rows, count(attestation) AS with_attestation,
       count(*) FILTER (WHERE attestation->>'executionId' = 'claim-' || id) AS id_matches,
       (SELECT count(*) FROM parmana.attestations WHERE execution_id LIKE 'claim-%' AND kind = 'decision'
          AND execution_id::text ~ '^claim-[0-9]+$' AND substr(execution_id, 7)::bigint BETWEEN 1000 AND 10999) AS decisions_stored
FROM regress.claims WHERE id BETWEEN 1000 AND 10999;
SELECT decision, state, count(*) FROM regress.claims WHERE id BETWEEN 1000 AND 10999 GROUP BY 1, 2 ORDER BY 1, 2;
SELECT count(*) FILTER (WHERE (parmana_verify(attestation)->>'valid')::boolean) AS verified FROM regress.claims WHERE id BETWEEN 1000 AND 10999;

-- Normalization: lower-case and trim strings, scale decimals to integers.
SELECT parmana_register_policy('{"policyId": "payments", "policyVersion": "1.0.0", "schemaVersion": "1.0.0",
  "signalsSchema": {"amount_cents": {"type": "integer"}, "currency": {"type": "enum", "values": ["eur", "usd"]}},
  "rules": [{"id": "small", "condition": {"signal": "amount_cents", "less_than": 100000}, "outcome": {"action": "approve", "requires_override": false, "reason": "small"}},
            {"id": "rest", "condition": {"all": []}, "outcome": {"action": "review", "requires_override": true, "reason": "large"}}]}')->>'policyId' AS registered;
CREATE TABLE regress.payments_governed (ref text PRIMARY KEY, amount numeric NOT NULL, currency text NOT NULL, outcome jsonb);
INSERT INTO parmana.governed_tables (name, policy_id, policy_version, execution_id_prefix, key_column, signals, attestation_column)
VALUES ('payments', 'payments', '1.0.0', 'payment-', 'ref',
  '{"amount_cents": {"column": "amount", "scale": 2}, "currency": {"column": "currency", "lower": true, "trim": true}}', 'outcome');
CREATE TRIGGER payments_governed BEFORE INSERT OR UPDATE ON regress.payments_governed
  FOR EACH ROW EXECUTE FUNCTION parmana_govern('payments');
INSERT INTO regress.payments_governed (ref, amount, currency) VALUES ('TXN-1', 999.994, ' EUR '), ('TXN-2', 1000, 'usd');
SELECT ref, outcome->>'executionId' AS execution_id, outcome->'decision'->>'action' AS action,
       outcome->>'execution_fingerprint' = parmana_simulate('payments', '1.0.0', '{"amount_cents": 99999, "currency": "eur"}')->>'execution_fingerprint' AS normalized
FROM regress.payments_governed ORDER BY ref;
SELECT regress.err($$INSERT INTO regress.payments_governed (ref, amount, currency) VALUES ('TXN-3', 1, 'gbp')$$) AS bad_signal;

-- Who inserted is who executed: an application role without parmana_executor governs through the trigger.
CREATE ROLE regress_clerk LOGIN;
GRANT USAGE ON SCHEMA regress TO regress_clerk;
GRANT INSERT, SELECT ON regress.claims TO regress_clerk;
SET ROLE regress_clerk;
INSERT INTO regress.claims (id, amount, risk_score, insurance_active, vip) VALUES (20, 100, 10, true, false);
RESET ROLE;
SELECT db_user FROM parmana.attestations WHERE execution_id = 'claim-20';

-- Misconfiguration is an error, never an ungoverned write.
CREATE TABLE regress.misconfigured (id int PRIMARY KEY, x int);
CREATE TRIGGER unknown_config BEFORE INSERT ON regress.misconfigured FOR EACH ROW EXECUTE FUNCTION parmana_govern('no-such-config');
SELECT regress.err($$INSERT INTO regress.misconfigured VALUES (1, 1)$$) AS unknown_config;
DROP TRIGGER unknown_config ON regress.misconfigured;
INSERT INTO parmana.governed_tables (name, policy_id, policy_version, execution_id_prefix, key_column, signals)
VALUES ('misconfigured', 'loan-approval', '1.0.0', 'mis-', 'id', '{"credit_score": {"column": "no_such_column"}, "loan_amount": {"column": "x"}}');
CREATE TRIGGER missing_column BEFORE INSERT ON regress.misconfigured FOR EACH ROW EXECUTE FUNCTION parmana_govern('misconfigured');
SELECT regress.err($$INSERT INTO regress.misconfigured VALUES (1, 1)$$) AS missing_column;
DROP TRIGGER missing_column ON regress.misconfigured;
CREATE TRIGGER after_trigger AFTER INSERT ON regress.misconfigured FOR EACH ROW EXECUTE FUNCTION parmana_govern('misconfigured');
SELECT regress.err($$INSERT INTO regress.misconfigured VALUES (1, 1)$$) AS after_trigger;
SELECT count(*) AS ungoverned_rows FROM regress.misconfigured;
-- Only parmana_admin (or the owner) may attach the trigger or change the configuration.
SELECT has_function_privilege('parmana_executor', 'parmana_govern()', 'EXECUTE') AS executor_may_attach,
       has_function_privilege('parmana_admin', 'parmana_govern()', 'EXECUTE') AS admin_may_attach,
       has_table_privilege('parmana_executor', 'parmana.governed_tables', 'UPDATE') AS executor_may_configure;
