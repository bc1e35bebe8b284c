//! SHA-256 identities: execution fingerprint (= signalsHash) and policyHash.

use crate::canonical::{canonical_string, canonicalize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    to_hex(&Sha256::digest(bytes))
}

pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 0xf) as usize] as char);
    }
    out
}

/// True for a 64-character lowercase hex string (a SHA-256 in our format).
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `JCS({"policyId", "policyVersion", "signals"})` given the already canonical signals.
/// The three keys are ASCII and already in JCS order, so the canonical form is assembled directly.
pub fn fingerprint_input(policy_id: &str, policy_version: &str, canonical_signals: &str) -> String {
    format!(
        "{{\"policyId\":{},\"policyVersion\":{},\"signals\":{}}}",
        canonical_string(policy_id),
        canonical_string(policy_version),
        canonical_signals
    )
}

/// `execution_fingerprint` = `signalsHash`.
pub fn execution_fingerprint(policy_id: &str, policy_version: &str, canonical_signals: &str) -> String {
    sha256_hex(fingerprint_input(policy_id, policy_version, canonical_signals).as_bytes())
}

/// Hex SHA-256 of JCS(doc): how a JSON document is named by its content (policyHash, runtimeHash,
/// the pending attestation an override record names, a checkpoint's leaves).
pub fn jcs_sha256(doc: &Value) -> String {
    sha256_hex(canonicalize(doc).as_bytes())
}

/// `policyHash` = hex SHA-256 of JCS(policy document).
pub fn policy_hash(policy: &Value) -> String {
    jcs_sha256(policy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sha256_known_values() {
        assert_eq!(sha256_hex(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(sha256_hex(b"hello world"), "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9");
    }

    /// The published fingerprint of the claims quickstart (docs/format.md).
    #[test]
    fn spec_fingerprint_vector() {
        let signals = json!({"claim_amount": 8500, "insurance_active": true, "risk_score": 42, "vip_customer": false});
        let fp = execution_fingerprint("claims-approval", "v1", &canonicalize(&signals));
        assert_eq!(fp, "556198846e28e59b2ecbaac7fc3383f1811a067d22698a4b4c5e550afa2b403a");
    }

    #[test]
    fn fixture_loan_fingerprint_vector() {
        let signals = json!({"credit_score": 720, "loan_amount": 15000});
        let fp = execution_fingerprint("loan-approval", "1.0.0", &canonicalize(&signals));
        assert_eq!(fp, "afb029afce5a154b1fc16bd7a6bb402a0463eb252fa9825e43b9b3027dcfbf23");
    }

    #[test]
    fn assembled_input_equals_generic_jcs() {
        let signals = json!({"b": "x\u{e9}", "a": [1, 2.5]});
        let assembled = fingerprint_input("p\"id", "v\u{1f600}", &canonicalize(&signals));
        let generic = canonicalize(&json!({"signals": signals, "policyVersion": "v\u{1f600}", "policyId": "p\"id"}));
        assert_eq!(assembled, generic);
    }

    #[test]
    fn hex_check() {
        assert!(is_sha256_hex(&sha256_hex(b"x")));
        assert!(!is_sha256_hex("ABC"));
        assert!(!is_sha256_hex(&sha256_hex(b"x").to_uppercase()));
    }
}
