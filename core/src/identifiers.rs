//! Identifiers people type and compare: execution ids, labels such as `approved_by`, and the
//! canonical text of a governed row's business key.
//!
//! Two strings that look the same must be the same id, or one business event could be decided
//! twice. So an identifier must already be canonical text: Unicode NFC, no control, format,
//! private-use, unassigned or separator characters (white space inside it may only be the ASCII
//! space), and no space at either end. Anything else is refused, never silently rewritten: the
//! caller's id is what its records hold.

use crate::error::{codes, Code, ParmanaError, Result};
use unicode_normalization::is_nfc;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// Longest execution id, in characters.
pub const MAX_EXECUTION_ID_CHARS: usize = 256;

/// Longest label (`approved_by`, `reason`-like short texts), in characters.
pub const MAX_LABEL_CHARS: usize = 256;

/// Why `c` may not appear in an identifier, if it may not.
fn refused_character(c: char) -> Option<&'static str> {
    use GeneralCategory::*;
    match c.general_category() {
        Control => Some("a control character"),
        Format => Some("a format character (invisible, such as a zero-width or bidirectional control)"),
        Unassigned => Some("an unassigned code point"),
        PrivateUse => Some("a private-use character"),
        Surrogate => Some("a surrogate"),
        LineSeparator | ParagraphSeparator => Some("a line or paragraph separator"),
        SpaceSeparator if c != ' ' => Some("white space other than the ASCII space"),
        _ => None,
    }
}

/// Check that `text` is canonical text of 1 to `max` characters; `what` names it in the error.
pub fn check_canonical_text(text: &str, what: &str, max: usize, code: &'static Code) -> Result<()> {
    let refuse = |fact: String, detail: String| {
        Err(ParmanaError::new(code, format!("{what} {fact}"))
            .with_detail(detail)
            .with_hint("Pass the identifier as NFC text without invisible characters or surrounding spaces."))
    };
    let chars = text.chars().count();
    if chars == 0 || chars > max {
        return Err(ParmanaError::new(code, format!("{what} must be 1 to {max} characters"))
            .with_detail(format!("It has {chars}.")));
    }
    if let Some((position, c, why)) =
        text.chars().enumerate().find_map(|(i, c)| refused_character(c).map(|why| (i + 1, c, why)))
    {
        return refuse(
            "contains a character identifiers may not hold".into(),
            format!("Character {position} is U+{:04X}, {why}.", c as u32),
        );
    }
    if text.starts_with(' ') || text.ends_with(' ') {
        return refuse("starts or ends with a space".into(), "Leading and trailing spaces are not allowed.".into());
    }
    if !is_nfc(text) {
        return refuse(
            "is not in Unicode normalization form C (NFC)".into(),
            "Composed and decomposed spellings of the same text would be different ids.".into(),
        );
    }
    Ok(())
}

/// `execution_id`: the caller's stable business id (`VAL-002`).
pub fn validate_execution_id(id: &str) -> Result<()> {
    check_canonical_text(id, "execution_id", MAX_EXECUTION_ID_CHARS, &codes::VAL_002)
}

/// A short human label such as `approved_by` (`VAL-016`).
pub fn validate_label(label: &str, argument: &str) -> Result<()> {
    check_canonical_text(label, argument, MAX_LABEL_CHARS, &codes::VAL_016)
}

/// The column types a governed table's business key may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    /// smallint, integer, bigint and numeric: one decimal text per value (`5.0` and `5` are one key).
    Number,
    /// text and varchar: the text itself, which must be canonical.
    Text,
    /// uuid: lowercase, hyphenated.
    Uuid,
    /// date: ISO 8601 `YYYY-MM-DD`.
    Date,
}

