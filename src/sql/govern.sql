-- Governing business tables with the parmana_govern trigger.
--
--   INSERT INTO parmana.governed_tables (name, relation, policy_id, policy_version, execution_id_prefix, key_column, signals, ...)
--   CREATE TRIGGER claims_governed BEFORE INSERT OR UPDATE ON claims
--     FOR EACH ROW EXECUTE FUNCTION parmana.parmana_govern('claims');
--
-- Who may govern what: parmana_admin writes a configuration and binds it to one table; the table
-- owner attaches the trigger (the trigger refuses to run on any other table); every row is decided
-- with the rights of the role that inserts it, which must itself be a parmana_executor. Governing
-- a table therefore grants nobody anything: work on the user's table (reading NEW, writing the
-- decision columns) runs as that user, and only plain values cross into parmana_execute.

-- The configurations of the tables the querying role may write: what the trigger reads. Roles
-- that insert into or update a governed table need not be parmana roles, and see nothing else.
CREATE VIEW parmana.writable_governed_tables WITH (security_barrier) AS
  SELECT * FROM parmana.governed_tables g
  WHERE pg_catalog.has_table_privilege(g.relation, 'INSERT, UPDATE');
COMMENT ON VIEW parmana.writable_governed_tables IS 'parmana.governed_tables rows for the tables the current role may insert into or update';

-- The trigger. INSERT decides; UPDATE may change anything but the business key and the columns
-- signals come from (re-deciding needs a new business key: execution ids are never reused).
-- SECURITY INVOKER: it runs as the role writing the row.
CREATE OR REPLACE FUNCTION parmana.parmana_govern() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  config parmana.governed_tables;
  rec jsonb;
  old_rec jsonb;
  execution_id text;
  attestation jsonb;
  outputs jsonb := '{}';
  col text;
BEGIN
  IF TG_NARGS <> 1 OR TG_LEVEL <> 'ROW' OR TG_WHEN <> 'BEFORE' OR TG_OP NOT IN ('INSERT', 'UPDATE') THEN
    RAISE EXCEPTION '[GOV-004] parmana_govern must be a BEFORE INSERT OR UPDATE ... FOR EACH ROW trigger with one argument'
      USING ERRCODE = '22023', DETAIL = 'The argument names the parmana.governed_tables configuration.';
  END IF;
  SELECT * INTO config FROM parmana.writable_governed_tables g WHERE g.name = TG_ARGV[0];
  IF NOT FOUND THEN
    RAISE EXCEPTION '[GOV-001] no parmana.governed_tables configuration named %', TG_ARGV[0] USING ERRCODE = '42704';
  END IF;
  IF config.relation IS DISTINCT FROM TG_RELID::regclass THEN
    RAISE EXCEPTION '[GOV-006] configuration % governs %, not %', TG_ARGV[0], config.relation, TG_RELID::regclass
      USING ERRCODE = '42501', HINT = 'A configuration is bound to one table (its relation column).';
  END IF;
  rec := pg_catalog.to_jsonb(NEW);

  IF TG_OP = 'UPDATE' THEN
    old_rec := pg_catalog.to_jsonb(OLD);
    FOR col IN SELECT config.key_column UNION SELECT pg_catalog.unnest(parmana.govern_signal_columns(config.signals)) LOOP
      IF rec -> col IS DISTINCT FROM old_rec -> col THEN
        RAISE EXCEPTION '[GOV-002] governed table %: column % was decided on and cannot change', config.relation, col
          USING ERRCODE = '55000', HINT = 'Insert a new business record (a new execution id) instead.';
      END IF;
    END LOOP;
    RETURN NEW;
  END IF;

  IF NOT pg_catalog.has_function_privilege('parmana.parmana_execute(text, text, text, jsonb)', 'EXECUTE') THEN
    RAISE EXCEPTION '[GOV-006] % may not insert into governed table %: it is not a member of parmana_executor',
      current_user, config.relation USING ERRCODE = '42501';
  END IF;
  execution_id := parmana.govern_execution_id(config.execution_id_prefix, TG_RELID::regclass, config.key_column,
                                              rec ->> config.key_column);
  attestation := parmana.parmana_execute(execution_id, config.policy_id, config.policy_version,
                                         parmana.govern_signals(config.signals, rec));

  IF attestation->>'execution_state' = 'completed' AND attestation->'decision'->>'action' = ANY (config.reject_actions) THEN
    IF config.on_reject = 'block' THEN
      RAISE EXCEPTION '[GOV-003] % rejected by policy % %', execution_id, config.policy_id, config.policy_version
        USING ERRCODE = '23514', DETAIL = pg_catalog.format('Reason %s (rule %s).',
          attestation->'decision'->>'reason', attestation->'decision'->>'ruleId');
    ELSIF config.on_reject = 'skip' THEN
      RETURN NULL;
    END IF;
  END IF;

  IF config.attestation_column IS NOT NULL THEN
    outputs := outputs || pg_catalog.jsonb_build_object(config.attestation_column, attestation);
  END IF;
  IF config.action_column IS NOT NULL THEN
    outputs := outputs || pg_catalog.jsonb_build_object(config.action_column, attestation->'decision'->'action');
  END IF;
  IF config.state_column IS NOT NULL THEN
    outputs := outputs || pg_catalog.jsonb_build_object(config.state_column, attestation->'execution_state');
  END IF;
  RETURN pg_catalog.jsonb_populate_record(NEW, outputs);
END
$$;
COMMENT ON FUNCTION parmana.parmana_govern() IS 'BEFORE INSERT OR UPDATE row trigger: decides each new row with parmana_execute, as the inserting role; argument: a parmana.governed_tables name';

-- Resolution attestations for execution ids, for parmana_govern_refresh (whose callers need not
-- read parmana.attestations). Plain values in and out; reads only parmana.attestations.
CREATE FUNCTION parmana.resolution_attestations(execution_ids text[])
RETURNS TABLE (execution_id text, attestation jsonb)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT a.execution_id, a.attestation FROM parmana.attestations a
  WHERE a.execution_id = ANY (execution_ids) AND a.kind = 'resolution'
$$;

