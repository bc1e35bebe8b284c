//! Governed tables: how one row of a business table becomes signals. The trigger that decides a
//! new row and the check that re-reads governed rows (`parmana_govern_verify`) both use this, so
//! a row always maps to the same signals and so to the same fingerprint.
//!
//! A mapping is the `signals` column of a governed-table configuration:
//! `{"<signal>": {"column": "<column>", "lower": bool, "trim": bool, "round": n, "scale": n}}`.
//! Numbers are rounded and scaled exactly in decimal (half away from zero, as PostgreSQL's
//! numeric `round`), then read as IEEE-754 doubles like every signal.

use crate::error::{codes, ParmanaError, Result};
use crate::identifiers::{round_decimal, scale_decimal};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// A column value of a row as PostgreSQL writes it in JSON; numbers keep their exact decimal text.
#[derive(Debug, Clone, PartialEq)]
pub enum RowValue {
    Null,
    Bool(bool),
    /// Plain decimal text, as `numeric_out` writes it.
    Number(String),
    Text(String),
    /// An array or object (a json, array or composite column).
    Json(Value),
}

/// Where one signal comes from, and how its value is normalized.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalSource {
    pub column: String,
    pub lower: bool,
    pub trim: bool,
    /// Fraction digits kept.
    pub round: Option<u32>,
    /// Multiply by 10^scale and round to an integer: an amount in its smallest unit (2: cents).
    pub scale: Option<u32>,
}

/// The signals of a governed table, by signal name (in name order).
#[derive(Debug, Clone, PartialEq)]
pub struct SignalMapping {
    pub signals: Vec<(String, SignalSource)>,
}

/// Largest `round` / `scale`: more digits than a double carries is a configuration mistake.
const MAX_DIGITS: u64 = 20;

fn config_error(message: String) -> ParmanaError {
    ParmanaError::new(&codes::GOV_005, message)
}

impl SignalMapping {
    /// Read a mapping; every field is checked, unknown ones refused.
    pub fn parse(mapping: &Value) -> Result<SignalMapping> {
        let obj = mapping.as_object().ok_or_else(|| config_error("signals must be a JSON object".into()))?;
        let mut signals = Vec::with_capacity(obj.len());
        for (signal, spec) in obj {
            let bad = |what: &str| config_error(format!("signal {signal:?}: {what}"));
            let spec = spec.as_object().ok_or_else(|| bad("must be an object with a column"))?;
            let column = spec.get("column").and_then(Value::as_str).filter(|c| !c.is_empty());
            let column = column.ok_or_else(|| bad("needs a non-empty column name"))?.to_owned();
            let flag = |name: &str| match spec.get(name) {
                None => Ok(false),
                Some(Value::Bool(b)) => Ok(*b),
                Some(_) => Err(bad(&format!("{name} must be true or false"))),
            };
            let digits = |name: &str| match spec.get(name) {
                None => Ok(None),
                Some(v) => match v.as_u64().filter(|d| *d <= MAX_DIGITS) {
                    Some(d) => Ok(Some(d as u32)),
                    None => Err(bad(&format!("{name} must be a whole number of digits from 0 to {MAX_DIGITS}"))),
                },
            };
            if let Some(key) =
                spec.keys().find(|k| !matches!(k.as_str(), "column" | "lower" | "trim" | "round" | "scale"))
            {
                return Err(bad(&format!("unknown field {key:?}")));
            }
            let source = SignalSource {
                column,
                lower: flag("lower")?,
                trim: flag("trim")?,
                round: digits("round")?,
                scale: digits("scale")?,
            };
            if source.round.is_some() && source.scale.is_some() {
                return Err(bad("round and scale exclude each other"));
            }
            signals.push((signal.clone(), source));
        }
        Ok(SignalMapping { signals })
    }

    /// Every column the signals come from.
    pub fn columns(&self) -> impl Iterator<Item = &str> {
        self.signals.iter().map(|(_, s)| s.column.as_str())
    }

