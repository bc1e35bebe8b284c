-- parmana: schema, roles and governance tables. Functions live in the extension's schema
-- (public by default); everything stored lives in schema parmana.

CREATE SCHEMA parmana;
COMMENT ON SCHEMA parmana IS 'parmana governance records: policies, replay state, attestations, signing keys';
REVOKE ALL ON SCHEMA parmana FROM PUBLIC;

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
  expires_at            timestamptz
);
COMMENT ON TABLE parmana.replay_state IS 'One row per execution id: the replay state machine; parked = waiting for parmana_override';

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
  UNIQUE (execution_id, kind)
);
CREATE INDEX attestations_policy_time ON parmana.attestations (policy_id, policy_version, issued_at);
CREATE INDEX attestations_fingerprint ON parmana.attestations (execution_fingerprint);
COMMENT ON TABLE parmana.attestations IS 'Every signed attestation, with its JSON and indexed columns';

-- Pending overrides and their resolution (SPEC §9). A row is written pending by parmana_execute
-- and resolved exactly once by parmana_override; the signed override record is kept with it.
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
  CHECK ((resolution_status = 'pending') = (override_id IS NULL))
);
COMMENT ON TABLE parmana.overrides IS 'Decisions that require a human: pending until parmana_override signs an override record';

CREATE VIEW parmana.pending_overrides AS
  SELECT id, execution_id, policy_id, policy_version, action, reason, requested_by, requested_at, execution_fingerprint
  FROM parmana.overrides WHERE resolution_status = 'pending';
COMMENT ON VIEW parmana.pending_overrides IS 'The review queue: executions parked for parmana_override';

-- Which approver_role values may resolve a policy's overrides; a policy without rows accepts any.
CREATE TABLE parmana.override_authorities (
  policy_id     text NOT NULL,
  approver_role text NOT NULL,
  PRIMARY KEY (policy_id, approver_role)
);
COMMENT ON TABLE parmana.override_authorities IS 'policy_id -> approver roles allowed to resolve its overrides (enforced when the policy has rows)';
