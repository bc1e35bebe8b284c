//! What changed between two versions of a policy: signals added, removed or retyped; rules added,
//! removed or moved (their order relative to the rules both versions share); conditions and
//! outcomes changed. Works on the registered documents, compiled first so both are valid.

use crate::canonical::canonicalize;
use crate::policy::{CompiledPolicy, SignalType};
use serde_json::{json, Value};
use std::collections::HashMap;

fn type_json(ty: &SignalType) -> Value {
    match ty {
        SignalType::Enum(values) => json!({"type": "enum", "values": values}),
        other => json!({"type": other.name()}),
    }
}

/// Rule id → (position, canonical condition, canonical outcome), from a policy document.
fn rule_texts(doc: &Value) -> HashMap<String, (usize, String, String)> {
    doc["rules"]
        .as_array()
        .map(|rules| {
            rules
                .iter()
                .enumerate()
                .filter_map(|(i, r)| {
                    Some((
                        r["id"].as_str()?.to_owned(),
                        (i, canonicalize(&r["condition"]), canonicalize(&r["outcome"])),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The ids of `order` not on a longest common subsequence of `order` and `other` (both lists of
/// the same ids): the rules whose position relative to the others changed.
fn moved(order: &[String], other: &[String]) -> Vec<String> {
    let (n, m) = (order.len(), other.len());
    let mut table = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            table[i][j] =
                if order[i] == other[j] { table[i + 1][j + 1] + 1 } else { table[i + 1][j].max(table[i][j + 1]) };
        }
    }
    let (mut i, mut j, mut kept) = (0, 0, Vec::new());
    while i < n && j < m {
        if order[i] == other[j] {
            kept.push(order[i].clone());
            i += 1;
            j += 1;
        } else if table[i + 1][j] >= table[i][j + 1] {
            i += 1;
        } else {
            j += 1;
        }
    }
    order.iter().filter(|id| !kept.contains(id)).cloned().collect()
}

/// The differences from `old` to `new` (compiled policies and the documents they came from).
pub fn diff(old: &CompiledPolicy, old_doc: &Value, new: &CompiledPolicy, new_doc: &Value) -> Value {
    let old_signals: HashMap<&str, &SignalType> = old.signals.iter().map(|s| (s.name.as_str(), &s.ty)).collect();
    let new_signals: HashMap<&str, &SignalType> = new.signals.iter().map(|s| (s.name.as_str(), &s.ty)).collect();
    let added_signals: Vec<&str> =
        new.signals.iter().map(|s| s.name.as_str()).filter(|n| !old_signals.contains_key(n)).collect();
    let removed_signals: Vec<&str> =
        old.signals.iter().map(|s| s.name.as_str()).filter(|n| !new_signals.contains_key(n)).collect();
    let retyped: Vec<Value> = old
        .signals
        .iter()
        .filter_map(|s| {
            let now = new_signals.get(s.name.as_str())?;
            (**now != s.ty).then(|| json!({"signal": s.name, "from": type_json(&s.ty), "to": type_json(now)}))
        })
        .collect();

    let (old_rules, new_rules) = (rule_texts(old_doc), rule_texts(new_doc));
    let old_order: Vec<String> = old.rules.iter().map(|r| r.id.clone()).collect();
    let new_order: Vec<String> = new.rules.iter().map(|r| r.id.clone()).collect();
    let added_rules: Vec<&String> = new_order.iter().filter(|id| !old_rules.contains_key(*id)).collect();
    let removed_rules: Vec<&String> = old_order.iter().filter(|id| !new_rules.contains_key(*id)).collect();
    let common_old: Vec<String> = old_order.iter().filter(|id| new_rules.contains_key(*id)).cloned().collect();
    let common_new: Vec<String> = new_order.iter().filter(|id| old_rules.contains_key(*id)).cloned().collect();
    let moved_rules: Vec<Value> = moved(&common_new, &common_old)
        .into_iter()
        .map(|id| json!({"ruleId": id, "from": old_rules[&id].0, "to": new_rules[&id].0}))
        .collect();
    let mut condition_changed = Vec::new();
    let mut outcome_changed = Vec::new();
    for id in &common_new {
        let (before, after) = (&old_rules[id], &new_rules[id]);
        if before.1 != after.1 {
            condition_changed.push(id.clone());
        }
        if before.2 != after.2 {
            outcome_changed
                .push(json!({"ruleId": id, "from": old_doc_outcome(old_doc, id), "to": old_doc_outcome(new_doc, id)}));
        }
    }
    json!({
        "policyId": new.policy_id,
        "from": old.policy_version,
        "to": new.policy_version,
        "identical": old.policy_hash == new.policy_hash,
        "signals": {"added": added_signals, "removed": removed_signals, "retyped": retyped},
        "rules": {
            "added": added_rules,
            "removed": removed_rules,
            "moved": moved_rules,
            "conditionChanged": condition_changed,
            "outcomeChanged": outcome_changed,
        },
    })
}

fn old_doc_outcome(doc: &Value, id: &str) -> Value {
    doc["rules"]
        .as_array()
        .and_then(|rules| rules.iter().find(|r| r["id"] == id))
        .map(|r| r["outcome"].clone())
        .unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::compile;

    #[test]
    fn names_every_kind_of_change() {
        let old_doc = json!({"policyId": "p", "policyVersion": "1.0.0", "schemaVersion": "1.0.0",
            "signalsSchema": {"a": {"type": "integer"}, "b": {"type": "boolean"},
                              "c": {"type": "enum", "values": ["x", "y"]}},
            "rules": [
                {"id": "r1", "condition": {"signal": "a", "greater_than": 5},
                 "outcome": {"action": "reject", "requires_override": false, "reason": "big"}},
                {"id": "r2", "condition": {"signal": "b", "equals": true},
                 "outcome": {"action": "approve", "requires_override": false, "reason": "b"}},
                {"id": "r3", "condition": {"signal": "c", "equals": "x"},
                 "outcome": {"action": "approve", "requires_override": true, "reason": "c"}},
                {"id": "all", "condition": {"all": []},
                 "outcome": {"action": "reject", "requires_override": false, "reason": "none"}}]});
        let new_doc = json!({"policyId": "p", "policyVersion": "2.0.0", "schemaVersion": "1.0.0",
            "signalsSchema": {"a": {"type": "number"}, "c": {"type": "enum", "values": ["x", "y", "z"]},
                              "d": {"type": "string"}},
            "rules": [
                {"id": "r3", "condition": {"signal": "c", "equals": "x"},
                 "outcome": {"action": "approve", "requires_override": false, "reason": "c"}},
                {"id": "r1", "condition": {"signal": "a", "greater_than": 7},
                 "outcome": {"action": "reject", "requires_override": false, "reason": "big"}},
                {"id": "r4", "condition": {"signal": "d", "equals": "q"},
                 "outcome": {"action": "approve", "requires_override": false, "reason": "d"}},
                {"id": "all", "condition": {"all": []},
                 "outcome": {"action": "reject", "requires_override": false, "reason": "none"}}]});
        let d = diff(&compile(&old_doc).unwrap(), &old_doc, &compile(&new_doc).unwrap(), &new_doc);
        assert_eq!(d["signals"]["added"], json!(["d"]));
        assert_eq!(d["signals"]["removed"], json!(["b"]));
        assert_eq!(d["signals"]["retyped"].as_array().unwrap().len(), 2);
        assert_eq!(d["rules"]["added"], json!(["r4"]));
        assert_eq!(d["rules"]["removed"], json!(["r2"]));
        assert_eq!(d["rules"]["moved"], json!([{"ruleId": "r3", "from": 2, "to": 0}]));
        assert_eq!(d["rules"]["conditionChanged"], json!(["r1"]));
        assert_eq!(d["rules"]["outcomeChanged"][0]["ruleId"], "r3");
        assert_eq!(d["identical"], false);
    }
}
