-- parmana 0.1.0 -> 0.2.0: the audit trail (append-only records, signed checkpoints, audit views, pg_dump configuration).
\echo Use "ALTER EXTENSION parmana UPDATE TO '0.2.0'" to load this file. \quit

-- Names resolve in pg_catalog only while this script runs as a superuser: the extension's schema
-- (public by default) may hold operators or functions its owner put there.
SELECT pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);

-- parmana 0.2.0: the audit trail. Append-only governance records, signed checkpoints, audit
-- views, and pg_dump configuration. Fresh installs run this after bootstrap.sql; upgrades from
-- 0.1.0 run it from sql/parmana--0.1.0--0.2.0.sql.

-- Append-only: refused for every role, the owner and superusers included, unless triggers are
-- deliberately disabled (session_replication_role = replica), which parmana_audit_verify() detects.
CREATE FUNCTION parmana.refuse_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  RAISE EXCEPTION '[AUD-001] % on %.% is refused: parmana governance records are append-only', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
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
          NEW.reason, NEW.pending_attestation_id, NEW.requested_by, NEW.requested_at)
         IS NOT DISTINCT FROM
         (OLD.id, OLD.execution_id, OLD.execution_fingerprint, OLD.policy_id, OLD.policy_version, OLD.action,
          OLD.reason, OLD.pending_attestation_id, OLD.requested_by, OLD.requested_at) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION '[AUD-001] UPDATE on parmana.overrides is refused: an override is resolved once and its record is append-only'
    USING ERRCODE = 'insufficient_privilege';
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
      USING ERRCODE = 'insufficient_privilege';
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

-- Trigger functions run as triggers only; nobody needs to call them.
REVOKE EXECUTE ON FUNCTION parmana.refuse_change(), parmana.overrides_resolve_once(), parmana.signing_keys_guard() FROM PUBLIC;

-- Signed checkpoints: each seals the attestations with ids in (from_id, to_id], chained by digest.
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
  CHECK (to_id > from_id)
);
COMMENT ON TABLE parmana.checkpoints IS 'Signed digests over the attestation log, chained; see parmana_checkpoint() and parmana_audit_verify()';
CREATE TRIGGER checkpoints_append_only BEFORE UPDATE OR DELETE ON parmana.checkpoints
  FOR EACH ROW EXECUTE FUNCTION parmana.refuse_change();
CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON parmana.checkpoints
  FOR EACH STATEMENT EXECUTE FUNCTION parmana.refuse_change();

-- Where the next checkpoint may seal up to, and the head of the chain (to detect a deleted last checkpoint).
CREATE TABLE parmana.checkpoint_state (
  singleton          boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
  watermark_id       bigint      NOT NULL,
  watermark_xmax     xid8        NOT NULL,
  head_checkpoint_id bigint,
  head_digest        text,
  updated_at         timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE parmana.checkpoint_state IS 'Checkpoint bookkeeping: the watermark of attestation ids safe to seal next, and the chain head';

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
         o.resolved_at - o.requested_at AS time_to_resolve, o.override_id
  FROM parmana.overrides o;
COMMENT ON VIEW parmana.override_history IS 'Every override, pending and resolved, with who requested and who resolved it';

CREATE VIEW parmana.attestations_by_key AS
  SELECT k.key_id, k.source, k.active, k.created_at, k.retired_at,
         count(a.id) AS attestations, min(a.issued_at) AS first_issued_at, max(a.issued_at) AS last_issued_at
  FROM parmana.signing_keys k LEFT JOIN parmana.attestations a ON a.signer_key_id = k.key_id
  GROUP BY k.key_id, k.source, k.active, k.created_at, k.retired_at;
COMMENT ON VIEW parmana.attestations_by_key IS 'Which key signed how many attestations, and when';

GRANT SELECT ON parmana.checkpoints, parmana.checkpoint_state, parmana.decisions_by_policy_day,
                parmana.override_history, parmana.attestations_by_key
  TO parmana_auditor, parmana_admin;
GRANT SELECT ON parmana.override_history TO parmana_approver;

-- pg_dump keeps the governance tables' rows (and sequence positions) with the extension.
SELECT pg_catalog.pg_extension_config_dump('parmana.policies', '');
SELECT pg_catalog.pg_extension_config_dump('parmana.replay_state', '');
SELECT pg_catalog.pg_extension_config_dump('parmana.signing_keys', '');
SELECT pg_catalog.pg_extension_config_dump('parmana.signing_key_secrets', '');
SELECT pg_catalog.pg_extension_config_dump('parmana.attestations', '');
SELECT pg_catalog.pg_extension_config_dump('parmana.attestations_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('parmana.overrides', '');
SELECT pg_catalog.pg_extension_config_dump('parmana.overrides_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('parmana.override_authorities', '');
SELECT pg_catalog.pg_extension_config_dump('parmana.checkpoints', '');
SELECT pg_catalog.pg_extension_config_dump('parmana.checkpoint_state', '');

-- parmana::audit::parmana_audit_verify
CREATE FUNCTION @extschema@."parmana_audit_verify"(
	"from_id" bigint DEFAULT 1, /* Option < i64 > */
	"max_rows" bigint DEFAULT NULL /* Option < i64 > */
) RETURNS TABLE (
	"first_id" bigint,  /* i64 */
	"last_id" bigint,  /* Option < i64 > */
	"problem" TEXT,  /* String */
	"detail" TEXT  /* String */
)
STABLE SECURITY DEFINER
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'parmana_audit_verify_wrapper';

-- parmana::audit::parmana_checkpoint
CREATE FUNCTION @extschema@."parmana_checkpoint"() RETURNS jsonb /* JsonbText */
STRICT VOLATILE SECURITY DEFINER
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'parmana_checkpoint_wrapper';

REVOKE EXECUTE ON FUNCTION @extschema@.parmana_checkpoint(), @extschema@.parmana_audit_verify(bigint, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.parmana_checkpoint() TO parmana_admin;
GRANT EXECUTE ON FUNCTION @extschema@.parmana_audit_verify(bigint, bigint) TO parmana_auditor, parmana_admin;
