-- CREATE EXTENSION builds the schema, the roles of SPEC §13 and an embedded signing key.
CREATE EXTENSION parmana;

SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname LIKE 'parmana\_%' ORDER BY rolname;
SELECT tablename FROM pg_tables WHERE schemaname = 'parmana' ORDER BY tablename;

-- Exactly one active embedded key, and the manifest names it.
SELECT count(*) AS active_keys, bool_and(source = 'embedded') AS embedded FROM parmana.signing_keys WHERE active;
SELECT m->>'signerKeyId' = (SELECT key_id FROM parmana.signing_keys WHERE active) AS manifest_names_active_key,
       m->>'runtimeVersion' AS runtime_version,
       length(m->>'runtimeHash') AS runtime_hash_len,
       m->'capabilities' AS capabilities
FROM parmana_runtime_manifest() m;
SELECT parmana_public_key() LIKE '-----BEGIN PUBLIC KEY-----%' AS pem_spki;
SELECT parmana_public_key('no-such-key') IS NULL AS unknown_key_is_null;

-- Test helper: run a statement, report 'ok' or SQLSTATE plus the [CODE] prefix of the message.
CREATE SCHEMA regress;
GRANT USAGE ON SCHEMA regress TO PUBLIC;
CREATE FUNCTION regress.err(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE sql;
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ' ' || coalesce(substring(SQLERRM from '^\[[^]]+\]'), SQLERRM);
END
$$;
GRANT EXECUTE ON FUNCTION regress.err(text) TO PUBLIC;

-- The fixture policies, read from the repository (pg_regress runs from its root).
\set claims `cat fixtures/policies/claims-approval-v1.json`
\set loan `cat fixtures/policies/loan-approval-1.0.0.json`
\set insurance `cat fixtures/policies/insurance-claim-approval-1.0.0.json`
CREATE TABLE regress.fixtures (name text PRIMARY KEY, document jsonb NOT NULL);
INSERT INTO regress.fixtures VALUES ('claims', :'claims'), ('loan', :'loan'), ('insurance', :'insurance');
GRANT SELECT ON regress.fixtures TO PUBLIC;
