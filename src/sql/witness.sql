-- Witnessing: a second database, owned by an auditor, holds a copy of the attestation log by
-- logical replication and cosigns the primary's tree heads only while they stay consistent with
-- the rows it already holds. On that copy, parmana_witness_enable() turns on the triggers below:
-- a replicated UPDATE or DELETE of a row the witness holds, or an INSERT under an id (or tree
-- size) it already holds, is recorded and skipped, so a rewrite of history on the primary, even by a superuser who re-seals it with the log's key, shows up in
-- parmana_witness_check() instead of overwriting the copy. On a primary these triggers stay off.

-- Rewrites replication tried to apply and the witness refused.
CREATE TABLE parmana.witness_conflicts (
  id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  table_name text        NOT NULL,
  operation  text        NOT NULL,
  row_id     bigint      NOT NULL,
  kept       jsonb       NOT NULL,
  offered    jsonb,
  seen_at    timestamptz NOT NULL DEFAULT clock_timestamp()
);
COMMENT ON TABLE parmana.witness_conflicts IS 'On a witness: replicated UPDATEs and DELETEs of rows it already held, refused and recorded';

-- The newest tree head this database, as a witness, has cosigned for each log.
CREATE TABLE parmana.witness_heads (
  origin      text        PRIMARY KEY,
  tree_size   bigint      NOT NULL,
  root_hash   bytea       NOT NULL,
  note        text        NOT NULL,
  cosigned_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
COMMENT ON TABLE parmana.witness_heads IS 'On a witness: the newest tree head cosigned per log; later heads must extend it';

CREATE FUNCTION parmana.witness_refuse_rewrite() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  kept jsonb;
BEGIN
  IF TG_OP = 'INSERT' THEN
    -- A row under an id (or a tree head for a size) this witness already holds is a rewrite too.
    IF TG_TABLE_NAME = 'attestations' THEN
      SELECT pg_catalog.to_jsonb(a) INTO kept FROM parmana.attestations a WHERE a.id = NEW.id;
    ELSE
      SELECT pg_catalog.to_jsonb(c) INTO kept FROM parmana.checkpoints c
      WHERE c.id = NEW.id OR c.tree_size = NEW.tree_size LIMIT 1;
    END IF;
    IF kept IS NULL THEN
      RETURN NEW;
    END IF;
    INSERT INTO parmana.witness_conflicts (table_name, operation, row_id, kept, offered)
    VALUES (TG_TABLE_NAME, TG_OP, NEW.id, kept, pg_catalog.to_jsonb(NEW));
    RETURN NULL;
  END IF;
  INSERT INTO parmana.witness_conflicts (table_name, operation, row_id, kept, offered)
  VALUES (TG_TABLE_NAME, TG_OP, OLD.id, pg_catalog.to_jsonb(OLD),
          CASE WHEN TG_OP = 'UPDATE' THEN pg_catalog.to_jsonb(NEW) END);
  RETURN NULL;
END
$$;
CREATE TRIGGER attestations_witness BEFORE INSERT OR UPDATE OR DELETE ON parmana.attestations
  FOR EACH ROW EXECUTE FUNCTION parmana.witness_refuse_rewrite();
CREATE TRIGGER checkpoints_witness BEFORE INSERT OR UPDATE OR DELETE ON parmana.checkpoints
  FOR EACH ROW EXECUTE FUNCTION parmana.witness_refuse_rewrite();
ALTER TABLE parmana.attestations DISABLE TRIGGER attestations_witness;
ALTER TABLE parmana.checkpoints DISABLE TRIGGER checkpoints_witness;
CREATE TRIGGER witness_conflicts_append_only BEFORE UPDATE OR DELETE ON parmana.witness_conflicts
  FOR EACH ROW EXECUTE FUNCTION parmana.refuse_change();
CREATE TRIGGER witness_conflicts_no_truncate BEFORE TRUNCATE ON parmana.witness_conflicts
  FOR EACH STATEMENT EXECUTE FUNCTION parmana.refuse_change();

-- Make this database a witness of a replicated log (superuser only: it changes how replication
-- applies changes to parmana's tables).
CREATE FUNCTION parmana.parmana_witness_enable() RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  ALTER TABLE parmana.attestations ENABLE REPLICA TRIGGER attestations_witness;
  ALTER TABLE parmana.checkpoints ENABLE REPLICA TRIGGER checkpoints_witness;
END
$$;

SELECT pg_catalog.pg_extension_config_dump('parmana.witness_conflicts', '');
SELECT pg_catalog.pg_extension_config_dump('parmana.witness_conflicts_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('parmana.witness_heads', '');
