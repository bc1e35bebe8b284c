//! Policy documents: compile once into a `CompiledPolicy`, then evaluate first-match.

use crate::canonical::normalize_text;
use crate::error::{codes, Code, ParmanaError, Result};
use crate::hashes::policy_hash;
use crate::runtime::SUPPORTED_SCHEMA_VERSIONS;
use crate::signals::SignalValue;
use serde_json::{Map, Value};
use std::collections::HashSet;

/// How deep conditions may nest; deeper documents are refused rather than risking the stack.
pub const MAX_CONDITION_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq)]
pub enum SignalType {
    Integer,
    Number,
    Boolean,
    String,
    Enum(Vec<String>),
}

impl SignalType {
    pub fn name(&self) -> &'static str {
        match self {
            SignalType::Integer => "integer",
            SignalType::Number => "number",
            SignalType::Boolean => "boolean",
            SignalType::String => "string",
            SignalType::Enum(_) => "enum",
        }
    }

    fn is_numeric(&self) -> bool {
        matches!(self, SignalType::Integer | SignalType::Number)
    }
}

/// A declared signal. Signals are kept sorted by name; conditions refer to them by index.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalSpec {
    pub name: String,
    pub ty: SignalType,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub action: String,
    pub requires_override: bool,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Comparison {
    GreaterThan,
    LessThan,
    GreaterThanOrEqual,
    LessThanOrEqual,
}

/// An operand of `equals` / `in`, already typed for the signal it is compared with.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Number(f64),
    Boolean(bool),
    Text(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    All(Vec<Condition>),
    Any(Vec<Condition>),
    Not(Box<Condition>),
    Equals { signal: usize, operand: Operand },
    In { signal: usize, operands: Vec<Operand> },
    Compare { signal: usize, op: Comparison, bound: f64 },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub id: String,
    pub condition: Condition,
    pub outcome: Outcome,
}

/// A compile-time warning: the policy registers, but a reviewer should look.
#[derive(Debug, Clone, PartialEq)]
pub struct Warning {
    pub code: &'static Code,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CompiledPolicy {
    pub policy_id: String,
    pub policy_version: String,
    pub schema_version: String,
    pub policy_hash: String,
    pub signals: Vec<SignalSpec>,
    pub rules: Vec<Rule>,
    pub warnings: Vec<Warning>,
}

/// The rule that decided, with its outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub action: String,
    pub requires_override: bool,
    pub reason: String,
    pub rule_id: String,
}

const TOP_LEVEL_FIELDS: &[&str] = &["policyId", "policyVersion", "schemaVersion", "signalsSchema", "rules"];

/// Longest policyId / policyVersion / schemaVersion, in characters: they are keys, not documents.
pub const MAX_IDENTIFIER_CHARS: usize = 256;

fn required_string<'a>(doc: &'a Map<String, Value>, field: &str, code: &'static Code) -> Result<&'a str> {
    match doc.get(field) {
        Some(Value::String(s))
            if !s.is_empty() && s.chars().count() <= MAX_IDENTIFIER_CHARS && !s.chars().any(char::is_control) =>
        {
            Ok(s)
        }
        Some(_) => Err(ParmanaError::new(code, format!("Policy field {field} is not a valid identifier")).with_detail(
            format!("It must be a string of 1 to {MAX_IDENTIFIER_CHARS} characters without control characters."),
        )),
        None => Err(ParmanaError::new(code, format!("Policy is missing required field {field}"))),
    }
}

