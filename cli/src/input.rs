//! Reading inputs: a file or standard input, holding one JSON document or one per line.

use serde_json::Value;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

pub fn open(path: &Path) -> Result<Box<dyn BufRead>, String> {
    if path == Path::new("-") {
        return Ok(Box::new(BufReader::new(io::stdin())));
    }
    let file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Box::new(BufReader::with_capacity(1 << 20, file)))
}

pub fn read_text(path: &Path) -> Result<String, String> {
    let mut text = String::new();
    open(path)?.read_to_string(&mut text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(text)
}

/// A document and where it was (file, or file and line), or why it is not JSON.
pub type Labelled = (String, Result<Value, String>);

/// The JSON documents of an input: the whole input if it is one document (pretty-printed or
/// not), else one per non-empty line. Each comes with a label saying where it was.
pub fn documents(path: &Path) -> Result<Vec<Labelled>, String> {
    let text = read_text(path)?;
    if let Ok(whole) = parmana_core::canonical::parse_json(text.trim()) {
        return Ok(vec![(path.display().to_string(), Ok(whole))]);
    }
    Ok(text
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(n, line)| {
            let label = format!("{} line {}", path.display(), n + 1);
            (label, parmana_core::canonical::parse_json(line).map_err(|e| format!("not JSON: {e}")))
        })
        .collect())
}
