//! The runtime's identity: version, supported schema versions, capabilities and runtimeHash.

use crate::hashes::jcs_sha256;
use serde_json::{json, Value};
use std::sync::OnceLock;

/// The extension version, which is the runtime version written into every attestation.
pub const RUNTIME_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Policy schema versions this runtime evaluates.
pub const SUPPORTED_SCHEMA_VERSIONS: &[&str] = &["1.0.0"];

/// Every runtime version this build knows, with the capabilities it declared. A verifier
/// recomputes the runtimeHash of the version an attestation names, so attestations from older
/// releases keep verifying after an upgrade. Append, never edit, when releasing.
const KNOWN_RUNTIMES: &[(&str, &[&str])] = &[
    (
        "0.1.0",
        &["attestation-signing", "deterministic-evaluation", "dsse-envelope", "override-workflow", "replay-protection"],
    ),
    (
        "0.2.0",
        &[
            "attestation-signing",
            "audit-checkpoints",
            "deterministic-evaluation",
            "dsse-envelope",
            "override-workflow",
            "replay-protection",
        ],
    ),
    (
        "0.3.0",
        &[
            "attestation-signing",
            "audit-checkpoints",
            "deterministic-evaluation",
            "dsse-envelope",
            "override-workflow",
            "replay-protection",
            "table-governance",
        ],
    ),
    (
        "0.4.0",
        &[
            "attestation-signing",
            "audit-checkpoints",
            "decision-explanations",
            "deterministic-evaluation",
            "dsse-envelope",
            "governed-row-binding",
            "identity-bound-reviews",
            "merkle-log",
            "override-workflow",
            "policy-testing",
            "replay-protection",
            "shadow-evaluation",
            "table-governance",
            "witness-cosigning",
        ],
    ),
];

/// The manifest definition whose JCS hash is the runtimeHash.
pub fn manifest_definition(version: &str) -> Option<Value> {
    let (_, caps) = KNOWN_RUNTIMES.iter().find(|(v, _)| *v == version)?;
    Some(json!({
        "runtime_version": version,
        "supported_schema_versions": SUPPORTED_SCHEMA_VERSIONS,
        "capabilities": caps,
    }))
}

/// runtimeHash of a known runtime version; `None` for a version this build never was.
/// Computed once per process: verification asks for it on every document.
pub fn runtime_hash_of(version: &str) -> Option<&'static str> {
    static HASHES: OnceLock<Vec<(&'static str, String)>> = OnceLock::new();
    let hashes = HASHES.get_or_init(|| {
        KNOWN_RUNTIMES.iter().map(|(v, _)| (*v, jcs_sha256(&manifest_definition(v).expect("listed")))).collect()
    });
    hashes.iter().find(|(v, _)| *v == version).map(|(_, h)| h.as_str())
}

/// runtimeHash of this build.
pub fn runtime_hash() -> &'static str {
    runtime_hash_of(RUNTIME_VERSION).expect("the running version is listed in KNOWN_RUNTIMES")
}

pub fn capabilities() -> Vec<&'static str> {
    KNOWN_RUNTIMES
        .iter()
        .find(|(v, _)| *v == RUNTIME_VERSION)
        .map(|(_, caps)| caps.to_vec())
        .expect("the running version is listed in KNOWN_RUNTIMES")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_version_is_known() {
        assert!(runtime_hash_of(RUNTIME_VERSION).is_some());
        // Attestations of earlier releases keep a known runtimeHash.
        assert!(runtime_hash_of("0.1.0").is_some());
        assert_eq!(runtime_hash().len(), 64);
        assert!(runtime_hash_of("9.9.9").is_none());
    }

    /// A published runtime definition (of the Node runtime parmana's format comes from) hashes to
    /// its published value, which proves the construction (JCS of the definition) matches.
    #[test]
    fn original_runtime_definition_vector() {
        let original = json!({
            "runtime_version": "1.0.0",
            "supported_schema_versions": ["1.0.0"],
            "capabilities": [
                "deterministic-evaluation",
                "attestation-signing",
                "replay-protection",
                "bundle-verification"
            ],
        });
        assert_eq!(jcs_sha256(&original), "492e0cf0adc4f85710f64d95c47f1c257300ab5be1ee8a13e2673566685fc794");
    }
}
