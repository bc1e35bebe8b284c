//! DSSE v1 pre-authentication encoding and Ed25519 signing/verifying of JSON documents.

use crate::canonical::canonicalize;
use crate::keys::KeyPair;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use ed25519_dalek::{Signature, Signer, VerifyingKey};
use serde_json::{Map, Value};

/// DSSE payload type of decision and resolution attestations.
pub const ATTESTATION_TYPE: &str = "application/vnd.parmana.attestation.v1+json";
/// DSSE payload type of override records.
pub const OVERRIDE_TYPE: &str = "application/vnd.parmana.override.v1+json";
/// DSSE payload type of audit checkpoints.
pub const CHECKPOINT_TYPE: &str = "application/vnd.parmana.checkpoint.v1+json";

/// `PAE(type, body) = "DSSEv1" SP len(type) SP type SP len(body) SP body`.
pub fn pae(payload_type: &str, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 + payload_type.len() + body.len());
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(payload_type.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type.as_bytes());
    out.push(b' ');
    out.extend_from_slice(body.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(body);
    out
}

/// A signed document: the JSON object with `signature` added, and the canonical body signed.
#[derive(Debug, Clone)]
pub struct Signed {
    pub document: Map<String, Value>,
    pub canonical_body: String,
    pub signature: String,
}

/// Sign `body` (which must not contain `signature`): Ed25519 over PAE(type, JCS(body)).
pub fn sign(mut body: Map<String, Value>, payload_type: &str, key: &KeyPair) -> Signed {
    debug_assert!(!body.contains_key("signature"));
    let body_value = Value::Object(std::mem::take(&mut body));
    let canonical_body = canonicalize(&body_value);
    let sig = key.signing_key().sign(&pae(payload_type, canonical_body.as_bytes()));
    let signature = BASE64.encode(sig.to_bytes());
    let Value::Object(mut document) = body_value else { unreachable!() };
    document.insert("signature".into(), Value::String(signature.clone()));
    Signed { document, canonical_body, signature }
}

/// Verify a base64 signature over PAE(type, body). Strict verification (no malleable signatures).
pub fn verify_signature(
    key: &VerifyingKey,
    payload_type: &str,
    canonical_body: &[u8],
    signature_b64: &str,
) -> Result<(), &'static str> {
    let raw = decode_signature(signature_b64)?;
    key.verify_strict(&pae(payload_type, canonical_body), &Signature::from_bytes(&raw))
        .map_err(|_| "signature does not verify")
}

/// Standard padded base64 of exactly 64 bytes.
pub fn decode_signature(signature_b64: &str) -> Result<[u8; 64], &'static str> {
    let raw = BASE64.decode(signature_b64).map_err(|_| "signature is not standard base64")?;
    raw.try_into().map_err(|_| "signature is not 64 bytes")
}

pub fn base64_encode(bytes: &[u8]) -> String {
    BASE64.encode(bytes)
}

/// Standard padded base64.
pub fn base64_decode(text: &str) -> Result<Vec<u8>, &'static str> {
    BASE64.decode(text).map_err(|_| "not standard base64")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pae_layout() {
        assert_eq!(pae("t", b"body"), b"DSSEv1 1 t 4 body".to_vec());
        // Lengths count bytes, not characters.
        assert_eq!(pae("t", "é".as_bytes()), b"DSSEv1 1 t 2 \xc3\xa9".to_vec());
    }

    /// RFC 8032 §7.1 TEST 1: the empty message signs to the published signature.
    #[test]
    fn rfc8032_test1_signature() {
        let mut seed = [0u8; 32];
        let hex = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
        for i in 0..32 {
            seed[i] = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
        }
        let kp = KeyPair::from_seed(&seed);
        let sig = kp.signing_key().sign(b"");
        assert_eq!(
            crate::hashes::to_hex(&sig.to_bytes()),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555\
             fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        );
        // And our DSSE signing verifies with the same key and fails for another type.
        let signed = sign(json!({"a": 1}).as_object().unwrap().clone(), ATTESTATION_TYPE, &kp);
        assert_eq!(signed.canonical_body, r#"{"a":1}"#);
        assert!(verify_signature(
            &kp.verifying_key(),
            ATTESTATION_TYPE,
            signed.canonical_body.as_bytes(),
            &signed.signature
        )
        .is_ok());
        assert!(verify_signature(
            &kp.verifying_key(),
            OVERRIDE_TYPE,
            signed.canonical_body.as_bytes(),
            &signed.signature
        )
        .is_err());
        assert!(verify_signature(&kp.verifying_key(), ATTESTATION_TYPE, br#"{"a":2}"#, &signed.signature).is_err());
    }

    /// `.cargo/config.toml` compiles curve25519-dalek's AVX-512 backend; without it verification
    /// silently loses a third of its throughput on CPUs that have AVX-512 IFMA (BENCHMARKS.md).
    #[test]
    #[cfg(target_arch = "x86_64")]
    // A test, not a compile error: builds outside the repository (without the flag) must still work.
    #[allow(clippy::assertions_on_constants)]
    fn avx512_backend_is_compiled() {
        assert!(cfg!(curve25519_dalek_backend = "avx512"), "build without .cargo/config.toml's rustflags");
    }

    #[test]
    fn malformed_signatures() {
        assert_eq!(decode_signature("!!"), Err("signature is not standard base64"));
        assert_eq!(decode_signature("AAAA"), Err("signature is not 64 bytes"));
    }
}
