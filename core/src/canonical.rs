//! RFC 8785 (JCS) canonical JSON, and the text normalization applied to signal strings.

use serde_json::Value;
use std::borrow::Cow;
use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};

/// RFC 8785 canonical form of `value`: keys sorted by UTF-16 code units, ECMAScript numbers,
/// no insignificant white space, UTF-8.
pub fn canonicalize(value: &Value) -> String {
    // A serde_json::Value holds no NaN or infinity, so JCS serialization cannot fail.
    serde_json_canonicalizer::to_string(value).expect("JCS of a serde_json::Value cannot fail")
}

/// Canonical form of a single string, as JCS writes it (quotes and escapes included).
pub fn canonical_string(s: &str) -> String {
    canonicalize(&Value::String(s.to_owned()))
}

/// Unicode NFC, then `\r\n` → `\n` (SPEC §4): applied to string signal values and policy
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
        let expected = "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],\"string\":\"\u{20ac}$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}";
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
