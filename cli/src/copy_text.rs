//! PostgreSQL's COPY text format: fields separated by tabs, backslash escapes inside fields.

/// The fields of one COPY text line (without its newline); `None` for `\N` (NULL).
pub fn fields(line: &str) -> Vec<Option<String>> {
    line.split('\t').map(|raw| if raw == "\\N" { None } else { Some(unescape(raw)) }).collect()
}

/// Undo COPY text escaping: `\\`, `\b \f \n \r \t \v`, `\NNN` (octal) and `\xHH`; any other
/// escaped character stands for itself.
pub fn unescape(raw: &str) -> String {
    if !raw.contains('\\') {
        return raw.to_owned();
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' || i + 1 == bytes.len() {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        let c = bytes[i + 1];
        i += 2;
        match c {
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(0x0b),
            b'0'..=b'7' => {
                let mut value = u32::from(c - b'0');
                let mut digits = 1;
                while digits < 3 && i < bytes.len() && (b'0'..=b'7').contains(&bytes[i]) {
                    value = value * 8 + u32::from(bytes[i] - b'0');
                    i += 1;
                    digits += 1;
                }
                out.push(value as u8);
            }
            b'x' if i < bytes.len() && bytes[i].is_ascii_hexdigit() => {
                let mut value = 0u32;
                let mut digits = 0;
                while digits < 2 && i < bytes.len() && bytes[i].is_ascii_hexdigit() {
                    value = value * 16 + (bytes[i] as char).to_digit(16).unwrap_or(0);
                    i += 1;
                    digits += 1;
                }
                out.push(value as u8);
            }
            other => out.push(other),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescapes_what_copy_escapes() {
        assert_eq!(unescape(r#"{"a": "x\\"y\\\\z"}"#), r#"{"a": "x\"y\\z"}"#);
        assert_eq!(unescape(r"line\nnext\ttab\\"), "line\nnext\ttab\\");
        assert_eq!(unescape(r"\101\x42\q"), "ABq");
        assert_eq!(fields("7\t{\"a\": 1}\t\\N"), vec![Some("7".into()), Some("{\"a\": 1}".into()), None]);
    }
}
