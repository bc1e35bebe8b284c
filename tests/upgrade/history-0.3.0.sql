-- Added to history.sql for 0.2.0 and later: checkpoints; for 0.3.0: a governed business table.
\set ON_ERROR_STOP 1
SELECT parmana_checkpoint() IS NOT NULL;
SELECT parmana_checkpoint()->'sealed'->>'rowCount' AS sealed;
CREATE TABLE public.old_claims (
  id bigint PRIMARY KEY, amount numeric(12, 2) NOT NULL, risk_score integer NOT NULL,
  insurance_active boolean NOT NULL, vip boolean NOT NULL, decision text, state text, attestation jsonb);
INSERT INTO parmana.governed_tables
  (name, policy_id, policy_version, execution_id_prefix, key_column, signals, attestation_column, action_column, state_column, on_reject)
VALUES ('old_claims', 'claims-approval', 'v1', 'oldclaim-', 'id',
  '{"claim_amount": {"column": "amount", "round": 0}, "risk_score": {"column": "risk_score"},
    "insurance_active": {"column": "insurance_active"}, "vip_customer": {"column": "vip"}}',
  'attestation', 'decision', 'state', 'record');
CREATE TRIGGER old_claims_governed BEFORE INSERT OR UPDATE ON public.old_claims
  FOR EACH ROW EXECUTE FUNCTION parmana_govern('old_claims');
INSERT INTO public.old_claims (id, amount, risk_score, insurance_active, vip)
SELECT g, 100 + g * 10.25, (g * 31) % 100, g % 5 <> 0, false FROM generate_series(1, 30) g;
GRANT SELECT ON public.old_claims TO old_reviewer;
SET ROLE old_reviewer;
SELECT parmana_override('oldclaim-' || id, true, 'jane', 'claims_supervisor', 'documents received')->>'status'
FROM public.old_claims WHERE state = 'pending_override' ORDER BY id LIMIT 2;
RESET ROLE;
SELECT parmana_govern_refresh('old_claims') AS refreshed;
SELECT parmana_checkpoint()->'sealed'->>'rowCount' AS sealed;
SELECT parmana_execute('old-after-checkpoint', 'loan-approval', '1.0.0', '{"credit_score": 720, "loan_amount": 5}');
