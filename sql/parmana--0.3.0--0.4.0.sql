-- parmana 0.3.0 -> 0.4.0: own schema and the security boundary, real identities, governed rows
-- bound to their attestations, versioned configuration. Assembled by scripts/make_upgrade.py.
\echo Use "ALTER EXTENSION parmana UPDATE TO '0.4.0'" to load this file. \quit

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

-- The audit trail: append-only governance records, signed checkpoints, audit views, and pg_dump
-- configuration.

-- Append-only: refused for every role, the owner and superusers included, unless triggers are
-- deliberately disabled (session_replication_role = replica), which parmana_audit_verify() detects.
CREATE OR REPLACE FUNCTION parmana.refuse_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  RAISE EXCEPTION '[AUD-001] % on %.% is refused: parmana governance records are append-only',
    TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME USING ERRCODE = '42501';
END
$$;

-- An override row changes exactly once: from pending to its resolution; what was requested never changes.
CREATE OR REPLACE FUNCTION parmana.overrides_resolve_once() RETURNS trigger
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

-- Public keys never change; only a key's active flag and retirement time do. Inserting an active
-- key retires the one active before it: rotation does this explicitly, and pg_restore relies on
-- it (the restored active key replaces the one CREATE EXTENSION generated).
CREATE OR REPLACE FUNCTION parmana.signing_keys_guard() RETURNS trigger
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

CREATE OR REPLACE VIEW parmana.pending_overrides AS
  SELECT id, execution_id, policy_id, policy_version, action, reason, requested_by, requested_at, execution_fingerprint,
         requested_login
  FROM parmana.overrides WHERE resolution_status = 'pending';

CREATE OR REPLACE VIEW parmana.override_history AS
  SELECT o.execution_id, o.policy_id, o.policy_version, o.action, o.reason, o.requested_by, o.requested_at,
         o.resolution_status, o.approved_by, o.approver_role, o.resolution_reason, o.resolved_by, o.resolved_at,
         o.resolved_at - o.requested_at AS time_to_resolve, o.override_id, o.requested_login, o.resolved_login
  FROM parmana.overrides o;

