-- 0.3.0's configuration, carried over as versions from an unknown time by an unknown author.
INSERT INTO parmana.override_authority_versions (policy_id, approver_role, listed, changed_at)
SELECT policy_id, approver_role, true, '-infinity' FROM parmana.override_authorities_before_0_4_0
ORDER BY policy_id, approver_role;
-- 0.4.0 checks that a reviewer really belongs to the approver role it names: say which listed
-- roles do not exist, so nobody can resolve those policies' overrides until they are created.
DO $check$
DECLARE missing text;
BEGIN
  SELECT pg_catalog.string_agg(DISTINCT pg_catalog.format('%I (policy %s)', a.approver_role, a.policy_id), ', ') INTO missing
  FROM parmana.override_authorities_before_0_4_0 a
  WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_roles r WHERE r.rolname = a.approver_role);
  IF missing IS NOT NULL THEN
    RAISE WARNING 'parmana.override_authorities names roles that do not exist: %', missing
      USING HINT = 'Create them and grant them to the reviewers'' logins: approver_role must be a role the login belongs to.';
  END IF;
END
$check$;
-- A configuration is bound to the one table whose parmana_govern trigger names it; a name used by
-- no trigger, or by several, stays unbound (its trigger refuses until an admin sets relation).
INSERT INTO parmana.governed_table_versions
  (name, operation, relation, policy_id, policy_version, execution_id_prefix, key_column, signals, attestation_column,
   action_column, state_column, reject_actions, on_reject, changed_at)
SELECT g.name, 'insert',
       (SELECT CASE WHEN count(*) = 1 THEN min(t.tgrelid)::regclass END FROM pg_catalog.pg_trigger t
        WHERE t.tgfoid = 'parmana.parmana_govern()'::regprocedure
          AND pg_catalog.encode(t.tgargs, 'escape') = g.name || '\000'),
       g.policy_id, g.policy_version, g.execution_id_prefix, g.key_column, g.signals, g.attestation_column,
       g.action_column, g.state_column, g.reject_actions, g.on_reject, '-infinity'
FROM parmana.governed_tables_before_0_4_0 g ORDER BY g.name;
-- Leaving the extension first also takes them off pg_dump's list of configuration tables.
ALTER EXTENSION parmana DROP TABLE parmana.override_authorities_before_0_4_0;
ALTER EXTENSION parmana DROP TABLE parmana.governed_tables_before_0_4_0;
DROP TABLE parmana.override_authorities_before_0_4_0, parmana.governed_tables_before_0_4_0;
