-- One governed decision per transaction (the same transaction shape as baseline.sql).
BEGIN;
SELECT parmana.parmana_execute('b-' || pg_current_xact_id()::text, 'loan-approval', '1.0.0', '{"credit_score": 720, "loan_amount": 15000}');
COMMIT;
