-- Configuration that decides who may do what keeps its history. Every change is a new row of an
-- append-only *_versions table that records who made it (login and role) and when; the current
-- configuration and its history are views over it. Admins change the configuration through the
-- current-state views (INSERT, UPDATE, DELETE) and the INSTEAD OF triggers below check what they
-- write. Rows carried over from releases before 0.4.0 have valid_from = -infinity and no author.
--
-- The trigger functions are SECURITY DEFINER (the versions tables are writable by nobody else);
-- they read only NEW/OLD of our own views, whose columns have built-in types, and the system
-- catalogs, and call only pg_catalog functions and parmana.acting_role(): no user code runs.

-- Which approver roles may resolve a policy's overrides; a policy without rows accepts any approver.
CREATE TABLE parmana.override_authority_versions (
  version_id       bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  policy_id        text        NOT NULL,
  approver_role    name        NOT NULL,
  listed           boolean     NOT NULL,
  changed_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
  changed_by_login name,
  changed_by_role  name
);
CREATE INDEX override_authority_versions_key ON parmana.override_authority_versions (policy_id, approver_role, version_id);
COMMENT ON TABLE parmana.override_authority_versions IS 'Every change to parmana.override_authorities, with who made it and when';

CREATE VIEW parmana.override_authorities AS
  SELECT policy_id, approver_role FROM (
    SELECT DISTINCT ON (policy_id, approver_role) policy_id, approver_role, listed
    FROM parmana.override_authority_versions ORDER BY policy_id, approver_role, version_id DESC) latest
  WHERE listed;
COMMENT ON VIEW parmana.override_authorities IS 'policy_id -> approver roles allowed to resolve its overrides (enforced when the policy has rows)';

CREATE VIEW parmana.override_authorities_history AS
  SELECT policy_id, approver_role, valid_from, valid_to, listed_by_login, listed_by_role, unlisted_by_login, unlisted_by_role
  FROM (
    SELECT policy_id, approver_role, listed, changed_at AS valid_from,
           lead(changed_at) OVER w AS valid_to,
           changed_by_login AS listed_by_login, changed_by_role AS listed_by_role,
           lead(changed_by_login) OVER w AS unlisted_by_login, lead(changed_by_role) OVER w AS unlisted_by_role
    FROM parmana.override_authority_versions
    WINDOW w AS (PARTITION BY policy_id, approver_role ORDER BY version_id)) periods
  WHERE listed;
COMMENT ON VIEW parmana.override_authorities_history IS 'Each period an approver role was listed for a policy: valid_from inclusive, valid_to exclusive (NULL: still listed)';

CREATE FUNCTION parmana.override_authorities_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    RAISE EXCEPTION '[CFG-002] parmana.override_authorities rows are listed and unlisted, not updated'
      USING ERRCODE = '22023', HINT = 'DELETE the row and INSERT the new one.';
  END IF;
  IF TG_OP = 'DELETE' THEN
    INSERT INTO parmana.override_authority_versions (policy_id, approver_role, listed, changed_by_login, changed_by_role)
    VALUES (OLD.policy_id, OLD.approver_role, false, session_user, parmana.acting_role());
    RETURN OLD;
  END IF;
  IF NEW.policy_id IS NULL OR NEW.policy_id = '' THEN
    RAISE EXCEPTION '[CFG-002] policy_id must not be empty' USING ERRCODE = '22023';
  END IF;
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = NEW.approver_role) THEN
    RAISE EXCEPTION '[CFG-001] approver role % does not exist', NEW.approver_role USING ERRCODE = '42704';
  END IF;
  IF EXISTS (SELECT FROM parmana.override_authorities a
             WHERE a.policy_id = NEW.policy_id AND a.approver_role = NEW.approver_role) THEN
    RAISE EXCEPTION '[CFG-003] % is already an approver role of policy %', NEW.approver_role, NEW.policy_id
      USING ERRCODE = '23505';
  END IF;
  INSERT INTO parmana.override_authority_versions (policy_id, approver_role, listed, changed_by_login, changed_by_role)
  VALUES (NEW.policy_id, NEW.approver_role, true, session_user, parmana.acting_role());
  RETURN NEW;
END
$$;
CREATE TRIGGER override_authorities_change INSTEAD OF INSERT OR UPDATE OR DELETE ON parmana.override_authorities
  FOR EACH ROW EXECUTE FUNCTION parmana.override_authorities_change();

