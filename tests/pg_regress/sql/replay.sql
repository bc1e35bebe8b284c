-- The replay step API: every legal transition, every illegal one refused, TTL expiry, the sweep,
-- rollback leaving no state; and who may take which step (logins, namespaces, reviewers).
\i tests/pg_regress/include/setup.sql
\set VERBOSITY sqlstate
CALL regress.login_role('regress_replay_app', '{parmana_executor}');
CALL regress.login_role('regress_replay_other_app', '{parmana_executor}');
CALL regress.login_role('regress_replay_reviewer', '{parmana_approver}');
CALL regress.login_role('regress_replay_admin', '{parmana_admin}');
GRANT USAGE ON SCHEMA regress TO PUBLIC;

-- The transition matrix: every step from every state. States are written directly, as another
-- login left them, so this table shows the state machine alone (who may step is below); refused
-- steps say SYS-027 (illegal) or INV-013 (claiming, or marking executed, a decided id).
CREATE FUNCTION regress.at_state(id text, s text) RETURNS void LANGUAGE sql AS $$
  INSERT INTO parmana.replay_state (execution_id, state, executed_by, executed_login, expires_at)
  SELECT id, s, 'regress_replay_other_app', 'regress_replay_other_app',
         CASE WHEN s IN ('RESERVED', 'FAILED') THEN clock_timestamp() + interval '1 hour' END
  WHERE s <> 'unseen'
$$;
SELECT s AS from_state,
       regress.err(format('SELECT regress.at_state(%L, %L); SELECT parmana.parmana_replay_reserve(%L)', 'm-' || s || '-reserve', s, 'm-' || s || '-reserve')) AS reserve,
       regress.err(format('SELECT regress.at_state(%L, %L); SELECT parmana.parmana_replay_start(%L)', 'm-' || s || '-start', s, 'm-' || s || '-start')) AS start,
       regress.err(format('SELECT regress.at_state(%L, %L); SELECT parmana.parmana_replay_confirm(%L)', 'm-' || s || '-confirm', s, 'm-' || s || '-confirm')) AS confirm,
       regress.err(format('SELECT regress.at_state(%L, %L); SELECT parmana.parmana_replay_override(%L)', 'm-' || s || '-override', s, 'm-' || s || '-override')) AS override,
       regress.err(format('SELECT regress.at_state(%L, %L); SELECT parmana.parmana_replay_fail(%L)', 'm-' || s || '-fail', s, 'm-' || s || '-fail')) AS fail,
       regress.err(format('SELECT regress.at_state(%L, %L); SELECT parmana.parmana_replay_expire(%L)', 'm-' || s || '-expire', s, 'm-' || s || '-expire')) AS expire,
       regress.err(format('SELECT regress.at_state(%L, %L); SELECT parmana.parmana_replay_mark_executed(%L)', 'm-' || s || '-mark', s, 'm-' || s || '-mark')) AS mark_executed
FROM unnest(ARRAY['unseen', 'RESERVED', 'EXECUTING', 'CONFIRMED', 'OVERRIDDEN', 'FAILED', 'EXPIRED']) s;
-- Refused probes rolled back with their error; the legal ones left their rows.
SELECT count(*) AS matrix_rows_left FROM parmana.replay_state WHERE execution_id LIKE 'm-%';

-- Happy paths, as an application login.
\c - regress_replay_app
\set VERBOSITY sqlstate
SELECT parmana.parmana_replay_reserve('rp-1') AS reserve, parmana.parmana_replay_start('rp-1') AS start,
       parmana.parmana_replay_confirm('rp-1') AS confirm, parmana.parmana_replay_state('rp-1') AS state,
       parmana.parmana_replay_has_executed('rp-1') AS executed;
SELECT parmana.parmana_replay_reserve('rp-2', repeat('ab', 32)) AS reserve, parmana.parmana_replay_start('rp-2') AS start;
SELECT parmana.parmana_replay_reserve('rp-3') AS reserve, parmana.parmana_replay_fail('rp-3') AS fail,
       parmana.parmana_replay_expire('rp-3') AS expire, parmana.parmana_replay_reserve('rp-3') AS reserve_again;
SELECT parmana.parmana_replay_reserve('rp-4') AS reserve, parmana.parmana_replay_start('rp-4') AS start,
       parmana.parmana_replay_fail('rp-4') AS fail;
SELECT parmana.parmana_replay_state('never-seen') IS NULL AS unseen_is_null,
       parmana.parmana_replay_has_executed('never-seen') AS unseen_executed;