-- Every step taken through the replay step API, with who took it.
CREATE TABLE parmana.replay_steps (
  id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  execution_id text        NOT NULL,
  step         text        NOT NULL,
  from_state   text,
  to_state     text        NOT NULL,
  login        name        NOT NULL,
  role         name        NOT NULL,
  taken_at     timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX replay_steps_execution_id ON parmana.replay_steps (execution_id);
COMMENT ON TABLE parmana.replay_steps IS 'Every parmana_replay_* step: which login and role moved which id from which state';
CREATE TRIGGER replay_steps_append_only BEFORE UPDATE OR DELETE ON parmana.replay_steps
  FOR EACH ROW EXECUTE FUNCTION parmana.refuse_change();
CREATE TRIGGER replay_steps_no_truncate BEFORE TRUNCATE ON parmana.replay_steps
  FOR EACH STATEMENT EXECUTE FUNCTION parmana.refuse_change();
SELECT pg_catalog.pg_extension_config_dump('parmana.replay_steps', '');
SELECT pg_catalog.pg_extension_config_dump('parmana.replay_steps_id_seq', '');
CREATE UNIQUE INDEX checkpoints_tree_size ON parmana.checkpoints (tree_size);
COMMENT ON TABLE parmana.checkpoints IS 'Signed tree heads over the attestation log (and, before 0.4.0, chained digests); see parmana_checkpoint()';
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
COMMENT ON TABLE parmana.checkpoint_state IS 'Checkpoint bookkeeping: the watermark of attestation ids safe to seal next, the chain head, and the log''s origin';
SELECT pg_catalog.pg_extension_config_dump('parmana.log_tiles', '');
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

-- Shadow evaluation: trying a candidate policy version on live traffic before switching to it.
--
--   INSERT INTO parmana.shadow_evaluations (policy_id, policy_version, candidate_version)
--   VALUES ('loan-approval', '1.0.0', '1.1.0');
--
-- Every parmana_execute of loan-approval 1.0.0 then also evaluates 1.1.0 on the same signals (no
-- signature, no replay claim, no effect on the decision) and records each execution the candidate
-- decides differently in parmana.shadow_divergences. DELETE the row to stop.

CREATE TABLE parmana.shadow_evaluations (
  policy_id         text        NOT NULL,
  policy_version    text        NOT NULL,
  candidate_version text        NOT NULL,
  started_at        timestamptz NOT NULL DEFAULT now(),
  started_by_login  name        NOT NULL DEFAULT session_user,
  PRIMARY KEY (policy_id, policy_version),
  FOREIGN KEY (policy_id, policy_version) REFERENCES parmana.policies,
  FOREIGN KEY (policy_id, candidate_version) REFERENCES parmana.policies,
  CHECK (candidate_version <> policy_version)
);
COMMENT ON TABLE parmana.shadow_evaluations IS 'Candidate policy versions evaluated in the shadow of the version executions name';

-- Who started a shadow comes from the session, never from what the admin typed.
CREATE FUNCTION parmana.shadow_evaluations_started() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  NEW.started_at := pg_catalog.now();
  NEW.started_by_login := session_user;
  RETURN NEW;
END
$$;
CREATE TRIGGER shadow_evaluations_started BEFORE INSERT OR UPDATE ON parmana.shadow_evaluations
  FOR EACH ROW EXECUTE FUNCTION parmana.shadow_evaluations_started();

-- Every shadow that ran, with when it stopped: the denominator of its divergences.
CREATE TABLE parmana.shadow_evaluation_history (
  policy_id         text        NOT NULL,
  policy_version    text        NOT NULL,
  candidate_version text        NOT NULL,
  started_at        timestamptz NOT NULL,
  started_by_login  name        NOT NULL,
  stopped_at        timestamptz NOT NULL,
  stopped_by_login  name        NOT NULL
);
COMMENT ON TABLE parmana.shadow_evaluation_history IS 'Shadow evaluations that have stopped (or changed candidate), with when and by whom';
CREATE TRIGGER shadow_evaluation_history_append_only BEFORE UPDATE OR DELETE ON parmana.shadow_evaluation_history
  FOR EACH ROW EXECUTE FUNCTION parmana.refuse_change();
CREATE TRIGGER shadow_evaluation_history_no_truncate BEFORE TRUNCATE ON parmana.shadow_evaluation_history
  FOR EACH STATEMENT EXECUTE FUNCTION parmana.refuse_change();

-- SECURITY DEFINER: admins stop shadows but cannot write their history.
CREATE FUNCTION parmana.shadow_evaluations_stopped() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  INSERT INTO parmana.shadow_evaluation_history
  VALUES (OLD.policy_id, OLD.policy_version, OLD.candidate_version, OLD.started_at, OLD.started_by_login,
          pg_catalog.now(), session_user);
  RETURN NULL;
END
$$;
CREATE TRIGGER shadow_evaluations_stopped AFTER UPDATE OR DELETE ON parmana.shadow_evaluations
  FOR EACH ROW EXECUTE FUNCTION parmana.shadow_evaluations_stopped();

-- Every shadow period, running or stopped.
CREATE VIEW parmana.shadow_periods AS
  SELECT policy_id, policy_version, candidate_version, started_at, started_by_login, NULL::timestamptz AS stopped_at,
         NULL::name AS stopped_by_login
  FROM parmana.shadow_evaluations
  UNION ALL
  SELECT policy_id, policy_version, candidate_version, started_at, started_by_login, stopped_at, stopped_by_login
  FROM parmana.shadow_evaluation_history;
COMMENT ON VIEW parmana.shadow_periods IS 'Every shadow evaluation, running (stopped_at NULL) or stopped';

CREATE TABLE parmana.shadow_divergences (
  id                          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  policy_id                   text        NOT NULL,
  policy_version              text        NOT NULL,
  candidate_version           text        NOT NULL,
  execution_id                text        NOT NULL,
  execution_fingerprint       text        NOT NULL,
  action                      text        NOT NULL,
  rule_id                     text        NOT NULL,
  requires_override           boolean     NOT NULL,
  candidate_action            text,
  candidate_rule_id           text,
  candidate_requires_override boolean,
  candidate_error             text,
  recorded_at                 timestamptz NOT NULL DEFAULT clock_timestamp(),
  CHECK ((candidate_error IS NULL) = (candidate_action IS NOT NULL))
);
CREATE INDEX shadow_divergences_versions ON parmana.shadow_divergences (policy_id, policy_version, candidate_version);
COMMENT ON TABLE parmana.shadow_divergences IS 'Executions a shadow candidate decided differently (or refused): both decisions, never the signals';
CREATE TRIGGER shadow_divergences_append_only BEFORE UPDATE OR DELETE ON parmana.shadow_divergences
  FOR EACH ROW EXECUTE FUNCTION parmana.refuse_change();
CREATE TRIGGER shadow_divergences_no_truncate BEFORE TRUNCATE ON parmana.shadow_divergences
  FOR EACH STATEMENT EXECUTE FUNCTION parmana.refuse_change();

-- Divergences by rule pair: what the candidate would change, how often.
CREATE VIEW parmana.shadow_divergence_summary AS
  SELECT policy_id, policy_version, candidate_version, rule_id, candidate_rule_id, action, candidate_action,
         requires_override, candidate_requires_override, candidate_error, count(*) AS executions,
         min(recorded_at) AS first_seen, max(recorded_at) AS last_seen
  FROM parmana.shadow_divergences
  GROUP BY policy_id, policy_version, candidate_version, rule_id, candidate_rule_id, action, candidate_action,
           requires_override, candidate_requires_override, candidate_error;
COMMENT ON VIEW parmana.shadow_divergence_summary IS 'Shadow divergences counted by rule pair and decision';

SELECT pg_catalog.pg_extension_config_dump('parmana.shadow_evaluations', '');
SELECT pg_catalog.pg_extension_config_dump('parmana.shadow_evaluation_history', '');
SELECT pg_catalog.pg_extension_config_dump('parmana.shadow_divergences', '');
SELECT pg_catalog.pg_extension_config_dump('parmana.shadow_divergences_id_seq', '');


CREATE FUNCTION parmana."acting_role"() RETURNS TEXT /* String */
STRICT STABLE PARALLEL SAFE 
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'acting_role_sql_wrapper';

CREATE FUNCTION parmana."govern_execution_id"(
	"prefix" TEXT, /* Option < String > */
	"relation" regclass, /* Option < RegClass > */
	"key_column" TEXT, /* Option < String > */
	"key" TEXT /* Option < String > */
) RETURNS TEXT /* String */
STABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'govern_execution_id_wrapper';

CREATE FUNCTION parmana."govern_signal_columns"(
	"signals" jsonb /* Option < JsonbParsed > */
) RETURNS TEXT[] /* Vec < String > */
IMMUTABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'govern_signal_columns_wrapper';

CREATE FUNCTION parmana."govern_signals"(
	"signals" jsonb, /* Option < JsonbParsed > */
	"rec" jsonb /* Option < JsonbRow > */
) RETURNS jsonb /* JsonbText */
IMMUTABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'govern_signals_wrapper';

CREATE FUNCTION parmana."parmana_govern_verify"(
	"governed" regclass /* Option < RegClass > */
) RETURNS TABLE (
	"key" TEXT,  /* Option < String > */
	"execution_id" TEXT,  /* Option < String > */
	"problem" TEXT,  /* String */
	"detail" TEXT  /* String */
)
STABLE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'parmana_govern_verify_wrapper';

CREATE FUNCTION parmana."parmana_inclusion_proof"(
	"attestation_id" bigint, /* Option < i64 > */
	"tree_size" bigint DEFAULT NULL /* Option < i64 > */
) RETURNS jsonb /* JsonbText */
STABLE SECURITY DEFINER
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'parmana_inclusion_proof_wrapper';

CREATE FUNCTION parmana."parmana_consistency_proof"(
	"old_size" bigint, /* Option < i64 > */
	"new_size" bigint DEFAULT NULL /* Option < i64 > */
) RETURNS jsonb /* JsonbText */
STABLE SECURITY DEFINER
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'parmana_consistency_proof_wrapper';

CREATE FUNCTION parmana."parmana_log_key"(
	"key_id" TEXT DEFAULT NULL /* Option < String > */
) RETURNS TEXT /* Option < String > */
STABLE SECURITY DEFINER PARALLEL RESTRICTED
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'parmana_log_key_wrapper';

CREATE FUNCTION parmana."parmana_witness_check"(
	"log_key" TEXT /* Option < String > */
) RETURNS TABLE (
	"problem" TEXT,  /* String */
	"detail" TEXT  /* String */
)
STABLE SECURITY DEFINER
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'parmana_witness_check_wrapper';

CREATE FUNCTION parmana."parmana_witness_cosign"(
	"log_key" TEXT, /* Option < String > */
	"witness_name" TEXT /* Option < String > */
) RETURNS TEXT /* String */
VOLATILE SECURITY DEFINER
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'parmana_witness_cosign_wrapper';

CREATE FUNCTION parmana."parmana_witness_key"(
	"witness_name" TEXT /* Option < String > */
) RETURNS TEXT /* String */
STABLE SECURITY DEFINER PARALLEL RESTRICTED
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'parmana_witness_key_wrapper';

CREATE FUNCTION parmana."parmana_policy_test"(
	"policy_id" TEXT, /* Option < String > */
	"policy_version" TEXT, /* Option < String > */
	"cases" jsonb /* Option < JsonbText > */
) RETURNS jsonb /* JsonbText */
STABLE SECURITY DEFINER
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'parmana_policy_test_wrapper';

CREATE FUNCTION parmana."parmana_policy_diff"(
	"policy_id" TEXT, /* Option < String > */
	"from_version" TEXT, /* Option < String > */
	"to_version" TEXT /* Option < String > */
) RETURNS jsonb /* JsonbText */
STABLE SECURITY DEFINER
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'parmana_policy_diff_wrapper';

CREATE OR REPLACE FUNCTION parmana."parmana_govern_refresh"(
	"name" TEXT /* Option < String > */
) RETURNS bigint /* i64 */
VOLATILE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'parmana_govern_refresh_wrapper';

-- Configuration that decides who may do what keeps its history. Every change is a new row of an
-- append-only *_versions table that records who made it (login and role) and when; the current
-- configuration and its history are views over it. Admins change the configuration through the
-- current-state views (INSERT, UPDATE, DELETE) and the INSTEAD OF triggers below check what they
-- write. Rows carried over from releases before 0.4.0 have valid_from = -infinity and no author.
--
-- The trigger functions are SECURITY DEFINER (the versions tables are writable by nobody else);
-- they read only NEW/OLD of our own views, whose columns have built-in types, and the system
-- catalogs, and call only pg_catalog functions and parmana.acting_role(): no user code runs.

-- Which approver roles may resolve a policy's overrides; a policy without rows accepts any approver.
CREATE TABLE parmana.override_authority_versions (
  version_id       bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  policy_id        text        NOT NULL,
  approver_role    name        NOT NULL,
  listed           boolean     NOT NULL,
  changed_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
  changed_by_login name,
  changed_by_role  name
);
CREATE INDEX override_authority_versions_key ON parmana.override_authority_versions (policy_id, approver_role, version_id);
COMMENT ON TABLE parmana.override_authority_versions IS 'Every change to parmana.override_authorities, with who made it and when';

CREATE VIEW parmana.override_authorities AS
  SELECT policy_id, approver_role FROM (
    SELECT DISTINCT ON (policy_id, approver_role) policy_id, approver_role, listed
    FROM parmana.override_authority_versions ORDER BY policy_id, approver_role, version_id DESC) latest
  WHERE listed;
COMMENT ON VIEW parmana.override_authorities IS 'policy_id -> approver roles allowed to resolve its overrides (enforced when the policy has rows)';

CREATE VIEW parmana.override_authorities_history AS
  SELECT policy_id, approver_role, valid_from, valid_to, listed_by_login, listed_by_role, unlisted_by_login, unlisted_by_role
  FROM (
    SELECT policy_id, approver_role, listed, changed_at AS valid_from,
           lead(changed_at) OVER w AS valid_to,
           changed_by_login AS listed_by_login, changed_by_role AS listed_by_role,
           lead(changed_by_login) OVER w AS unlisted_by_login, lead(changed_by_role) OVER w AS unlisted_by_role
    FROM parmana.override_authority_versions
    WINDOW w AS (PARTITION BY policy_id, approver_role ORDER BY version_id)) periods
  WHERE listed;
COMMENT ON VIEW parmana.override_authorities_history IS 'Each period an approver role was listed for a policy: valid_from inclusive, valid_to exclusive (NULL: still listed)';

CREATE FUNCTION parmana.override_authorities_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    RAISE EXCEPTION '[CFG-002] parmana.override_authorities rows are listed and unlisted, not updated'
      USING ERRCODE = '22023', HINT = 'DELETE the row and INSERT the new one.';
  END IF;
  IF TG_OP = 'DELETE' THEN
    INSERT INTO parmana.override_authority_versions (policy_id, approver_role, listed, changed_by_login, changed_by_role)
    VALUES (OLD.policy_id, OLD.approver_role, false, session_user, parmana.acting_role());
    RETURN OLD;
  END IF;
  IF NEW.policy_id IS NULL OR NEW.policy_id = '' THEN
    RAISE EXCEPTION '[CFG-002] policy_id must not be empty' USING ERRCODE = '22023';
  END IF;
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = NEW.approver_role) THEN
    RAISE EXCEPTION '[CFG-001] approver role % does not exist', NEW.approver_role USING ERRCODE = '42704';
  END IF;
  IF EXISTS (SELECT FROM parmana.override_authorities a
             WHERE a.policy_id = NEW.policy_id AND a.approver_role = NEW.approver_role) THEN
    RAISE EXCEPTION '[CFG-003] % is already an approver role of policy %', NEW.approver_role, NEW.policy_id
      USING ERRCODE = '23505';
  END IF;
  INSERT INTO parmana.override_authority_versions (policy_id, approver_role, listed, changed_by_login, changed_by_role)
  VALUES (NEW.policy_id, NEW.approver_role, true, session_user, parmana.acting_role());
  RETURN NEW;
