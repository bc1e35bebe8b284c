-- The embedded signing key, from the OS CSPRNG, unless a key is already active.
SELECT @extschema@.parmana_internal_bootstrap_key();

-- PUBLIC gets nothing but verification with an explicit public key (SPEC §13).
REVOKE EXECUTE ON FUNCTION
  @extschema@.parmana_execute(text, text, text, jsonb),
  @extschema@.parmana_simulate(text, text, jsonb),
  @extschema@.parmana_register_policy(jsonb),
  @extschema@.parmana_rotate_key(),
  @extschema@.parmana_public_key(text),
  @extschema@.parmana_runtime_manifest(),
  @extschema@.parmana_verify(jsonb),
  @extschema@.parmana_dsse(jsonb),
  @extschema@.parmana_internal_bootstrap_key()
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.parmana_verify(jsonb, text) TO PUBLIC;

GRANT EXECUTE ON FUNCTION
  @extschema@.parmana_execute(text, text, text, jsonb),
  @extschema@.parmana_simulate(text, text, jsonb)
TO parmana_executor;

GRANT EXECUTE ON FUNCTION
  @extschema@.parmana_register_policy(jsonb),
  @extschema@.parmana_rotate_key()
TO parmana_admin;

GRANT EXECUTE ON FUNCTION
  @extschema@.parmana_verify(jsonb),
  @extschema@.parmana_public_key(text),
  @extschema@.parmana_runtime_manifest(),
  @extschema@.parmana_dsse(jsonb)
TO parmana_executor, parmana_approver, parmana_auditor, parmana_admin;

-- Public keys are public: every parmana role may read them (parmana_verify(jsonb) does).
GRANT USAGE ON SCHEMA parmana TO parmana_executor, parmana_approver, parmana_auditor, parmana_admin;
GRANT SELECT ON parmana.signing_keys TO parmana_executor, parmana_approver, parmana_auditor, parmana_admin;
GRANT SELECT ON parmana.policies, parmana.replay_state, parmana.attestations TO parmana_auditor, parmana_admin;