-- Execution id namespaces: ids that start with a prefix may be claimed and stepped only by logins
-- that belong to its owner role (the longest matching prefix counts). Ids outside every
-- namespace may be claimed by any executor.
CREATE TABLE parmana.execution_namespace_versions (
  version_id       bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  prefix           text        NOT NULL,
  owner_role       name,
  changed_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
  changed_by_login name,
  changed_by_role  name
);
CREATE INDEX execution_namespace_versions_key ON parmana.execution_namespace_versions (prefix, version_id);
COMMENT ON TABLE parmana.execution_namespace_versions IS 'Every change to parmana.execution_namespaces (owner_role NULL: removed), with who made it and when';

CREATE VIEW parmana.execution_namespaces AS
  SELECT prefix, owner_role FROM (
    SELECT DISTINCT ON (prefix) prefix, owner_role
    FROM parmana.execution_namespace_versions ORDER BY prefix, version_id DESC) latest
  WHERE owner_role IS NOT NULL;
COMMENT ON VIEW parmana.execution_namespaces IS 'Execution id prefixes and the role whose members alone may claim and step ids under them';

CREATE VIEW parmana.execution_namespaces_history AS
  SELECT prefix, owner_role, valid_from, valid_to, changed_by_login, changed_by_role
  FROM (
    SELECT prefix, owner_role, changed_at AS valid_from, lead(changed_at) OVER w AS valid_to, changed_by_login, changed_by_role
    FROM parmana.execution_namespace_versions
    WINDOW w AS (PARTITION BY prefix ORDER BY version_id)) periods
  WHERE owner_role IS NOT NULL;
COMMENT ON VIEW parmana.execution_namespaces_history IS 'Each period a prefix was owned by a role: valid_from inclusive, valid_to exclusive (NULL: current)';

CREATE FUNCTION parmana.execution_namespaces_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    INSERT INTO parmana.execution_namespace_versions (prefix, owner_role, changed_by_login, changed_by_role)
    VALUES (OLD.prefix, NULL, session_user, parmana.acting_role());
    RETURN OLD;
  END IF;
  IF TG_OP = 'UPDATE' AND NEW.prefix IS DISTINCT FROM OLD.prefix THEN
    RAISE EXCEPTION '[CFG-002] a namespace prefix cannot be renamed' USING ERRCODE = '22023',
      HINT = 'DELETE the namespace and INSERT the new prefix.';
  END IF;
  IF TG_OP = 'INSERT' AND EXISTS (SELECT FROM parmana.execution_namespaces n WHERE n.prefix = NEW.prefix) THEN
    RAISE EXCEPTION '[CFG-003] namespace % already exists', NEW.prefix USING ERRCODE = '23505';
  END IF;
  IF NEW.prefix IS NULL OR NEW.prefix = '' OR NEW.prefix ~ '[[:cntrl:]]' OR NEW.prefix ~ '^ ' THEN
    RAISE EXCEPTION '[CFG-002] a namespace prefix must be non-empty text without control characters or a leading space'
      USING ERRCODE = '22023';
  END IF;
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = NEW.owner_role) THEN
    RAISE EXCEPTION '[CFG-001] owner role % does not exist', NEW.owner_role USING ERRCODE = '42704';
  END IF;
  INSERT INTO parmana.execution_namespace_versions (prefix, owner_role, changed_by_login, changed_by_role)
  VALUES (NEW.prefix, NEW.owner_role, session_user, parmana.acting_role());
  RETURN NEW;
END
$$;
CREATE TRIGGER execution_namespaces_change INSTEAD OF INSERT OR UPDATE OR DELETE ON parmana.execution_namespaces
  FOR EACH ROW EXECUTE FUNCTION parmana.execution_namespaces_change();

-- How parmana_govern turns a row of one business table into an execution id and signals, and
-- where the decision goes.
CREATE TABLE parmana.governed_table_versions (
  version_id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name                text        NOT NULL,
  operation           text        NOT NULL CHECK (operation IN ('insert', 'update', 'delete')),
  relation            regclass,
  policy_id           text,
  policy_version      text,
  execution_id_prefix text,
  key_column          name,
  signals             jsonb,
  attestation_column  name,
  action_column       name,
  state_column        name,
  reject_actions      text[],
  on_reject           text,
  changed_at          timestamptz NOT NULL DEFAULT clock_timestamp(),
  changed_by_login    name,
  changed_by_role     name
);
CREATE INDEX governed_table_versions_key ON parmana.governed_table_versions (name, version_id);
COMMENT ON TABLE parmana.governed_table_versions IS 'Every change to parmana.governed_tables, with who made it and when';

CREATE VIEW parmana.governed_tables AS
  SELECT name, relation, policy_id, policy_version, execution_id_prefix, key_column, signals,
         attestation_column, action_column, state_column, reject_actions, on_reject
  FROM (
    SELECT DISTINCT ON (name) *
    FROM parmana.governed_table_versions ORDER BY name, version_id DESC) latest
  WHERE operation <> 'delete';
