//! Why a policy decided what it did, without any signal value: evaluation that records, for the
//! matching rule, which conditions held, and for each rule before it, the first condition that
//! failed. Conditions are named by path (`<rule id>` for a rule's condition, `/<n>` for the n-th
//! child of `all`/`any`, `/0` for the operand of `not`), signal name and operator.
//!
//! The same walk feeds test coverage (`policy_test`): every condition evaluated, held or failed.

use crate::error::{codes, ParmanaError, Result};
use crate::policy::{Comparison, CompiledPolicy, Condition, Decision};
use crate::signals::SignalValue;
use serde_json::{json, Value};

/// A condition, by path, signal and operator: never its operand or the signal's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionRef {
    pub path: String,
    /// The signal compared, or `None` for `all`, `any` and `not`.
    pub signal: Option<String>,
    pub operator: &'static str,
}

impl ConditionRef {
    pub fn to_json(&self) -> Value {
        let mut out = json!({"path": self.path, "operator": self.operator});
        if let Some(signal) = &self.signal {
            out["signal"] = json!(signal);
        }
        out
    }
}

pub fn operator_name(c: &Condition) -> &'static str {
    match c {
        Condition::All(_) => "all",
        Condition::Any(_) => "any",
        Condition::Not(_) => "not",
        Condition::Equals { .. } => "equals",
        Condition::In { .. } => "in",
        Condition::Compare { op, .. } => match op {
            Comparison::GreaterThan => "greater_than",
            Comparison::LessThan => "less_than",
            Comparison::GreaterThanOrEqual => "greater_than_or_equal",
            Comparison::LessThanOrEqual => "less_than_or_equal",
        },
    }
}

fn signal_of(c: &Condition) -> Option<usize> {
    match c {
        Condition::Equals { signal, .. } | Condition::In { signal, .. } | Condition::Compare { signal, .. } => {
            Some(*signal)
        }
        _ => None,
    }
}

/// Every condition of a rule, depth first, with its path.
pub fn conditions<'a>(
    policy: &CompiledPolicy,
    rule_id: &str,
    root: &'a Condition,
) -> Vec<(ConditionRef, &'a Condition)> {
    let mut out = Vec::new();
    fn walk<'a>(policy: &CompiledPolicy, path: String, c: &'a Condition, out: &mut Vec<(ConditionRef, &'a Condition)>) {
        out.push((reference(policy, &path, c), c));
        match c {
            Condition::All(children) | Condition::Any(children) => {
                for (i, child) in children.iter().enumerate() {
                    walk(policy, format!("{path}/{i}"), child, out);
                }
            }
            Condition::Not(inner) => walk(policy, format!("{path}/0"), inner, out),
            _ => {}
        }
    }
    walk(policy, rule_id.to_owned(), root, &mut out);
    out
}

fn reference(policy: &CompiledPolicy, path: &str, c: &Condition) -> ConditionRef {
    ConditionRef {
        path: path.to_owned(),
        signal: signal_of(c).map(|i| policy.signals[i].name.clone()),
        operator: operator_name(c),
    }
}

/// Receives every condition evaluation, in evaluation order (short-circuits included).
pub trait Observer {
    fn evaluated(&mut self, path: &str, held: bool);
}

impl Observer for () {
    fn evaluated(&mut self, _: &str, _: bool) {}
}

/// `Condition::holds`, reporting each evaluated node to `observer`.
fn holds_observed(c: &Condition, values: &[SignalValue], path: &str, observer: &mut impl Observer) -> bool {
    let held = match c {
        Condition::All(children) => children
            .iter()
            .enumerate()
            .all(|(i, child)| holds_observed(child, values, &format!("{path}/{i}"), observer)),
        Condition::Any(children) => children
            .iter()
            .enumerate()
            .any(|(i, child)| holds_observed(child, values, &format!("{path}/{i}"), observer)),
        Condition::Not(inner) => !holds_observed(inner, values, &format!("{path}/0"), observer),
        leaf => leaf.holds(values),
    };
    observer.evaluated(path, held);
    held
}

/// The conditions that made `c` hold (it must hold): leaves under `all`, the first child that held
/// under `any`, `not` itself (its operand failed), and an empty `all` (the catch-all) itself.
fn why_held(policy: &CompiledPolicy, c: &Condition, values: &[SignalValue], path: &str, out: &mut Vec<ConditionRef>) {
    match c {
        Condition::All(children) if !children.is_empty() => {
            for (i, child) in children.iter().enumerate() {
                why_held(policy, child, values, &format!("{path}/{i}"), out);
            }
        }
        Condition::Any(children) => {
            if let Some((i, child)) = children.iter().enumerate().find(|(_, child)| child.holds(values)) {
                why_held(policy, child, values, &format!("{path}/{i}"), out);
            }
        }
        other => out.push(reference(policy, path, other)),
    }
}