/// Compile a policy document. Errors carry the POL codes; warnings are returned with the policy.
pub fn compile(doc: &Value) -> Result<CompiledPolicy> {
    let obj =
        doc.as_object().ok_or_else(|| ParmanaError::new(&codes::POL_002, "Policy document must be a JSON object"))?;
    let policy_id = required_string(obj, "policyId", &codes::POL_003)?;
    let policy_version = required_string(obj, "policyVersion", &codes::POL_004)?;
    let schema_version = required_string(obj, "schemaVersion", &codes::POL_005)?;
    let signals_schema = match obj.get("signalsSchema") {
        Some(Value::Object(m)) => m,
        Some(_) => return Err(ParmanaError::new(&codes::POL_006, "Policy field signalsSchema must be an object")),
        None => return Err(ParmanaError::new(&codes::POL_006, "Policy is missing required field signalsSchema")),
    };
    let rules_doc = match obj.get("rules") {
        Some(Value::Array(a)) => a,
        Some(_) => return Err(ParmanaError::new(&codes::POL_007, "Policy field rules must be an array")),
        None => return Err(ParmanaError::new(&codes::POL_007, "Policy is missing required field rules")),
    };
    if !SUPPORTED_SCHEMA_VERSIONS.contains(&schema_version) {
        return Err(ParmanaError::new(
            &codes::POL_009,
            format!("Unsupported schemaVersion {schema_version:?}; supported: {SUPPORTED_SCHEMA_VERSIONS:?}"),
        ));
    }
    let mut warnings = Vec::new();
    for key in obj.keys() {
        if !TOP_LEVEL_FIELDS.contains(&key.as_str()) {
            warnings.push(Warning {
                code: &codes::POL_018,
                message: format!("Unknown top-level field {key:?} is ignored by evaluation"),
            });
        }
    }
    if !is_semver(policy_version) {
        warnings.push(Warning {
            code: &codes::POL_022,
            message: format!("policyVersion {policy_version:?} is not MAJOR.MINOR.PATCH"),
        });
    }

    // serde_json maps iterate in key order, so signal indices are stable for a given document.
    let mut signals = Vec::with_capacity(signals_schema.len());
    for (name, spec) in signals_schema {
        signals.push(SignalSpec { name: name.clone(), ty: compile_signal_type(name, spec)? });
    }

    let mut rules = Vec::with_capacity(rules_doc.len());
    let mut ids = HashSet::new();
    for (index, rule) in rules_doc.iter().enumerate() {
        let rule = compile_rule(index, rule, &signals)?;
        if !ids.insert(rule.id.clone()) {
            return Err(ParmanaError::new(&codes::POL_020, format!("Duplicate rule id {:?}", rule.id)));
        }
        rules.push(rule);
    }
    match rules.iter().position(|r| always_holds(&r.condition)) {
        None => warnings.push(Warning {
            code: &codes::POL_021,
            message: "No catch-all rule ({\"all\": []}): signals that match no rule fail with SYS-006".into(),
        }),
        Some(at) if at + 1 < rules.len() => warnings.push(Warning {
            code: &codes::POL_023,
            message: format!("Rules after the catch-all {:?} can never match", rules[at].id),
        }),
        Some(_) => {}
    }

    Ok(CompiledPolicy {
        policy_id: policy_id.to_owned(),
        policy_version: policy_version.to_owned(),
        schema_version: schema_version.to_owned(),
        policy_hash: policy_hash(doc),
        signals,
        rules,
        warnings,
    })
}

fn is_semver(v: &str) -> bool {
    let core = v.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && (p.len() == 1 || !p.starts_with('0')))
}

fn compile_signal_type(name: &str, spec: &Value) -> Result<SignalType> {
    if name.is_empty() {
        return Err(ParmanaError::new(&codes::POL_019, "Signal names must not be empty"));
    }
    let spec = spec.as_object().ok_or_else(|| {
        ParmanaError::new(&codes::POL_010, format!("Signal {name:?} must be declared as an object with a type"))
    })?;
    let ty = match spec.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(_) => return Err(ParmanaError::new(&codes::POL_011, format!("Signal {name:?} has a non-string type"))),
        None => return Err(ParmanaError::new(&codes::POL_010, format!("Signal {name:?} is missing type"))),
    };
    Ok(match ty {
        "integer" => SignalType::Integer,
        "number" => SignalType::Number,
        "boolean" => SignalType::Boolean,
        "string" => SignalType::String,
        "enum" => {
            let values = match spec.get("values") {
                Some(Value::Array(values)) if !values.is_empty() => values,
                _ => {
                    return Err(ParmanaError::new(
                        &codes::POL_012,
                        format!("Enum signal {name:?} needs a non-empty values array"),
                    ))
                }
            };
            let mut out: Vec<String> = Vec::with_capacity(values.len());
            for v in values {
                let s = v.as_str().ok_or_else(|| {
                    ParmanaError::new(&codes::POL_012, format!("Enum signal {name:?} values must all be strings"))
                })?;
                let s = normalize_text(s).into_owned();
                if out.contains(&s) {
                    return Err(ParmanaError::new(
                        &codes::POL_012,
                        format!("Enum signal {name:?} lists a value twice"),
                    ));
                }
                out.push(s);
            }
            SignalType::Enum(out)
        }
        other => {
            return Err(ParmanaError::new(
                &codes::POL_011,
                format!(
                    "Signal {name:?} has invalid type {other:?}; expected integer, number, boolean, string or enum"
                ),
            ))
        }
    })
}