END
$$;
CREATE TRIGGER override_authorities_change INSTEAD OF INSERT OR UPDATE OR DELETE ON parmana.override_authorities
  FOR EACH ROW EXECUTE FUNCTION parmana.override_authorities_change();

-- Execution id namespaces: ids that start with a prefix may be claimed and stepped only by logins
-- that belong to its owner role (the longest matching prefix counts). Ids outside every
-- namespace may be claimed by any executor.
CREATE TABLE parmana.execution_namespace_versions (
  version_id       bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  prefix           text        NOT NULL,
  owner_role       name,
  changed_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
  changed_by_login name,
  changed_by_role  name
);
CREATE INDEX execution_namespace_versions_key ON parmana.execution_namespace_versions (prefix, version_id);
COMMENT ON TABLE parmana.execution_namespace_versions IS 'Every change to parmana.execution_namespaces (owner_role NULL: removed), with who made it and when';

CREATE VIEW parmana.execution_namespaces AS
  SELECT prefix, owner_role FROM (
    SELECT DISTINCT ON (prefix) prefix, owner_role
    FROM parmana.execution_namespace_versions ORDER BY prefix, version_id DESC) latest
  WHERE owner_role IS NOT NULL;
COMMENT ON VIEW parmana.execution_namespaces IS 'Execution id prefixes and the role whose members alone may claim and step ids under them';

