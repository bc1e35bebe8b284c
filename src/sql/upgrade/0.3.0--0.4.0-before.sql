-- Names resolve in pg_catalog only while this script runs: 0.3.0 lives in a schema (public by
-- default) whose owner may have put operators or functions there that match better than the
-- built-in ones, and this script runs as a superuser.
SELECT pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);

-- Everything user-facing moves from the schema 0.3.0 was installed in (public by default) into
-- schema parmana, and the extension with it: afterwards nothing of parmana lives in a schema a
-- non-superuser owns. Function OIDs are kept, so triggers on business tables keep working.
DO $move$
DECLARE
  f regprocedure;
BEGIN
  IF (SELECT r.rolsuper FROM pg_catalog.pg_namespace n JOIN pg_catalog.pg_roles r ON r.oid = n.nspowner
      WHERE n.nspname = 'parmana') IS NOT TRUE THEN
    RAISE EXCEPTION '[CFG-002] schema parmana is not owned by a superuser' USING ERRCODE = '22023';
  END IF;
  FOR f IN
    SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
    JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
    JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid AND e.extname = 'parmana'
    WHERE p.pronamespace <> 'parmana'::regnamespace
  LOOP
    EXECUTE pg_catalog.format('ALTER FUNCTION %s SET SCHEMA parmana', f);
  END LOOP;
END
$move$;
-- Until 0.4.0 the schema was created by the install script and so belonged to the extension; now
-- the extension lives in it, which PostgreSQL's own commands cannot express for a
-- non-relocatable extension: move the extension's record into the schema directly.
ALTER EXTENSION parmana DROP SCHEMA parmana;
UPDATE pg_catalog.pg_extension SET extnamespace = 'parmana'::regnamespace WHERE extname = 'parmana';
UPDATE pg_catalog.pg_depend SET refobjid = 'parmana'::regnamespace
WHERE classid = 'pg_catalog.pg_extension'::regclass
  AND objid = (SELECT oid FROM pg_catalog.pg_extension WHERE extname = 'parmana')
  AND refclassid = 'pg_catalog.pg_namespace'::regclass;
REVOKE ALL ON SCHEMA parmana FROM PUBLIC, parmana_executor, parmana_approver, parmana_auditor, parmana_admin;
COMMENT ON SCHEMA parmana IS 'parmana: governed decisions, signed attestations and their audit trail';

-- Who really decided: logins beside roles. Rows written before 0.4.0 keep NULL: unknown.
ALTER TABLE parmana.replay_state ADD COLUMN executed_login name;
COMMENT ON COLUMN parmana.replay_state.executed_by IS 'The role that claimed the id (SET ROLE included)';
COMMENT ON COLUMN parmana.replay_state.executed_login IS 'The login that claimed the id, which owns its steps; NULL for ids claimed before 0.4.0';
ALTER TABLE parmana.attestations ADD COLUMN db_login name;
COMMENT ON COLUMN parmana.attestations.db_user IS 'The role that executed or resolved (SET ROLE included)';
COMMENT ON COLUMN parmana.attestations.db_login IS 'The login that executed or resolved; NULL for attestations written before 0.4.0';
ALTER TABLE parmana.overrides ADD COLUMN requested_login name, ADD COLUMN resolved_login name;
COMMENT ON COLUMN parmana.overrides.requested_login IS 'The login that executed; NULL for decisions parked before 0.4.0';
COMMENT ON COLUMN parmana.overrides.resolved_login IS 'The login that resolved: who really decided';

-- Checkpoints wait only for transactions that had parmana.attestations open for writing. The
-- ALTER TABLE on parmana.attestations above waited for every such transaction to end, so the
-- watermark taken before the upgrade is safe to seal.
ALTER TABLE parmana.checkpoint_state DROP COLUMN watermark_xmax,
  ADD COLUMN watermark_holders text[] NOT NULL DEFAULT '{}';
ALTER TABLE parmana.checkpoint_state ALTER COLUMN watermark_holders DROP DEFAULT;

-- Configuration becomes versioned: keep 0.3.0's rows aside until the new tables exist.
DROP FUNCTION parmana.govern_signals(parmana.governed_tables, jsonb);
ALTER TABLE parmana.override_authorities RENAME TO override_authorities_before_0_4_0;
ALTER TABLE parmana.governed_tables RENAME TO governed_tables_before_0_4_0;

-- Checkpoints become signed tree heads over a Merkle tree of the attestations (the Merkle objects
-- themselves follow below); chained checkpoints written before stay as they are.
ALTER TABLE parmana.checkpoints ADD COLUMN tree_size bigint, ADD COLUMN first_leaf bigint, ADD COLUMN gaps bigint[],
  ADD COLUMN note text,
  ADD CONSTRAINT checkpoints_tree_head CHECK ((tree_size IS NULL) = (note IS NULL) AND (tree_size IS NULL) = (first_leaf IS NULL)
                                         AND (tree_size IS NULL) = (gaps IS NULL));
ALTER TABLE parmana.checkpoint_state ADD COLUMN origin text;
