//! The example policies decide as their rules say, including at each boundary, and every
//! POL and VAL code is produced by the input it names.

use parmana_core::canonical::canonicalize;
use parmana_core::hashes::execution_fingerprint;
use parmana_core::identifiers::validate_execution_id;
use parmana_core::policy::{compile, CompiledPolicy};
use parmana_core::signals::{validate, SignalLimits};
use serde_json::{json, Value};

fn fixture(name: &str) -> Value {
    let path = format!("{}/../fixtures/policies/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn decide(policy: &CompiledPolicy, signals: Value) -> (String, String, bool) {
    let v = validate(policy, &signals, SignalLimits::default()).unwrap();
    let d = policy.evaluate(&v.values).unwrap();
    (d.action, d.rule_id, d.requires_override)
}

fn claims(risk: i64, vip: bool, active: bool) -> Value {
    json!({"insurance_active": active, "risk_score": risk, "vip_customer": vip, "claim_amount": 8500})
}

#[test]
fn claims_approval_rules_in_order_and_at_boundaries() {
    let p = compile(&fixture("claims-approval-v1")).unwrap();
    assert!(p.warnings.iter().any(|w| w.code.code == "POL-022"), "v1 is not semver: warned, not refused");
    assert!(!p.warnings.iter().any(|w| w.code.code == "POL-021"));
    // The documented quickstart case.
    assert_eq!(decide(&p, claims(42, false, true)), ("approve".into(), "standard-approval".into(), false));
    // greater_than 80 is strict: 80 is not high risk, 81 is — and high risk wins over VIP (rule order).
    assert_eq!(decide(&p, claims(81, true, true)).1, "high-risk-reject");
    assert_eq!(decide(&p, claims(80, true, true)).1, "vip-fast-track");
    // less_than 70 is strict: 69 approves, 70 falls to the catch-all.
    assert_eq!(decide(&p, claims(69, false, true)).1, "standard-approval");
    assert_eq!(decide(&p, claims(70, false, true)), ("reject".into(), "catch-all-reject".into(), true));
    assert_eq!(decide(&p, claims(10, false, false)).1, "catch-all-reject");
}

#[test]
fn loan_approval_boundaries() {
    let p = compile(&fixture("loan-approval-1.0.0")).unwrap();
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    let d = |score: i64| decide(&p, json!({"credit_score": score, "loan_amount": 15000}));
    assert_eq!(d(720), ("approve".into(), "approve-standard".into(), false));
    assert_eq!(d(701).1, "approve-standard");
    assert_eq!(d(700), ("manual_review".into(), "catch-all".into(), true));
    assert_eq!(d(500).1, "catch-all");
    assert_eq!(d(499), ("reject".into(), "reject-low-score".into(), false));
    let v = validate(&p, &json!({"credit_score": 720, "loan_amount": 15000}), SignalLimits::default()).unwrap();
    assert_eq!(
        execution_fingerprint("loan-approval", "1.0.0", &v.canonical),
        "afb029afce5a154b1fc16bd7a6bb402a0463eb252fa9825e43b9b3027dcfbf23"
    );
}

#[test]
fn insurance_claim_all_four_checks() {
    let p = compile(&fixture("insurance-claim-approval-1.0.0")).unwrap();
    let base = json!({
        "claimAmount": 1,
        "customerTier": "gold",
        "policyActive": true,
        "fraudCheckPassed": true,
        "incidentVerified": true
    });
    assert_eq!(decide(&p, base.clone()).1, "approve-claim");
    for (field, value) in [
        ("claimAmount", json!(0)),
        ("policyActive", json!(false)),
        ("fraudCheckPassed", json!(false)),
        ("incidentVerified", json!(false)),
    ] {
        let mut s = base.clone();
        s[field] = value;
        assert_eq!(decide(&p, s), ("reject".into(), "catch-all-reject".into(), true), "{field}");
    }
}

#[test]
fn spec_vector_through_validation() {
    let p = compile(&fixture("claims-approval-v1")).unwrap();
    let v = validate(&p, &claims(42, false, true), SignalLimits::default()).unwrap();
    assert_eq!(
        execution_fingerprint(&p.policy_id, &p.policy_version, &v.canonical),
        "556198846e28e59b2ecbaac7fc3383f1811a067d22698a4b4c5e550afa2b403a"
    );
}

fn val_code(policy: &CompiledPolicy, signals: Value) -> String {
    validate(policy, &signals, SignalLimits::default()).unwrap_err().code().to_string()
}

#[test]
fn every_val_code() {
    let p = compile(&json!({
        "policyId": "t", "policyVersion": "1.0.0", "schemaVersion": "1.0.0",
        "signalsSchema": {"i": {"type": "integer"}, "n": {"type": "number"}, "b": {"type": "boolean"},
                          "s": {"type": "string"}, "e": {"type": "enum", "values": ["x", "y"]}},
        "rules": [{"id": "all", "condition": {"all": []},
                   "outcome": {"action": "a", "requires_override": false, "reason": "r"}}]
    }))
    .unwrap();
    let ok = json!({"i": 1, "n": 1.5, "b": true, "s": "text", "e": "x"});
    assert!(validate(&p, &ok, SignalLimits::default()).is_ok());
    let with = |k: &str, v: Value| {
        let mut s = ok.clone();
        s[k] = v;
        s
    };
    assert_eq!(val_code(&p, json!([1])), "VAL-001");
    assert_eq!(val_code(&p, with("extra", json!(1))), "VAL-003");
    let mut missing = ok.clone();
    missing.as_object_mut().unwrap().remove("b");
    assert_eq!(val_code(&p, missing), "VAL-004");
    assert_eq!(val_code(&p, with("n", json!("1.5"))), "VAL-005");
    assert_eq!(val_code(&p, with("n", Value::Null)), "VAL-005");
    assert_eq!(val_code(&p, with("b", json!(1))), "VAL-006");
    assert_eq!(val_code(&p, with("b", json!("true"))), "VAL-006");
    assert_eq!(val_code(&p, with("i", json!(1.5))), "VAL-007");
    assert_eq!(val_code(&p, with("i", json!("100"))), "VAL-007");
    assert_eq!(val_code(&p, with("i", json!(9007199254740992i64))), "VAL-007");
    assert_eq!(val_code(&p, with("s", json!(123))), "VAL-008");
    assert_eq!(val_code(&p, with("e", json!(1))), "VAL-009");
    assert_eq!(val_code(&p, with("e", json!("z"))), "VAL-011");
    assert_eq!(val_code(&p, with("e", json!(""))), "VAL-011");
    assert_eq!(val_code(&p, with("s", json!("mail me at jane.doe@example.com"))), "VAL-014");
    assert_eq!(val_code(&p, with("s", json!("123-45-6789"))), "VAL-014");
    assert_eq!(val_code(&p, with("s", json!("4111 1111 1111 1111"))), "VAL-014");
    let big = SignalLimits { max_bytes: 40, reject_pii: true };
    assert_eq!(validate(&p, &with("s", json!("a".repeat(100))), big).unwrap_err().code(), "VAL-013");
    // PII guard off: the same values pass.
    let lax = SignalLimits { max_bytes: 65536, reject_pii: false };
    assert!(validate(&p, &with("s", json!("123-45-6789")), lax).is_ok());
    // Integral doubles are integers; the boundary ±(2^53−1) is accepted.
    assert!(validate(&p, &with("i", json!(5.0)), SignalLimits::default()).is_ok());
    assert!(validate(&p, &with("i", json!(-9007199254740991i64)), SignalLimits::default()).is_ok());
    // Execution ids.
    assert_eq!(validate_execution_id("").unwrap_err().code(), "VAL-002");
    assert_eq!(validate_execution_id(&"x".repeat(257)).unwrap_err().code(), "VAL-002");
    assert_eq!(validate_execution_id("a\nb").unwrap_err().code(), "VAL-002");
    assert!(validate_execution_id(&"é".repeat(256)).is_ok());
}

#[test]
fn errors_never_echo_signal_values() {
    let p = compile(&fixture("insurance-claim-approval-1.0.0")).unwrap();
    let secret = "4111-1111-1111-1111";
    let signals = json!({
        "claimAmount": 1,
        "customerTier": secret,
        "policyActive": true,
        "fraudCheckPassed": true,
        "incidentVerified": true
    });
    let msg = validate(&p, &signals, SignalLimits::default()).unwrap_err().to_string();
    assert!(msg.starts_with("[VAL-011]") && msg.contains("customerTier") && !msg.contains(secret), "{msg}");
}

#[test]
fn pii_guard_ignores_ordinary_ids() {
    let p = compile(&json!({
        "policyId": "t", "policyVersion": "1.0.0", "schemaVersion": "1.0.0",
        "signalsSchema": {"s": {"type": "string"}},
        "rules": [{"id": "all", "condition": {"all": []},
                   "outcome": {"action": "a", "requires_override": false, "reason": "r"}}]
    }))
    .unwrap();
    for fine in ["CLM-2024-00441", "member-123456789", "4111111111111112", "user@localhost", "2024-01-15", "a@b"] {
        assert!(validate(&p, &json!({"s": fine}), SignalLimits::default()).is_ok(), "{fine}");
    }
}

fn pol_code(doc: Value) -> String {
    compile(&doc).unwrap_err().code().to_string()
}

fn base_policy() -> Value {
    json!({
        "policyId": "t", "policyVersion": "1.0.0", "schemaVersion": "1.0.0",
        "signalsSchema": {"n": {"type": "integer"}, "b": {"type": "boolean"}, "e": {"type": "enum", "values": ["x"]}},
        "rules": [{"id": "r1", "condition": {"signal": "n", "greater_than": 1},
                   "outcome": {"action": "a", "requires_override": false, "reason": "r"}},
                  {"id": "all", "condition": {"all": []},
                   "outcome": {"action": "a", "requires_override": false, "reason": "r"}}]
    })
}

#[test]
fn every_pol_code() {
    assert!(compile(&base_policy()).unwrap().warnings.is_empty());
    let without = |k: &str| {
        let mut p = base_policy();
        p.as_object_mut().unwrap().remove(k);
        p
    };
    let with = |path: &[&str], v: Value| {
        let mut p = base_policy();
        let pointer = format!("/{}", path.join("/"));
        match p.pointer_mut(&pointer) {
            Some(slot) => *slot = v,
            None => {
                let parent = format!("/{}", path[..path.len() - 1].join("/"));
                p.pointer_mut(&parent).unwrap()[path[path.len() - 1]] = v;
            }
        }
        p
    };
    assert_eq!(pol_code(json!("not an object")), "POL-002");
    assert_eq!(pol_code(without("policyId")), "POL-003");
    assert_eq!(pol_code(with(&["policyId"], json!(""))), "POL-003");
    assert_eq!(pol_code(with(&["policyId"], json!("a\u{1}b"))), "POL-003");
    assert_eq!(pol_code(with(&["policyVersion"], json!("1".repeat(257)))), "POL-004");
    assert_eq!(pol_code(without("policyVersion")), "POL-004");
    assert_eq!(pol_code(without("schemaVersion")), "POL-005");
    assert_eq!(pol_code(without("signalsSchema")), "POL-006");
    assert_eq!(pol_code(without("rules")), "POL-007");
    assert_eq!(pol_code(with(&["rules"], json!({}))), "POL-007");
    assert_eq!(pol_code(with(&["schemaVersion"], json!("2.0.0"))), "POL-009");
    assert_eq!(pol_code(with(&["signalsSchema", "n"], json!({}))), "POL-010");
    assert_eq!(pol_code(with(&["signalsSchema", "n"], json!({"type": "float"}))), "POL-011");
    assert_eq!(pol_code(with(&["signalsSchema", "e"], json!({"type": "enum"}))), "POL-012");
    assert_eq!(pol_code(with(&["signalsSchema", "e"], json!({"type": "enum", "values": []}))), "POL-012");
    assert_eq!(pol_code(with(&["signalsSchema", "e"], json!({"type": "enum", "values": [1]}))), "POL-012");
    assert_eq!(pol_code(with(&["rules", "0", "id"], json!(""))), "POL-013");
    assert_eq!(pol_code(with(&["rules", "0"], json!("rule"))), "POL-013");
    assert_eq!(pol_code(with(&["rules", "0", "condition"], json!({"signal": "n", "between": [1, 2]}))), "POL-014");
    assert_eq!(pol_code(with(&["rules", "0", "condition"], json!({"nand": []}))), "POL-014");
    assert_eq!(pol_code(with(&["rules", "0", "condition"], json!({"signal": "zz", "equals": 1}))), "POL-015");
    assert_eq!(pol_code(with(&["rules", "0", "condition"], json!({"signal": "b", "greater_than": 1}))), "POL-016");
    assert_eq!(pol_code(with(&["rules", "0", "condition"], json!({"signal": "n", "greater_than": "1"}))), "POL-016");
    assert_eq!(pol_code(with(&["rules", "0", "condition"], json!({"signal": "e", "equals": "nope"}))), "POL-016");
    assert_eq!(pol_code(with(&["rules", "0", "outcome"], json!({"action": "a"}))), "POL-017");
    assert_eq!(pol_code(with(&["signalsSchema", ""], json!({"type": "integer"}))), "POL-019");
    assert_eq!(pol_code(with(&["rules", "1", "id"], json!("r1"))), "POL-020");
    let mut deep = json!({"all": []});
    for _ in 0..70 {
        deep = json!({"not": deep});
    }
    assert_eq!(pol_code(with(&["rules", "0", "condition"], deep)), "POL-014");
}

#[test]
fn pol_warnings() {
    let mut no_catch_all = base_policy();
    no_catch_all["rules"].as_array_mut().unwrap().pop();
    let p = compile(&no_catch_all).unwrap();
    assert_eq!(p.warnings.iter().map(|w| w.code.code).collect::<Vec<_>>(), ["POL-021"]);
    let v = validate(&p, &json!({"n": 0, "b": true, "e": "x"}), SignalLimits::default()).unwrap();
    assert_eq!(p.evaluate(&v.values).unwrap_err().code(), "SYS-006");

    let mut unreachable = base_policy();
    unreachable["rules"].as_array_mut().unwrap().push(json!({
        "id": "late",
        "condition": {"signal": "b", "equals": true},
        "outcome": {"action": "a", "requires_override": false, "reason": "r"}
    }));
    unreachable["description"] = json!("extra");
    let codes: Vec<_> = compile(&unreachable).unwrap().warnings.iter().map(|w| w.code.code).collect();
    assert_eq!(codes, ["POL-018", "POL-023"]);
}

#[test]
fn operators_any_not_in_and_empty_any() {
    let p = compile(&json!({
        "policyId": "ops", "policyVersion": "1.0.0", "schemaVersion": "1.0.0",
        "signalsSchema": {"n": {"type": "number"}, "s": {"type": "string"}},
        "rules": [
            {"id": "never", "condition": {"any": []},
             "outcome": {"action": "never", "requires_override": false, "reason": "r"}},
            {"id": "gte", "condition": {"signal": "n", "greater_than_or_equal": 10},
             "outcome": {"action": "gte", "requires_override": false, "reason": "r"}},
            {"id": "lte", "condition": {"signal": "n", "less_than_or_equal": -10},
             "outcome": {"action": "lte", "requires_override": false, "reason": "r"}},
            {"id": "in", "condition": {"signal": "s", "in": ["caf\u{e9}", "tea"]},
             "outcome": {"action": "in", "requires_override": false, "reason": "r"}},
            {"id": "not", "condition": {"not": {"any": [{"signal": "n", "equals": 1}, {"signal": "s", "equals": "x"}]}},
             "outcome": {"action": "not", "requires_override": false, "reason": "r"}},
            {"id": "all", "condition": {"all": []},
             "outcome": {"action": "rest", "requires_override": false, "reason": "r"}}
        ]
    }))
    .unwrap();
    let act = |n: f64, s: &str| decide(&p, json!({"n": n, "s": s})).0;
    assert_eq!(act(10.0, "x"), "gte");
    assert_eq!(act(-10.0, "x"), "lte");
    // A decomposed é is NFC-normalized before comparison.
    assert_eq!(act(0.0, "cafe\u{301}"), "in");
    assert_eq!(act(0.0, "y"), "not");
    assert_eq!(act(1.0, "y"), "rest");
    // Strict equality: the number 1 equals 1.0, never the string "1".
    assert_eq!(act(1.0, "1"), "rest");
}

#[test]
fn canonical_signals_are_normalized() {
    let p = compile(&json!({
        "policyId": "t", "policyVersion": "1.0.0", "schemaVersion": "1.0.0",
        "signalsSchema": {"s": {"type": "string"}, "n": {"type": "number"}},
        "rules": [{"id": "all", "condition": {"all": []},
                   "outcome": {"action": "a", "requires_override": false, "reason": "r"}}]
    }))
    .unwrap();
    let a = validate(&p, &json!({"s": "e\u{301}\r\nx", "n": 1.0}), SignalLimits::default()).unwrap();
    let b = validate(&p, &json!({"n": 1, "s": "\u{e9}\nx"}), SignalLimits::default()).unwrap();
    assert_eq!(a.canonical, b.canonical);
    assert_eq!(a.canonical, canonicalize(&json!({"n": 1, "s": "\u{e9}\nx"})));
}
