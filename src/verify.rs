//! `parmana_verify` (both forms), `parmana_dsse` and `parmana_runtime_manifest`.
//! Verification writes nothing and never raises on malformed input.

use crate::error::raise;
use crate::jsonb::{JsonbParsed, JsonbResult, JsonbText};
use crate::keys::{active_embedded_key_id, read_file_key, verifying_key};
use crate::settings::signing_key_file;
use parmana_core::canonical::parse_json;
use parmana_core::error::codes;
use parmana_core::keys::{parse_public_key_pem, Ed25519VerifyingKey};
use parmana_core::runtime::{capabilities, runtime_hash, RUNTIME_VERSION, SUPPORTED_SCHEMA_VERSIONS};
use parmana_core::verify::{dsse_envelope, explicit_key, verify_document, VerifyReport};
use parmana_core::ParmanaError;
use pgrx::prelude::*;
use serde_json::{json, Value};

fn report(r: VerifyReport) -> JsonbResult {
    // The common answer is built once per backend: verification is the auditors' hot loop.
    if r.valid {
        thread_local! {
            static VALID: &'static [u8] = JsonbResult::cache(
                r#"{"valid": true, "signatureVerified": true, "runtimeVerified": true, "schemaCompatible": true}"#);
        }
        return JsonbResult::Cached(VALID.with(|v| *v));
    }
    JsonbResult::Text(r.to_json().to_string())
}

thread_local! {
    // Parsed explicit keys by PEM text: parsing SPKI and decompressing the point costs as much as
    // a quarter of a verification. Bounded: callers usually pass one or a few keys.
    static EXPLICIT_KEYS: std::cell::RefCell<std::collections::HashMap<String, Ed25519VerifyingKey>> =
        Default::default();
}

fn explicit(pem: &str) -> Result<Ed25519VerifyingKey, &'static str> {
    if let Some(key) = EXPLICIT_KEYS.with(|k| k.borrow().get(pem).copied()) {
        return Ok(key);
    }
    let key = parse_public_key_pem(pem)?;
    EXPLICIT_KEYS.with(|k| {
        let mut k = k.borrow_mut();
        if k.len() >= 64 {
            k.clear();
        }
        k.insert(pem.to_owned(), key);
    });
    Ok(key)
}

fn invalid(reason: &str) -> JsonbResult {
    JsonbResult::Text(
        json!({
            "valid": false, "signatureVerified": false, "runtimeVerified": false, "schemaCompatible": false,
            "reason": reason,
        })
        .to_string(),
    )
}

fn parsed(attestation: Option<JsonbParsed>) -> Result<Value, JsonbResult> {
    let doc = attestation.ok_or_else(|| invalid("attestation is NULL"))?;
    doc.0.map_err(|_| invalid("attestation is not representable JSON"))
}

/// Verify with the key registry: the key is found by `signerKeyId` in `parmana.signing_keys`.
/// Runs with the caller's search_path (a SET clause would cost every row of a bulk verify), so the
/// one query it runs names its operator by schema: no object the caller's path finds is used.
#[pg_extern(stable, parallel_safe, name = "parmana_verify")]
fn parmana_verify_registry(attestation: Option<JsonbParsed>) -> JsonbResult {
    match parsed(attestation) {
        Ok(doc) => report(verify_document(&doc, verifying_key)),
        Err(r) => r,
    }
}

/// Verify with an explicit PEM SPKI public key: pure, no table access.
#[pg_extern(immutable, parallel_safe, name = "parmana_verify")]
fn parmana_verify_with_key(attestation: Option<JsonbParsed>, public_key: Option<String>) -> JsonbResult {
    let doc = match parsed(attestation) {
        Ok(doc) => doc,
        Err(r) => return r,
    };
    let Some(pem) = public_key else { return invalid("public_key is NULL") };
    match explicit(&pem) {
        Ok(key) => report(verify_document(&doc, explicit_key(key))),
        Err(reason) => invalid(reason),
    }
}

/// The signature of an attestation, override record or checkpoint record as a standard DSSE envelope.
#[pg_extern(immutable, parallel_safe)]
fn parmana_dsse(signed: Option<JsonbText>) -> Option<JsonbText> {
    let text = signed?;
    let doc = parse_json(&text.0)
        .unwrap_or_else(|_| raise(ParmanaError::new(&codes::ARG_001, "Document is not representable JSON")));
    match dsse_envelope(&doc) {
        Ok(env) => Some(JsonbText::from_value(&env)),
        Err(reason) => raise(ParmanaError::new(&codes::ARG_001, format!("Not a signed parmana document: {reason}"))),
    }
}

/// Runtime identity: version, runtimeHash, capabilities and the signer's key id.
#[pg_extern(stable, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn parmana_runtime_manifest() -> JsonbText {
    // A broken key file shows as a null signerKeyId: the health check itself must not fail.
    let (signer_key_id, source) = match signing_key_file() {
        Some(path) => (read_file_key(&path).ok().map(|(key, _)| key.key_id().to_owned()), "file"),
        None => (active_embedded_key_id(), "embedded"),
    };
    JsonbText::from_value(&json!({
        "runtimeVersion": RUNTIME_VERSION,
        "runtimeHash": runtime_hash(),
        "supportedSchemaVersions": SUPPORTED_SCHEMA_VERSIONS,
        "capabilities": capabilities(),
        "signerKeyId": signer_key_id,
        "signingKeySource": source,
    }))
}
