-- One governed decision per transaction; the transaction id makes every execution id unique.
SELECT parmana.parmana_execute('b-' || pg_current_xact_id()::text, 'loan-approval', '1.0.0', '{"credit_score": 720, "loan_amount": 15000}');
