//! Verification of attestations and override records. Malformed input is a
//! `valid: false` report with a reason, never an error.

use crate::canonical::canonicalize_without;
use crate::runtime::{runtime_hash_of, SUPPORTED_SCHEMA_VERSIONS};
use crate::signing::{base64_encode, decode_signature, pae, ATTESTATION_TYPE, CHECKPOINT_TYPE, OVERRIDE_TYPE};
use ed25519_dalek::{Signature, VerifyingKey};
use serde_json::{json, Map, Value};

const ATTESTATION_FIELDS: &[&str] = &[
    "executionId",
    "execution_fingerprint",
    "policyId",
    "policyVersion",
    "policyHash",
    "schemaVersion",
    "runtimeVersion",
    "runtimeHash",
    "signalsHash",
    "decision",
    "execution_state",
    "issuedAt",
    "signerKeyId",
];

const CHECKPOINT_FIELDS: &[&str] = &[
    "checkpointId",
    "fromId",
    "toId",
    "rowCount",
    "previousDigest",
    "digest",
    "schemaVersion",
    "runtimeVersion",
    "runtimeHash",
    "signerKeyId",
];

const OVERRIDE_FIELDS: &[&str] =
    &["overrideId", "executionId", "approved", "schemaVersion", "runtimeVersion", "runtimeHash", "signerKeyId"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub valid: bool,
    pub signature_verified: bool,
    pub runtime_verified: bool,
    pub schema_compatible: bool,
    pub reason: Option<String>,
}

impl VerifyReport {
    pub fn invalid(reason: impl Into<String>) -> VerifyReport {
        VerifyReport {
            valid: false,
            signature_verified: false,
            runtime_verified: false,
            schema_compatible: false,
            reason: Some(reason.into()),
        }
    }

    pub fn to_json(&self) -> Value {
        let mut out = json!({
            "valid": self.valid,
            "signatureVerified": self.signature_verified,
            "runtimeVerified": self.runtime_verified,
            "schemaCompatible": self.schema_compatible,
        });
        if let Some(reason) = &self.reason {
            out["reason"] = json!(reason);
        }
        out
    }
}

/// A signed parmana document seen as what was signed and the signature.
#[derive(Debug, Clone)]
pub struct SignedParts<'a> {
    pub payload_type: &'static str,
    /// The whole document; the signed body is every field but `signature`.
    pub document: &'a Map<String, Value>,
    pub signature: &'a str,
    pub signer_key_id: &'a str,
}

impl SignedParts<'_> {
    /// JCS of the signed body.
    pub fn canonical_body(&self) -> String {
        canonicalize_without(self.document, &["signature"])
    }
}

/// Recognize an attestation (has `execution_state`), an override record (has `approved`) or a
/// checkpoint (has `digest`), check its fields are present, and split off the signature.
pub fn split_signed(doc: &Value) -> Result<SignedParts<'_>, String> {
    let obj = doc.as_object().ok_or("document is not a JSON object")?;
    let (payload_type, required) = if obj.contains_key("execution_state") {
        (ATTESTATION_TYPE, ATTESTATION_FIELDS)
    } else if obj.contains_key("approved") {
        (OVERRIDE_TYPE, OVERRIDE_FIELDS)
    } else if obj.contains_key("digest") {
        (CHECKPOINT_TYPE, CHECKPOINT_FIELDS)
    } else {
        return Err("document is neither an attestation, an override record nor a checkpoint".into());
    };
    if let Some(missing) = required.iter().find(|f| !obj.contains_key(**f)) {
        return Err(format!("missing field {missing}"));
    }
    let signature =
        obj.get("signature").ok_or("missing field signature")?.as_str().ok_or("signature is not a string")?;
    let signer_key_id = obj["signerKeyId"].as_str().ok_or("signerKeyId is not a string")?;
    Ok(SignedParts { payload_type, document: obj, signature, signer_key_id })
}

/// A document checked for everything but its signature: what to verify, and the report for either
/// outcome of that check.
pub struct Prepared {
    pub key: VerifyingKey,
    /// PAE(payload type, JCS(body)): the signed bytes.
    pub message: Vec<u8>,
    /// The decoded signature, or why it is not 64 bytes of standard base64.
    pub signature: Result<[u8; 64], &'static str>,
    runtime_verified: bool,
    schema_compatible: bool,
    id_consistent: bool,
}

impl Prepared {
    /// The report, checking the signature alone with `verify_strict`.
    pub fn verify_strict(&self) -> VerifyReport {
        let ok =
            self.signature.is_ok_and(|sig| self.key.verify_strict(&self.message, &Signature::from_bytes(&sig)).is_ok());
        self.report(ok)
    }

    /// The report, given whether the signature verified.
    pub fn report(&self, signature_ok: bool) -> VerifyReport {
        let reason = match (self.signature, signature_ok, self.runtime_verified, self.schema_compatible) {
            (Err(why), _, _, _) => Some(why.to_string()),
            (_, false, _, _) => Some("signature does not verify".to_string()),
            (_, true, false, _) => Some("runtimeHash does not match a known runtime version".to_string()),
            (_, true, true, false) => Some("schemaVersion is not supported".to_string()),
            _ if !self.id_consistent => Some("overrideId is not the hash of the record".to_string()),
            _ => None,
        };
        VerifyReport {
            valid: reason.is_none(),
            signature_verified: signature_ok,
            runtime_verified: self.runtime_verified,
            schema_compatible: self.schema_compatible,
            reason,
        }
    }
}

