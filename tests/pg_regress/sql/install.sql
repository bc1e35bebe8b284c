-- CREATE EXTENSION builds schema parmana and everything in it, the parmana roles and an embedded
-- signing key; nothing lands in public.
\i tests/pg_regress/include/setup.sql

SELECT e.extname, e.extversion = (SELECT default_version FROM pg_available_extensions WHERE name = 'parmana') AS current,
       e.extnamespace::regnamespace AS schema, e.extrelocatable AS relocatable,
       r.rolsuper AS schema_owned_by_superuser
FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace JOIN pg_roles r ON r.oid = n.nspowner
WHERE e.extname = 'parmana';
-- Every member of the extension is in schema parmana.
SELECT count(*) AS members, count(*) FILTER (WHERE pg_describe_object(classid, objid, objsubid) NOT LIKE '% parmana.%') AS elsewhere
FROM pg_depend WHERE refobjid = (SELECT oid FROM pg_extension WHERE extname = 'parmana') AND deptype = 'e';
SELECT count(*) AS parmana_objects_in_public FROM pg_proc WHERE pronamespace = 'public'::regnamespace AND proname LIKE 'parmana%';

SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname LIKE 'parmana\_%' ORDER BY rolname;
SELECT relname, relkind FROM pg_class WHERE relnamespace = 'parmana'::regnamespace AND relkind IN ('r', 'v') ORDER BY relname;

-- Exactly one active embedded key, and the manifest names it.
SELECT count(*) AS active_keys, bool_and(source = 'embedded') AS embedded FROM parmana.signing_keys WHERE active;
SELECT m->>'signerKeyId' = (SELECT key_id FROM parmana.signing_keys WHERE active) AS manifest_names_active_key,
       m->>'runtimeVersion' AS runtime_version,
       length(m->>'runtimeHash') AS runtime_hash_len,
       m->'capabilities' AS capabilities
FROM parmana.parmana_runtime_manifest() m;
SELECT parmana.parmana_public_key() LIKE '-----BEGIN PUBLIC KEY-----%' AS pem_spki;
SELECT parmana.parmana_public_key('no-such-key') IS NULL AS unknown_key_is_null;

-- Callable qualified, or unqualified with parmana on the search_path.
SET search_path = parmana, public;
SELECT parmana_simulate('loan-approval', '1.0.0', '{"credit_score": 720, "loan_amount": 1}')->'decision'->>'action' AS unqualified;
RESET search_path;

-- A schema named parmana prepared by someone else is refused at install time.
\set VERBOSITY sqlstate
SET client_min_messages = warning;
DROP EXTENSION parmana CASCADE;
RESET client_min_messages;
CALL regress.login_role('regress_install_squatter');
ALTER SCHEMA parmana OWNER TO regress_install_squatter;
SELECT regress.err('CREATE EXTENSION parmana') AS schema_owned_by_someone_else;
ALTER SCHEMA parmana OWNER TO postgres;
CREATE TABLE parmana.planted (x int);
SELECT regress.err('CREATE EXTENSION parmana') AS schema_not_empty;
DROP TABLE parmana.planted;
GRANT CREATE ON SCHEMA parmana TO regress_install_squatter;
SELECT regress.err('CREATE EXTENSION parmana') AS others_may_create_in_schema;
REVOKE CREATE ON SCHEMA parmana FROM regress_install_squatter;
SELECT regress.err('CREATE EXTENSION parmana') AS clean_schema;
-- After DROP EXTENSION the schema stays (it holds the extension, so it cannot belong to it) and a
-- new CREATE EXTENSION installs into it again.
SELECT count(*) AS functions FROM pg_proc WHERE pronamespace = 'parmana'::regnamespace;