fn compile_rule(index: usize, rule: &Value, signals: &[SignalSpec]) -> Result<Rule> {
    let obj = rule
        .as_object()
        .ok_or_else(|| ParmanaError::new(&codes::POL_013, format!("Rule #{index} must be an object")))?;
    let id = match obj.get("id") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => return Err(ParmanaError::new(&codes::POL_013, format!("Rule #{index} needs a non-empty string id"))),
    };
    for key in obj.keys() {
        if !matches!(key.as_str(), "id" | "condition" | "outcome" | "description") {
            return Err(ParmanaError::new(&codes::POL_013, format!("Rule {id:?} has unknown field {key:?}")));
        }
    }
    let condition = obj
        .get("condition")
        .ok_or_else(|| ParmanaError::new(&codes::POL_013, format!("Rule {id:?} is missing condition")))?;
    let condition = compile_condition(&id, condition, signals, 0)?;
    let outcome = obj
        .get("outcome")
        .and_then(Value::as_object)
        .ok_or_else(|| ParmanaError::new(&codes::POL_017, format!("Rule {id:?} needs an outcome object")))?;
    let outcome = compile_outcome(&id, outcome)?;
    Ok(Rule { id, condition, outcome })
}

fn compile_outcome(id: &str, outcome: &Map<String, Value>) -> Result<Outcome> {
    let bad = |what: &str| ParmanaError::new(&codes::POL_017, format!("Rule {id:?} outcome: {what}"));
    let action = match outcome.get("action") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => return Err(bad("action must be a non-empty string")),
    };
    let requires_override = match outcome.get("requires_override") {
        Some(Value::Bool(b)) => *b,
        _ => return Err(bad("requires_override must be a boolean")),
    };
    let reason = match outcome.get("reason") {
        Some(Value::String(s)) => s.clone(),
        _ => return Err(bad("reason must be a string")),
    };
    if let Some(key) = outcome.keys().find(|k| !matches!(k.as_str(), "action" | "requires_override" | "reason")) {
        return Err(bad(&format!("unknown field {key:?}")));
    }
    Ok(Outcome { action, requires_override, reason })
}

fn compile_condition(rule: &str, cond: &Value, signals: &[SignalSpec], depth: usize) -> Result<Condition> {
    let malformed = |what: String| ParmanaError::new(&codes::POL_014, format!("Rule {rule:?} condition: {what}"));
    if depth > MAX_CONDITION_DEPTH {
        return Err(malformed(format!("nested deeper than {MAX_CONDITION_DEPTH} levels")));
    }
    let obj = cond.as_object().ok_or_else(|| malformed("a condition must be an object".into()))?;
    if obj.len() == 1 {
        let (key, value) = obj.iter().next().expect("one entry");
        match key.as_str() {
            "all" | "any" => {
                let items = value.as_array().ok_or_else(|| malformed(format!("{key} takes an array")))?;
                let children =
                    items.iter().map(|c| compile_condition(rule, c, signals, depth + 1)).collect::<Result<Vec<_>>>()?;
                return Ok(if key == "all" { Condition::All(children) } else { Condition::Any(children) });
            }
            "not" => return Ok(Condition::Not(Box::new(compile_condition(rule, value, signals, depth + 1)?))),
            _ => {}
        }
    }
    let name = match obj.get("signal") {
        Some(Value::String(s)) => s,
        Some(_) => return Err(malformed("signal must be a string".into())),
        None => {
            let keys: Vec<&String> = obj.keys().collect();
            return Err(malformed(format!(
                "unknown operator in {keys:?}; expected all, any, not or a signal comparison"
            )));
        }
    };
    if obj.len() != 2 {
        return Err(malformed(format!("comparison on {name:?} must have exactly one operator")));
    }
    let (op, operand) = obj.iter().find(|(k, _)| k.as_str() != "signal").expect("two entries");
    let signal = signals.iter().position(|s| &s.name == name).ok_or_else(|| {
        ParmanaError::new(&codes::POL_015, format!("Rule {rule:?} references undeclared signal {name:?}"))
    })?;
    let spec = &signals[signal];
    let mismatch =
        |what: String| ParmanaError::new(&codes::POL_016, format!("Rule {rule:?} on signal {name:?}: {what}"));
    let comparison = match op.as_str() {
        "equals" => return Ok(Condition::Equals { signal, operand: typed_operand(spec, operand).map_err(mismatch)? }),
        "in" => {
            let items = operand.as_array().ok_or_else(|| mismatch("in takes an array".into()))?;
            let operands = items
                .iter()
                .map(|v| typed_operand(spec, v))
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(mismatch)?;
            return Ok(Condition::In { signal, operands });
        }
        "greater_than" => Comparison::GreaterThan,
        "less_than" => Comparison::LessThan,
        "greater_than_or_equal" => Comparison::GreaterThanOrEqual,
        "less_than_or_equal" => Comparison::LessThanOrEqual,
        other => return Err(malformed(format!("unknown operator {other:?}"))),
    };
    if !spec.ty.is_numeric() {
        return Err(mismatch(format!("{op} needs a numeric signal, not {}", spec.ty.name())));
    }
    let bound = operand.as_f64().ok_or_else(|| mismatch(format!("{op} takes a number")))?;
    Ok(Condition::Compare { signal, op: comparison, bound })
}

