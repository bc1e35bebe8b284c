-- The audit trail: append-only governance records, signed checkpoints, audit views, and pg_dump
-- configuration.

-- Append-only: refused for every role, the owner and superusers included, unless triggers are
-- deliberately disabled (session_replication_role = replica), which parmana_audit_verify() detects.
CREATE FUNCTION parmana.refuse_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  RAISE EXCEPTION '[AUD-001] % on %.% is refused: parmana governance records are append-only',
    TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME USING ERRCODE = '42501';
END
$$;

CREATE TRIGGER attestations_append_only BEFORE UPDATE OR DELETE ON parmana.attestations
  FOR EACH ROW EXECUTE FUNCTION parmana.refuse_change();
CREATE TRIGGER attestations_no_truncate BEFORE TRUNCATE ON parmana.attestations
  FOR EACH STATEMENT EXECUTE FUNCTION parmana.refuse_change();
CREATE TRIGGER policies_append_only BEFORE UPDATE OR DELETE ON parmana.policies
  FOR EACH ROW EXECUTE FUNCTION parmana.refuse_change();
CREATE TRIGGER policies_no_truncate BEFORE TRUNCATE ON parmana.policies
  FOR EACH STATEMENT EXECUTE FUNCTION parmana.refuse_change();
CREATE TRIGGER signing_key_secrets_append_only BEFORE UPDATE OR DELETE ON parmana.signing_key_secrets
  FOR EACH ROW EXECUTE FUNCTION parmana.refuse_change();
CREATE TRIGGER signing_key_secrets_no_truncate BEFORE TRUNCATE ON parmana.signing_key_secrets
  FOR EACH STATEMENT EXECUTE FUNCTION parmana.refuse_change();
CREATE TRIGGER replay_steps_append_only BEFORE UPDATE OR DELETE ON parmana.replay_steps
  FOR EACH ROW EXECUTE FUNCTION parmana.refuse_change();
CREATE TRIGGER replay_steps_no_truncate BEFORE TRUNCATE ON parmana.replay_steps
  FOR EACH STATEMENT EXECUTE FUNCTION parmana.refuse_change();
CREATE TRIGGER overrides_no_delete BEFORE DELETE ON parmana.overrides
  FOR EACH ROW EXECUTE FUNCTION parmana.refuse_change();
CREATE TRIGGER overrides_no_truncate BEFORE TRUNCATE ON parmana.overrides
  FOR EACH STATEMENT EXECUTE FUNCTION parmana.refuse_change();
CREATE TRIGGER signing_keys_no_delete BEFORE DELETE ON parmana.signing_keys
  FOR EACH ROW EXECUTE FUNCTION parmana.refuse_change();
CREATE TRIGGER signing_keys_no_truncate BEFORE TRUNCATE ON parmana.signing_keys
  FOR EACH STATEMENT EXECUTE FUNCTION parmana.refuse_change();

-- An override row changes exactly once: from pending to its resolution; what was requested never changes.
CREATE FUNCTION parmana.overrides_resolve_once() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF OLD.resolution_status = 'pending' AND NEW.resolution_status <> 'pending'
     AND (NEW.id, NEW.execution_id, NEW.execution_fingerprint, NEW.policy_id, NEW.policy_version, NEW.action,
          NEW.reason, NEW.pending_attestation_id, NEW.requested_by, NEW.requested_at, NEW.requested_login)
         IS NOT DISTINCT FROM
         (OLD.id, OLD.execution_id, OLD.execution_fingerprint, OLD.policy_id, OLD.policy_version, OLD.action,
          OLD.reason, OLD.pending_attestation_id, OLD.requested_by, OLD.requested_at, OLD.requested_login) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION '[AUD-001] UPDATE on parmana.overrides is refused: an override is resolved once'
    USING ERRCODE = '42501', DETAIL = 'What was requested never changes, and a resolved record is append-only.';
END
$$;
CREATE TRIGGER overrides_resolve_once BEFORE UPDATE ON parmana.overrides
  FOR EACH ROW EXECUTE FUNCTION parmana.overrides_resolve_once();

