//! Attestations: the flat signed record of one decision.

use crate::keys::KeyPair;
use crate::policy::Decision;
use crate::runtime::{runtime_hash, RUNTIME_VERSION};
use crate::signing::{sign, Signed, ATTESTATION_TYPE};
use serde_json::{json, Map, Value};
use std::time::SystemTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecutionState {
    Completed,
    PendingOverride,
    Blocked,
}

impl ExecutionState {
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionState::Completed => "completed",
            ExecutionState::PendingOverride => "pending_override",
            ExecutionState::Blocked => "blocked",
        }
    }

    /// A fresh decision is pending when its rule requires an override.
    pub fn of_decision(decision: &Decision) -> ExecutionState {
        if decision.requires_override {
            ExecutionState::PendingOverride
        } else {
            ExecutionState::Completed
        }
    }
}

/// Which policy version decided: what attestations and override records name.
#[derive(Debug, Clone, Copy)]
pub struct PolicyIdentity<'a> {
    pub policy_id: &'a str,
    pub policy_version: &'a str,
    pub policy_hash: &'a str,
    pub schema_version: &'a str,
}

impl<'a> PolicyIdentity<'a> {
    /// The identity an attestation or override record states.
    pub fn of_document(doc: &'a Map<String, Value>) -> Option<PolicyIdentity<'a>> {
        Some(PolicyIdentity {
            policy_id: doc.get("policyId")?.as_str()?,
            policy_version: doc.get("policyVersion")?.as_str()?,
            policy_hash: doc.get("policyHash")?.as_str()?,
            schema_version: doc.get("schemaVersion")?.as_str()?,
        })
    }

    /// Writes the policy and runtime identity fields every signed document carries.
    pub(crate) fn insert_into(&self, body: &mut Map<String, Value>) {
        body.insert("policyId".into(), json!(self.policy_id));
        body.insert("policyVersion".into(), json!(self.policy_version));
        body.insert("policyHash".into(), json!(self.policy_hash));
        body.insert("schemaVersion".into(), json!(self.schema_version));
        body.insert("runtimeVersion".into(), json!(RUNTIME_VERSION));
        body.insert("runtimeHash".into(), json!(runtime_hash()));
    }
}

/// Everything an attestation states, before signing.
#[derive(Debug, Clone)]
pub struct AttestationFields<'a> {
    pub execution_id: &'a str,
    pub execution_fingerprint: &'a str,
    pub policy: PolicyIdentity<'a>,
    pub decision: &'a Decision,
    pub state: ExecutionState,
    pub issued_at: String,
    pub override_id: Option<&'a str>,
    /// A resolution names the login that resolved the override it follows.
    pub resolved_by_login: Option<&'a str>,
    /// Why the policy decided, as condition paths (`explain::Explanation::compact_json`), when
    /// the deployment asks for it (`parmana.explain_decisions`).
    pub explanation: Option<Value>,
}

/// The current time as RFC 3339 UTC with microseconds, e.g. `2026-11-26T00:16:25.123456Z`.
pub fn issued_at_now() -> String {
    humantime::format_rfc3339_micros(SystemTime::now()).to_string()
}

impl AttestationFields<'_> {
    /// The attestation without `signature`, signed by `signer_key_id`.
    pub fn body(&self, signer_key_id: &str) -> Map<String, Value> {
        let mut body = Map::new();
        body.insert("executionId".into(), json!(self.execution_id));
        body.insert("execution_fingerprint".into(), json!(self.execution_fingerprint));
        self.policy.insert_into(&mut body);
        body.insert("signalsHash".into(), json!(self.execution_fingerprint));
        body.insert("decision".into(), self.decision.to_json());
        body.insert("execution_state".into(), json!(self.state.as_str()));
        body.insert("issuedAt".into(), json!(self.issued_at));
        body.insert("signerKeyId".into(), json!(signer_key_id));
        if let Some(id) = self.override_id {
            body.insert("overrideId".into(), json!(id));
        }
        if let Some(login) = self.resolved_by_login {
            body.insert("resolvedByLogin".into(), json!(login));
        }
        if let Some(explanation) = &self.explanation {
            body.insert("explanation".into(), explanation.clone());
        }
        body
    }

    pub fn sign(&self, key: &KeyPair) -> Signed {
        sign(self.body(key.key_id()), ATTESTATION_TYPE, key)
    }
}