CREATE VIEW parmana.execution_namespaces_history AS
  SELECT prefix, owner_role, valid_from, valid_to, changed_by_login, changed_by_role
  FROM (
    SELECT prefix, owner_role, changed_at AS valid_from, lead(changed_at) OVER w AS valid_to, changed_by_login, changed_by_role
    FROM parmana.execution_namespace_versions
    WINDOW w AS (PARTITION BY prefix ORDER BY version_id)) periods
  WHERE owner_role IS NOT NULL;
COMMENT ON VIEW parmana.execution_namespaces_history IS 'Each period a prefix was owned by a role: valid_from inclusive, valid_to exclusive (NULL: current)';

CREATE FUNCTION parmana.execution_namespaces_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    INSERT INTO parmana.execution_namespace_versions (prefix, owner_role, changed_by_login, changed_by_role)
    VALUES (OLD.prefix, NULL, session_user, parmana.acting_role());
    RETURN OLD;
  END IF;
  IF TG_OP = 'UPDATE' AND NEW.prefix IS DISTINCT FROM OLD.prefix THEN
    RAISE EXCEPTION '[CFG-002] a namespace prefix cannot be renamed' USING ERRCODE = '22023',
      HINT = 'DELETE the namespace and INSERT the new prefix.';
  END IF;
  IF TG_OP = 'INSERT' AND EXISTS (SELECT FROM parmana.execution_namespaces n WHERE n.prefix = NEW.prefix) THEN
    RAISE EXCEPTION '[CFG-003] namespace % already exists', NEW.prefix USING ERRCODE = '23505';
  END IF;
  IF NEW.prefix IS NULL OR NEW.prefix = '' OR NEW.prefix ~ '[[:cntrl:]]' OR NEW.prefix ~ '^ ' THEN
    RAISE EXCEPTION '[CFG-002] a namespace prefix must be non-empty text without control characters or a leading space'
      USING ERRCODE = '22023';
  END IF;
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = NEW.owner_role) THEN
    RAISE EXCEPTION '[CFG-001] owner role % does not exist', NEW.owner_role USING ERRCODE = '42704';
  END IF;
  INSERT INTO parmana.execution_namespace_versions (prefix, owner_role, changed_by_login, changed_by_role)
  VALUES (NEW.prefix, NEW.owner_role, session_user, parmana.acting_role());
  RETURN NEW;
