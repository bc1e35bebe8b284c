"""Shadow evaluation at scale: 100,000 executions of loan-approval 1.0.0 with 1.1.0 (standard
threshold 680 instead of 700) in its shadow record exactly the executions that rule change
affects, and the executions themselves (attestations, replay rows, decisions) are the same as
in a run without the shadow."""
import json
import os

from conftest import ROOT, fresh_database

N = int(os.environ.get("PARMANA_SHADOW_ROWS", "100000"))
LOAN = json.loads((ROOT / "fixtures" / "policies" / "loan-approval-1.0.0.json").read_text())


def score(g):
    return 300 + (g * 7919) % 600  # spread over 300..899


def run(name, shadow):
    conn = fresh_database(name, policies=[json.dumps(LOAN)])
    candidate = json.loads(json.dumps(LOAN))
    candidate["policyVersion"] = "1.1.0"
    candidate["rules"][1]["condition"]["greater_than"] = 680
    conn.execute("SELECT parmana.parmana_register_policy(%s::jsonb)", (json.dumps(candidate),))
    if shadow:
        conn.execute("INSERT INTO parmana.shadow_evaluations (policy_id, policy_version, candidate_version) "
                     "VALUES ('loan-approval', '1.0.0', '1.1.0')")
    conn.execute(
        "SELECT count(*) FROM (SELECT parmana.parmana_execute('sh-' || g, 'loan-approval', '1.0.0', "
        "jsonb_build_object('credit_score', 300 + (g * 7919) %% 600, 'loan_amount', g)) FROM generate_series(1, %s) g) x",
        (N,),
    )
    return conn


def outcome(conn):
    """Per execution id: the attestation without its time and signature, the replay row."""
    rows = conn.execute(
        "SELECT a.execution_id, a.attestation - 'issuedAt' - 'signature' - 'signerKeyId', a.action, a.execution_state, "
        "r.state, r.execution_fingerprint, r.parked FROM parmana.attestations a "
        "JOIN parmana.replay_state r USING (execution_id) ORDER BY a.execution_id"
    ).fetchall()
    return {r[0]: r[1:] for r in rows}


def test_shadow_reports_exactly_the_changed_executions_and_changes_nothing():
    plain = run("parmana_shadow_off", shadow=False)
    shadowed = run("parmana_shadow_on", shadow=True)
    try:
        assert outcome(plain) == outcome(shadowed)
        expected = {f"sh-{g}" for g in range(1, N + 1) if 680 < score(g) <= 700}
        recorded = shadowed.execute(
            "SELECT execution_id, rule_id, candidate_rule_id, action, candidate_action FROM parmana.shadow_divergences"
        ).fetchall()
        assert {r[0] for r in recorded} == expected and len(recorded) == len(expected)
        assert {r[1:] for r in recorded} == {("catch-all", "approve-standard", "manual_review", "approve")}
        assert plain.execute("SELECT count(*) FROM parmana.shadow_divergences").fetchone()[0] == 0
        diff = shadowed.execute("SELECT parmana.parmana_policy_diff('loan-approval', '1.0.0', '1.1.0')").fetchone()[0]
        assert diff["rules"]["conditionChanged"] == ["approve-standard"]
        assert diff["shadow"]["executionsShadowed"] == N
        assert diff["shadow"]["divergences"][0]["executions"] == len(expected)
    finally:
        plain.close()
        shadowed.close()