-- The legacy pair has_executed / mark_executed needs a reservation first: an id nobody reserved
-- never reads as executed.
SELECT regress.err($$SELECT parmana.parmana_replay_mark_executed('rp-legacy')$$) AS mark_unreserved,
       parmana.parmana_replay_has_executed('rp-legacy') AS executed;
SELECT parmana.parmana_replay_reserve('rp-legacy') AS reserve, parmana.parmana_replay_mark_executed('rp-legacy') AS mark_executed,
       parmana.parmana_replay_has_executed('rp-legacy') AS executed;

-- OVERRIDDEN records a reviewer's decision: not the application's to take.
SELECT regress.err($$SELECT parmana.parmana_replay_override('rp-2')$$) AS app_overrides;
\c - regress_replay_reviewer
\set VERBOSITY sqlstate
SELECT parmana.parmana_replay_override('rp-2') AS reviewer_overrides, parmana.parmana_replay_has_executed('rp-2') AS executed;

-- Another application may not step, fail or expire this application's reservation ...
\c - regress_replay_app
\set VERBOSITY sqlstate
SELECT parmana.parmana_replay_reserve('rp-owned') AS reserve;
\c - regress_replay_other_app
\set VERBOSITY sqlstate
SELECT regress.err($$SELECT parmana.parmana_replay_start('rp-owned')$$) AS start_others,
       regress.err($$SELECT parmana.parmana_replay_fail('rp-owned')$$) AS fail_others,
       regress.err($$SELECT parmana.parmana_replay_expire('rp-owned')$$) AS expire_others,
       regress.err($$SELECT parmana.parmana_replay_mark_executed('rp-owned')$$) AS mark_others,
       regress.err($$SELECT parmana.parmana_replay_reserve('rp-owned')$$) AS claim_others;
-- ... but parmana_admin may clean up.
\c - regress_replay_admin
\set VERBOSITY sqlstate
SELECT parmana.parmana_replay_expire('rp-owned') AS admin_expires;

-- Namespaces stop squatting: ids under a prefix are claimed only by members of its owner role.
\c - postgres
\set VERBOSITY sqlstate
DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'regress_replay_payments') THEN
  CREATE ROLE regress_replay_payments NOLOGIN; END IF; END $$;
CALL regress.login_role('regress_replay_app', '{regress_replay_payments}');
CALL regress.login_role('regress_replay_app_replica', '{parmana_executor,regress_replay_payments}');
\c - regress_replay_admin
\set VERBOSITY sqlstate
INSERT INTO parmana.execution_namespaces (prefix, owner_role) VALUES ('pay-', 'regress_replay_payments');
SELECT regress.err($$INSERT INTO parmana.execution_namespaces VALUES ('pay-', 'regress_replay_payments')$$) AS duplicate,
       regress.err($$INSERT INTO parmana.execution_namespaces VALUES ('x-', 'no_such_role')$$) AS unknown_role,
       regress.err($$INSERT INTO parmana.execution_namespaces VALUES ('', 'regress_replay_payments')$$) AS empty_prefix;
\c - regress_replay_other_app
\set VERBOSITY sqlstate
SELECT regress.err($$SELECT parmana.parmana_replay_reserve('pay-1')$$) AS squat_reserve,
       regress.err($$SELECT parmana.parmana_execute('pay-2', 'loan-approval', '1.0.0', '{"credit_score": 720, "loan_amount": 1}')$$) AS squat_execute,
       parmana.parmana_replay_reserve('payroll-1') AS outside_the_namespace;
\c - regress_replay_app
\set VERBOSITY sqlstate
SELECT parmana.parmana_replay_reserve('pay-1') AS member_reserves,
       parmana.parmana_execute('pay-2', 'loan-approval', '1.0.0', '{"credit_score": 720, "loan_amount": 1}')->>'execution_state' AS member_executes;
-- Another login of the owning group may drive the steps of the group's ids.
\c - regress_replay_app_replica
\set VERBOSITY sqlstate
SELECT parmana.parmana_replay_start('pay-1') AS group_member_starts, parmana.parmana_replay_confirm('pay-1') AS confirms;

-- Every step is logged with the login and role that took it.
\c - postgres
\set VERBOSITY sqlstate
SELECT execution_id, step, from_state, to_state, login, role FROM parmana.replay_steps
WHERE execution_id IN ('rp-2', 'rp-owned', 'rp-legacy', 'pay-1') ORDER BY id;
SELECT execution_id, executed_by, executed_login FROM parmana.replay_state WHERE execution_id IN ('rp-1', 'pay-1', 'pay-2') ORDER BY 1;