ALTER VIEW parmana.governed_tables ALTER COLUMN reject_actions SET DEFAULT '{reject}';
ALTER VIEW parmana.governed_tables ALTER COLUMN on_reject SET DEFAULT 'block';
COMMENT ON VIEW parmana.governed_tables IS 'How parmana_govern(name) decides the rows of the table it is bound to (relation)';

CREATE VIEW parmana.governed_tables_history AS
  SELECT name, operation, valid_from, valid_to, changed_by_login, changed_by_role, relation, policy_id, policy_version,
         execution_id_prefix, key_column, signals, attestation_column, action_column, state_column, reject_actions, on_reject
  FROM (
    SELECT v.*, changed_at AS valid_from, lead(changed_at) OVER (PARTITION BY name ORDER BY version_id) AS valid_to
    FROM parmana.governed_table_versions v) periods;
COMMENT ON VIEW parmana.governed_tables_history IS 'Every version of every governed-table configuration: valid_from inclusive, valid_to exclusive (NULL: current); operation delete ends one';

-- The base type of a column of `relation`, or NULL when there is no such column.
CREATE FUNCTION parmana.column_base_type(relation regclass, column_name name) RETURNS regtype
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
  WITH RECURSIVE t(oid, depth) AS (
    SELECT a.atttypid, 0 FROM pg_catalog.pg_attribute a
    WHERE a.attrelid = relation AND a.attname = column_name AND a.attnum > 0 AND NOT a.attisdropped
    UNION ALL
    SELECT ty.typbasetype, t.depth + 1 FROM t JOIN pg_catalog.pg_type ty ON ty.oid = t.oid
    WHERE ty.typtype = 'd' AND t.depth < 32)
  SELECT oid::regtype FROM t ORDER BY depth DESC LIMIT 1
$$;

CREATE FUNCTION parmana.governed_tables_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  op text := lower(TG_OP);
  col name;
  kind regtype;
BEGIN
  IF TG_OP = 'DELETE' THEN
    INSERT INTO parmana.governed_table_versions (name, operation, changed_by_login, changed_by_role)
    VALUES (OLD.name, 'delete', session_user, parmana.acting_role());
    RETURN OLD;
  END IF;
  IF TG_OP = 'UPDATE' AND NEW.name IS DISTINCT FROM OLD.name THEN
    RAISE EXCEPTION '[CFG-002] a governed-table configuration cannot be renamed' USING ERRCODE = '22023',
      HINT = 'Triggers name their configuration: DELETE it and INSERT the new name.';
  END IF;
  IF TG_OP = 'INSERT' AND EXISTS (SELECT FROM parmana.governed_tables g WHERE g.name = NEW.name) THEN
    RAISE EXCEPTION '[CFG-003] governed-table configuration % already exists', NEW.name USING ERRCODE = '23505';
  END IF;
  IF NEW.name IS NULL OR NEW.name = '' OR NEW.policy_id IS NULL OR NEW.policy_version IS NULL
     OR NEW.execution_id_prefix IS NULL OR NEW.execution_id_prefix = '' OR NEW.key_column IS NULL OR NEW.signals IS NULL
     OR NEW.reject_actions IS NULL OR NEW.on_reject IS NULL THEN
    RAISE EXCEPTION '[CFG-002] name, policy_id, policy_version, execution_id_prefix, key_column, signals, reject_actions and on_reject are required'
      USING ERRCODE = '22023';
  END IF;
  IF NEW.relation IS NULL THEN
    RAISE EXCEPTION '[CFG-002] relation is required: the one table this configuration governs' USING ERRCODE = '22023';
  END IF;
  -- A plain table: a partitioned table's trigger fires on its partitions, and refresh and
  -- verification read the named table only (ONLY); govern each partition instead.
  IF (SELECT relkind FROM pg_catalog.pg_class WHERE oid = NEW.relation) <> 'r' THEN
    RAISE EXCEPTION '[CFG-002] % is not a plain table', NEW.relation USING ERRCODE = '22023',
      HINT = 'Partitioned tables are governed partition by partition, each with its own configuration.';
  END IF;
  IF EXISTS (SELECT FROM parmana.governed_tables g WHERE g.relation = NEW.relation AND g.name <> NEW.name) THEN
    RAISE EXCEPTION '[CFG-003] % is already governed by another configuration', NEW.relation USING ERRCODE = '23505';
  END IF;
  IF NOT EXISTS (SELECT FROM parmana.policies p WHERE p.policy_id = NEW.policy_id AND p.policy_version = NEW.policy_version) THEN
    RAISE EXCEPTION '[CFG-001] policy % version % is not registered', NEW.policy_id, NEW.policy_version USING ERRCODE = '42704';
  END IF;
  IF NEW.on_reject NOT IN ('block', 'skip', 'record') THEN
    RAISE EXCEPTION '[CFG-002] on_reject must be block, skip or record' USING ERRCODE = '22023';
  END IF;
  kind := parmana.column_base_type(NEW.relation, NEW.key_column);
  IF kind IS NULL OR kind NOT IN ('smallint', 'integer', 'bigint', 'numeric', 'text', 'character varying', 'uuid', 'date') THEN
    RAISE EXCEPTION '[CFG-002] key column % of % must be smallint, integer, bigint, numeric, text, varchar, uuid or date',
      NEW.key_column, NEW.relation USING ERRCODE = '22023', DETAIL = pg_catalog.format('It is %s.', coalesce(kind::text, 'missing'));
  END IF;
  FOREACH col IN ARRAY parmana.govern_signal_columns(NEW.signals) LOOP
    IF parmana.column_base_type(NEW.relation, col) IS NULL THEN
      RAISE EXCEPTION '[CFG-002] signal column % does not exist in %', col, NEW.relation USING ERRCODE = '22023';
    END IF;
  END LOOP;
  IF NEW.attestation_column IS NOT NULL
     AND parmana.column_base_type(NEW.relation, NEW.attestation_column) IS DISTINCT FROM 'jsonb'::regtype THEN
    RAISE EXCEPTION '[CFG-002] attestation column % of % must be jsonb', NEW.attestation_column, NEW.relation
      USING ERRCODE = '22023';
  END IF;
  FOREACH col IN ARRAY ARRAY[NEW.action_column, NEW.state_column] LOOP
    IF col IS NOT NULL AND parmana.column_base_type(NEW.relation, col) IS DISTINCT FROM 'text'::regtype
       AND parmana.column_base_type(NEW.relation, col) IS DISTINCT FROM 'character varying'::regtype THEN
      RAISE EXCEPTION '[CFG-002] decision column % of % must be text or varchar', col, NEW.relation USING ERRCODE = '22023';
    END IF;
  END LOOP;
  INSERT INTO parmana.governed_table_versions
    (name, operation, relation, policy_id, policy_version, execution_id_prefix, key_column, signals, attestation_column,
     action_column, state_column, reject_actions, on_reject, changed_by_login, changed_by_role)
  VALUES (NEW.name, op, NEW.relation, NEW.policy_id, NEW.policy_version, NEW.execution_id_prefix, NEW.key_column, NEW.signals,
          NEW.attestation_column, NEW.action_column, NEW.state_column, NEW.reject_actions, NEW.on_reject,
          session_user, parmana.acting_role());
  RETURN NEW;
