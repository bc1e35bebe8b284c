//! Public keys: PEM (SPKI) keys for signed documents, note verifier keys for signed notes.

use ed25519_dalek::VerifyingKey;
use parmana_core::keys::{key_id, parse_public_key_pem};
use parmana_core::note::{parse_verifier_key, VerifierKey};
use std::collections::HashMap;
use std::path::PathBuf;

/// Public keys by signerKeyId, from PEM files that may each hold several keys.
pub type PublicKeys = HashMap<String, VerifyingKey>;

pub fn public_keys(paths: &[PathBuf]) -> Result<PublicKeys, String> {
    let mut keys = HashMap::new();
    for path in paths {
        let text = crate::input::read_text(path)?;
        let blocks: Vec<String> = text
            .split("-----BEGIN PUBLIC KEY-----")
            .filter(|b| b.contains("-----END PUBLIC KEY-----"))
            .map(|b| format!("-----BEGIN PUBLIC KEY-----{}", b.trim_end()))
            .collect();
        if blocks.is_empty() {
            return Err(format!("{}: no PEM public key", path.display()));
        }
        for block in blocks {
            let key = parse_public_key_pem(&block).map_err(|e| format!("{}: {e}", path.display()))?;
            keys.insert(key_id(&key), key);
        }
    }
    Ok(keys)
}

/// Note verifier keys, each given inline or as @FILE with one per line.
pub fn log_keys(args: &[String]) -> Result<Vec<VerifierKey>, String> {
    let mut keys = Vec::new();
    for arg in args {
        let texts: Vec<String> = match arg.strip_prefix('@') {
            Some(path) => crate::input::read_text(&PathBuf::from(path))?
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect(),
            None => vec![arg.trim().to_owned()],
        };
        for text in texts {
            keys.push(parse_verifier_key(&text).map_err(|e| format!("verifier key {text:?}: {e}"))?);
        }
    }
    Ok(keys)
}

/// The key for a signerKeyId, or why there is none.
pub fn lookup(keys: &PublicKeys, signer_key_id: &str) -> Result<VerifyingKey, String> {
    keys.get(signer_key_id).copied().ok_or_else(|| format!("no public key given for signerKeyId {signer_key_id}"))
}
