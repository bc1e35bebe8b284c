//! Signals: validate against a policy's schema, normalize, canonicalize.
//! No error message contains a signal's value: it may be personal data.

use crate::canonical::{canonicalize, normalize_text};
use crate::error::{codes, Code, ParmanaError, Result};
use crate::policy::{CompiledPolicy, Operand, SignalType};
use serde_json::{Map, Number, Value};

/// Largest integer magnitude an `integer` signal may have: ±(2^53−1), exact in a double.
pub const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;

/// A validated, normalized signal value.
#[derive(Debug, Clone, PartialEq)]
pub enum SignalValue {
    Integer(i64),
    Number(f64),
    Boolean(bool),
    Text(String),
}

impl SignalValue {
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            SignalValue::Integer(i) => Some(*i as f64),
            SignalValue::Number(f) => Some(*f),
            _ => None,
        }
    }

    /// Strict equality: numbers by numeric value, otherwise same type and same value.
    pub fn equals(&self, operand: &Operand) -> bool {
        match (self, operand) {
            (SignalValue::Boolean(a), Operand::Boolean(b)) => a == b,
            (SignalValue::Text(a), Operand::Text(b)) => a == b,
            (_, Operand::Number(b)) => self.as_f64() == Some(*b),
            _ => false,
        }
    }

    fn to_json(&self) -> Value {
        match self {
            SignalValue::Integer(i) => Value::Number(Number::from(*i)),
            SignalValue::Number(f) => Value::Number(Number::from_f64(*f).expect("validated finite")),
            SignalValue::Boolean(b) => Value::Bool(*b),
            SignalValue::Text(s) => Value::String(s.clone()),
        }
    }
}

/// What validation needs from the settings.
#[derive(Debug, Clone, Copy)]
pub struct SignalLimits {
    /// `parmana.max_signals_bytes`: the largest canonical signals document.
    pub max_bytes: usize,
    /// `parmana.reject_pii`: refuse strings that look like e-mail, SSN or card numbers.
    pub reject_pii: bool,
}

impl Default for SignalLimits {
    fn default() -> Self {
        SignalLimits { max_bytes: 65536, reject_pii: true }
    }
}

/// Signals after validation: typed values for evaluation and their canonical JSON for hashing.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidatedSignals {
    /// Indexed like `CompiledPolicy::signals`.
    pub values: Vec<SignalValue>,
    /// JCS of the normalized signals object.
    pub canonical: String,
}

/// Validate `signals` against the policy's schema, in a fixed order so errors are deterministic:
/// shape (VAL-001), undeclared (VAL-003), missing (VAL-004), types (VAL-005..011), PII (VAL-014),
/// size (VAL-013).
pub fn validate(policy: &CompiledPolicy, signals: &Value, limits: SignalLimits) -> Result<ValidatedSignals> {
    let obj = signals.as_object().ok_or_else(|| ParmanaError::new(&codes::VAL_001, "Signals must be a JSON object"))?;
    if let Some(name) = obj.keys().find(|k| !policy.signals.iter().any(|s| &s.name == *k)) {
        return Err(ParmanaError::new(
            &codes::VAL_003,
            format!("Undeclared signal {}: policy {:?} does not declare it", quoted_name(name), policy.policy_id),
        ));
    }
    let mut values = Vec::with_capacity(policy.signals.len());
    let mut normalized = Map::new();
    for spec in &policy.signals {
        let raw = obj.get(&spec.name).ok_or_else(|| {
            ParmanaError::new(&codes::VAL_004, format!("Required signal {} is missing", quoted_name(&spec.name)))
        })?;
        let value = typed_value(&spec.name, &spec.ty, raw)?;
        if limits.reject_pii {
            if let (SignalType::String, SignalValue::Text(s)) = (&spec.ty, &value) {
                if let Some(kind) = looks_like_pii(s) {
                    return Err(ParmanaError::new(
                        &codes::VAL_014,
                        format!(
                            "Signal {} looks like {kind}; signals must not carry personal data (use an id instead)",
                            quoted_name(&spec.name)
                        ),
                    ));
                }
            }
        }
        normalized.insert(spec.name.clone(), value.to_json());
        values.push(value);
    }
    let canonical = canonicalize(&Value::Object(normalized));
    if canonical.len() > limits.max_bytes {
        return Err(ParmanaError::new(
            &codes::VAL_013,
            format!("Signals too large: canonical signals are {} bytes", canonical.len()),
        )
        .with_detail(format!("parmana.max_signals_bytes is {}.", limits.max_bytes)));
    }
    Ok(ValidatedSignals { values, canonical })
}

/// A signal name as it may appear in a message: names come from the policy or the caller's
/// keys, never values, but are still bounded so a hostile key cannot flood the log.
fn quoted_name(name: &str) -> String {
    const MAX: usize = 64;
    if name.chars().count() <= MAX {
        format!("{name:?}")
    } else {
        let head: String = name.chars().take(MAX).collect();
        format!("{head:?}…")
    }
}