/// The one text of a key value from which its execution id is built. `value` is the value as
/// PostgreSQL writes it in JSON (`to_jsonb(row) ->> column`).
pub fn canonical_key(kind: KeyType, value: &str) -> Result<String> {
    let refuse = |why: &str| {
        Err(ParmanaError::new(&codes::GOV_005, format!("The business key cannot name an execution: {why}")))
    };
    match kind {
        KeyType::Number => match canonical_decimal(value) {
            Some(text) => Ok(text),
            None => refuse("a numeric key must be a finite number"),
        },
        KeyType::Text => Ok(value.to_owned()),
        KeyType::Uuid => {
            let lower = value.to_ascii_lowercase();
            let shape = lower.len() == 36
                && lower.char_indices().all(|(i, c)| {
                    if [8, 13, 18, 23].contains(&i) {
                        c == '-'
                    } else {
                        c.is_ascii_hexdigit()
                    }
                });
            if shape {
                Ok(lower)
            } else {
                refuse("not a uuid")
            }
        }
        KeyType::Date => {
            let b = value.as_bytes();
            let shape = b.len() == 10
                && b.iter().enumerate().all(|(i, c)| if i == 4 || i == 7 { *c == b'-' } else { c.is_ascii_digit() });
            if shape {
                Ok(value.to_owned())
            } else {
                refuse("a date key must be a finite date between 0001-01-01 and 9999-12-31")
            }
        }
    }
}

/// A decimal number split into sign, integer digits and fraction digits.
struct Decimal {
    negative: bool,
    int: Vec<u8>,
    frac: Vec<u8>,
}

