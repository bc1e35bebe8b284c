-- parmana_govern: a claims table governed by the claims-approval policy. Rows are decided with
-- the rights of whoever inserts them; numeric keys have one canonical text.
\i tests/pg_regress/include/setup.sql
\set VERBOSITY sqlstate
CALL regress.login_role('regress_govern_reviewer', '{parmana_approver}');
CALL regress.login_role('regress_govern_clerk');
CALL regress.login_role('regress_govern_app', '{parmana_executor}');

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
  (name, relation, policy_id, policy_version, execution_id_prefix, key_column, signals, attestation_column, action_column, state_column, on_reject)
VALUES ('claims', 'regress.claims', 'claims-approval', 'v1', 'claim-', 'id',
  '{"claim_amount": {"column": "amount", "round": 0}, "risk_score": {"column": "risk_score"},
    "insurance_active": {"column": "insurance_active"}, "vip_customer": {"column": "vip"}}',
  'attestation', 'decision', 'state', 'record');
CREATE TRIGGER claims_governed BEFORE INSERT OR UPDATE ON regress.claims
  FOR EACH ROW EXECUTE FUNCTION parmana.parmana_govern('claims');

-- Approve, reject (recorded), pending review; amounts are rounded to the declared scale first:
-- 8500.40 becomes 8500, so the first row has the published fingerprint.
INSERT INTO regress.claims (id, amount, risk_score, insurance_active, vip) VALUES
  (1, 8500.40, 42, true, false), (2, 100, 91, true, false), (3, 300, 30, false, false);
SELECT id, decision, state, attestation->>'executionId' AS execution_id, attestation->>'execution_fingerprint' AS fingerprint,
       parmana.parmana_verify(attestation)->>'valid' AS valid
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
\c - regress_govern_reviewer
SELECT parmana.parmana_override('claim-3', true, 'Jane', 'parmana_approver', 'coverage confirmed')->>'status' AS review;
\c - postgres
\set VERBOSITY sqlstate
SELECT parmana.parmana_govern_refresh('claims') AS refreshed, parmana.parmana_govern_refresh('claims') AS refreshed_again;
SELECT id, decision, state, attestation->>'overrideId' IS NOT NULL AS has_override, parmana.parmana_verify(attestation)->>'valid' AS valid
FROM regress.claims WHERE id = 3;

-- Rejections can block the write (nothing is kept) or skip the row (the signed rejection is kept).
UPDATE parmana.governed_tables SET on_reject = 'block' WHERE name = 'claims';
SELECT regress.err($$INSERT INTO regress.claims (id, amount, risk_score, insurance_active, vip) VALUES (10, 100, 95, true, false)$$) AS blocked;
SELECT parmana.parmana_replay_state('claim-10') IS NULL AS blocked_left_nothing;
UPDATE parmana.governed_tables SET on_reject = 'skip' WHERE name = 'claims';
INSERT INTO regress.claims (id, amount, risk_score, insurance_active, vip) VALUES (11, 100, 95, true, false), (12, 100, 10, true, false);
SELECT id, decision FROM regress.claims WHERE id IN (11, 12) ORDER BY id;
SELECT parmana.parmana_replay_state('claim-11') AS skipped_but_decided;
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
SELECT count(*) FILTER (WHERE (parmana.parmana_verify(attestation)->>'valid')::boolean) AS verified FROM regress.claims WHERE id BETWEEN 1000 AND 10999;

-- Normalization: lower-case and trim strings, scale decimals to integers.
SELECT parmana.parmana_register_policy('{"policyId": "payments", "policyVersion": "1.0.0", "schemaVersion": "1.0.0",
  "signalsSchema": {"amount_cents": {"type": "integer"}, "currency": {"type": "enum", "values": ["eur", "usd"]}},
  "rules": [{"id": "small", "condition": {"signal": "amount_cents", "less_than": 100000}, "outcome": {"action": "approve", "requires_override": false, "reason": "small"}},
            {"id": "rest", "condition": {"all": []}, "outcome": {"action": "review", "requires_override": true, "reason": "large"}}]}')->>'policyId' AS registered;