END
$$;
CREATE TRIGGER execution_namespaces_change INSTEAD OF INSERT OR UPDATE OR DELETE ON parmana.execution_namespaces
  FOR EACH ROW EXECUTE FUNCTION parmana.execution_namespaces_change();

-- How parmana_govern turns a row of one business table into an execution id and signals, and
-- where the decision goes.
CREATE TABLE parmana.governed_table_versions (
  version_id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name                text        NOT NULL,
  operation           text        NOT NULL CHECK (operation IN ('insert', 'update', 'delete')),
  relation            regclass,
  policy_id           text,
  policy_version      text,
  execution_id_prefix text,
  key_column          name,
  signals             jsonb,
  attestation_column  name,
  action_column       name,
  state_column        name,
  reject_actions      text[],
  on_reject           text,
  changed_at          timestamptz NOT NULL DEFAULT clock_timestamp(),
  changed_by_login    name,
  changed_by_role     name
);
CREATE INDEX governed_table_versions_key ON parmana.governed_table_versions (name, version_id);
COMMENT ON TABLE parmana.governed_table_versions IS 'Every change to parmana.governed_tables, with who made it and when';

CREATE VIEW parmana.governed_tables AS
  SELECT name, relation, policy_id, policy_version, execution_id_prefix, key_column, signals,
         attestation_column, action_column, state_column, reject_actions, on_reject
  FROM (
    SELECT DISTINCT ON (name) *
    FROM parmana.governed_table_versions ORDER BY name, version_id DESC) latest
  WHERE operation <> 'delete';
