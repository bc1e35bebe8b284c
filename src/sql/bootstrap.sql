-- parmana: the schema guard, roles and governance tables. Every object of the extension lives in
-- schema parmana, which CREATE EXTENSION creates (the control file names it; the extension is not
-- relocatable). Nothing is created in public or in any schema a non-superuser owns.

-- A schema named parmana that someone else prepared would let its owner drop or replace what we
-- put in it: refuse to install into anything but a superuser's empty schema.
DO $guard$
DECLARE
  target oid := '@extschema@'::regnamespace;
BEGIN
  IF '@extschema@' <> 'parmana' THEN
    RAISE EXCEPTION '[CFG-002] parmana installs into schema parmana only, not %', '@extschema@'
      USING ERRCODE = '22023';
  END IF;
  IF NOT (SELECT r.rolsuper FROM pg_catalog.pg_namespace n JOIN pg_catalog.pg_roles r ON r.oid = n.nspowner
          WHERE n.oid = target) THEN
    RAISE EXCEPTION '[CFG-002] schema parmana exists and is not owned by a superuser'
      USING ERRCODE = '22023', HINT = 'Drop or rename that schema, then CREATE EXTENSION parmana as a superuser.';
  END IF;
  IF EXISTS (SELECT FROM pg_catalog.pg_class WHERE relnamespace = target)
     OR EXISTS (SELECT FROM pg_catalog.pg_proc WHERE pronamespace = target)
     OR EXISTS (SELECT FROM pg_catalog.pg_type WHERE typnamespace = target)
     OR EXISTS (SELECT FROM pg_catalog.pg_operator WHERE oprnamespace = target)
     OR EXISTS (SELECT FROM pg_catalog.pg_namespace n, pg_catalog.aclexplode(n.nspacl) a
                WHERE n.oid = target AND a.privilege_type = 'CREATE' AND a.grantee <> n.nspowner) THEN
    RAISE EXCEPTION '[CFG-002] schema parmana is not empty, or roles other than its owner may create in it'
      USING ERRCODE = '22023', HINT = 'Install into a new schema: drop the existing parmana schema first.';
  END IF;
END
$guard$;
REVOKE ALL ON SCHEMA parmana FROM PUBLIC;
COMMENT ON SCHEMA parmana IS 'parmana: governed decisions, signed attestations and their audit trail';

-- Roles are cluster-wide and survive DROP EXTENSION; create them only when missing.
DO $roles$
DECLARE r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['parmana_executor', 'parmana_approver', 'parmana_auditor', 'parmana_admin'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r) THEN
      EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', r);
    END IF;
  END LOOP;
END
$roles$;

CREATE TABLE parmana.policies (
  policy_id      text        NOT NULL,
  policy_version text        NOT NULL,
  policy_hash    text        NOT NULL,
  schema_version text        NOT NULL,
  document       jsonb       NOT NULL,
  registered_at  timestamptz NOT NULL DEFAULT now(),
  registered_by  name        NOT NULL,
  PRIMARY KEY (policy_id, policy_version)
);
COMMENT ON TABLE parmana.policies IS 'Registered policy versions; a (policy_id, policy_version) is immutable once registered';

CREATE TABLE parmana.replay_state (
  execution_id          text        PRIMARY KEY,
  execution_fingerprint text,
  state                 text        NOT NULL
    CHECK (state IN ('RESERVED', 'EXECUTING', 'CONFIRMED', 'OVERRIDDEN', 'FAILED', 'EXPIRED', 'REJECTED')),
  parked                boolean     NOT NULL DEFAULT false,
  policy_id             text,
  policy_version        text,
  executed_by           name        NOT NULL,
  created_at            timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at            timestamptz NOT NULL DEFAULT clock_timestamp(),
  expires_at            timestamptz,
  executed_login        name
);
COMMENT ON TABLE parmana.replay_state IS 'One row per execution id: the replay state machine; parked = waiting for parmana_override';
COMMENT ON COLUMN parmana.replay_state.executed_by IS 'The role that claimed the id (SET ROLE included)';
COMMENT ON COLUMN parmana.replay_state.executed_login IS 'The login that claimed the id, which owns its steps; NULL for ids claimed before 0.4.0';

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

