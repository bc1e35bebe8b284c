//! `parmana_override` (SPEC §9): a reviewer resolves a pending decision. Approval signs an
//! override record and a `completed` resolution attestation (EXECUTING → OVERRIDDEN); rejection
//! signs the record and a `blocked` attestation (→ REJECTED). The policy is not re-evaluated.

use crate::attestations::{insert, notify, AttestationRow};
use crate::errors::{internal, raise, required, OrRaise};
use crate::jsonb::{JsonbDatum, JsonbText};
use crate::keys::{active_embedded_key_id, signer};
use crate::replay::resolve_parked;
use crate::spi::calling_role;
use parmana_core::attestation::{issued_at_now, AttestationFields, ExecutionState, PolicyIdentity};
use parmana_core::canonical::parse_json;
use parmana_core::hashes::jcs_sha256;
use parmana_core::overrides::OverrideFields;
use parmana_core::policy::Decision;
use parmana_core::replay::ReplayState;
use parmana_core::ParmanaError;
use pgrx::prelude::*;
use serde_json::{json, Value};

/// The channel that announces resolved overrides.
pub const RESOLVED_CHANNEL: &str = "parmana_override_resolved";

/// A required, non-blank text argument.
fn required_text(value: Option<String>, argument: &'static str) -> String {
    let value = required(value, argument);
    if value.trim().is_empty() {
        raise(ParmanaError::invalid_input("VAL-016", format!("Argument {argument} must not be empty")));
    }
    value
}

fn not_authorized(code: &'static str, message: String) -> ! {
    raise(ParmanaError::NotAuthorized { code, message })
}

struct Pending {
    id: i64,
    status: String,
    policy_id: String,
    requested_by: String,
    attestation: String,
}

/// The pending row, locked: a second reviewer waits here, then finds it resolved.
fn lock_pending(execution_id: &str) -> Option<Pending> {
    Spi::connect_mut(|client| {
        let table = client.update(
            "SELECT o.id, o.resolution_status, o.policy_id, o.requested_by::text, a.attestation::text \
             FROM parmana.overrides o JOIN parmana.attestations a ON a.id = o.pending_attestation_id \
             WHERE o.execution_id = $1 FOR UPDATE OF o",
            Some(1),
            &[execution_id.into()],
        )?;
        if table.is_empty() {
            return Ok::<_, pgrx::spi::SpiError>(None);
        }
        let row = table.first();
        Ok(Some(Pending {
            id: row.get::<i64>(1)?.unwrap_or_default(),
            status: row.get::<String>(2)?.unwrap_or_default(),
            policy_id: row.get::<String>(3)?.unwrap_or_default(),
            requested_by: row.get::<String>(4)?.unwrap_or_default(),
            attestation: row.get::<String>(5)?.unwrap_or_default(),
        }))
    })
    .or_raise()
}

/// The caller must hold `parmana_approver`; the policy's authorities (if any) must list
/// `approver_role`; and the resolving role may not be the one that executed.
fn check_authority(role: &str, pending: &Pending, approver_role: &str) {
    let (is_approver, authorities) = Spi::connect(|client| {
        let row = client
            .select(
                "SELECT pg_catalog.pg_has_role($1::name, 'parmana_approver', 'USAGE'), \
                   (SELECT pg_catalog.array_agg(approver_role ORDER BY approver_role) FROM parmana.override_authorities WHERE policy_id = $2)",
                Some(1),
                &[role.into(), pending.policy_id.as_str().into()],
            )?
            .first()
            .get_two::<bool, Vec<String>>()?;
        Ok::<_, pgrx::spi::SpiError>(row)
    })
    .or_raise();
    if is_approver != Some(true) {
        not_authorized(
            "AUTH-001",
            format!("Role {role:?} may not resolve overrides: it is not a member of parmana_approver"),
        );
    }
    if let Some(allowed) = authorities.filter(|a| !a.is_empty()) {
        if !allowed.iter().any(|a| a == approver_role) {
            not_authorized(
                "AUTH-002",
                format!(
                    "approver_role {approver_role:?} may not resolve overrides of policy {:?}; allowed: {allowed:?}",
                    pending.policy_id
                ),
            );
        }
    }
    if role == pending.requested_by {
        not_authorized(
            "AUTH-003",
            format!("Separation of duties: role {role:?} executed this decision and may not resolve its override"),
        );
    }
}