/// The first condition, in evaluation order, that made `c` fail (it must fail): the first failing
/// child of `all`, else `c` itself (an `any` none of whose children held, a `not`, a comparison).
fn why_failed(policy: &CompiledPolicy, c: &Condition, values: &[SignalValue], path: &str) -> ConditionRef {
    if let Condition::All(children) = c {
        if let Some((i, child)) = children.iter().enumerate().find(|(_, child)| !child.holds(values)) {
            return why_failed(policy, child, values, &format!("{path}/{i}"));
        }
    }
    reference(policy, path, c)
}

/// Why a decision was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    pub rule_id: String,
    /// The conditions of the matching rule that held.
    pub held: Vec<ConditionRef>,
    /// For each rule before it, in order: its id and the first condition that failed.
    pub failed: Vec<(String, ConditionRef)>,
}

impl Explanation {
    /// The readable form: paths, signal names and operators.
    pub fn to_json(&self) -> Value {
        json!({
            "ruleId": self.rule_id,
            "held": self.held.iter().map(ConditionRef::to_json).collect::<Vec<_>>(),
            "failedBefore": self.failed.iter().map(|(rule, c)| json!({"ruleId": rule, "condition": c.to_json()}))
                .collect::<Vec<_>>(),
        })
    }

    /// The compact form signed into attestations when asked for: condition paths only.
    pub fn compact_json(&self) -> Value {
        json!({
            "held": self.held.iter().map(|c| c.path.as_str()).collect::<Vec<_>>(),
            "failedBefore": self.failed.iter().map(|(_, c)| c.path.as_str()).collect::<Vec<_>>(),
        })
    }
}

impl CompiledPolicy {
    /// `evaluate`, also reporting every condition evaluation to `observer`.
    pub fn evaluate_observed(&self, values: &[SignalValue], observer: &mut impl Observer) -> Result<Decision> {
        if values.len() != self.signals.len() {
            return self.evaluate(values);
        }
        for rule in &self.rules {
            if holds_observed(&rule.condition, values, &rule.id, observer) {
                return Ok(Decision {
                    action: rule.outcome.action.clone(),
                    requires_override: rule.outcome.requires_override,
                    reason: rule.outcome.reason.clone(),
                    rule_id: rule.id.clone(),
                });
            }
        }
        self.evaluate(values)
    }

    /// The decision and why.
    pub fn explain(&self, values: &[SignalValue]) -> Result<(Decision, Explanation)> {
        let decision = self.evaluate(values)?;
        let mut failed = Vec::new();
        for rule in &self.rules {
            if rule.id == decision.rule_id {
                let mut held = Vec::new();
                why_held(self, &rule.condition, values, &rule.id, &mut held);
                return Ok((decision.clone(), Explanation { rule_id: rule.id.clone(), held, failed }));
            }
            failed.push((rule.id.clone(), why_failed(self, &rule.condition, values, &rule.id)));
        }
        Err(ParmanaError::new(&codes::SYS_000, "the matching rule is not among the policy's rules"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::compile;
    use crate::signals::{validate, SignalLimits};

    fn claims() -> CompiledPolicy {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fixtures/policies/claims-approval-v1.json"
        ));
        compile(&serde_json::from_str(&text.unwrap()).unwrap()).unwrap()
    }

    #[test]
    fn explains_the_match_and_each_rule_before_it() {
        let policy = claims();
        let signals = json!({"claim_amount": 8500, "insurance_active": true, "risk_score": 42, "vip_customer": false});
        let v = validate(&policy, &signals, SignalLimits::default()).unwrap();
        let (decision, why) = policy.explain(&v.values).unwrap();
        assert_eq!(decision.rule_id, "standard-approval");
        assert_eq!(
            why.to_json(),
            json!({
                "ruleId": "standard-approval",
                "held": [
                    {"path": "standard-approval/0", "signal": "insurance_active", "operator": "equals"},
                    {"path": "standard-approval/1", "signal": "risk_score", "operator": "less_than"}
                ],
                "failedBefore": [
                    {"ruleId": "high-risk-reject",
                     "condition": {"path": "high-risk-reject", "signal": "risk_score", "operator": "greater_than"}},
                    {"ruleId": "vip-fast-track",
                     "condition": {"path": "vip-fast-track", "signal": "vip_customer", "operator": "equals"}}
                ]
            })
        );
        assert_eq!(
            why.compact_json(),
            json!({
                "held": ["standard-approval/0", "standard-approval/1"],
                "failedBefore": ["high-risk-reject", "vip-fast-track"]
            })
        );
        // No value of any signal appears, whatever the values are.
        let text = why.to_json().to_string();
        for value in ["8500", "42", "true", "false"] {
            assert!(!text.contains(value), "{value} in {text}");
        }
    }
}
