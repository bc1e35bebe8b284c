-- Tables for bench/baseline.sql: the same columns, indexes and constraints as parmana's own, and
-- one real attestation to copy as the JSON row.
CREATE SCHEMA bench;
CREATE TABLE bench.replay_state (LIKE parmana.replay_state INCLUDING ALL);
CREATE TABLE bench.attestations (LIKE parmana.attestations INCLUDING ALL);
SELECT parmana.parmana_execute('sample', 'loan-approval', '1.0.0', '{"credit_score": 720, "loan_amount": 15000}') IS NOT NULL AS sample_written;
CREATE TABLE bench.sample AS SELECT attestation, signer_key_id, execution_fingerprint FROM parmana.attestations WHERE execution_id = 'sample';