ALTER VIEW parmana.governed_tables ALTER COLUMN reject_actions SET DEFAULT '{reject}';
ALTER VIEW parmana.governed_tables ALTER COLUMN on_reject SET DEFAULT 'block';
COMMENT ON VIEW parmana.governed_tables IS 'How parmana_govern(name) decides the rows of the table it is bound to (relation)';

CREATE VIEW parmana.governed_tables_history AS
  SELECT name, operation, valid_from, valid_to, changed_by_login, changed_by_role, relation, policy_id, policy_version,
         execution_id_prefix, key_column, signals, attestation_column, action_column, state_column, reject_actions, on_reject
  FROM (
    SELECT v.*, changed_at AS valid_from, lead(changed_at) OVER (PARTITION BY name ORDER BY version_id) AS valid_to
    FROM parmana.governed_table_versions v) periods;
COMMENT ON VIEW parmana.governed_tables_history IS 'Every version of every governed-table configuration: valid_from inclusive, valid_to exclusive (NULL: current); operation delete ends one';

-- The base type of a column of `relation`, or NULL when there is no such column.
CREATE FUNCTION parmana.column_base_type(relation regclass, column_name name) RETURNS regtype
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
  WITH RECURSIVE t(oid, depth) AS (
    SELECT a.atttypid, 0 FROM pg_catalog.pg_attribute a
    WHERE a.attrelid = relation AND a.attname = column_name AND a.attnum > 0 AND NOT a.attisdropped
    UNION ALL
    SELECT ty.typbasetype, t.depth + 1 FROM t JOIN pg_catalog.pg_type ty ON ty.oid = t.oid
    WHERE ty.typtype = 'd' AND t.depth < 32)
  SELECT oid::regtype FROM t ORDER BY depth DESC LIMIT 1
