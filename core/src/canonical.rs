//! RFC 8785 (JCS) canonical JSON, and the text normalization applied to signal strings.
//!
//! The serializer is written here rather than taken from `serde_json_canonicalizer` because
//! that crate re-parses every object key to sort it, which made canonicalization 6 µs of a
//! 50 µs verification (BENCHMARKS.md). It is tested against that crate (a differential property
//! test) and against RFC 8785's published examples. Numbers use `ryu-js`, the ECMAScript
//! `Number.prototype.toString` algorithm that crate uses too.

use serde_json::{Number, Value};
use std::borrow::Cow;
use std::cmp::Ordering;
use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};

/// RFC 8785 canonical form of `value`: keys sorted by UTF-16 code units, ECMAScript numbers,
/// no insignificant white space, UTF-8.
pub fn canonicalize(value: &Value) -> String {
    let mut out = String::with_capacity(512);
    write_value(&mut out, value);
    out
}

/// Canonical form of an object without some of its keys (the signed body of a signed document),
/// without copying the object.
pub fn canonicalize_without(object: &serde_json::Map<String, Value>, skip: &[&str]) -> String {
    let mut out = String::with_capacity(512);
    write_object(&mut out, object.iter().filter(|(k, _)| !skip.contains(&k.as_str())));
    out
}

fn write_object<'a>(out: &mut String, entries: impl Iterator<Item = (&'a String, &'a Value)>) {
    let mut entries: Vec<(&String, &Value)> = entries.collect();
    entries.sort_unstable_by(|a, b| utf16_order(a.0, b.0));
    out.push('{');
    for (i, (key, item)) in entries.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(out, key);
        out.push(':');
        write_value(out, item);
    }
    out.push('}');
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => write_object(out, map.iter()),
    }
}

/// Property order of RFC 8785 §3.2.3: by UTF-16 code units. Byte order agrees for ASCII.
fn utf16_order(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        a.cmp(b)
    } else {
        a.encode_utf16().cmp(b.encode_utf16())
    }
}

/// ECMAScript number serialization (RFC 8785 §3.2.2.3); integers are doubles too.
fn write_number(out: &mut String, n: &Number) {
    // serde_json holds no NaN or infinity; integers beyond 2^53 round as in ECMAScript.
    let f = n.as_f64().unwrap_or(0.0);
    if f == 0.0 {
        out.push('0'); // also -0
    } else {
        out.push_str(ryu_js::Buffer::new().format_finite(f));
    }
}

/// JSON.stringify string escaping (RFC 8785 §3.2.2.2): quote and backslash escaped, control
/// characters as short escapes or lowercase `\u00xx`, everything else as UTF-8.
fn write_string(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if escape.is_empty() {
            out.push_str(&format!("\\u{b:04x}"));
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Canonical form of a single string, as JCS writes it (quotes and escapes included).
pub fn canonical_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    write_string(&mut out, s);
    out
}

/// Unicode NFC, then `\r\n` → `\n`: applied to string signal values and policy
/// operands before anything is hashed or compared.
pub fn normalize_text(s: &str) -> Cow<'_, str> {
    let nfc: Cow<'_, str> = match is_nfc_quick(s.chars()) {
        IsNormalized::Yes => Cow::Borrowed(s),
        _ => Cow::Owned(s.nfc().collect()),
    };
    if nfc.contains("\r\n") {
        Cow::Owned(nfc.replace("\r\n", "\n"))
    } else {
        nfc
    }
}