fn typed_value(name: &str, ty: &SignalType, raw: &Value) -> Result<SignalValue> {
    let wrong = |code: &'static Code, expected: &str| {
        ParmanaError::new(code, format!("Signal {} must be {expected}", quoted_name(name)))
    };
    match ty {
        SignalType::Integer => {
            let n = raw.as_number().ok_or_else(|| wrong(&codes::VAL_007, "an integer"))?;
            if let Some(i) = n.as_i64() {
                if i.abs() <= MAX_SAFE_INTEGER {
                    return Ok(SignalValue::Integer(i));
                }
            } else if let Some(f) = n.as_f64() {
                // 5.0 is the integer 5 (ECMAScript Number.isInteger).
                if f.fract() == 0.0 && f.abs() <= MAX_SAFE_INTEGER as f64 {
                    return Ok(SignalValue::Integer(f as i64));
                }
            }
            Err(wrong(&codes::VAL_007, "an integer within ±(2^53−1)"))
        }
        SignalType::Number => match raw.as_number().and_then(Number::as_f64) {
            Some(f) if f.is_finite() => Ok(SignalValue::Number(if f == 0.0 { 0.0 } else { f })),
            _ => Err(wrong(&codes::VAL_005, "a finite number")),
        },
        SignalType::Boolean => {
            raw.as_bool().map(SignalValue::Boolean).ok_or_else(|| wrong(&codes::VAL_006, "a boolean"))
        }
        SignalType::String => match raw {
            Value::String(s) => Ok(SignalValue::Text(normalize_text(s).into_owned())),
            _ => Err(wrong(&codes::VAL_008, "a string")),
        },
        SignalType::Enum(allowed) => match raw {
            Value::String(s) => {
                let s = normalize_text(s).into_owned();
                if allowed.contains(&s) {
                    Ok(SignalValue::Text(s))
                } else {
                    Err(wrong(&codes::VAL_011, "one of the enum's declared values"))
                }
            }
            _ => Err(wrong(&codes::VAL_009, "a string (enum)")),
        },
    }
}

/// What kind of personal data a string resembles, if any.
pub fn looks_like_pii(s: &str) -> Option<&'static str> {
    if contains_email(s) {
        Some("an e-mail address")
    } else if contains_ssn(s) {
        Some("a US social security number")
    } else if contains_card_number(s) {
        Some("a payment card number")
    } else {
        None
    }
}

fn contains_email(s: &str) -> bool {
    let b = s.as_bytes();
    let local_char = |c: u8| c.is_ascii_alphanumeric() || b"._%+-".contains(&c);
    let domain_char = |c: u8| c.is_ascii_alphanumeric() || c == b'.' || c == b'-';
    for (at, _) in s.match_indices('@') {
        let local = b[..at].iter().rev().take_while(|c| local_char(**c)).count();
        let domain_len = b[at + 1..].iter().take_while(|c| domain_char(**c)).count();
        let domain = s[at + 1..at + 1 + domain_len].trim_end_matches('.');
        let tld = domain.rsplit('.').next().unwrap_or("");
        if local > 0 && domain.contains('.') && tld.len() >= 2 && tld.bytes().all(|c| c.is_ascii_alphabetic()) {
            return true;
        }
    }
    false
}

/// `ddd-dd-dddd` or `ddd dd dddd`, not part of a longer digit run, with a valid area, group and serial.
fn contains_ssn(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 11 {
        return false;
    }
    for start in 0..=b.len() - 11 {
        let w = &b[start..start + 11];
        let sep = w[3];
        if !(sep == b'-' || sep == b' ') || w[6] != sep {
            continue;
        }
        let digits_ok = [0, 1, 2, 4, 5, 7, 8, 9, 10].iter().all(|i| w[*i].is_ascii_digit());
        let before = start.checked_sub(1).map(|i| b[i].is_ascii_digit()).unwrap_or(false);
        let after = b.get(start + 11).map(|c| c.is_ascii_digit()).unwrap_or(false);
        if !digits_ok || before || after {
            continue;
        }
        let area = &w[0..3];
        if area == b"000" || area == b"666" || area[0] == b'9' || &w[4..6] == b"00" || &w[7..11] == b"0000" {
            continue;
        }
        return true;
    }
    false
}

/// Runs of 13–19 digits (single spaces or dashes allowed between digits) that pass Luhn.
fn contains_card_number(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let mut digits = Vec::new();
        let mut j = i;
        while j < b.len() {
            if b[j].is_ascii_digit() {
                digits.push(b[j] - b'0');
                j += 1;
            } else if (b[j] == b' ' || b[j] == b'-') && b.get(j + 1).is_some_and(u8::is_ascii_digit) {
                j += 1;
            } else {
                break;
            }
        }
        if (13..=19).contains(&digits.len()) && luhn_valid(&digits) {
            return true;
        }
        i = j.max(i + 1);
    }
    false
}

fn luhn_valid(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let d = *d as u32;
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}
