-- parmana 0.2.0 -> 0.3.0: governing business tables (parmana_govern, parmana.governed_tables, parmana_govern_refresh).
\echo Use "ALTER EXTENSION parmana UPDATE TO '0.3.0'" to load this file. \quit

-- Names resolve in pg_catalog only while this script runs as a superuser: the extension's schema
-- (public by default) may hold operators or functions its owner put there.
SELECT pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);

-- parmana 0.3.0: governing business tables with the parmana_govern trigger.
--
--   INSERT INTO parmana.governed_tables (name, policy_id, policy_version, execution_id_prefix, key_column, signals, ...)
--   CREATE TRIGGER claims_governed BEFORE INSERT OR UPDATE ON claims
--     FOR EACH ROW EXECUTE FUNCTION parmana_govern('claims');

CREATE TABLE parmana.governed_tables (
  name                text    PRIMARY KEY,
  policy_id           text    NOT NULL,
  policy_version      text    NOT NULL,
  -- execution id = prefix || the row's business key: stable, namespaced, never random
  execution_id_prefix text    NOT NULL CHECK (execution_id_prefix <> ''),
  key_column          name    NOT NULL,
  -- signal name -> {"column": name, "lower": bool, "trim": bool, "round": digits, "scale": digits}
  signals             jsonb   NOT NULL CHECK (jsonb_typeof(signals) = 'object'),
  attestation_column  name,
  action_column       name,
  state_column        name,
  -- a final decision whose action is listed here is a rejection
  reject_actions      text[]  NOT NULL DEFAULT '{reject}',
  -- block: raise an error, nothing is written; skip: the row is not written, the signed rejection is kept;
  -- record: the row is written with the rejection in its columns
  on_reject           text    NOT NULL DEFAULT 'block' CHECK (on_reject IN ('block', 'skip', 'record'))
);
COMMENT ON TABLE parmana.governed_tables IS 'How parmana_govern(name) turns a row into an execution id and signals, and where the decision goes';
GRANT SELECT ON parmana.governed_tables TO parmana_executor, parmana_approver, parmana_auditor, parmana_admin;
GRANT INSERT, UPDATE, DELETE ON parmana.governed_tables TO parmana_admin;
SELECT pg_catalog.pg_extension_config_dump('parmana.governed_tables', '');

