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
