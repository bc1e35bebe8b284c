-- The embedded signing key, from the OS CSPRNG, unless a key is already active.
SELECT @extschema@.parmana_internal_bootstrap_key();

-- PUBLIC gets nothing but verification with an explicit public key (SPEC §13).
REVOKE EXECUTE ON FUNCTION
  @extschema@.parmana_execute(text, text, text, jsonb),
  @extschema@.parmana_simulate(text, text, jsonb),
  @extschema@.parmana_override(text, boolean, text, text, text),
  @extschema@.parmana_register_policy(jsonb),
  @extschema@.parmana_rotate_key(),
  @extschema@.parmana_public_key(text),
  @extschema@.parmana_runtime_manifest(),
  @extschema@.parmana_verify(jsonb),
  @extschema@.parmana_dsse(jsonb),
  @extschema@.parmana_replay_reserve(text, text),
  @extschema@.parmana_replay_start(text),
  @extschema@.parmana_replay_confirm(text),
  @extschema@.parmana_replay_override(text),
  @extschema@.parmana_replay_fail(text),
  @extschema@.parmana_replay_expire(text),
  @extschema@.parmana_replay_mark_executed(text),
  @extschema@.parmana_replay_state(text),
  @extschema@.parmana_replay_has_executed(text),
  @extschema@.parmana_replay_sweep(),
  @extschema@.parmana_checkpoint(),
  @extschema@.parmana_audit_verify(bigint, bigint),
  @extschema@.parmana_internal_bootstrap_key()
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.parmana_verify(jsonb, text) TO PUBLIC;

-- Executors decide, and runtimes that drive the replay steps themselves are executors too.
GRANT EXECUTE ON FUNCTION
  @extschema@.parmana_execute(text, text, text, jsonb),
  @extschema@.parmana_simulate(text, text, jsonb),
  @extschema@.parmana_replay_reserve(text, text),
  @extschema@.parmana_replay_start(text),
  @extschema@.parmana_replay_confirm(text),
  @extschema@.parmana_replay_override(text),
  @extschema@.parmana_replay_fail(text),
  @extschema@.parmana_replay_expire(text),
  @extschema@.parmana_replay_mark_executed(text)
TO parmana_executor;

GRANT EXECUTE ON FUNCTION @extschema@.parmana_override(text, boolean, text, text, text) TO parmana_approver;

GRANT EXECUTE ON FUNCTION
  @extschema@.parmana_register_policy(jsonb),
  @extschema@.parmana_rotate_key(),
  @extschema@.parmana_replay_sweep(),
  @extschema@.parmana_checkpoint()
TO parmana_admin;

GRANT EXECUTE ON FUNCTION @extschema@.parmana_audit_verify(bigint, bigint) TO parmana_auditor, parmana_admin;

GRANT EXECUTE ON FUNCTION
  @extschema@.parmana_verify(jsonb),
  @extschema@.parmana_public_key(text),
  @extschema@.parmana_runtime_manifest(),
  @extschema@.parmana_dsse(jsonb),
  @extschema@.parmana_replay_state(text),
  @extschema@.parmana_replay_has_executed(text)
TO parmana_executor, parmana_approver, parmana_auditor, parmana_admin;

-- Public keys are public: every parmana role may read them (parmana_verify(jsonb) does).
GRANT USAGE ON SCHEMA parmana TO parmana_executor, parmana_approver, parmana_auditor, parmana_admin;
GRANT SELECT ON parmana.signing_keys TO parmana_executor, parmana_approver, parmana_auditor, parmana_admin;
GRANT SELECT ON parmana.policies, parmana.replay_state, parmana.attestations,
                parmana.overrides, parmana.pending_overrides, parmana.override_authorities
  TO parmana_auditor, parmana_admin;
-- Reviewers see their queue.
GRANT SELECT ON parmana.overrides, parmana.pending_overrides, parmana.override_authorities TO parmana_approver;
-- Admins decide who may resolve which policy's overrides.
GRANT INSERT, DELETE ON parmana.override_authorities TO parmana_admin;