-- The signals of one row, normalized as configured. Values are never echoed in errors.
CREATE FUNCTION parmana.govern_signals(config parmana.governed_tables, rec jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  signal text;
  spec jsonb;
  v jsonb;
  out jsonb := '{}';
BEGIN
  FOR signal, spec IN SELECT key, value FROM jsonb_each(config.signals) LOOP
    IF NOT rec ? (spec->>'column') THEN
      RAISE EXCEPTION '[GOV-001] governed table %: signal % maps to column %, which the row does not have', config.name, signal, spec->>'column'
        USING ERRCODE = 'invalid_parameter_value';
    END IF;
    v := rec -> (spec->>'column');
    IF jsonb_typeof(v) = 'string' THEN
      IF coalesce((spec->>'trim')::boolean, false) THEN v := to_jsonb(btrim(v #>> '{}')); END IF;
      IF coalesce((spec->>'lower')::boolean, false) THEN v := to_jsonb(lower(v #>> '{}')); END IF;
    ELSIF jsonb_typeof(v) = 'number' THEN
      -- scale: a decimal amount as an integer of its smallest unit (2: cents); round: digits kept
      IF spec ? 'scale' THEN v := to_jsonb(round((v #>> '{}')::numeric * 10 ^ (spec->>'scale')::int)::bigint); END IF;
      IF spec ? 'round' THEN v := to_jsonb(round((v #>> '{}')::numeric, (spec->>'round')::int)); END IF;
    END IF;
    out := out || jsonb_build_object(signal, v);
  END LOOP;
  RETURN out;
END
$$;

-- The trigger. INSERT decides; UPDATE may change anything but the business key and the columns
-- signals come from (re-deciding needs a new business key: execution ids are never reused).
CREATE FUNCTION @extschema@.parmana_govern() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  config parmana.governed_tables;
  rec jsonb;
  old_rec jsonb;
  execution_id text;
  attestation jsonb;
  outputs jsonb := '{}';
  col text;
BEGIN
  IF TG_NARGS <> 1 OR TG_LEVEL <> 'ROW' OR TG_WHEN <> 'BEFORE' THEN
    RAISE EXCEPTION '[GOV-001] parmana_govern must be a BEFORE ... FOR EACH ROW trigger with one argument, the governed_tables name'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  SELECT * INTO config FROM parmana.governed_tables WHERE name = TG_ARGV[0];
  IF NOT FOUND THEN
    RAISE EXCEPTION '[GOV-001] no parmana.governed_tables row named %', TG_ARGV[0] USING ERRCODE = 'undefined_object';
  END IF;
  rec := to_jsonb(NEW);
  IF NOT rec ? config.key_column OR rec -> config.key_column = 'null' THEN
    RAISE EXCEPTION '[GOV-001] governed table %: key column % is missing or NULL', config.name, config.key_column
      USING ERRCODE = 'invalid_parameter_value';
  END IF;

  IF TG_OP = 'UPDATE' THEN
    old_rec := to_jsonb(OLD);
    FOR col IN SELECT config.key_column UNION SELECT value->>'column' FROM jsonb_each(config.signals) LOOP
      IF rec -> col IS DISTINCT FROM old_rec -> col THEN
        RAISE EXCEPTION '[GOV-002] governed table %: column % was decided on and cannot change; insert a new business record (a new execution id) instead', config.name, col
          USING ERRCODE = 'object_not_in_prerequisite_state';
      END IF;
    END LOOP;
    RETURN NEW;
  END IF;
  IF TG_OP <> 'INSERT' THEN
    RAISE EXCEPTION '[GOV-001] parmana_govern governs INSERT and UPDATE only' USING ERRCODE = 'invalid_parameter_value';
  END IF;

  execution_id := config.execution_id_prefix || (rec ->> config.key_column);
  attestation := @extschema@.parmana_execute(execution_id, config.policy_id, config.policy_version, parmana.govern_signals(config, rec));

  IF attestation->>'execution_state' = 'completed' AND attestation->'decision'->>'action' = ANY (config.reject_actions) THEN
    IF config.on_reject = 'block' THEN
      RAISE EXCEPTION '[GOV-003] % rejected by policy % %: % (rule %)', execution_id, config.policy_id, config.policy_version,
        attestation->'decision'->>'reason', attestation->'decision'->>'ruleId'
        USING ERRCODE = 'check_violation';
    ELSIF config.on_reject = 'skip' THEN
      RETURN NULL;
    END IF;
  END IF;

  IF config.attestation_column IS NOT NULL THEN outputs := outputs || jsonb_build_object(config.attestation_column, attestation); END IF;
  IF config.action_column IS NOT NULL THEN outputs := outputs || jsonb_build_object(config.action_column, attestation->'decision'->'action'); END IF;
  IF config.state_column IS NOT NULL THEN outputs := outputs || jsonb_build_object(config.state_column, attestation->'execution_state'); END IF;
  RETURN jsonb_populate_record(NEW, outputs);
END
$$;
COMMENT ON FUNCTION @extschema@.parmana_govern() IS 'BEFORE INSERT OR UPDATE row trigger: decides each new row with parmana_execute; argument: a parmana.governed_tables name';

-- After reviews: copy resolutions into the governed rows still marked pending. Returns rows updated.
-- It writes only what signed resolution attestations say, into the configured columns.
CREATE FUNCTION @extschema@.parmana_govern_refresh(name text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  config parmana.governed_tables;
  target regclass;
  sets text := '';
  updated bigint;
BEGIN
  SELECT * INTO config FROM parmana.governed_tables g WHERE g.name = parmana_govern_refresh.name;
  IF NOT FOUND THEN
    RAISE EXCEPTION '[GOV-001] no parmana.governed_tables row named %', parmana_govern_refresh.name USING ERRCODE = 'undefined_object';
  END IF;
  IF config.state_column IS NULL THEN
    RAISE EXCEPTION '[GOV-001] governed table % has no state_column to refresh', config.name USING ERRCODE = 'invalid_parameter_value';
  END IF;
  SELECT tgrelid INTO target FROM pg_trigger
   WHERE tgfoid = '@extschema@.parmana_govern()'::regprocedure AND encode(tgargs, 'escape') = config.name || '\000' LIMIT 1;
  IF target IS NULL THEN
    RAISE EXCEPTION '[GOV-001] no table has a parmana_govern(%) trigger', config.name USING ERRCODE = 'undefined_object';
  END IF;
  sets := format('%I = a.attestation->>%L', config.state_column, 'execution_state');
  IF config.action_column IS NOT NULL THEN sets := sets || format(', %I = a.attestation->''decision''->>''action''', config.action_column); END IF;
  IF config.attestation_column IS NOT NULL THEN sets := sets || format(', %I = a.attestation', config.attestation_column); END IF;
  EXECUTE format(
    'UPDATE %s t SET %s FROM parmana.attestations a
      WHERE a.execution_id = %L || (to_jsonb(t) ->> %L) AND a.kind = ''resolution'' AND t.%I = ''pending_override''',
    target, sets, config.execution_id_prefix, config.key_column, config.state_column);
  GET DIAGNOSTICS updated = ROW_COUNT;
  RETURN updated;
END
$$;
COMMENT ON FUNCTION @extschema@.parmana_govern_refresh(text) IS 'Copies override resolutions into governed rows still marked pending_override';

REVOKE EXECUTE ON FUNCTION parmana.govern_signals(parmana.governed_tables, jsonb) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.parmana_govern(), @extschema@.parmana_govern_refresh(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.parmana_govern() TO parmana_admin;
GRANT EXECUTE ON FUNCTION @extschema@.parmana_govern_refresh(text) TO parmana_executor, parmana_approver, parmana_admin;

-- parmana_public_key may register a key file's public key on first use: parallel restricted.
ALTER FUNCTION @extschema@.parmana_public_key(text) PARALLEL RESTRICTED;
