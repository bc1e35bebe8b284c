-- Default privileges of the installing superuser (ALTER DEFAULT PRIVILEGES, which a superuser may
-- have set for its own convenience) never reach parmana's objects: after CREATE EXTENSION a role
-- they name holds exactly what PUBLIC holds, so it cannot read the signing key, plant objects in
-- schema parmana or call internal functions.
\i tests/pg_regress/include/setup.sql
\set VERBOSITY terse
CALL regress.login_role('regress_dp_reader');
DROP EXTENSION parmana CASCADE;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres GRANT ALL ON TABLES TO regress_dp_reader;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres GRANT ALL ON SEQUENCES TO regress_dp_reader;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres GRANT EXECUTE ON FUNCTIONS TO regress_dp_reader;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres GRANT ALL ON SCHEMAS TO regress_dp_reader;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres GRANT ALL ON TYPES TO regress_dp_reader;
CREATE EXTENSION parmana;

-- Grants on parmana's objects to anyone but the owner and parmana's own roles: none.
SELECT count(*) AS foreign_grants FROM (
  SELECT a.grantee FROM pg_class c, aclexplode(c.relacl) a WHERE c.relnamespace = 'parmana'::regnamespace
  UNION ALL SELECT a.grantee FROM pg_proc p, aclexplode(p.proacl) a WHERE p.pronamespace = 'parmana'::regnamespace
  UNION ALL SELECT a.grantee FROM pg_type t, aclexplode(t.typacl) a WHERE t.typnamespace = 'parmana'::regnamespace
  UNION ALL SELECT a.grantee FROM pg_namespace n, aclexplode(n.nspacl) a WHERE n.nspname = 'parmana'
) g WHERE g.grantee = 'regress_dp_reader'::regrole;

\c - regress_dp_reader
\set VERBOSITY terse
SELECT regress.err('SELECT private_key_pem FROM parmana.signing_key_secrets') AS read_key,
       regress.err('CREATE TABLE parmana.planted (a int)') AS plant_table,
       regress.err('SELECT parmana.parmana_internal_bootstrap_key()') AS bootstrap_key,
       regress.err('SELECT count(*) FROM parmana.attestations') AS read_attestations,
       regress.err('SELECT nextval(''parmana.attestations_id_seq'')') AS take_ids;

\c - postgres
ALTER DEFAULT PRIVILEGES FOR ROLE postgres REVOKE ALL ON TABLES FROM regress_dp_reader;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres REVOKE ALL ON SEQUENCES FROM regress_dp_reader;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres REVOKE EXECUTE ON FUNCTIONS FROM regress_dp_reader;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres REVOKE ALL ON SCHEMAS FROM regress_dp_reader;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres REVOKE ALL ON TYPES FROM regress_dp_reader;
