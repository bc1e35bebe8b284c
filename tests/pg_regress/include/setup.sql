\set ECHO none
-- Shared setup, included by every test file (each runs alone, in its own database): the
-- extension, the fixture policies, and helpers. It prints nothing.
\o /dev/null
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS parmana;
CREATE SCHEMA IF NOT EXISTS regress;
GRANT USAGE ON SCHEMA regress TO PUBLIC;

-- Run a statement; report 'ok' or its SQLSTATE plus the [CODE] prefix of the message.
CREATE OR REPLACE FUNCTION regress.err(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE sql;
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ' ' || coalesce(substring(SQLERRM from '^\[[^]]+\]'), SQLERRM);
END
$$;
GRANT EXECUTE ON FUNCTION regress.err(text) TO PUBLIC;

-- A login role for a test, created once per cluster, member of the given roles.
CREATE OR REPLACE PROCEDURE regress.login_role(name text, member_of text[] DEFAULT '{}')
LANGUAGE plpgsql AS $$
DECLARE r text;
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = name) THEN
    EXECUTE format('CREATE ROLE %I LOGIN', name);
  END IF;
  FOREACH r IN ARRAY member_of LOOP
    IF NOT pg_has_role(name, r, 'MEMBER') THEN
      EXECUTE format('GRANT %I TO %I', r, name);
    END IF;
  END LOOP;
END
$$;

-- The fixture policies, read from the repository (pg_regress runs from its root), registered.
\set claims `cat fixtures/policies/claims-approval-v1.json`
\set loan `cat fixtures/policies/loan-approval-1.0.0.json`
\set insurance `cat fixtures/policies/insurance-claim-approval-1.0.0.json`
CREATE TABLE IF NOT EXISTS regress.fixtures (name text PRIMARY KEY, document jsonb NOT NULL);
INSERT INTO regress.fixtures VALUES ('claims', :'claims'), ('loan', :'loan'), ('insurance', :'insurance')
  ON CONFLICT DO NOTHING;
GRANT SELECT ON regress.fixtures TO PUBLIC;
SELECT parmana.parmana_register_policy(document) FROM regress.fixtures;
-- number and string signals, and a policy without a catch-all
SELECT parmana.parmana_register_policy('{"policyId": "kinds", "policyVersion": "1.0.0", "schemaVersion": "1.0.0",
  "signalsSchema": {"ratio": {"type": "number"}, "note": {"type": "string"}},
  "rules": [{"id": "all", "condition": {"all": []}, "outcome": {"action": "approve", "requires_override": false, "reason": "ok"}}]}');
SELECT parmana.parmana_register_policy('{"policyId": "no-catch-all", "policyVersion": "1.0.0", "schemaVersion": "1.0.0",
  "signalsSchema": {"amount": {"type": "integer"}},
  "rules": [{"id": "small", "condition": {"signal": "amount", "less_than": 100}, "outcome": {"action": "approve", "requires_override": false, "reason": "small"}}]}');
RESET client_min_messages;
\o
\set ECHO all