-- parmana_execute honours the same machine: a reserved id is in flight, an expired one is free.
SELECT parmana.parmana_replay_reserve('rp-exec-1');
SELECT regress.err($$SELECT parmana.parmana_execute('rp-exec-1', 'loan-approval', '1.0.0', '{"credit_score": 720, "loan_amount": 1}')$$) AS execute_in_flight;
SELECT parmana.parmana_replay_expire('rp-exec-1');
SELECT parmana.parmana_execute('rp-exec-1', 'loan-approval', '1.0.0', '{"credit_score": 720, "loan_amount": 1}')->>'execution_state' AS execute_after_expiry;
SELECT parmana.parmana_replay_state('rp-exec-1') AS state;

-- Ids parked by parmana_execute for review move only through parmana_override.
SELECT parmana.parmana_execute('rp-parked', 'loan-approval', '1.0.0', '{"credit_score": 600, "loan_amount": 1}')->>'execution_state' AS parked;
SELECT regress.err($$SELECT parmana.parmana_replay_confirm('rp-parked')$$) AS confirm_parked,
       regress.err($$SELECT parmana.parmana_replay_fail('rp-parked')$$) AS fail_parked,
       regress.err($$SELECT parmana.parmana_replay_reserve('rp-parked')$$) AS reserve_parked,
       regress.err($$SELECT parmana.parmana_replay_mark_executed('rp-parked')$$) AS mark_parked,
       parmana.parmana_replay_state('rp-parked') AS state;
\c - regress_replay_reviewer
\set VERBOSITY sqlstate
SELECT regress.err($$SELECT parmana.parmana_replay_override('rp-parked')$$) AS override_parked;
\c - postgres
\set VERBOSITY sqlstate

-- TTLs: a short reservation TTL lapses; reading reports EXPIRED, claiming succeeds, sweep persists it.
SET parmana.reservation_ttl = 1;
SET parmana.failed_ttl = 1;
SELECT parmana.parmana_replay_reserve('ttl-reserved'), parmana.parmana_replay_reserve('ttl-failed'), parmana.parmana_replay_fail('ttl-failed'),
       parmana.parmana_replay_reserve('ttl-reclaim'), parmana.parmana_replay_reserve('ttl-live-executing'), parmana.parmana_replay_start('ttl-live-executing');
SELECT regress.err($$SELECT parmana.parmana_replay_reserve('ttl-reclaim')$$) AS before_ttl;
SELECT pg_sleep(1.2);
SELECT parmana.parmana_replay_state('ttl-reserved') AS reserved_after_ttl, parmana.parmana_replay_state('ttl-failed') AS failed_after_ttl,
       parmana.parmana_replay_state('ttl-live-executing') AS executing_never_lapses;
SELECT regress.err($$SELECT parmana.parmana_replay_start('ttl-reserved')$$) AS start_lapsed;
SELECT parmana.parmana_replay_reserve('ttl-reclaim') AS reclaimed;
SELECT state FROM parmana.replay_state WHERE execution_id IN ('ttl-reserved', 'ttl-failed') ORDER BY execution_id;
SELECT parmana.parmana_replay_sweep() AS swept;
SELECT execution_id, state FROM parmana.replay_state WHERE execution_id LIKE 'ttl-%' ORDER BY execution_id;
SELECT parmana.parmana_replay_sweep() AS swept_again;
RESET parmana.reservation_ttl;
RESET parmana.failed_ttl;

-- Transactional: a rolled-back step or claim leaves nothing behind.
BEGIN;
SELECT parmana.parmana_replay_reserve('rb-1') AS reserved_in_txn;
ROLLBACK;
SELECT parmana.parmana_replay_state('rb-1') IS NULL AS rolled_back_claim_gone;
SELECT parmana.parmana_replay_reserve('rb-2');
BEGIN;
SELECT parmana.parmana_replay_start('rb-2') AS started_in_txn;
ROLLBACK;
SELECT parmana.parmana_replay_state('rb-2') AS state_after_rollback;
SELECT count(*) AS steps_logged_for_rolled_back FROM parmana.replay_steps WHERE execution_id = 'rb-1';

-- Bad arguments.
SELECT regress.err($$SELECT parmana.parmana_replay_reserve(NULL)$$) AS null_id,
       regress.err($$SELECT parmana.parmana_replay_reserve('')$$) AS empty_id,
       regress.err($$SELECT parmana.parmana_replay_reserve('fp-bad', 'not-a-hash')$$) AS bad_fingerprint,
       regress.err($$SELECT parmana.parmana_replay_state(NULL)$$) AS null_state;
