-- The privilege matrix: for each parmana role and a plain login role, what it may do with
-- every table and view of schema parmana (functions: see 05_privileges). Paths to private key
-- material are closed for all of them.
\i tests/pg_regress/include/setup.sql
SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_matrix_login;
RESET client_min_messages;
CREATE ROLE regress_matrix_login LOGIN;
-- Settings exist once the library is loaded in the session.
LOAD 'parmana';

SELECT c.relname AS relation, r.role,
       concat_ws(',',
         CASE WHEN has_table_privilege(r.role, c.oid, 'SELECT') THEN 'select' END,
         CASE WHEN has_table_privilege(r.role, c.oid, 'INSERT') THEN 'insert' END,
         CASE WHEN has_table_privilege(r.role, c.oid, 'UPDATE') THEN 'update' END,
         CASE WHEN has_table_privilege(r.role, c.oid, 'DELETE') THEN 'delete' END,
         CASE WHEN has_table_privilege(r.role, c.oid, 'TRUNCATE') THEN 'truncate' END) AS may
FROM pg_class c
CROSS JOIN unnest(ARRAY['regress_matrix_login', 'parmana_executor', 'parmana_approver', 'parmana_auditor', 'parmana_admin']) AS r(role)
WHERE c.relnamespace = 'parmana'::regnamespace AND c.relkind IN ('r', 'v')
ORDER BY c.relname, array_position(ARRAY['regress_matrix_login', 'parmana_executor', 'parmana_approver', 'parmana_auditor', 'parmana_admin'], r.role);

SELECT r.role, has_schema_privilege(r.role, 'parmana', 'USAGE') AS schema_usage, has_schema_privilege(r.role, 'parmana', 'CREATE') AS schema_create
FROM unnest(ARRAY['regress_matrix_login', 'parmana_executor', 'parmana_approver', 'parmana_auditor', 'parmana_admin']) AS r(role);

-- No path to private keys: the table, settings and functions, as each role.
\set VERBOSITY sqlstate
SELECT r.role,
       has_table_privilege(r.role, 'parmana.signing_key_secrets', 'SELECT') AS reads_secrets,
       has_column_privilege(r.role, 'parmana.signing_key_secrets', 'private_key_pem', 'SELECT') AS reads_secret_column
FROM unnest(ARRAY['regress_matrix_login', 'parmana_executor', 'parmana_approver', 'parmana_auditor', 'parmana_admin']) AS r(role);
SET ROLE regress_matrix_login;
SELECT name, setting FROM pg_settings WHERE name LIKE 'parmana.%' ORDER BY name;
SELECT regress.err($$SELECT current_setting('parmana.signing_key_file')$$) AS read_key_file_setting;
SELECT regress.err($$SELECT pg_read_file('postgresql.auto.conf')$$) AS read_server_files;
RESET ROLE;

-- Everything in schema parmana belongs to a superuser, so no other role can alter, replace or
-- drop it; every SECURITY DEFINER function pins its search_path to pg_catalog, pg_temp.
SELECT count(*) AS objects, count(*) FILTER (WHERE NOT r.rolsuper) AS owned_by_non_superusers FROM (
  SELECT relowner AS owner FROM pg_class WHERE relnamespace = 'parmana'::regnamespace
  UNION ALL SELECT proowner FROM pg_proc WHERE pronamespace = 'parmana'::regnamespace
  UNION ALL SELECT typowner FROM pg_type WHERE typnamespace = 'parmana'::regnamespace
  UNION ALL SELECT nspowner FROM pg_namespace WHERE nspname = 'parmana') o
JOIN pg_roles r ON r.oid = o.owner;
SELECT proname, proconfig FROM pg_proc
WHERE pronamespace = 'parmana'::regnamespace AND prosecdef
  AND proconfig IS DISTINCT FROM ARRAY['search_path=pg_catalog, pg_temp'] ORDER BY 1;
