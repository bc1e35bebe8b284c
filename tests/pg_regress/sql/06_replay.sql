-- The replay step API (SPEC §8): every legal transition, every illegal one refused, TTL expiry,
-- the sweep, and rollback leaving no state.
\set VERBOSITY sqlstate

-- Happy paths.
SELECT parmana_replay_reserve('rp-1') AS reserve, parmana_replay_start('rp-1') AS start, parmana_replay_confirm('rp-1') AS confirm,
       parmana_replay_state('rp-1') AS state, parmana_replay_has_executed('rp-1') AS executed;
SELECT parmana_replay_reserve('rp-2', repeat('ab', 32)) AS reserve, parmana_replay_start('rp-2') AS start,
       parmana_replay_override('rp-2') AS override, parmana_replay_has_executed('rp-2') AS executed;
SELECT execution_fingerprint = repeat('ab', 32) AS fingerprint_stored FROM parmana.replay_state WHERE execution_id = 'rp-2';
SELECT parmana_replay_reserve('rp-3') AS reserve, parmana_replay_fail('rp-3') AS fail, parmana_replay_expire('rp-3') AS expire,
       parmana_replay_reserve('rp-3') AS reserve_again;
SELECT parmana_replay_reserve('rp-4') AS reserve, parmana_replay_start('rp-4') AS start, parmana_replay_fail('rp-4') AS fail;
SELECT parmana_replay_reserve('rp-5') AS reserve, parmana_replay_expire('rp-5') AS expire, parmana_replay_mark_executed('rp-5') AS mark_executed;
SELECT parmana_replay_mark_executed('rp-6') AS mark_executed_unseen, parmana_replay_has_executed('rp-6') AS executed;
SELECT parmana_replay_state('never-seen') IS NULL AS unseen_is_null, parmana_replay_has_executed('never-seen') AS unseen_executed;