/// Type an `equals`/`in` operand for its signal. An operand that could never equal a valid
/// signal value is an error: it would silently make a rule dead.
fn typed_operand(spec: &SignalSpec, v: &Value) -> std::result::Result<Operand, String> {
    match (&spec.ty, v) {
        (SignalType::Integer, Value::Number(n)) => {
            let f = n.as_f64().ok_or("operand is not a finite number")?;
            if f.fract() != 0.0 {
                return Err("operand is not an integer, so it can never equal an integer signal".into());
            }
            Ok(Operand::Number(f))
        }
        (SignalType::Number, Value::Number(n)) => {
            Ok(Operand::Number(n.as_f64().ok_or("operand is not a finite number")?))
        }
        (SignalType::Boolean, Value::Bool(b)) => Ok(Operand::Boolean(*b)),
        (SignalType::String, Value::String(s)) => Ok(Operand::Text(normalize_text(s).into_owned())),
        (SignalType::Enum(values), Value::String(s)) => {
            let s = normalize_text(s).into_owned();
            if values.contains(&s) {
                Ok(Operand::Text(s))
            } else {
                Err("operand is not one of the enum's declared values".into())
            }
        }
        (ty, _) => Err(format!("operand type does not match signal type {}", ty.name())),
    }
}

/// True for conditions that hold for every input by their shape alone: the catch-all.
fn always_holds(c: &Condition) -> bool {
    match c {
        Condition::All(children) => children.iter().all(always_holds),
        Condition::Any(children) => children.iter().any(always_holds),
        _ => false,
    }
}

impl Condition {
    /// Evaluate against validated signal values, indexed like `CompiledPolicy::signals`.
    pub fn holds(&self, values: &[SignalValue]) -> bool {
        match self {
            Condition::All(children) => children.iter().all(|c| c.holds(values)),
            Condition::Any(children) => children.iter().any(|c| c.holds(values)),
            Condition::Not(inner) => !inner.holds(values),
            Condition::Equals { signal, operand } => values[*signal].equals(operand),
            Condition::In { signal, operands } => operands.iter().any(|o| values[*signal].equals(o)),
            Condition::Compare { signal, op, bound } => match values[*signal].as_f64() {
                Some(x) => match op {
                    Comparison::GreaterThan => x > *bound,
                    Comparison::LessThan => x < *bound,
                    Comparison::GreaterThanOrEqual => x >= *bound,
                    Comparison::LessThanOrEqual => x <= *bound,
                },
                None => false,
            },
        }
    }
}

impl Decision {
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "action": self.action,
            "requires_override": self.requires_override,
            "reason": self.reason,
            "ruleId": self.rule_id,
        })
    }

    /// The decision an attestation states.
    pub fn from_json(v: &Value) -> Option<Decision> {
        Some(Decision {
            action: v.get("action")?.as_str()?.to_owned(),
            requires_override: v.get("requires_override")?.as_bool()?,
            reason: v.get("reason")?.as_str()?.to_owned(),
            rule_id: v.get("ruleId")?.as_str()?.to_owned(),
        })
    }
}

impl CompiledPolicy {
    pub fn identity(&self) -> crate::attestation::PolicyIdentity<'_> {
        crate::attestation::PolicyIdentity {
            policy_id: &self.policy_id,
            policy_version: &self.policy_version,
            policy_hash: &self.policy_hash,
            schema_version: &self.schema_version,
        }
    }

    /// First matching rule decides; `SYS-006` when none holds. `values` must come from
    /// `signals::validate` for this policy (one per declared signal, in order).
    pub fn evaluate(&self, values: &[SignalValue]) -> Result<Decision> {
        if values.len() != self.signals.len() {
            return Err(ParmanaError::new(
                &codes::VAL_004,
                format!("{} signal values given for {} declared signals", values.len(), self.signals.len()),
            ));
        }
        let rule = self.rules.iter().find(|r| r.condition.holds(values)).ok_or_else(|| {
            ParmanaError::new(
                &codes::SYS_006,
                format!("No rule of policy {:?} version {:?} matched the signals", self.policy_id, self.policy_version),
            )
            .with_hint("Add a catch-all rule ({\"all\": []}) as the last rule.")
        })?;
        Ok(Decision {
            action: rule.outcome.action.clone(),
            requires_override: rule.outcome.requires_override,
            reason: rule.outcome.reason.clone(),
            rule_id: rule.id.clone(),
        })
    }

    pub fn warnings_json(&self) -> Value {
        Value::Array(
            self.warnings.iter().map(|w| serde_json::json!({"code": w.code.code, "message": w.message})).collect(),
        )
    }
}