END
$$;
CREATE TRIGGER governed_tables_change INSTEAD OF INSERT OR UPDATE OR DELETE ON parmana.governed_tables
  FOR EACH ROW EXECUTE FUNCTION parmana.governed_tables_change();

CREATE TRIGGER override_authority_versions_append_only BEFORE UPDATE OR DELETE ON parmana.override_authority_versions
  FOR EACH ROW EXECUTE FUNCTION parmana.refuse_change();
CREATE TRIGGER override_authority_versions_no_truncate BEFORE TRUNCATE ON parmana.override_authority_versions
  FOR EACH STATEMENT EXECUTE FUNCTION parmana.refuse_change();
CREATE TRIGGER execution_namespace_versions_append_only BEFORE UPDATE OR DELETE ON parmana.execution_namespace_versions
  FOR EACH ROW EXECUTE FUNCTION parmana.refuse_change();
CREATE TRIGGER execution_namespace_versions_no_truncate BEFORE TRUNCATE ON parmana.execution_namespace_versions
  FOR EACH STATEMENT EXECUTE FUNCTION parmana.refuse_change();
CREATE TRIGGER governed_table_versions_append_only BEFORE UPDATE OR DELETE ON parmana.governed_table_versions
  FOR EACH ROW EXECUTE FUNCTION parmana.refuse_change();
CREATE TRIGGER governed_table_versions_no_truncate BEFORE TRUNCATE ON parmana.governed_table_versions
  FOR EACH STATEMENT EXECUTE FUNCTION parmana.refuse_change();


SELECT pg_catalog.pg_extension_config_dump('parmana.override_authority_versions', '');
SELECT pg_catalog.pg_extension_config_dump('parmana.override_authority_versions_version_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('parmana.execution_namespace_versions', '');
SELECT pg_catalog.pg_extension_config_dump('parmana.execution_namespace_versions_version_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('parmana.governed_table_versions', '');
SELECT pg_catalog.pg_extension_config_dump('parmana.governed_table_versions_version_id_seq', '');
