-- The embedded signing key, from the OS CSPRNG, unless a key is already active.
SELECT parmana.parmana_internal_bootstrap_key();

-- Every function starts closed; each role gets what it needs.
-- First nothing in schema parmana keeps a grant made anywhere but below: the installing role's
-- default privileges (ALTER DEFAULT PRIVILEGES) would otherwise hand out its tables, the signing
-- key's included, or CREATE on the schema.
DO $revoke$
DECLARE
  grant_ record;
BEGIN
  FOR grant_ IN
    SELECT pg_catalog.format('%s %s', CASE c.relkind WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END,
                             c.oid::pg_catalog.regclass) AS object, a.grantee
    FROM pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) a
    WHERE c.relnamespace OPERATOR(pg_catalog.=) 'parmana'::pg_catalog.regnamespace
      AND a.grantee OPERATOR(pg_catalog.<>) c.relowner
    UNION
    SELECT pg_catalog.format('FUNCTION %s', p.oid::pg_catalog.regprocedure), a.grantee
    FROM pg_catalog.pg_proc p, pg_catalog.aclexplode(p.proacl) a
    WHERE p.pronamespace OPERATOR(pg_catalog.=) 'parmana'::pg_catalog.regnamespace
      AND a.grantee OPERATOR(pg_catalog.<>) p.proowner
    UNION
    SELECT pg_catalog.format('TYPE %s', t.oid::pg_catalog.regtype), a.grantee
    FROM pg_catalog.pg_type t, pg_catalog.aclexplode(t.typacl) a
    WHERE t.typnamespace OPERATOR(pg_catalog.=) 'parmana'::pg_catalog.regnamespace
      AND a.grantee OPERATOR(pg_catalog.<>) t.typowner
    UNION
    SELECT 'SCHEMA parmana', a.grantee
    FROM pg_catalog.pg_namespace n, pg_catalog.aclexplode(n.nspacl) a
    WHERE n.nspname OPERATOR(pg_catalog.=) 'parmana' AND a.grantee OPERATOR(pg_catalog.<>) n.nspowner
  LOOP
    EXECUTE pg_catalog.format('REVOKE ALL ON %s FROM %s', grant_.object,
      CASE WHEN grant_.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC'
           ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(grant_.grantee)) END);
  END LOOP;
END
$revoke$;
-- PUBLIC gets nothing but verification with an explicit public key, and the configurations of the
-- governed tables it may write (parmana.writable_governed_tables, which the trigger reads).
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA parmana FROM PUBLIC;
GRANT USAGE ON SCHEMA parmana TO PUBLIC;
GRANT EXECUTE ON FUNCTION parmana.parmana_verify(jsonb, text) TO PUBLIC;
GRANT SELECT ON parmana.writable_governed_tables TO PUBLIC;
-- The trigger's UPDATE check needs the columns a mapping reads, for any role updating the table.
GRANT EXECUTE ON FUNCTION parmana.govern_signal_columns(jsonb) TO PUBLIC;

-- Executors decide, and runtimes that drive the replay steps themselves are executors too.
GRANT EXECUTE ON FUNCTION
  parmana.parmana_execute(text, text, text, jsonb),
  parmana.parmana_simulate(text, text, jsonb),
  parmana.parmana_replay_reserve(text, text),
  parmana.parmana_replay_start(text),
  parmana.parmana_replay_confirm(text),
  parmana.parmana_replay_fail(text),
  parmana.parmana_replay_expire(text),
  parmana.parmana_replay_mark_executed(text),
  parmana.govern_execution_id(text, regclass, text, text),
  parmana.govern_signals(jsonb, jsonb)
TO parmana_executor;

-- Reviewers resolve pending decisions, and record overrides of steps driven by other runtimes.
GRANT EXECUTE ON FUNCTION
  parmana.parmana_override(text, boolean, text, text, text),
  parmana.parmana_replay_override(text)
TO parmana_approver;

GRANT EXECUTE ON FUNCTION
  parmana.parmana_register_policy(jsonb),
  parmana.parmana_rotate_key(),
  parmana.parmana_replay_sweep(),
  parmana.parmana_checkpoint()