/// Check `doc`'s shape, key, runtime and schema, and compute what its signature must cover.
/// `key_for` returns the public key for a signerKeyId, or why there is none.
pub fn prepare(
    doc: &Value,
    key_for: impl FnOnce(&str) -> Result<VerifyingKey, String>,
) -> Result<Prepared, VerifyReport> {
    let parts = split_signed(doc).map_err(VerifyReport::invalid)?;
    let key = key_for(parts.signer_key_id).map_err(VerifyReport::invalid)?;
    let message = pae(parts.payload_type, parts.canonical_body().as_bytes());
    let body = parts.document;
    let runtime_verified = match (body["runtimeVersion"].as_str(), body["runtimeHash"].as_str()) {
        (Some(version), Some(hash)) => runtime_hash_of(version) == Some(hash),
        _ => false,
    };
    let schema_compatible = body["schemaVersion"].as_str().is_some_and(|v| SUPPORTED_SCHEMA_VERSIONS.contains(&v));
    // An override record's id is the hash of its own body.
    let id_consistent = parts.payload_type != OVERRIDE_TYPE
        || body["overrideId"].as_str() == Some(crate::overrides::override_id_of(body).as_str());
    Ok(Prepared {
        key,
        message,
        signature: decode_signature(parts.signature),
        runtime_verified,
        schema_compatible,
        id_consistent,
    })
}

/// Verify `doc` with `verify_strict`.
pub fn verify_document(doc: &Value, key_for: impl FnOnce(&str) -> Result<VerifyingKey, String>) -> VerifyReport {
    match prepare(doc, key_for) {
        Ok(p) => p.verify_strict(),
        Err(report) => report,
    }
}

/// Verify prepared documents, their signatures in one batch: each report is what
/// `verify_document` would say (see `batch`).
pub fn verify_prepared(prepared: &[Result<Prepared, VerifyReport>]) -> Vec<VerifyReport> {
    let mut items = Vec::new();
    let mut slots = Vec::new();
    for (i, p) in prepared.iter().enumerate() {
        if let Ok(Prepared { key, message, signature: Ok(signature), .. }) = p {
            items.push(crate::batch::Item { key, message, signature });
            slots.push(i);
        }
    }
    let verdicts = crate::batch::verify(&items);
    let mut ok = vec![false; prepared.len()];
    for (slot, verdict) in slots.into_iter().zip(verdicts) {
        ok[slot] = verdict;
    }
    prepared
        .iter()
        .zip(ok)
        .map(|(p, ok)| match p {
            Ok(p) => p.report(ok),
            Err(report) => report.clone(),
        })
        .collect()
}

/// The key a caller passed explicitly: it must be the one the document names.
pub fn explicit_key(key: VerifyingKey) -> impl FnOnce(&str) -> Result<VerifyingKey, String> {
    move |signer_key_id: &str| {
        if crate::keys::key_id(&key) == signer_key_id {
            Ok(key)
        } else {
            Err("signerKeyId does not match the given public key".into())
        }
    }
}

/// The same signature as a standard DSSE envelope.
pub fn dsse_envelope(doc: &Value) -> Result<Value, String> {
    let parts = split_signed(doc)?;
    let body = parts.canonical_body();
    crate::signing::decode_signature(parts.signature)?;
    Ok(json!({
        "payloadType": parts.payload_type,
        "payload": base64_encode(body.as_bytes()),
        "signatures": [{"keyid": parts.signer_key_id, "sig": parts.signature}],
    }))
}

/// The signed document a DSSE envelope of [`dsse_envelope`] carries: its payload with the
/// envelope's one signature put back. The payload must be the canonical body of a document of the
/// envelope's payload type, so verifying the document verifies exactly the envelope's bytes.
pub fn document_from_dsse(envelope: &Value) -> Result<Value, String> {
    let payload_type = envelope["payloadType"].as_str().ok_or("the envelope has no payloadType")?;
    let payload = envelope["payload"].as_str().ok_or("the envelope has no payload")?;
    let signatures = envelope["signatures"].as_array().ok_or("the envelope has no signatures")?;
    let [signature] = signatures.as_slice() else { return Err("the envelope must carry exactly one signature".into()) };
    let sig = signature["sig"].as_str().ok_or("the signature has no sig")?;
    let bytes = crate::signing::base64_decode(payload).map_err(|e| format!("payload: {e}"))?;
    let text = std::str::from_utf8(&bytes).map_err(|_| "the payload is not UTF-8")?;
    let body = crate::canonical::parse_json(text).map_err(|e| format!("the payload is not JSON: {e}"))?;
    let Value::Object(mut document) = body else { return Err("the payload is not a JSON object".into()) };
    if document.contains_key("signature") {
        return Err("the payload already holds a signature".into());
    }
    if crate::canonical::canonicalize_without(&document, &[]) != text {
        return Err("the payload is not canonical JSON (RFC 8785)".into());
    }
    if let Some(keyid) = signature["keyid"].as_str() {
        if document.get("signerKeyId").and_then(Value::as_str) != Some(keyid) {
            return Err("the signature's keyid is not the payload's signerKeyId".into());
        }
    }
    document.insert("signature".into(), json!(sig));
    let document = Value::Object(document);
    let expected = split_signed(&document)?.payload_type;
    if expected != payload_type {
        return Err(format!("payloadType {payload_type:?} does not fit the payload ({expected})"));
    }
    Ok(document)
}