CREATE TABLE parmana.signing_keys (
  key_id         text        PRIMARY KEY,
  public_key_pem text        NOT NULL,
  algorithm      text        NOT NULL DEFAULT 'ed25519',
  source         text        NOT NULL CHECK (source IN ('embedded', 'file')),
  active         boolean     NOT NULL DEFAULT false,
  created_at     timestamptz NOT NULL DEFAULT now(),
  retired_at     timestamptz
);
CREATE UNIQUE INDEX signing_keys_one_active ON parmana.signing_keys (active) WHERE active;
COMMENT ON TABLE parmana.signing_keys IS 'Public keys by signerKeyId; old keys stay so past attestations verify';

-- Private keys: readable by the extension owner only (no grants to any role).
CREATE TABLE parmana.signing_key_secrets (
  key_id          text PRIMARY KEY REFERENCES parmana.signing_keys (key_id),
  private_key_pem text NOT NULL
);
REVOKE ALL ON parmana.signing_key_secrets FROM PUBLIC;

CREATE TABLE parmana.attestations (
  id                    bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  execution_id          text        NOT NULL,
  kind                  text        NOT NULL CHECK (kind IN ('decision', 'resolution')),
  execution_fingerprint text        NOT NULL,
  policy_id             text        NOT NULL,
  policy_version        text        NOT NULL,
  action                text        NOT NULL,
  execution_state       text        NOT NULL CHECK (execution_state IN ('completed', 'pending_override', 'blocked')),
  signer_key_id         text        NOT NULL,
  issued_at             timestamptz NOT NULL,
  db_user               name        NOT NULL,
  override_id           text,
  attestation           jsonb       NOT NULL,
  db_login              name,
  UNIQUE (execution_id, kind)
);
CREATE INDEX attestations_policy_time ON parmana.attestations (policy_id, policy_version, issued_at);
CREATE INDEX attestations_fingerprint ON parmana.attestations (execution_fingerprint);
COMMENT ON TABLE parmana.attestations IS 'Every signed attestation, with its JSON and indexed columns';
COMMENT ON COLUMN parmana.attestations.db_user IS 'The role that executed or resolved (SET ROLE included)';
COMMENT ON COLUMN parmana.attestations.db_login IS 'The login that executed or resolved; NULL for attestations written before 0.4.0';

-- Pending overrides and their resolution. A row is written pending by parmana_execute and
-- resolved exactly once by parmana_override; the signed override record is kept with it.
CREATE TABLE parmana.overrides (
  id                        bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  execution_id              text        NOT NULL UNIQUE,
  execution_fingerprint     text        NOT NULL,
  policy_id                 text        NOT NULL,
  policy_version            text        NOT NULL,
  action                    text        NOT NULL,
  reason                    text        NOT NULL,
  pending_attestation_id    bigint      NOT NULL REFERENCES parmana.attestations (id),
  requested_by              name        NOT NULL,
  requested_at              timestamptz NOT NULL DEFAULT clock_timestamp(),
  resolution_status         text        NOT NULL DEFAULT 'pending' CHECK (resolution_status IN ('pending', 'approved', 'rejected')),
  approved_by               text,
  approver_role             text,
  resolution_reason         text,
  resolved_by               name,
  resolved_at               timestamptz,
  override_id               text        UNIQUE,
  override_record           jsonb,
  resolution_attestation_id bigint      REFERENCES parmana.attestations (id),
  requested_login           name,
  resolved_login            name,
  CHECK ((resolution_status = 'pending') = (override_id IS NULL))
);
COMMENT ON TABLE parmana.overrides IS 'Decisions that require a human: pending until parmana_override signs an override record';
COMMENT ON COLUMN parmana.overrides.requested_login IS 'The login that executed; NULL for decisions parked before 0.4.0';
COMMENT ON COLUMN parmana.overrides.resolved_login IS 'The login that resolved: who really decided';

CREATE VIEW parmana.pending_overrides AS
  SELECT id, execution_id, policy_id, policy_version, action, reason, requested_by, requested_at, execution_fingerprint,
         requested_login
  FROM parmana.overrides WHERE resolution_status = 'pending';
COMMENT ON VIEW parmana.pending_overrides IS 'The review queue: executions parked for parmana_override';
