//! Override records: a reviewer's signed resolution of a pending decision. The record
//! names the pending attestation it resolves by hash; `overrideId` is the SHA-256 of its
//! canonical body (every field but `overrideId` and `signature`).

use crate::attestation::PolicyIdentity;
use crate::canonical::canonicalize_without;
use crate::hashes::sha256_hex;
use crate::keys::KeyPair;
use crate::policy::Decision;
use crate::signing::{sign, Signed, OVERRIDE_TYPE};
use serde_json::{json, Map, Value};

/// What a reviewer decided about one pending execution.
#[derive(Debug, Clone)]
pub struct OverrideFields<'a> {
    pub execution_id: &'a str,
    pub execution_fingerprint: &'a str,
    pub policy: PolicyIdentity<'a>,
    /// The decision as first made, unchanged (no policy re-evaluation).
    pub decision: &'a Decision,
    /// SHA-256 of the canonical pending attestation (signature included).
    pub pending_attestation_hash: &'a str,
    pub approved: bool,
    pub approved_by: &'a str,
    pub approver_role: &'a str,
    pub reason: &'a str,
    /// The database role that resolved it (`SET ROLE` included).
    pub resolved_by: &'a str,
    /// The login that resolved it (`session_user`): who really decided.
    pub resolved_by_login: &'a str,
    pub issued_at: String,
}

/// `overrideId` of a record: hex SHA-256 of JCS of the record without `overrideId` and `signature`.
pub fn override_id_of(record: &Map<String, Value>) -> String {
    sha256_hex(canonicalize_without(record, &["overrideId", "signature"]).as_bytes())
}

impl OverrideFields<'_> {
    fn body(&self, signer_key_id: &str) -> Map<String, Value> {
        let mut body = Map::new();
        body.insert("executionId".into(), json!(self.execution_id));
        body.insert("execution_fingerprint".into(), json!(self.execution_fingerprint));
        self.policy.insert_into(&mut body);
        body.insert("decision".into(), self.decision.to_json());
        body.insert("pendingAttestationHash".into(), json!(self.pending_attestation_hash));
        body.insert("approved".into(), json!(self.approved));
        body.insert("approvedBy".into(), json!(self.approved_by));
        body.insert("approverRole".into(), json!(self.approver_role));
        body.insert("reason".into(), json!(self.reason));
        body.insert("resolvedBy".into(), json!(self.resolved_by));
        body.insert("resolvedByLogin".into(), json!(self.resolved_by_login));
        body.insert("issuedAt".into(), json!(self.issued_at));
        body.insert("signerKeyId".into(), json!(signer_key_id));
        body
    }

    /// The signed override record, with its `overrideId`.
    pub fn sign(&self, key: &KeyPair) -> Signed {
        let mut body = self.body(key.key_id());
        let id = override_id_of(&body);
        body.insert("overrideId".into(), json!(id));
        sign(body, OVERRIDE_TYPE, key)
    }
}
