-- Safe policy change: test suites with coverage, explanations without values, shadow evaluation
-- of a candidate version on live executions, and diffs between versions.
\i tests/pg_regress/include/setup.sql
\set VERBOSITY sqlstate
CALL regress.login_role('regress_pc_admin', '{parmana_admin}');
CALL regress.login_role('regress_pc_app', '{parmana_executor}');
\set loan_suite `cat fixtures/suites/loan-approval-1.0.0.json`
\set claims_suite `cat fixtures/suites/claims-approval-v1.json`
\set insurance_suite `cat fixtures/suites/insurance-claim-approval-1.0.0.json`

-- 1. The shipped suites pass and leave nothing uncovered.
SELECT r->>'policyId' AS policy, r->'passed' AS passed, r->'failed' AS failed,
       r->'coverage'->'rulesNeverMatched' AS rules_never_matched,
       r->'coverage'->'conditionsNeverEvaluated' AS conditions_never_evaluated
FROM (VALUES (parmana.parmana_policy_test('loan-approval', '1.0.0', :'loan_suite')),
             (parmana.parmana_policy_test('claims-approval', 'v1', :'claims_suite')),
             (parmana.parmana_policy_test('insurance-claim-approval', '1.0.0', :'insurance_suite'))) t(r);

-- 2. A partial suite: coverage names exactly the rules and conditions it leaves out.
SELECT r->'coverage'->'rulesNeverMatched' AS rules_never_matched,
       r->'coverage'->'conditionsNeverHeld' AS conditions_never_held,
       r->'coverage'->'conditionsNeverFailed' AS conditions_never_failed
FROM parmana.parmana_policy_test('claims-approval', 'v1', jsonb_build_array((:'claims_suite'::jsonb)->2, (:'claims_suite'::jsonb)->4)) r;
SELECT c FROM parmana.parmana_policy_test('insurance-claim-approval', '1.0.0', jsonb_build_array((:'insurance_suite'::jsonb)->3)) r,
  jsonb_array_elements(r->'coverage'->'conditions') c;

-- 3. Failing cases say which expectation failed; refused signals give the code, never the value.
SELECT jsonb_pretty(r->'cases') FROM parmana.parmana_policy_test('loan-approval', '1.0.0',
  '[{"name": "wrong", "signals": {"credit_score": 720, "loan_amount": 31337}, "expect": {"action": "reject"}},
    {"name": "refused", "signals": {"credit_score": "not-a-score", "loan_amount": 1}, "expect": {"action": "approve"}}]') r;
SELECT regress.err($$SELECT parmana.parmana_policy_test('loan-approval', '1.0.0', '{"not": "a list"}')$$) AS not_a_suite,
       regress.err($$SELECT parmana.parmana_policy_test('loan-approval', '9.9.9', '[]')$$) AS unknown_version;

-- 4. Explanations: which conditions held and where each earlier rule failed; never a value.
SELECT jsonb_pretty(parmana.parmana_simulate('claims-approval', 'v1',
  '{"claim_amount": 8500, "insurance_active": true, "risk_score": 42, "vip_customer": false}')->'explanation');
SELECT parmana.parmana_simulate('loan-approval', '1.0.0', '{"credit_score": 650, "loan_amount": 5}')->'explanation'->'held' AS catch_all_held;
SELECT count(*) AS explanations_with_a_value FROM generate_series(1, 200) g,
  LATERAL parmana.parmana_simulate('claims-approval', 'v1', jsonb_build_object('claim_amount', 7000 + g, 'insurance_active', g % 2 = 0,
    'risk_score', 13 + g % 77, 'vip_customer', g % 3 = 0)) s
WHERE (s->'explanation')::text ~ (7000 + g)::text OR (s->'explanation')::text ~ ('\m' || (13 + g % 77)::text || '\M')
   OR (s->'explanation')::text ~ '\m(true|false)\M';
-- Opt-in: the compact form is signed into decisions.
SET parmana.explain_decisions = on;
SELECT a->'explanation' AS explanation, parmana.parmana_verify(a)->>'valid' AS valid
FROM parmana.parmana_execute('pc-explained', 'claims-approval', 'v1',
  '{"claim_amount": 8500, "insurance_active": true, "risk_score": 42, "vip_customer": false}') a;
RESET parmana.explain_decisions;
SELECT parmana.parmana_execute('pc-plain', 'loan-approval', '1.0.0', '{"credit_score": 720, "loan_amount": 5}') ? 'explanation' AS explained_by_default;
-- Only a superuser turns it on: an application cannot change what gets signed.
\c - regress_pc_app
SELECT parmana.parmana_execute('pc-app', 'loan-approval', '1.0.0', '{"credit_score": 720, "loan_amount": 5}') ? 'explanation' AS app_explained;
SELECT regress.err($$SET parmana.explain_decisions = on$$) AS app_sets_explanations;
\c - postgres
\set VERBOSITY sqlstate

