-- Governing a business table: every claim inserted is decided by claims-approval v1 through the
-- parmana_govern trigger. Run by scripts/demo.sh after demo/claims.sql (same database).
\set ON_ERROR_STOP 1
\pset pager off
\echo '== G1. a claims table, governed: execution id = 'gclaim-' || id; amount rounded to whole units'
CREATE TABLE governed_claims (
  id               bigint PRIMARY KEY,
  amount           numeric(12, 2) NOT NULL,
  risk_score       integer NOT NULL,
  insurance_active boolean NOT NULL,
  vip              boolean NOT NULL,
  decision         text,
  state            text,
  attestation      jsonb
);
INSERT INTO parmana.governed_tables
  (name, relation, policy_id, policy_version, execution_id_prefix, key_column, signals, attestation_column, action_column, state_column, on_reject)
VALUES ('governed_claims', 'governed_claims', 'claims-approval', 'v1', 'gclaim-', 'id',
  '{"claim_amount": {"column": "amount", "round": 0}, "risk_score": {"column": "risk_score"},
    "insurance_active": {"column": "insurance_active"}, "vip_customer": {"column": "vip"}}',
  'attestation', 'decision', 'state', 'record');
CREATE TRIGGER governed_claims_decide BEFORE INSERT OR UPDATE ON governed_claims
  FOR EACH ROW EXECUTE FUNCTION parmana.parmana_govern('governed_claims');

\echo '== G2. 5,000 claims in one statement: every row is decided, signed and stored'
\timing on
INSERT INTO governed_claims (id, amount, risk_score, insurance_active, vip)
SELECT g, round((100 + (g * 7919) % 20000)::numeric + 0.25, 2), (g * 31) % 100, g % 9 <> 0, g % 17 = 0
FROM generate_series(1, 5000) g;
\timing off
SELECT decision, state, count(*) AS claims FROM governed_claims GROUP BY 1, 2 ORDER BY 1, 2;

\echo '== G3. re-inserting a decided claim is a replay, and decided columns cannot be edited'
\set ON_ERROR_STOP 0
INSERT INTO governed_claims (id, amount, risk_score, insurance_active, vip) VALUES (42, 1, 1, true, false);
UPDATE governed_claims SET amount = 1 WHERE id = 42;
\set ON_ERROR_STOP 1

\echo '== G4. a reviewer approves one pending claim; refresh copies the resolution into the row'
SELECT id, decision, state FROM governed_claims WHERE state = 'pending_override' ORDER BY id LIMIT 1 \gset pending_
\c - demo_reviewer
SELECT r->>'status' AS status, r->'resolution'->>'execution_state' AS resolution_state
FROM parmana.parmana_override('gclaim-' || :pending_id, true, 'Jane Reviewer', 'claims_supervisor', 'documents received') r;
\c - postgres
SELECT parmana.parmana_govern_refresh('governed_claims') AS rows_refreshed;
SELECT id, decision, state, attestation->>'overrideId' IS NOT NULL AS resolved_by_override FROM governed_claims WHERE id = :pending_id;

\echo '== G5. audit: decisions per day, the review queue, and a full integrity check'
SELECT day::date, policy_id, kind, action, execution_state, attestations FROM parmana.decisions_by_policy_day
WHERE policy_id = 'claims-approval' ORDER BY 1, 3, 4, 5;
SELECT count(*) AS still_pending, min(requested_at) AS oldest FROM parmana.pending_overrides;
SELECT parmana.parmana_checkpoint() IS NOT NULL AS watermark_set;
SELECT (parmana.parmana_checkpoint()->'sealed'->>'rowCount')::int AS rows_sealed;
SELECT count(*) AS problems_found FROM parmana.parmana_audit_verify();

\echo '== G6. every governed row still matches its attestation; a flipped decision is caught'
SELECT count(*) AS rows_out_of_step FROM parmana.parmana_govern_verify('governed_claims');
UPDATE governed_claims SET decision = 'approve' WHERE id = (SELECT min(id) FROM governed_claims WHERE decision = 'reject');
SELECT key, problem, detail FROM parmana.parmana_govern_verify('governed_claims');