$$;

CREATE FUNCTION parmana.governed_tables_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  op text := lower(TG_OP);
  col name;
  kind regtype;
BEGIN
  IF TG_OP = 'DELETE' THEN
    INSERT INTO parmana.governed_table_versions (name, operation, changed_by_login, changed_by_role)
    VALUES (OLD.name, 'delete', session_user, parmana.acting_role());
    RETURN OLD;
  END IF;
  IF TG_OP = 'UPDATE' AND NEW.name IS DISTINCT FROM OLD.name THEN
    RAISE EXCEPTION '[CFG-002] a governed-table configuration cannot be renamed' USING ERRCODE = '22023',
      HINT = 'Triggers name their configuration: DELETE it and INSERT the new name.';
  END IF;
  IF TG_OP = 'INSERT' AND EXISTS (SELECT FROM parmana.governed_tables g WHERE g.name = NEW.name) THEN
    RAISE EXCEPTION '[CFG-003] governed-table configuration % already exists', NEW.name USING ERRCODE = '23505';
  END IF;
  IF NEW.name IS NULL OR NEW.name = '' OR NEW.policy_id IS NULL OR NEW.policy_version IS NULL
     OR NEW.execution_id_prefix IS NULL OR NEW.execution_id_prefix = '' OR NEW.key_column IS NULL OR NEW.signals IS NULL
     OR NEW.reject_actions IS NULL OR NEW.on_reject IS NULL THEN
    RAISE EXCEPTION '[CFG-002] name, policy_id, policy_version, execution_id_prefix, key_column, signals, reject_actions and on_reject are required'
      USING ERRCODE = '22023';
  END IF;
  IF NEW.relation IS NULL THEN
    RAISE EXCEPTION '[CFG-002] relation is required: the one table this configuration governs' USING ERRCODE = '22023';
  END IF;
  -- A plain table: a partitioned table's trigger fires on its partitions, and refresh and
  -- verification read the named table only (ONLY); govern each partition instead.
  IF (SELECT relkind FROM pg_catalog.pg_class WHERE oid = NEW.relation) <> 'r' THEN
    RAISE EXCEPTION '[CFG-002] % is not a plain table', NEW.relation USING ERRCODE = '22023',
      HINT = 'Partitioned tables are governed partition by partition, each with its own configuration.';
  END IF;
  IF EXISTS (SELECT FROM parmana.governed_tables g WHERE g.relation = NEW.relation AND g.name <> NEW.name) THEN
    RAISE EXCEPTION '[CFG-003] % is already governed by another configuration', NEW.relation USING ERRCODE = '23505';
  END IF;
  IF NOT EXISTS (SELECT FROM parmana.policies p WHERE p.policy_id = NEW.policy_id AND p.policy_version = NEW.policy_version) THEN
    RAISE EXCEPTION '[CFG-001] policy % version % is not registered', NEW.policy_id, NEW.policy_version USING ERRCODE = '42704';
  END IF;
  IF NEW.on_reject NOT IN ('block', 'skip', 'record') THEN
    RAISE EXCEPTION '[CFG-002] on_reject must be block, skip or record' USING ERRCODE = '22023';
  END IF;
  kind := parmana.column_base_type(NEW.relation, NEW.key_column);
  IF kind IS NULL OR kind NOT IN ('smallint', 'integer', 'bigint', 'numeric', 'text', 'character varying', 'uuid', 'date') THEN
    RAISE EXCEPTION '[CFG-002] key column % of % must be smallint, integer, bigint, numeric, text, varchar, uuid or date',
      NEW.key_column, NEW.relation USING ERRCODE = '22023', DETAIL = pg_catalog.format('It is %s.', coalesce(kind::text, 'missing'));
  END IF;
  FOREACH col IN ARRAY parmana.govern_signal_columns(NEW.signals) LOOP
    IF parmana.column_base_type(NEW.relation, col) IS NULL THEN
      RAISE EXCEPTION '[CFG-002] signal column % does not exist in %', col, NEW.relation USING ERRCODE = '22023';
    END IF;
  END LOOP;
  IF NEW.attestation_column IS NOT NULL
     AND parmana.column_base_type(NEW.relation, NEW.attestation_column) IS DISTINCT FROM 'jsonb'::regtype THEN
    RAISE EXCEPTION '[CFG-002] attestation column % of % must be jsonb', NEW.attestation_column, NEW.relation
      USING ERRCODE = '22023';
  END IF;
  FOREACH col IN ARRAY ARRAY[NEW.action_column, NEW.state_column] LOOP
    IF col IS NOT NULL AND parmana.column_base_type(NEW.relation, col) IS DISTINCT FROM 'text'::regtype
       AND parmana.column_base_type(NEW.relation, col) IS DISTINCT FROM 'character varying'::regtype THEN
      RAISE EXCEPTION '[CFG-002] decision column % of % must be text or varchar', col, NEW.relation USING ERRCODE = '22023';
    END IF;
  END LOOP;
  INSERT INTO parmana.governed_table_versions
    (name, operation, relation, policy_id, policy_version, execution_id_prefix, key_column, signals, attestation_column,
     action_column, state_column, reject_actions, on_reject, changed_by_login, changed_by_role)
  VALUES (NEW.name, op, NEW.relation, NEW.policy_id, NEW.policy_version, NEW.execution_id_prefix, NEW.key_column, NEW.signals,
          NEW.attestation_column, NEW.action_column, NEW.state_column, NEW.reject_actions, NEW.on_reject,
          session_user, parmana.acting_role());
  RETURN NEW;