    /// The signals of one row. Values are never echoed in errors.
    pub fn signals_of(&self, row: &HashMap<String, RowValue>) -> Result<Value> {
        let mut out = Map::new();
        for (signal, source) in &self.signals {
            let value = row.get(&source.column).ok_or_else(|| {
                config_error(format!(
                    "signal {signal:?} maps to column {:?}, which the row does not have",
                    source.column
                ))
            })?;
            out.insert(signal.clone(), source.normalize(value));
        }
        Ok(Value::Object(out))
    }
}

impl SignalSource {
    fn normalize(&self, value: &RowValue) -> Value {
        match value {
            RowValue::Null => Value::Null,
            RowValue::Bool(b) => Value::Bool(*b),
            RowValue::Json(v) => v.clone(),
            RowValue::Text(s) => {
                let s = if self.trim { s.trim() } else { s.as_str() };
                Value::String(if self.lower { s.to_lowercase() } else { s.to_owned() })
            }
            RowValue::Number(text) => {
                let exact = match (self.round, self.scale) {
                    (Some(digits), _) => round_decimal(text, digits),
                    (_, Some(digits)) => scale_decimal(text, digits),
                    _ => None,
                };
                number(exact.as_deref().unwrap_or(text))
            }
        }
    }
}

/// A decimal text as a JSON number, read the way every signal is read (an integer when it is
/// one, else the nearest double). Text that is not a plain number stays text: validation then
/// refuses it with the signal's type code.
fn number(text: &str) -> Value {
    serde_json::from_str::<Value>(text).ok().filter(Value::is_number).unwrap_or_else(|| Value::String(text.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(pairs: &[(&str, RowValue)]) -> HashMap<String, RowValue> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
    }

    #[test]
    fn maps_and_normalizes_a_row() {
        let mapping = SignalMapping::parse(&json!({
            "claim_amount": {"column": "amount", "round": 0},
            "amount_cents": {"column": "amount", "scale": 2},
            "currency": {"column": "currency", "lower": true, "trim": true},
            "vip_customer": {"column": "vip"},
        }))
        .unwrap();
        let signals = mapping
            .signals_of(&row(&[
                ("amount", RowValue::Number("8500.405".into())),
                ("currency", RowValue::Text("  EUR ".into())),
                ("vip", RowValue::Bool(false)),
            ]))
            .unwrap();
        assert_eq!(
            signals,
            json!({"claim_amount": 8500, "amount_cents": 850041, "currency": "eur", "vip_customer": false})
        );
        assert_eq!(mapping.columns().collect::<Vec<_>>(), ["amount", "amount", "currency", "vip"]);
    }

    #[test]
    fn unscaled_numbers_are_read_like_signals() {
        let mapping = SignalMapping::parse(&json!({"x": {"column": "x"}})).unwrap();
        assert_eq!(
            mapping.signals_of(&row(&[("x", RowValue::Number("8500.40".into()))])).unwrap(),
            json!({"x": 8500.4})
        );
        assert_eq!(mapping.signals_of(&row(&[("x", RowValue::Number("12".into()))])).unwrap(), json!({"x": 12}));
    }

    #[test]
    fn bad_mappings_and_missing_columns_are_gov_005() {
        for bad in [
            json!([]),
            json!({"s": "amount"}),
            json!({"s": {}}),
            json!({"s": {"column": "a", "round": -1}}),
            json!({"s": {"column": "a", "round": 1.5}}),
            json!({"s": {"column": "a", "lower": "yes"}}),
            json!({"s": {"column": "a", "colour": "red"}}),
            json!({"s": {"column": "a", "round": 1, "scale": 2}}),
        ] {
            assert_eq!(SignalMapping::parse(&bad).unwrap_err().code(), "GOV-005", "{bad}");
        }
        let mapping = SignalMapping::parse(&json!({"s": {"column": "gone"}})).unwrap();
        assert_eq!(mapping.signals_of(&HashMap::new()).unwrap_err().code(), "GOV-005");
    }
}