CREATE TABLE regress.payments_governed (ref text PRIMARY KEY, amount numeric NOT NULL, currency text NOT NULL, outcome jsonb);
INSERT INTO parmana.governed_tables (name, relation, policy_id, policy_version, execution_id_prefix, key_column, signals, attestation_column)
VALUES ('payments', 'regress.payments_governed', 'payments', '1.0.0', 'payment-', 'ref',
  '{"amount_cents": {"column": "amount", "scale": 2}, "currency": {"column": "currency", "lower": true, "trim": true}}', 'outcome');
CREATE TRIGGER payments_governed BEFORE INSERT OR UPDATE ON regress.payments_governed
  FOR EACH ROW EXECUTE FUNCTION parmana.parmana_govern('payments');
INSERT INTO regress.payments_governed (ref, amount, currency) VALUES ('TXN-1', 999.994, ' EUR '), ('TXN-2', 1000, 'usd');
SELECT ref, outcome->>'executionId' AS execution_id, outcome->'decision'->>'action' AS action,
       outcome->>'execution_fingerprint' = parmana.parmana_simulate('payments', '1.0.0', '{"amount_cents": 99999, "currency": "eur"}')->>'execution_fingerprint' AS normalized
FROM regress.payments_governed ORDER BY ref;
SELECT regress.err($$INSERT INTO regress.payments_governed (ref, amount, currency) VALUES ('TXN-3', 1, 'gbp')$$) AS bad_signal;

-- Who inserted is who executed, with its own rights: a role that may INSERT but is no executor is
-- refused; an executor's insert is recorded as its own.
GRANT USAGE ON SCHEMA regress TO regress_govern_clerk, regress_govern_app;
GRANT INSERT, SELECT ON regress.claims TO regress_govern_clerk, regress_govern_app;
\c - regress_govern_clerk
\set VERBOSITY sqlstate
SELECT regress.err($$INSERT INTO regress.claims (id, amount, risk_score, insurance_active, vip) VALUES (20, 100, 10, true, false)$$) AS not_an_executor;
\c - regress_govern_app
\set VERBOSITY sqlstate
INSERT INTO regress.claims (id, amount, risk_score, insurance_active, vip) VALUES (20, 100, 10, true, false);
\c - postgres
\set VERBOSITY sqlstate
SELECT db_user, db_login FROM parmana.attestations WHERE execution_id = 'claim-20';

-- One business key, one execution id: numeric keys are canonical (5, 5.0 and 5.00 are one key).
CREATE TABLE regress.numeric_claims (id numeric PRIMARY KEY, amount integer NOT NULL, risk_score int NOT NULL,
  insurance_active bool NOT NULL, vip bool NOT NULL, attestation jsonb);
INSERT INTO parmana.governed_tables (name, relation, policy_id, policy_version, execution_id_prefix, key_column, signals, attestation_column, on_reject)
VALUES ('numeric_claims', 'regress.numeric_claims', 'claims-approval', 'v1', 'nclaim-', 'id',
  '{"claim_amount": {"column": "amount"}, "risk_score": {"column": "risk_score"}, "insurance_active": {"column": "insurance_active"}, "vip_customer": {"column": "vip"}}',
  'attestation', 'record');
CREATE TRIGGER numeric_claims_governed BEFORE INSERT OR UPDATE ON regress.numeric_claims
  FOR EACH ROW EXECUTE FUNCTION parmana.parmana_govern('numeric_claims');