END
$$;
CREATE TRIGGER governed_tables_change INSTEAD OF INSERT OR UPDATE OR DELETE ON parmana.governed_tables
  FOR EACH ROW EXECUTE FUNCTION parmana.governed_tables_change();

CREATE TRIGGER override_authority_versions_append_only BEFORE UPDATE OR DELETE ON parmana.override_authority_versions
  FOR EACH ROW EXECUTE FUNCTION parmana.refuse_change();
CREATE TRIGGER override_authority_versions_no_truncate BEFORE TRUNCATE ON parmana.override_authority_versions
  FOR EACH STATEMENT EXECUTE FUNCTION parmana.refuse_change();
CREATE TRIGGER execution_namespace_versions_append_only BEFORE UPDATE OR DELETE ON parmana.execution_namespace_versions
  FOR EACH ROW EXECUTE FUNCTION parmana.refuse_change();
CREATE TRIGGER execution_namespace_versions_no_truncate BEFORE TRUNCATE ON parmana.execution_namespace_versions
  FOR EACH STATEMENT EXECUTE FUNCTION parmana.refuse_change();
CREATE TRIGGER governed_table_versions_append_only BEFORE UPDATE OR DELETE ON parmana.governed_table_versions
  FOR EACH ROW EXECUTE FUNCTION parmana.refuse_change();
CREATE TRIGGER governed_table_versions_no_truncate BEFORE TRUNCATE ON parmana.governed_table_versions
  FOR EACH STATEMENT EXECUTE FUNCTION parmana.refuse_change();


SELECT pg_catalog.pg_extension_config_dump('parmana.override_authority_versions', '');
SELECT pg_catalog.pg_extension_config_dump('parmana.override_authority_versions_version_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('parmana.execution_namespace_versions', '');
SELECT pg_catalog.pg_extension_config_dump('parmana.execution_namespace_versions_version_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('parmana.governed_table_versions', '');
SELECT pg_catalog.pg_extension_config_dump('parmana.governed_table_versions_version_id_seq', '');

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


REVOKE ALL ON ALL TABLES IN SCHEMA parmana FROM PUBLIC, parmana_executor, parmana_approver, parmana_auditor, parmana_admin;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA parmana FROM PUBLIC, parmana_executor, parmana_approver, parmana_auditor, parmana_admin;
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