/// Parse JSON text (as PostgreSQL's `jsonb_out` prints it) into a value. Numbers outside the
/// IEEE-754 double range are reported as errors, never silently rounded to infinity.
pub fn parse_json(text: &str) -> Result<Value, serde_json::Error> {
    serde_json::from_str(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn num(bits: u64) -> String {
        let f = f64::from_bits(bits);
        canonicalize(&Value::Number(serde_json::Number::from_f64(f).unwrap()))
    }

    /// RFC 8785 Appendix B: IEEE-754 → ECMAScript serialization samples.
    #[test]
    fn rfc8785_number_samples() {
        let samples: &[(u64, &str)] = &[
            (0x0000000000000000, "0"),
            (0x8000000000000000, "0"), // -0
            (0x0000000000000001, "5e-324"),
            (0x8000000000000001, "-5e-324"),
            (0x7fefffffffffffff, "1.7976931348623157e+308"),
            (0xffefffffffffffff, "-1.7976931348623157e+308"),
            (0x4340000000000000, "9007199254740992"),
            (0xc340000000000000, "-9007199254740992"),
            (0x4430000000000000, "295147905179352830000"),
            (0x44b52d02c7e14af5, "9.999999999999997e+22"),
            (0x44b52d02c7e14af6, "1e+23"),
            (0x44b52d02c7e14af7, "1.0000000000000001e+23"),
            (0x444b1ae4d6e2ef4e, "999999999999999700000"),
            (0x444b1ae4d6e2ef4f, "999999999999999900000"),
            (0x444b1ae4d6e2ef50, "1e+21"),
            (0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"),
            (0x3eb0c6f7a0b5ed8d, "0.000001"),
            (0x41b3de4355555553, "333333333.3333332"),
            (0x41b3de4355555554, "333333333.33333325"),
            (0x41b3de4355555555, "333333333.3333333"),
            (0x41b3de4355555556, "333333333.3333334"),
            (0x41b3de4355555557, "333333333.33333343"),
            (0xbecbf647612f3696, "-0.0000033333333333333333"),
            (0x43143ff3c1cb0959, "1424953923781206.2"),
        ];
        for (bits, expected) in samples {
            assert_eq!(num(*bits), *expected, "bits {bits:#018x}");
        }
    }

    #[test]
    fn named_number_edges() {
        assert_eq!(canonicalize(&parse_json("1e21").unwrap()), "1e+21");
        assert_eq!(canonicalize(&parse_json("1e-7").unwrap()), "1e-7");
        assert_eq!(canonicalize(&parse_json("-0").unwrap()), "0");
        assert_eq!(canonicalize(&parse_json("-0.0").unwrap()), "0");
        assert_eq!(canonicalize(&parse_json("1.0").unwrap()), "1");
        assert_eq!(canonicalize(&parse_json("100").unwrap()), "100");
        assert_eq!(canonicalize(&parse_json("1e20").unwrap()), "100000000000000000000");
        // Integers beyond 2^53 serialize as the nearest double, as ECMAScript does.
        assert_eq!(canonicalize(&parse_json("9007199254740993").unwrap()), "9007199254740992");
    }

    #[test]
    fn out_of_range_numbers_are_errors() {
        assert!(parse_json("1e400").is_err());
        assert!(parse_json("-1e400").is_err());
    }

    /// RFC 8785 §3.2.2: the complete example.
    #[test]
    fn rfc8785_example_document() {
        let input = r#"{
          "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
          "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
          "literals": [null, true, false]
        }"#;
        let expected = "{\"literals\":[null,true,false],\
                        \"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],\
                        \"string\":\"\u{20ac}$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}";
        assert_eq!(canonicalize(&parse_json(input).unwrap()), expected);
    }

    /// RFC 8785 §3.2.3: property sorting by UTF-16 code units, including a surrogate pair.
    #[test]
    fn rfc8785_sorting_example() {
        let input = r#"{
          "\u20ac": "Euro Sign",
          "\r": "Carriage Return",
          "\ufb33": "Hebrew Letter Dalet With Dagesh",
          "1": "One",
          "\ud83d\ude00": "Emoji: Grinning Face",
          "\u0080": "Control",
          "\u00f6": "Latin Small Letter O With Diaeresis"
        }"#;
        let out = canonicalize(&parse_json(input).unwrap());
        let order = ["\\r", "1", "\u{80}", "\u{f6}", "\u{20ac}", "\u{1f600}", "\u{fb33}"];
        let mut last = 0;
        for key in order {
            let at = out.find(&format!("\"{key}\":")).unwrap_or_else(|| panic!("{key} missing in {out}"));
            assert!(at >= last, "{key} out of order in {out}");
            last = at;
        }
        // UTF-8 byte order would put U+FB33 before the emoji: UTF-16 order must not.
        assert!(out.find("\u{1f600}").unwrap() < out.find("\u{fb33}").unwrap());
    }

    #[test]
    fn canonicalize_without_equals_removing_the_key() {
        let v: Value = parse_json(r#"{"b": 1, "signature": "x", "a": {"z": [1, 2.5]}}"#).unwrap();
        let mut removed = v.clone();
        removed.as_object_mut().unwrap().remove("signature");
        assert_eq!(canonicalize_without(v.as_object().unwrap(), &["signature"]), canonicalize(&removed));
    }

    #[test]
    fn string_escapes() {
        let v = Value::String("q\"b\\n\nr\rt\tb\u{8}f\u{c}c\u{1}d\u{1f}e\u{7f}\u{2028}é😀".into());
        assert_eq!(canonicalize(&v), "\"q\\\"b\\\\n\\nr\\rt\\tb\\bf\\fc\\u0001d\\u001fe\u{7f}\u{2028}é😀\"");
    }

    #[test]
    fn key_order_ascii_and_underscore() {
        let v = json!({"execution_fingerprint": 1, "executionId": 2, "z": 3, "a": 1});
        assert_eq!(canonicalize(&v), r#"{"a":1,"executionId":2,"execution_fingerprint":1,"z":3}"#);
    }

    #[test]
    fn nfc_and_crlf_normalization() {
        assert_eq!(normalize_text("e\u{301}"), "\u{e9}");
        assert_eq!(normalize_text("a\r\nb\rc"), "a\nb\rc");
        assert!(matches!(normalize_text("plain"), Cow::Borrowed(_)));
    }
}