/// Resolve a pending override.
#[pg_extern(volatile, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn parmana_override(
    execution_id: Option<String>,
    approved: Option<bool>,
    approved_by: Option<String>,
    approver_role: Option<String>,
    reason: Option<String>,
) -> JsonbText {
    let execution_id = required(execution_id, "execution_id");
    let approved = required(approved, "approved");
    let approved_by = required_text(approved_by, "approved_by");
    let approver_role = required_text(approver_role, "approver_role");
    let reason = required_text(reason, "reason");
    let role = calling_role();

    let pending = lock_pending(&execution_id)
        .unwrap_or_else(|| raise(ParmanaError::NoPendingOverride { execution_id: execution_id.clone() }));
    if pending.status != "pending" {
        raise(ParmanaError::OverrideAlreadyResolved { execution_id: execution_id.clone() });
    }
    check_authority(&role, &pending, &approver_role);

    let original: Value = parse_json(&pending.attestation).unwrap_or_else(|e| internal("pending attestation", e));
    let doc = original.as_object().unwrap_or_else(|| internal("pending attestation", "not an object"));
    let policy = PolicyIdentity::of_document(doc).unwrap_or_else(|| internal("pending attestation", "policy fields"));
    let decision = doc
        .get("decision")
        .and_then(Decision::from_json)
        .unwrap_or_else(|| internal("pending attestation", "decision"));
    let fingerprint =
        doc["execution_fingerprint"].as_str().unwrap_or_else(|| internal("pending attestation", "fingerprint"));

    let key = signer(active_embedded_key_id().as_deref());
    let record = OverrideFields {
        execution_id: &execution_id,
        execution_fingerprint: fingerprint,
        policy,
        decision: &decision,
        pending_attestation_hash: &jcs_sha256(&original),
        approved,
        approved_by: &approved_by,
        approver_role: &approver_role,
        reason: &reason,
        resolved_by: &role,
        issued_at: issued_at_now(),
    }
    .sign(&key);
    let override_id =
        record.document["overrideId"].as_str().unwrap_or_else(|| internal("override record", "overrideId")).to_owned();
    let override_json = Value::Object(record.document);

    let (state, replay_to, status) = if approved {
        (ExecutionState::Completed, ReplayState::Overridden, "approved")
    } else {
        (ExecutionState::Blocked, ReplayState::Rejected, "rejected")
    };
    let resolution = AttestationFields {
        execution_id: &execution_id,
        execution_fingerprint: fingerprint,
        policy,
        decision: &decision,
        state,
        issued_at: issued_at_now(),
        override_id: Some(&override_id),
    };
    let resolution_json = Value::Object(resolution.sign(&key).document);
    let resolution_id = insert(&AttestationRow {
        execution_id: &execution_id,
        kind: "resolution",
        fingerprint,
        policy_id: policy.policy_id,
        policy_version: policy.policy_version,
        action: &decision.action,
        execution_state: state.as_str(),
        signer_key_id: key.key_id(),
        issued_at: &resolution.issued_at,
        db_user: &role,
        override_id: Some(&override_id),
        attestation: JsonbDatum::from_text(resolution_json.to_string()),
    });
    resolve_parked(&execution_id, replay_to);
    Spi::connect_mut(|client| {
        client
            .update(
                "UPDATE parmana.overrides SET resolution_status = $2, approved_by = $3, approver_role = $4, resolution_reason = $5, \
                   resolved_by = $6, resolved_at = clock_timestamp(), override_id = $7, override_record = $8::jsonb, \
                   resolution_attestation_id = $9 WHERE id = $1",
                None,
                &[
                    pending.id.into(),
                    status.into(),
                    approved_by.as_str().into(),
                    approver_role.as_str().into(),
                    reason.as_str().into(),
                    role.as_str().into(),
                    override_id.as_str().into(),
                    override_json.to_string().into(),
                    resolution_id.into(),
                ],
            )
            .map(|_| ())
    })
    .or_raise();
    notify(
        RESOLVED_CHANNEL,
        &json!({"executionId": execution_id, "status": status, "overrideId": override_id, "policyId": policy.policy_id, "policyVersion": policy.policy_version}),
    );
    JsonbText::from_value(&json!({
        "status": status,
        "overrideId": override_id,
        "executionId": execution_id,
        "override": override_json,
        "resolution": resolution_json,
    }))
}