-- 5. Shadow evaluation: the admin shadows loan-approval 1.0.0 with 1.1.0, whose standard
--    threshold is 680 instead of 700. Executions of 1.0.0 decide exactly as before.
SELECT parmana.parmana_register_policy(jsonb_set(jsonb_set(document, '{policyVersion}', '"1.1.0"'),
  '{rules,1,condition,greater_than}', '680'))->>'policyVersion' AS registered
FROM parmana.policies WHERE policy_id = 'loan-approval' AND policy_version = '1.0.0';
-- 2.0.0 needs a signal 1.0.0 callers do not send.
SELECT parmana.parmana_register_policy(jsonb_set(jsonb_set(document, '{policyVersion}', '"2.0.0"'),
  '{signalsSchema,income}', '{"type": "integer"}'))->>'policyVersion' AS registered
FROM parmana.policies WHERE policy_id = 'loan-approval' AND policy_version = '1.0.0';
\c - regress_pc_app
SELECT regress.err($$INSERT INTO parmana.shadow_evaluations (policy_id, policy_version, candidate_version) VALUES ('loan-approval', '1.0.0', '1.1.0')$$) AS app_starts_shadow;
\c - regress_pc_admin
\set VERBOSITY sqlstate
SELECT split_part(regress.err($$INSERT INTO parmana.shadow_evaluations (policy_id, policy_version, candidate_version) VALUES ('loan-approval', '1.0.0', '9.9.9')$$), ' ', 1) AS unknown_candidate,
       split_part(regress.err($$INSERT INTO parmana.shadow_evaluations (policy_id, policy_version, candidate_version) VALUES ('loan-approval', '1.0.0', '1.0.0')$$), ' ', 1) AS itself;
INSERT INTO parmana.shadow_evaluations (policy_id, policy_version, candidate_version, started_by_login)
VALUES ('loan-approval', '1.0.0', '1.1.0', 'somebody_else');
SELECT policy_version, candidate_version, started_by_login FROM parmana.shadow_evaluations;
\c - regress_pc_app
\set VERBOSITY sqlstate
SELECT a->'decision'->>'ruleId' AS rule, count(*)
FROM generate_series(650, 749) score,
     LATERAL parmana.parmana_execute('pc-' || score, 'loan-approval', '1.0.0', jsonb_build_object('credit_score', score, 'loan_amount', 1)) a
GROUP BY 1 ORDER BY 1;
\c - regress_pc_admin
\set VERBOSITY sqlstate
SELECT execution_id, rule_id, candidate_rule_id, action, candidate_action, requires_override, candidate_requires_override
FROM parmana.shadow_divergences ORDER BY id LIMIT 3;
SELECT rule_id, candidate_rule_id, executions FROM parmana.shadow_divergence_summary;
SELECT regress.err($$DELETE FROM parmana.shadow_divergences$$) AS delete_divergences;
-- A candidate that refuses the signals is recorded with its error code.
UPDATE parmana.shadow_evaluations SET candidate_version = '2.0.0' WHERE policy_id = 'loan-approval';
\c - regress_pc_app
SELECT parmana.parmana_execute('pc-refused', 'loan-approval', '1.0.0', '{"credit_score": 720, "loan_amount": 5}')->'decision'->>'action' AS decided;
\c - regress_pc_admin
\set VERBOSITY sqlstate
SELECT execution_id, candidate_version, candidate_action, candidate_error FROM parmana.shadow_divergences WHERE candidate_error IS NOT NULL;
DELETE FROM parmana.shadow_evaluations;
SELECT candidate_version, stopped_by_login, stopped_at >= started_at AS ordered FROM parmana.shadow_periods ORDER BY started_at;
SELECT regress.err($$DELETE FROM parmana.shadow_evaluation_history$$) AS rewrite_history;

-- 6. The diff names what changed, with what the shadow saw.
SELECT d->'rules' AS rules, d->'signals' AS signals, d->'shadow'->'executionsShadowed' AS shadowed,
       jsonb_array_length(d->'shadow'->'divergences') AS divergence_kinds
FROM parmana.parmana_policy_diff('loan-approval', '1.0.0', '1.1.0') d;
SELECT d->'signals'->'added' AS added_signals, d->'identical' AS identical
FROM parmana.parmana_policy_diff('loan-approval', '1.0.0', '2.0.0') d;
SELECT parmana.parmana_policy_diff('loan-approval', '1.0.0', '1.0.0')->'identical' AS same_version_identical;
