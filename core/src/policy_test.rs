//! Policy test suites: cases of signals with the decision they should get, run against a compiled
//! policy, with coverage of its rules and conditions. Runs the same in PostgreSQL
//! (`parmana_policy_test`) and offline (`run_suite`).
//!
//! A suite is a JSON array of cases:
//! `{"name": "...", "signals": {...}, "expect": {"action": "...", "ruleId": "...", "requires_override": false}}`;
//! every field of `expect` is optional, and `{"error": "VAL-004"}` expects the signals refused with
//! that code. Results name conditions by path, signal and operator, never a signal's value.

use crate::error::{codes, ParmanaError, Result};
use crate::explain::{conditions, Observer};
use crate::policy::CompiledPolicy;
use crate::signals::{validate, SignalLimits};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

#[derive(Default)]
struct Coverage {
    /// Per condition path: (times held, times failed).
    counts: HashMap<String, (u64, u64)>,
}

impl Observer for Coverage {
    fn evaluated(&mut self, path: &str, held: bool) {
        let entry = self.counts.entry(path.to_owned()).or_default();
        if held {
            entry.0 += 1;
        } else {
            entry.1 += 1;
        }
    }
}

fn malformed(message: String) -> ParmanaError {
    ParmanaError::new(&codes::TST_001, message).with_hint(
        "Each case is {\"name\": ..., \"signals\": {...}, \
             \"expect\": {\"action\"|\"ruleId\"|\"requires_override\"|\"error\": ...}}.",
    )
}

/// Run `cases` against `policy`.
pub fn run_suite(policy: &CompiledPolicy, cases: &Value, limits: SignalLimits) -> Result<Value> {
    let cases = cases.as_array().ok_or_else(|| malformed("the suite is not a JSON array".into()))?;
    let mut coverage = Coverage::default();
    let mut matched: HashMap<&str, u64> = HashMap::new();
    let mut results = Vec::with_capacity(cases.len());
    let mut passed = 0u64;
    for (i, case) in cases.iter().enumerate() {
        let case = case.as_object().ok_or_else(|| malformed(format!("case #{i} is not an object")))?;
        if let Some(key) = case.keys().find(|k| !matches!(k.as_str(), "name" | "signals" | "expect")) {
            return Err(malformed(format!("case #{i} has unknown field {key:?}")));
        }
        let name = match case.get("name") {
            None => format!("case #{i}"),
            Some(Value::String(s)) => s.clone(),
            Some(_) => return Err(malformed(format!("case #{i}: name is not a string"))),
        };
        let signals = case.get("signals").ok_or_else(|| malformed(format!("case {name:?} has no signals")))?;
        let empty = Map::new();
        let expect = match case.get("expect") {
            None => &empty,
            Some(Value::Object(e)) => e,
            Some(_) => return Err(malformed(format!("case {name:?}: expect is not an object"))),
        };
        if let Some(key) =
            expect.keys().find(|k| !matches!(k.as_str(), "action" | "ruleId" | "requires_override" | "error"))
        {
            return Err(malformed(format!("case {name:?} expects unknown field {key:?}")));
        }
        let outcome =
            validate(policy, signals, limits).and_then(|v| policy.evaluate_observed(&v.values, &mut coverage));
        let mut result = json!({"name": name});
        let mut mismatches = Vec::new();
        match &outcome {
            Ok(decision) => {
                *matched
                    .entry(policy.rules.iter().find(|r| r.id == decision.rule_id).map_or("", |r| r.id.as_str()))
                    .or_default() += 1;
                let got = decision.to_json();
                for field in ["action", "ruleId", "requires_override"] {
                    if let Some(want) = expect.get(field) {
                        if *want != got[field] {
                            mismatches.push(field);
                        }
                    }
                }
                if expect.contains_key("error") {
                    mismatches.push("error");
                }
                result["decision"] = json!({
                    "action": got["action"],
                    "ruleId": got["ruleId"],
                    "requires_override": got["requires_override"]
                });
            }
            Err(e) => {
                if expect.get("error").and_then(Value::as_str) != Some(e.code()) {
                    mismatches.push("error");
                }
                result["error"] = json!(e.code());
            }
        }
        result["passed"] = json!(mismatches.is_empty());
        if !mismatches.is_empty() {
            result["mismatches"] = json!(mismatches);
        } else {
            passed += 1;
        }
        results.push(result);
    }

    let mut rule_rows = Vec::new();
    let mut condition_rows = Vec::new();
    let (mut never_matched, mut never_evaluated, mut never_held, mut never_failed) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for rule in &policy.rules {
        let n = matched.get(rule.id.as_str()).copied().unwrap_or(0);
        rule_rows.push(json!({"ruleId": rule.id, "matched": n}));
        if n == 0 {
            never_matched.push(rule.id.clone());
        }
        for (reference, _) in conditions(policy, &rule.id, &rule.condition) {
            let (held, failed) = coverage.counts.get(&reference.path).copied().unwrap_or((0, 0));
            let mut row = reference.to_json();
            row["held"] = json!(held);
            row["failed"] = json!(failed);
            condition_rows.push(row);
            if held + failed == 0 {
                never_evaluated.push(reference.path.clone());
            }
            if held == 0 {
                never_held.push(reference.path.clone());
            }
            if failed == 0 {
                never_failed.push(reference.path);
            }
        }
    }
    Ok(json!({
        "policyId": policy.policy_id,
        "policyVersion": policy.policy_version,
        "cases": results,
        "passed": passed,
        "failed": cases.len() as u64 - passed,
        "coverage": {
            "rules": rule_rows,
            "conditions": condition_rows,
            "rulesNeverMatched": never_matched,
            "conditionsNeverEvaluated": never_evaluated,
            "conditionsNeverHeld": never_held,
            "conditionsNeverFailed": never_failed,
        },
    }))
}
