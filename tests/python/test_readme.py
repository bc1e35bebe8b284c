"""The README's history queries run as printed and answer their questions: what governed a table
on a date, and who could approve a policy's reviews then (with the date moved to today, when the
configuration below was written)."""
import datetime
import re

from conftest import ROOT, fresh_database, login_role

CLAIMS = (ROOT / "fixtures" / "policies" / "claims-approval-v1.json").read_text()
LOAN = (ROOT / "fixtures" / "policies" / "loan-approval-1.0.0.json").read_text()


def readme_queries():
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## People, logins and the past"):]
    block = re.search(r"```sql\n(.*?)```", section, re.S).group(1)
    return [q.strip() for q in block.split(";") if "SELECT" in q]


def test_history_queries_in_the_readme():
    conn = fresh_database("parmana_readme", policies=[CLAIMS, LOAN])
    try:
        login_role(conn, "readme_jane")
        conn.execute("DROP ROLE IF EXISTS readme_credit_officers")
        conn.execute("CREATE ROLE readme_credit_officers")
        conn.execute("GRANT readme_credit_officers TO readme_jane")
        conn.execute("CREATE TABLE claims (id bigint PRIMARY KEY, amount integer NOT NULL, risk_score integer NOT NULL, "
                     "insurance_active boolean NOT NULL, vip boolean NOT NULL, decision text, state text, attestation jsonb)")
        conn.execute(
            "INSERT INTO parmana.governed_tables (name, relation, policy_id, policy_version, execution_id_prefix, key_column, signals) "
            "VALUES ('claims', 'claims', 'claims-approval', 'v1', 'claim-', 'id', "
            "'{\"claim_amount\": {\"column\": \"amount\"}, \"risk_score\": {\"column\": \"risk_score\"}, "
            "\"insurance_active\": {\"column\": \"insurance_active\"}, \"vip_customer\": {\"column\": \"vip\"}}')")
        conn.execute("INSERT INTO parmana.override_authorities (policy_id, approver_role) VALUES ('loan-approval', 'readme_credit_officers')")
        today = (datetime.date.today() + datetime.timedelta(days=1)).isoformat()
        governed, approvers = [q.replace("2026-11-01", today) for q in readme_queries()]
        assert conn.execute(governed).fetchall() == [("claims", "claims-approval", "v1", "block", "postgres")]
        assert conn.execute(approvers).fetchall() == [("readme_credit_officers", "readme_jane", "postgres")]
    finally:
        conn.close()