-- Every step from every state: refused ones say SYS-027 (illegal) or INV-013 (claiming a
-- non-claimable id). States are built with the API itself.
CREATE FUNCTION regress.at_state(id text, s text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  CASE s
    WHEN 'unseen' THEN NULL;
    WHEN 'RESERVED' THEN PERFORM parmana_replay_reserve(id);
    WHEN 'EXECUTING' THEN PERFORM parmana_replay_reserve(id), parmana_replay_start(id);
    WHEN 'CONFIRMED' THEN PERFORM parmana_replay_mark_executed(id);
    WHEN 'OVERRIDDEN' THEN PERFORM parmana_replay_reserve(id), parmana_replay_start(id), parmana_replay_override(id);
    WHEN 'FAILED' THEN PERFORM parmana_replay_reserve(id), parmana_replay_fail(id);
    WHEN 'EXPIRED' THEN PERFORM parmana_replay_reserve(id), parmana_replay_expire(id);
  END CASE;
END $$;
SELECT s AS from_state,
       regress.err(format('SELECT regress.at_state(%L, %L); SELECT parmana_replay_reserve(%L)', 'm-' || s || '-reserve', s, 'm-' || s || '-reserve')) AS reserve,
       regress.err(format('SELECT regress.at_state(%L, %L); SELECT parmana_replay_start(%L)', 'm-' || s || '-start', s, 'm-' || s || '-start')) AS start,
       regress.err(format('SELECT regress.at_state(%L, %L); SELECT parmana_replay_confirm(%L)', 'm-' || s || '-confirm', s, 'm-' || s || '-confirm')) AS confirm,
       regress.err(format('SELECT regress.at_state(%L, %L); SELECT parmana_replay_override(%L)', 'm-' || s || '-override', s, 'm-' || s || '-override')) AS override,
       regress.err(format('SELECT regress.at_state(%L, %L); SELECT parmana_replay_fail(%L)', 'm-' || s || '-fail', s, 'm-' || s || '-fail')) AS fail,
       regress.err(format('SELECT regress.at_state(%L, %L); SELECT parmana_replay_expire(%L)', 'm-' || s || '-expire', s, 'm-' || s || '-expire')) AS expire,
       regress.err(format('SELECT regress.at_state(%L, %L); SELECT parmana_replay_mark_executed(%L)', 'm-' || s || '-mark', s, 'm-' || s || '-mark')) AS mark_executed
FROM unnest(ARRAY['unseen', 'RESERVED', 'EXECUTING', 'CONFIRMED', 'OVERRIDDEN', 'FAILED', 'EXPIRED']) s;
-- A refused probe rolled back with its error; each of the 11 legal ones left its row.
SELECT count(*) AS matrix_rows_left FROM parmana.replay_state WHERE execution_id LIKE 'm-%';

-- parmana_execute honours the same machine: a reserved id is in flight, an expired one is free.
SELECT parmana_replay_reserve('rp-exec-1');
SELECT regress.err($$SELECT parmana_execute('rp-exec-1', 'loan-approval', '1.0.0', '{"credit_score": 720, "loan_amount": 1}')$$) AS execute_in_flight;
SELECT parmana_replay_expire('rp-exec-1');
SELECT parmana_execute('rp-exec-1', 'loan-approval', '1.0.0', '{"credit_score": 720, "loan_amount": 1}')->>'execution_state' AS execute_after_expiry;
SELECT parmana_replay_state('rp-exec-1') AS state;

-- Ids parked by parmana_execute for review move only through parmana_override.
SELECT parmana_execute('rp-parked', 'loan-approval', '1.0.0', '{"credit_score": 600, "loan_amount": 1}')->>'execution_state' AS parked;
SELECT regress.err($$SELECT parmana_replay_confirm('rp-parked')$$) AS confirm_parked,
       regress.err($$SELECT parmana_replay_override('rp-parked')$$) AS override_parked,
       regress.err($$SELECT parmana_replay_fail('rp-parked')$$) AS fail_parked,
       regress.err($$SELECT parmana_replay_reserve('rp-parked')$$) AS reserve_parked,
       parmana_replay_state('rp-parked') AS state;

-- TTLs: a short reservation TTL lapses; reading reports EXPIRED, claiming succeeds, sweep persists it.
SET parmana.reservation_ttl = 1;
SET parmana.failed_ttl = 1;
SELECT parmana_replay_reserve('ttl-reserved'), parmana_replay_reserve('ttl-failed'), parmana_replay_fail('ttl-failed'),
       parmana_replay_reserve('ttl-reclaim'), parmana_replay_reserve('ttl-live-executing'), parmana_replay_start('ttl-live-executing');
SELECT regress.err($$SELECT parmana_replay_reserve('ttl-reclaim')$$) AS before_ttl;
SELECT pg_sleep(1.2);
SELECT parmana_replay_state('ttl-reserved') AS reserved_after_ttl, parmana_replay_state('ttl-failed') AS failed_after_ttl,
       parmana_replay_state('ttl-live-executing') AS executing_never_lapses;
SELECT regress.err($$SELECT parmana_replay_start('ttl-reserved')$$) AS start_lapsed;
SELECT parmana_replay_reserve('ttl-reclaim') AS reclaimed;
SELECT state FROM parmana.replay_state WHERE execution_id IN ('ttl-reserved', 'ttl-failed') ORDER BY execution_id;
SELECT parmana_replay_sweep() AS swept;
SELECT execution_id, state FROM parmana.replay_state WHERE execution_id LIKE 'ttl-%' ORDER BY execution_id;
SELECT parmana_replay_sweep() AS swept_again;
RESET parmana.reservation_ttl;
RESET parmana.failed_ttl;

-- Transactional: a rolled-back step or claim leaves nothing behind.
BEGIN;
SELECT parmana_replay_reserve('rb-1') AS reserved_in_txn;
ROLLBACK;
SELECT parmana_replay_state('rb-1') IS NULL AS rolled_back_claim_gone;
SELECT parmana_replay_reserve('rb-2');
BEGIN;
SELECT parmana_replay_start('rb-2') AS started_in_txn;
ROLLBACK;
SELECT parmana_replay_state('rb-2') AS state_after_rollback;

-- Bad arguments.
SELECT regress.err($$SELECT parmana_replay_reserve(NULL)$$) AS null_id,
       regress.err($$SELECT parmana_replay_reserve('')$$) AS empty_id,
       regress.err($$SELECT parmana_replay_reserve('fp-bad', 'not-a-hash')$$) AS bad_fingerprint,
       regress.err($$SELECT parmana_replay_state(NULL)$$) AS null_state;