INSERT INTO regress.numeric_claims VALUES (5, 100, 10, true, false), (-0.0, 100, 10, true, false), (12.50, 100, 10, true, false);
SELECT id, attestation->>'executionId' AS execution_id FROM regress.numeric_claims ORDER BY id;
DELETE FROM regress.numeric_claims WHERE id = 5;
SELECT regress.err($$INSERT INTO regress.numeric_claims VALUES (5.0, 100, 10, true, false)$$) AS same_key_5_0,
       regress.err($$INSERT INTO regress.numeric_claims VALUES (5.00, 100, 10, true, false)$$) AS same_key_5_00,
       regress.err($$INSERT INTO regress.numeric_claims VALUES ('NaN', 100, 10, true, false)$$) AS nan_key;
-- Key types without one canonical text are refused when configured.
CREATE TABLE regress.float_claims (id double precision PRIMARY KEY, amount integer);
SELECT regress.err($$INSERT INTO parmana.governed_tables (name, relation, policy_id, policy_version, execution_id_prefix, key_column, signals)
  VALUES ('float_claims', 'regress.float_claims', 'claims-approval', 'v1', 'f-', 'id', '{}')$$) AS float_key;

-- Misconfiguration is an error, never an ungoverned write.
CREATE TABLE regress.misconfigured (id int PRIMARY KEY, x int);
CREATE TRIGGER unknown_config BEFORE INSERT ON regress.misconfigured FOR EACH ROW EXECUTE FUNCTION parmana.parmana_govern('no-such-config');
SELECT regress.err($$INSERT INTO regress.misconfigured VALUES (1, 1)$$) AS unknown_config;
DROP TRIGGER unknown_config ON regress.misconfigured;
SELECT regress.err($$INSERT INTO parmana.governed_tables (name, relation, policy_id, policy_version, execution_id_prefix, key_column, signals)
VALUES ('misconfigured', 'regress.misconfigured', 'loan-approval', '1.0.0', 'mis-', 'id', '{"credit_score": {"column": "no_such_column"}, "loan_amount": {"column": "x"}}')$$) AS missing_column;
-- A configuration governs the one table it is bound to: naming it from another table is refused.
CREATE TRIGGER borrowed_config BEFORE INSERT ON regress.misconfigured FOR EACH ROW EXECUTE FUNCTION parmana.parmana_govern('claims');
SELECT regress.err($$INSERT INTO regress.misconfigured VALUES (1, 1)$$) AS borrowed_config;
DROP TRIGGER borrowed_config ON regress.misconfigured;
INSERT INTO parmana.governed_tables (name, relation, policy_id, policy_version, execution_id_prefix, key_column, signals)
VALUES ('misconfigured', 'regress.misconfigured', 'loan-approval', '1.0.0', 'mis-', 'id', '{"credit_score": {"column": "x"}, "loan_amount": {"column": "x"}}');
CREATE TRIGGER after_trigger AFTER INSERT ON regress.misconfigured FOR EACH ROW EXECUTE FUNCTION parmana.parmana_govern('misconfigured');
SELECT regress.err($$INSERT INTO regress.misconfigured VALUES (1, 1)$$) AS after_trigger;
SELECT count(*) AS ungoverned_rows FROM regress.misconfigured;
-- Only parmana_admin configures; table owners who are executors or admins may attach the trigger.
SELECT has_function_privilege('parmana_executor', 'parmana.parmana_govern()', 'EXECUTE') AS executor_may_attach,
       has_function_privilege('parmana_admin', 'parmana.parmana_govern()', 'EXECUTE') AS admin_may_attach,
       has_table_privilege('parmana_executor', 'parmana.governed_tables', 'UPDATE') AS executor_may_configure;

-- What governed claims, and when: every configuration change is kept with who made it.
UPDATE parmana.governed_tables SET on_reject = 'block' WHERE name = 'numeric_claims';
SELECT name, operation, on_reject, changed_by_login, valid_to IS NULL AS current
FROM parmana.governed_tables_history WHERE name = 'numeric_claims' ORDER BY valid_from;
SELECT name, policy_id, policy_version, on_reject FROM parmana.governed_tables_history
WHERE name = 'numeric_claims' AND operation <> 'delete'
  AND valid_from <= clock_timestamp() AND (valid_to IS NULL OR valid_to > clock_timestamp());