-- Public keys never change; only a key's active flag and retirement time do. Inserting an active
-- key retires the one active before it: rotation does this explicitly, and pg_restore relies on
-- it (the restored active key replaces the one CREATE EXTENSION generated).
CREATE FUNCTION parmana.signing_keys_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND (NEW.key_id, NEW.public_key_pem, NEW.algorithm, NEW.source, NEW.created_at)
       IS DISTINCT FROM (OLD.key_id, OLD.public_key_pem, OLD.algorithm, OLD.source, OLD.created_at) THEN
    RAISE EXCEPTION '[AUD-001] UPDATE of a public key in parmana.signing_keys is refused: keys are append-only'
      USING ERRCODE = '42501';
  END IF;
  IF NEW.active AND (TG_OP = 'INSERT' OR NOT OLD.active) THEN
    UPDATE parmana.signing_keys SET active = false, retired_at = coalesce(retired_at, now())
    WHERE active AND key_id <> NEW.key_id;
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER signing_keys_guard BEFORE INSERT OR UPDATE ON parmana.signing_keys
  FOR EACH ROW EXECUTE FUNCTION parmana.signing_keys_guard();


-- Signed checkpoints. Since 0.4.0 each is a signed tree head: the attestations in id order are the
-- leaves of an RFC 9162 Merkle tree, digest is the hex root of the first tree_size leaves, and
-- note is the same tree head as a C2SP signed note. A tree checkpoint appends the rows with ids
-- in (from_id, to_id] as leaves first_leaf.., and gaps lists the ids in that range no row has.
-- Checkpoints written before 0.4.0 chain a digest over their range instead (tree_size NULL).
CREATE TABLE parmana.checkpoints (
  id              bigint      PRIMARY KEY,
  from_id         bigint      NOT NULL,
  to_id           bigint      NOT NULL,
  row_count       bigint      NOT NULL,
  previous_digest text        NOT NULL,
  digest          text        NOT NULL,
  signer_key_id   text        NOT NULL,
  issued_at       timestamptz NOT NULL,
  checkpoint      jsonb       NOT NULL,
  tree_size       bigint,
  first_leaf      bigint,
  gaps            bigint[],
  note            text,
  CHECK (to_id > from_id),
  CONSTRAINT checkpoints_tree_head CHECK ((tree_size IS NULL) = (note IS NULL) AND (tree_size IS NULL) = (first_leaf IS NULL)
                                         AND (tree_size IS NULL) = (gaps IS NULL))
);
CREATE UNIQUE INDEX checkpoints_tree_size ON parmana.checkpoints (tree_size);
COMMENT ON TABLE parmana.checkpoints IS 'Signed tree heads over the attestation log (and, before 0.4.0, chained digests); see parmana_checkpoint()';

-- The Merkle tree's hashes, as tiles: tile (level, idx) holds up to 256 consecutive hashes of the
-- complete subtrees of height 8*level, left to right. Only the rightmost tile of a level grows;
-- every other tile is full and never changes.
CREATE TABLE parmana.log_tiles (
  level  smallint NOT NULL CHECK (level >= 0),
  idx    bigint   NOT NULL CHECK (idx >= 0),
  hashes bytea    NOT NULL CHECK (length(hashes) BETWEEN 32 AND 8192 AND length(hashes) % 32 = 0),
  PRIMARY KEY (level, idx)
);
COMMENT ON TABLE parmana.log_tiles IS 'Merkle tree hashes of the attestation log in 256-hash tiles (c2sp.org/tlog-tiles layout), for O(log n) proofs';

-- A tile only grows: new hashes are appended, none ever changes.
CREATE FUNCTION parmana.log_tiles_grow_only() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.level = OLD.level AND NEW.idx = OLD.idx AND length(NEW.hashes) > length(OLD.hashes)
     AND substring(NEW.hashes FROM 1 FOR length(OLD.hashes)) = OLD.hashes THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION '[AUD-001] % on parmana.log_tiles is refused: tiles only grow', TG_OP USING ERRCODE = '42501';