impl Decimal {
    /// Plain decimal notation (`-12.50`, `3`, `.5`); no exponent, no NaN or infinity.
    fn parse(text: &str) -> Option<Decimal> {
        let (negative, digits) = match text.as_bytes().first()? {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(int) || !all_digits(frac) {
            return None;
        }
        Some(Decimal {
            negative,
            int: int.bytes().map(|b| b - b'0').collect(),
            frac: frac.bytes().map(|b| b - b'0').collect(),
        })
    }

    /// The shortest text: no leading zeros, no trailing fraction zeros, no `-0`.
    fn to_text(&self) -> String {
        let start = self.int.iter().position(|d| *d != 0).unwrap_or(self.int.len());
        let int: String = self.int[start..].iter().map(|d| (b'0' + d) as char).collect();
        let end = self.frac.iter().rposition(|d| *d != 0).map_or(0, |p| p + 1);
        let frac: String = self.frac[..end].iter().map(|d| (b'0' + d) as char).collect();
        let int = if int.is_empty() { "0".to_owned() } else { int };
        let zero = int == "0" && frac.is_empty();
        let sign = if self.negative && !zero { "-" } else { "" };
        if frac.is_empty() {
            format!("{sign}{int}")
        } else {
            format!("{sign}{int}.{frac}")
        }
    }

    /// Keep `digits` fraction digits, rounding half away from zero (PostgreSQL's numeric `round`).
    fn round(mut self, digits: usize) -> Decimal {
        if self.frac.len() <= digits {
            return self;
        }
        let round_up = self.frac[digits] >= 5;
        self.frac.truncate(digits);
        if round_up {
            // Add one unit in the last kept place, carrying through fraction and integer digits.
            let mut carry = true;
            for d in self.frac.iter_mut().rev().chain(self.int.iter_mut().rev()) {
                if !carry {
                    break;
                }
                *d += 1;
                carry = *d == 10;
                if carry {
                    *d = 0;
                }
            }
            if carry {
                self.int.insert(0, 1);
            }
        }
        self
    }

    /// Multiply by 10^digits (move the decimal point right).
    fn shift(mut self, digits: usize) -> Decimal {
        let moved = digits.min(self.frac.len());
        self.int.extend(self.frac.drain(..moved));
        self.int.extend(std::iter::repeat_n(0, digits - moved));
        self
    }
}

/// The canonical text of a plain decimal number, or None when it is not one.
pub fn canonical_decimal(text: &str) -> Option<String> {
    Decimal::parse(text).map(|d| d.to_text())
}

/// `text` rounded to `digits` fraction digits, half away from zero, exactly in decimal.
pub fn round_decimal(text: &str, digits: u32) -> Option<String> {
    Decimal::parse(text).map(|d| d.round(digits as usize).to_text())
}

/// `text` × 10^`digits`, rounded to an integer half away from zero: an amount in its smallest unit.
pub fn scale_decimal(text: &str, digits: u32) -> Option<String> {
    Decimal::parse(text).map(|d| d.shift(digits as usize).round(0).to_text())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_ids_pass() {
        for id in ["claim-CLM-2024-00441", "é", "a b", "Zürich-1", "日本-7", &"é".repeat(256)] {
            assert!(validate_execution_id(id).is_ok(), "{id:?}");
        }
    }

    #[test]
    fn look_alike_ids_are_refused() {
        let cases = [
            ("", "1 to 256"),
            ("e\u{301}", "NFC"),
            ("claim-1 ", "space"),
            (" claim-1", "space"),
            ("claim\u{a0}1", "U+00A0"),
            ("claim-\u{200b}1", "U+200B"),
            ("claim-\u{202e}1", "U+202E"),
            ("claim-\u{feff}1", "U+FEFF"),
            ("a\nb", "U+000A"),
            ("a\u{2028}b", "U+2028"),
            ("a\u{e000}b", "U+E000"),
        ];
        for (id, why) in cases {
            let e = validate_execution_id(id).unwrap_err();
            assert_eq!(e.code(), "VAL-002", "{id:?}");
            let text = format!("{} {}", e, e.detail().unwrap_or(""));
            assert!(text.contains(why), "{id:?}: {text}");
        }
        assert!(validate_execution_id(&"x".repeat(257)).is_err());
        assert_eq!(validate_label("\u{200b}", "approved_by").unwrap_err().code(), "VAL-016");
        assert_eq!(validate_label("  ", "approved_by").unwrap_err().code(), "VAL-016");
    }

    #[test]
    fn one_text_per_numeric_key() {
        for (given, canonical) in [
            ("5", "5"),
            ("5.0", "5"),
            ("5.00", "5"),
            ("005", "5"),
            ("-0", "0"),
            ("-0.0", "0"),
            ("0.50", "0.5"),
            ("-12.340", "-12.34"),
        ] {
            assert_eq!(canonical_key(KeyType::Number, given).unwrap(), canonical, "{given}");
        }
        for bad in ["NaN", "Infinity", "-Infinity", "1e5", "", "-", "1.2.3"] {
            assert_eq!(canonical_key(KeyType::Number, bad).unwrap_err().code(), "GOV-005", "{bad}");
        }
        assert_eq!(
            canonical_key(KeyType::Uuid, "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11").unwrap(),
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
        );
        assert!(canonical_key(KeyType::Date, "2026-11-29").is_ok());
        assert!(canonical_key(KeyType::Date, "infinity").is_err());
    }

    #[test]
    fn decimal_rounding_is_exact_and_half_away_from_zero() {
        assert_eq!(round_decimal("8500.40", 0).unwrap(), "8500");
        assert_eq!(round_decimal("2.5", 0).unwrap(), "3");
        assert_eq!(round_decimal("-2.5", 0).unwrap(), "-3");
        assert_eq!(round_decimal("9.995", 2).unwrap(), "10");
        assert_eq!(round_decimal("0.004", 2).unwrap(), "0");
        assert_eq!(round_decimal("1.5", 3).unwrap(), "1.5");
        // 1.005 is not representable as a double; in decimal it rounds up, as numeric does.
        assert_eq!(scale_decimal("1.005", 2).unwrap(), "101");
        assert_eq!(scale_decimal("999.994", 2).unwrap(), "99999");
        assert_eq!(scale_decimal("12", 2).unwrap(), "1200");
        assert_eq!(scale_decimal("0.125", 2).unwrap(), "13");
        assert_eq!(scale_decimal("-0.001", 2).unwrap(), "0");
    }
}
