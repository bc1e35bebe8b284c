-- parmana_govern_verify: every governed row stays bound to its attestation. An intact table of
-- 100,000 rows reports nothing; each kind of tampering is reported for the row it touched.
\i tests/pg_regress/include/setup.sql
\set VERBOSITY sqlstate
CALL regress.login_role('regress_gv_clerk', '{parmana_executor}');
CALL regress.login_role('regress_gv_reviewer', '{parmana_approver}');
CALL regress.login_role('regress_gv_auditor', '{parmana_auditor}');

CREATE TABLE regress.claims (
  id bigint PRIMARY KEY, amount numeric(12, 2) NOT NULL, risk_score integer NOT NULL,
  insurance_active boolean NOT NULL, vip boolean NOT NULL, decision text, state text, attestation jsonb);
INSERT INTO parmana.governed_tables
  (name, relation, policy_id, policy_version, execution_id_prefix, key_column, signals, attestation_column, action_column, state_column, on_reject)
VALUES ('claims', 'regress.claims', 'claims-approval', 'v1', 'gvclaim-', 'id',
  '{"claim_amount": {"column": "amount", "round": 0}, "risk_score": {"column": "risk_score"},
    "insurance_active": {"column": "insurance_active"}, "vip_customer": {"column": "vip"}}',
  'attestation', 'decision', 'state', 'record');
CREATE TRIGGER claims_governed BEFORE INSERT OR UPDATE ON regress.claims
  FOR EACH ROW EXECUTE FUNCTION parmana.parmana_govern('claims');
GRANT USAGE ON SCHEMA regress TO regress_gv_clerk, regress_gv_auditor;
GRANT SELECT, INSERT, UPDATE ON regress.claims TO regress_gv_clerk;
GRANT SELECT ON regress.claims TO regress_gv_auditor;

\c - regress_gv_clerk
INSERT INTO regress.claims (id, amount, risk_score, insurance_active, vip)
SELECT g, 100 + g % 9000 + 0.25, g % 100, g % 7 <> 0, g % 13 = 0 FROM generate_series(1, 100000) g;
\c - regress_gv_reviewer
SELECT count(*) AS reviewed FROM (
  SELECT parmana.parmana_override('gvclaim-' || g, true, 'Reviewer', 'parmana_approver', 'documents received')
  FROM generate_series(7, 70, 7) g) r;
\c - regress_gv_clerk
SELECT parmana.parmana_govern_refresh('claims') AS refreshed;
SELECT decision, state, count(*) FROM regress.claims GROUP BY 1, 2 ORDER BY 1, 2;

-- Intact: nothing to report, for an auditor.
\c - regress_gv_auditor
\set VERBOSITY sqlstate
SELECT count(*) AS problems_on_intact_table FROM parmana.parmana_govern_verify('regress.claims');

-- Tampering an application login can do, the trigger allowing it (decision columns may be updated):
\c - regress_gv_clerk
-- a rejected claim flipped to approved, with another claim's valid attestation pasted in
UPDATE regress.claims SET decision = 'approve', state = 'completed',
  attestation = (SELECT attestation FROM regress.claims WHERE id = 1) WHERE id = 99;
-- a decision column flipped, the attestation left alone
UPDATE regress.claims SET decision = 'approve' WHERE id = 98;
-- a state column flipped
UPDATE regress.claims SET state = 'completed' WHERE id = 77;
-- an attestation edited
UPDATE regress.claims SET attestation = jsonb_set(attestation, '{decision,action}', '"approve"') WHERE id = 97;
-- Tampering only a superuser can do, with triggers disabled:
\c - postgres
SET session_replication_role = replica;
-- a signal column changed after the decision
UPDATE regress.claims SET amount = 1 WHERE id = 96;
-- a row that was never decided
INSERT INTO regress.claims (id, amount, risk_score, insurance_active, vip) VALUES (200001, 5, 5, true, false);
-- the stored attestation of a row deleted
DELETE FROM parmana.attestations WHERE execution_id = 'gvclaim-95';
RESET session_replication_role;

\c - regress_gv_auditor
\set VERBOSITY sqlstate
SELECT key, execution_id, problem, detail FROM parmana.parmana_govern_verify('regress.claims') ORDER BY key::bigint, problem;

-- Who may ask: auditors and admins, and only about tables they can read.
\c - regress_gv_clerk
\set VERBOSITY sqlstate
SELECT regress.err($$SELECT count(*) FROM parmana.parmana_govern_verify('regress.claims')$$) AS clerk_verifies;
\c - postgres
\set VERBOSITY sqlstate
REVOKE SELECT ON regress.claims FROM regress_gv_auditor;
\c - regress_gv_auditor
\set VERBOSITY sqlstate
SELECT regress.err($$SELECT count(*) FROM parmana.parmana_govern_verify('regress.claims')$$) AS auditor_without_select;