TO parmana_admin;
-- Admins clean up: they may take any non-reviewer step on any id.
GRANT EXECUTE ON FUNCTION
  parmana.parmana_replay_start(text),
  parmana.parmana_replay_confirm(text),
  parmana.parmana_replay_fail(text),
  parmana.parmana_replay_expire(text),
  parmana.parmana_replay_mark_executed(text)
TO parmana_admin;

GRANT EXECUTE ON FUNCTION
  parmana.parmana_audit_verify(bigint, bigint),
  parmana.parmana_govern_verify(regclass),
  parmana.parmana_witness_check(text),
  parmana.parmana_witness_cosign(text, text)
TO parmana_auditor, parmana_admin;

-- The trigger: table owners who are executors or admins may attach it (CREATE TRIGGER needs
-- EXECUTE); it runs as whoever writes the row. Refresh runs the table's statements with the caller's rights
-- (a superuser's with the table owner's).
GRANT EXECUTE ON FUNCTION parmana.parmana_govern() TO parmana_executor, parmana_admin;
GRANT EXECUTE ON FUNCTION
  parmana.parmana_govern_refresh(text),
  parmana.resolution_attestations(text[])
TO parmana_executor, parmana_approver, parmana_admin;

GRANT EXECUTE ON FUNCTION
  parmana.parmana_verify(jsonb),
  parmana.parmana_policy_test(text, text, jsonb),
  parmana.parmana_policy_diff(text, text, text),
  parmana.parmana_public_key(text),
  parmana.parmana_log_key(text),
  parmana.parmana_witness_key(text),
  parmana.parmana_inclusion_proof(bigint, bigint),
  parmana.parmana_consistency_proof(bigint, bigint),
  parmana.parmana_runtime_manifest(),
  parmana.parmana_dsse(jsonb),
  parmana.parmana_replay_state(text),
  parmana.parmana_replay_has_executed(text)
TO parmana_executor, parmana_approver, parmana_auditor, parmana_admin;

-- Public keys are public: every parmana role may read them (parmana_verify(jsonb) does).
GRANT SELECT ON parmana.signing_keys TO parmana_executor, parmana_approver, parmana_auditor, parmana_admin;
GRANT SELECT ON parmana.policies, parmana.replay_state, parmana.replay_steps, parmana.attestations,
                parmana.overrides, parmana.pending_overrides, parmana.override_authorities,
                parmana.override_authorities_history, parmana.override_authority_versions,
                parmana.execution_namespaces, parmana.execution_namespaces_history, parmana.execution_namespace_versions,
                parmana.governed_tables, parmana.governed_tables_history, parmana.governed_table_versions,
                parmana.checkpoints, parmana.checkpoint_state, parmana.log_tiles, parmana.witness_conflicts,
                parmana.witness_heads, parmana.shadow_evaluations, parmana.shadow_evaluation_history,
                parmana.shadow_periods, parmana.shadow_divergences,
                parmana.shadow_divergence_summary, parmana.decisions_by_policy_day,
                parmana.override_history, parmana.attestations_by_key
  TO parmana_auditor, parmana_admin;
-- Reviewers see their queue and who may approve.
GRANT SELECT ON parmana.overrides, parmana.pending_overrides, parmana.override_authorities,
                parmana.override_authorities_history, parmana.override_history
  TO parmana_approver;
GRANT SELECT ON parmana.governed_tables, parmana.execution_namespaces
  TO parmana_executor, parmana_approver, parmana_auditor, parmana_admin;
-- Admins decide who may approve, which id prefixes belong to whom, and how tables are governed;
-- every change is kept with who made it (the *_versions tables).
GRANT INSERT, DELETE ON parmana.override_authorities TO parmana_admin;
GRANT INSERT, UPDATE, DELETE ON parmana.execution_namespaces, parmana.governed_tables TO parmana_admin;
-- Admins start and stop shadow evaluations.
GRANT INSERT, UPDATE, DELETE ON parmana.shadow_evaluations TO parmana_admin;