END
$$;
CREATE TRIGGER log_tiles_grow_only BEFORE UPDATE OR DELETE ON parmana.log_tiles
  FOR EACH ROW EXECUTE FUNCTION parmana.log_tiles_grow_only();
CREATE TRIGGER log_tiles_no_truncate BEFORE TRUNCATE ON parmana.log_tiles
  FOR EACH STATEMENT EXECUTE FUNCTION parmana.refuse_change();
CREATE TRIGGER checkpoints_append_only BEFORE UPDATE OR DELETE ON parmana.checkpoints
  FOR EACH ROW EXECUTE FUNCTION parmana.refuse_change();
CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON parmana.checkpoints
  FOR EACH STATEMENT EXECUTE FUNCTION parmana.refuse_change();

-- Where the next checkpoint may seal up to, and the head of the chain (to detect a deleted last
-- checkpoint). The watermark is sealed once the transactions that held attestation ids when it was
-- taken (watermark_holders: virtual transaction ids that had parmana.attestations open for
-- writing in this database) have ended.
CREATE TABLE parmana.checkpoint_state (
  singleton          boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
  watermark_id       bigint      NOT NULL,
  watermark_holders  text[]      NOT NULL,
  head_checkpoint_id bigint,
  head_digest        text,
  updated_at         timestamptz NOT NULL DEFAULT now(),
  origin             text
);
COMMENT ON TABLE parmana.checkpoint_state IS 'Checkpoint bookkeeping: the watermark of attestation ids safe to seal next, the chain head, and the log''s origin';

-- Everyday audit queries.
CREATE VIEW parmana.decisions_by_policy_day AS
  SELECT policy_id, policy_version, date_trunc('day', issued_at) AS day, kind, action, execution_state,
         count(*) AS attestations
  FROM parmana.attestations
  GROUP BY policy_id, policy_version, date_trunc('day', issued_at), kind, action, execution_state;
COMMENT ON VIEW parmana.decisions_by_policy_day IS 'Attestations per policy version, UTC day, kind, action and state';

CREATE VIEW parmana.override_history AS
  SELECT o.execution_id, o.policy_id, o.policy_version, o.action, o.reason, o.requested_by, o.requested_at,
         o.resolution_status, o.approved_by, o.approver_role, o.resolution_reason, o.resolved_by, o.resolved_at,
         o.resolved_at - o.requested_at AS time_to_resolve, o.override_id, o.requested_login, o.resolved_login
  FROM parmana.overrides o;
COMMENT ON VIEW parmana.override_history IS 'Every override, pending and resolved, with who requested and who resolved it';

CREATE VIEW parmana.attestations_by_key AS
  SELECT k.key_id, k.source, k.active, k.created_at, k.retired_at,
         count(a.id) AS attestations, min(a.issued_at) AS first_issued_at, max(a.issued_at) AS last_issued_at
  FROM parmana.signing_keys k LEFT JOIN parmana.attestations a ON a.signer_key_id = k.key_id
  GROUP BY k.key_id, k.source, k.active, k.created_at, k.retired_at;
COMMENT ON VIEW parmana.attestations_by_key IS 'Which key signed how many attestations, and when';


-- pg_dump keeps the governance tables' rows (and sequence positions) with the extension.
SELECT pg_catalog.pg_extension_config_dump('parmana.policies', '');
SELECT pg_catalog.pg_extension_config_dump('parmana.replay_state', '');
SELECT pg_catalog.pg_extension_config_dump('parmana.replay_steps', '');
SELECT pg_catalog.pg_extension_config_dump('parmana.replay_steps_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('parmana.signing_keys', '');
SELECT pg_catalog.pg_extension_config_dump('parmana.signing_key_secrets', '');
SELECT pg_catalog.pg_extension_config_dump('parmana.attestations', '');
SELECT pg_catalog.pg_extension_config_dump('parmana.attestations_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('parmana.overrides', '');
SELECT pg_catalog.pg_extension_config_dump('parmana.overrides_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('parmana.checkpoints', '');
SELECT pg_catalog.pg_extension_config_dump('parmana.checkpoint_state', '');
SELECT pg_catalog.pg_extension_config_dump('parmana.log_tiles', '');
