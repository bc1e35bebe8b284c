//! The fixture policies' test suites run offline with parmana-core alone: every case passes, and
//! coverage names exactly the rules and conditions a suite leaves out.

use parmana_core::policy::compile;
use parmana_core::policy_test::run_suite;
use parmana_core::signals::SignalLimits;
use serde_json::{json, Value};

fn fixture(path: &str) -> Value {
    let text = std::fs::read_to_string(format!("{}/../fixtures/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn run(policy: &str, cases: &Value) -> Value {
    let policy = compile(&fixture(&format!("policies/{policy}.json"))).unwrap();
    run_suite(&policy, cases, SignalLimits::default()).unwrap()
}

#[test]
fn every_shipped_suite_passes_and_covers_its_policy() {
    for name in ["loan-approval-1.0.0", "claims-approval-v1", "insurance-claim-approval-1.0.0"] {
        let report = run(name, &fixture(&format!("suites/{name}.json")));
        assert_eq!(report["failed"], 0, "{name}: {report:#}");
        assert_eq!(report["coverage"]["rulesNeverMatched"], json!([]), "{name}");
        assert_eq!(report["coverage"]["conditionsNeverEvaluated"], json!([]), "{name}");
    }
}

#[test]
fn coverage_names_exactly_what_a_suite_leaves_out() {
    let suite = fixture("suites/claims-approval-v1.json");
    // Only the standard approval and an uninsured claim: VIP and high-risk rules never match.
    let partial = json!([suite[2], suite[4]]);
    let report = run("claims-approval-v1", &partial);
    let coverage = &report["coverage"];
    assert_eq!(coverage["rulesNeverMatched"], json!(["high-risk-reject", "vip-fast-track"]));
    assert_eq!(coverage["conditionsNeverEvaluated"], json!([]));
    assert_eq!(coverage["conditionsNeverHeld"], json!(["high-risk-reject", "vip-fast-track"]));
    // The uninsured claim fails standard-approval at its first condition, so the second (risk)
    // is evaluated only for the insured one, where it held.
    assert_eq!(coverage["conditionsNeverFailed"], json!(["standard-approval/1", "catch-all-reject"]));
    let risk = coverage["conditions"].as_array().unwrap().iter().find(|c| c["path"] == "standard-approval/1").unwrap();
    assert_eq!(
        risk,
        &json!({"path": "standard-approval/1", "signal": "risk_score", "operator": "less_than", "held": 1, "failed": 0})
    );

    let loan = run("loan-approval-1.0.0", &json!([fixture("suites/loan-approval-1.0.0.json")[1]]));
    assert_eq!(loan["coverage"]["rulesNeverMatched"], json!(["reject-low-score", "catch-all"]));
    assert_eq!(loan["coverage"]["conditionsNeverEvaluated"], json!(["catch-all"]));
}

#[test]
fn failures_say_what_differed_and_never_echo_values() {
    let cases = json!([
        {"name": "wrong expectation", "signals": {"credit_score": 720, "loan_amount": 987654},
         "expect": {"action": "reject"}},
        {"name": "unexpected refusal", "signals": {"credit_score": "secret-value-42", "loan_amount": 1},
         "expect": {"action": "approve"}},
        {"signals": {"credit_score": 720, "loan_amount": 1}}
    ]);
    let report = run("loan-approval-1.0.0", &cases);
    assert_eq!(report["passed"], 1);
    assert_eq!(report["cases"][0]["mismatches"], json!(["action"]));
    assert_eq!(report["cases"][1]["error"], "VAL-007");
    assert_eq!(report["cases"][2]["name"], "case #2");
    let text = report.to_string();
    assert!(!text.contains("987654") && !text.contains("secret-value-42"));

    let policy = compile(&fixture("policies/loan-approval-1.0.0.json")).unwrap();
    for bad in [json!({}), json!([1]), json!([{"signals": {}, "expect": {"verdict": "x"}}]), json!([{"expect": {}}])] {
        assert_eq!(run_suite(&policy, &bad, SignalLimits::default()).unwrap_err().code(), "TST-001", "{bad}");
    }
}
