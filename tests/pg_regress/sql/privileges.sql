-- parmana's roles, proved with non-superuser roles.
\i tests/pg_regress/include/setup.sql
\set VERBOSITY sqlstate

SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_nobody, regress_app, regress_auditor, regress_admin;
RESET client_min_messages;
CREATE ROLE regress_nobody LOGIN;
CREATE ROLE regress_app LOGIN IN ROLE parmana_executor;
CREATE ROLE regress_auditor LOGIN IN ROLE parmana_auditor;
CREATE ROLE regress_admin LOGIN IN ROLE parmana_admin;

-- Private keys: no role but the owner can read them, through any path.
SET ROLE regress_nobody;
SELECT regress.err('SELECT * FROM parmana.signing_key_secrets') AS nobody_secrets;
SELECT regress.err('SELECT * FROM parmana.attestations') AS nobody_attestations;
SELECT regress.err($$SELECT parmana.parmana_execute('priv-1', 'loan-approval', '1.0.0', '{"credit_score": 720, "loan_amount": 1}')$$) AS nobody_execute;
SELECT regress.err($$SELECT parmana.parmana_simulate('loan-approval', '1.0.0', '{"credit_score": 720, "loan_amount": 1}')$$) AS nobody_simulate;
SELECT regress.err($$SELECT parmana.parmana_verify('{}'::jsonb)$$) AS nobody_verify_registry;
SELECT regress.err('SELECT parmana.parmana_public_key()') AS nobody_public_key;
-- PUBLIC may verify with an explicit key.
SELECT parmana.parmana_verify('{}'::jsonb, 'x')->>'valid' AS nobody_verify_explicit;
RESET ROLE;

SET ROLE regress_app;
SELECT regress.err('SELECT * FROM parmana.signing_key_secrets') AS app_secrets;
SELECT regress.err('SELECT * FROM parmana.attestations') AS app_attestations;
SELECT parmana.parmana_execute('priv-2', 'loan-approval', '1.0.0', '{"credit_score": 720, "loan_amount": 1}')->>'execution_state' AS app_execute;
SELECT parmana.parmana_simulate('loan-approval', '1.0.0', '{"credit_score": 720, "loan_amount": 1}')->>'execution_state' AS app_simulate;
SELECT regress.err($$SELECT parmana.parmana_register_policy('{}')$$) AS app_register;
SELECT regress.err('SELECT parmana.parmana_rotate_key()') AS app_rotate;
SELECT regress.err('SELECT parmana.parmana_internal_bootstrap_key()') AS app_bootstrap;
-- Settings are superuser-only: an application cannot lift a limit or read the key file path.
SELECT regress.err('SET parmana.reject_pii = off') AS app_set_pii;
SELECT regress.err('SET parmana.max_signals_bytes = 100000000') AS app_set_size;
SELECT regress.err('SET parmana.reservation_ttl = 1') AS app_set_ttl;
SELECT regress.err('SHOW parmana.signing_key_file') AS app_show_key_file;
SELECT count(*) AS visible_in_pg_settings FROM pg_settings WHERE name = 'parmana.signing_key_file';
RESET ROLE;

-- The executing role is recorded, not the definer.
SELECT db_user FROM parmana.attestations WHERE execution_id = 'priv-2';
SELECT executed_by FROM parmana.replay_state WHERE execution_id = 'priv-2';

SET ROLE regress_auditor;
SELECT regress.err('SELECT * FROM parmana.signing_key_secrets') AS auditor_secrets;
SELECT count(*) > 0 AS auditor_reads_attestations FROM parmana.attestations;
SELECT bool_and((parmana.parmana_verify(attestation)->>'valid')::boolean) AS auditor_verifies FROM parmana.attestations;
SELECT regress.err($$SELECT parmana.parmana_execute('priv-3', 'loan-approval', '1.0.0', '{"credit_score": 720, "loan_amount": 1}')$$) AS auditor_execute;
SELECT regress.err($$UPDATE parmana.attestations SET action = 'approve'$$) AS auditor_update;
RESET ROLE;

SET ROLE regress_admin;
SELECT regress.err('SELECT * FROM parmana.signing_key_secrets') AS admin_secrets;
SELECT parmana.parmana_register_policy('{"policyId": "admin-made", "policyVersion": "1.0.0", "schemaVersion": "1.0.0", "signalsSchema": {},
  "rules": [{"id": "all", "condition": {"all": []}, "outcome": {"action": "approve", "requires_override": false, "reason": "ok"}}]}')->>'policyId' AS admin_register;
SELECT (parmana.parmana_rotate_key() ? 'signerKeyId') AS admin_rotate;
SELECT regress.err($$SELECT parmana.parmana_execute('priv-4', 'loan-approval', '1.0.0', '{"credit_score": 720, "loan_amount": 1}')$$) AS admin_execute;
SELECT regress.err($$DELETE FROM parmana.policies$$) AS admin_delete_policies;
RESET ROLE;

-- No function returns private key material.
SELECT parmana.parmana_public_key() LIKE '%PRIVATE%' AS public_key_leaks,
       parmana.parmana_runtime_manifest()::text LIKE '%PRIVATE%' AS manifest_leaks,
       parmana.parmana_rotate_key()::text LIKE '%PRIVATE%' AS rotate_leaks;

-- Signing and state-changing functions are SECURITY DEFINER with a pinned search_path.
SELECT p.proname, pg_get_function_identity_arguments(p.oid) AS args, p.prosecdef AS security_definer, p.proconfig
FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid JOIN pg_extension e ON e.oid = d.refobjid
WHERE e.extname = 'parmana' ORDER BY 1, 2;

-- Who may execute what.
SELECT p.proname, pg_get_function_identity_arguments(p.oid) AS args,
       has_function_privilege('regress_nobody', p.oid, 'EXECUTE') AS nobody,
       has_function_privilege('parmana_executor', p.oid, 'EXECUTE') AS executor,
       has_function_privilege('parmana_approver', p.oid, 'EXECUTE') AS approver,
       has_function_privilege('parmana_auditor', p.oid, 'EXECUTE') AS auditor,
       has_function_privilege('parmana_admin', p.oid, 'EXECUTE') AS admin
FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid JOIN pg_extension e ON e.oid = d.refobjid
WHERE e.extname = 'parmana' ORDER BY 1, 2;
