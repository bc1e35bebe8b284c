//! Reviews: `parmana_execute` parks a decision that requires an override (a pending row and a
//! notification), and `parmana_override` lets a reviewer resolve it. Approval signs an override
//! record and a `completed` resolution attestation (EXECUTING → OVERRIDDEN); rejection signs the
//! record and a `blocked` attestation (→ REJECTED). The policy is not re-evaluated.
//!
//! Authority is checked against who the caller is, never against what it types: its acting role
//! must hold parmana_approver, `approver_role` must be a role its login belongs to (and one the
//! policy's authorities list, if it has any), and the login that resolves may not be the login
//! that executed, nor (for a governed table's decision) one with the rights of the table's owner,
//! whose triggers run as every role that writes the table. Reviews never run inside a trigger.

use crate::attestation::{insert, AttestationRow};
use crate::error::{internal, raise, required, OrRaise};
use crate::identity::{acting_role, has_role, login, refuse_inside_trigger};
use crate::jsonb::{JsonbDatum, JsonbText};
use crate::keys::current_signer;
use crate::replay::resolve_parked;
use crate::spi::{prepared, prepared_write};
use parmana_core::attestation::{issued_at_now, AttestationFields, ExecutionState, PolicyIdentity};
use parmana_core::canonical::parse_json;
use parmana_core::error::codes;
use parmana_core::hashes::jcs_sha256;
use parmana_core::identifiers::validate_label;
use parmana_core::overrides::OverrideFields;
use parmana_core::policy::Decision;
use parmana_core::replay::ReplayState;
use parmana_core::ParmanaError;
use pgrx::pg_sys::BuiltinOid::{INT8OID, TEXTOID};
use pgrx::prelude::*;
use serde_json::{json, Value};

/// Announces a parked decision; the payload is `{"id": <parmana.overrides.id>}` and nothing more.
pub const PENDING_CHANNEL: &str = "parmana_pending_override";

/// Announces a resolution; the payload is `{"id": <parmana.overrides.id>}` and nothing more.
pub const RESOLVED_CHANNEL: &str = "parmana_override_resolved";

/// `pg_notify(channel, {"id": id})`, delivered to listeners when the transaction commits. Any role
/// that may connect can LISTEN (and NOTIFY) on any channel, so the payload only says which row
/// to look at; what it holds is read from parmana.overrides with the reviewer's own rights.
fn notify(channel: &str, override_row: i64) {
    Spi::connect_mut(|client| {
        let plan = prepared_write(client, "SELECT pg_catalog.pg_notify($1, $2)", &[TEXTOID, TEXTOID]);
        client.update(plan, None, &[channel.into(), json!({"id": override_row}).to_string().into()]).map(|_| ())
    })
    .or_raise();
}

/// A decision to park for review.
pub struct OverrideRequest<'a> {
    pub execution_id: &'a str,
    pub fingerprint: &'a str,
    pub policy_id: &'a str,
    pub policy_version: &'a str,
    pub decision: &'a Decision,
    pub attestation_id: i64,
    pub role: &'a str,
    pub login: &'a str,
}

/// Park a decision: a pending row in `parmana.overrides` and a notification at commit.
pub fn request_override(r: &OverrideRequest<'_>) {
    let id = Spi::connect_mut(|client| {
        let plan = prepared_write(
            client,
            "INSERT INTO parmana.overrides (execution_id, execution_fingerprint, policy_id, policy_version, action, \
               reason, pending_attestation_id, requested_by, requested_login) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
            &[TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT8OID, TEXTOID, TEXTOID],
        );
        let args = [
            r.execution_id.into(),
            r.fingerprint.into(),
            r.policy_id.into(),
            r.policy_version.into(),
            r.decision.action.as_str().into(),
            r.decision.reason.as_str().into(),
            r.attestation_id.into(),
            r.role.into(),
            r.login.into(),
        ];
        client.update(plan, Some(1), &args)?.first().get_one::<i64>()
    })
    .or_raise()
    .unwrap_or_else(|| internal("override request", "no id returned"));
    notify(PENDING_CHANNEL, id);
}

struct Pending {
    id: i64,
    execution_id: String,
    status: String,
    policy_id: String,
    requested_by: String,
    requested_login: Option<String>,
    attestation: String,
}

/// The pending row, locked: a second reviewer waits here, then finds it resolved.
fn lock_pending(execution_id: &str) -> Option<Pending> {
    Spi::connect_mut(|client| {
        let table = client.update(
            "SELECT o.id, o.resolution_status, o.policy_id, o.requested_by::text, o.requested_login::text, \
               a.attestation::text \
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
            execution_id: execution_id.to_owned(),
            status: row.get::<String>(2)?.unwrap_or_default(),
            policy_id: row.get::<String>(3)?.unwrap_or_default(),
            requested_by: row.get::<String>(4)?.unwrap_or_default(),
            requested_login: row.get::<String>(5)?,
            attestation: row.get::<String>(6)?.unwrap_or_default(),
        }))
    })
    .or_raise()
}

/// The approver roles a policy's authorities list (empty: any approver may resolve).
fn authorities(policy_id: &str) -> Vec<String> {
    Spi::connect(|client| {
        let rows = client.select(
            "SELECT approver_role::text FROM parmana.override_authorities WHERE policy_id = $1",
            None,
            &[policy_id.into()],
        )?;
        rows.into_iter().map(|r| r.get::<String>(1).map(Option::unwrap_or_default)).collect::<Result<Vec<_>, _>>()
    })
    .or_raise()
}

/// Refuse the resolution unless the caller really may resolve it.
fn check_authority(pending: &Pending, approver_role: &str, login: &str, role: &str) {
    if !has_role(role, "parmana_approver", "USAGE") {
        raise(ParmanaError::new(
            &codes::AUTH_001,
            format!("Role {role:?} may not resolve overrides: it is not a member of parmana_approver"),
        ));
    }
    if !has_role(login, approver_role, "MEMBER") {
        raise(
            ParmanaError::new(
                &codes::AUTH_002,
                format!("approver_role {approver_role:?} is not a role login {login:?} belongs to"),
            )
            .with_hint("Name a role the login is a member of; grant it to the reviewer's login if it should be."),
        );
    }
    let allowed = authorities(&pending.policy_id);
    if !allowed.is_empty() && !allowed.iter().any(|a| a == approver_role) {
        raise(
            ParmanaError::new(
                &codes::AUTH_002,
                format!("approver_role {approver_role:?} may not resolve overrides of policy {:?}", pending.policy_id),
            )
            .with_detail("parmana.override_authorities lists the approver roles for this policy."),
        );
    }
    // Logins decide, whatever role they act as; decisions parked before logins were recorded
    // name only the role that executed.
    let same = match &pending.requested_login {
        Some(executed) => executed == login,
        None => pending.requested_by == login || pending.requested_by == role,
    };
    if same {
        raise(ParmanaError::new(
            &codes::AUTH_003,
            format!("Separation of duties: login {login:?} executed this decision and may not resolve its override"),
        ));
    }
    if let Some(table) = governed_table_owned_by(&pending.execution_id, login) {
        raise(
            ParmanaError::new(
                &codes::AUTH_003,
                format!("Separation of duties: login {login:?} has the rights of the owner of governed table {table}"),
            )
            .with_detail(
                "The owner's triggers run as every role that writes the table, so it could have made this decision.",
            ),
        );
    }
}

/// The governed table (by name) whose execution ids this is and whose owner's rights a
/// non-superuser `login` has, if any.
fn governed_table_owned_by(execution_id: &str, login: &str) -> Option<String> {
    Spi::connect(|client| {
        let plan = prepared(
            client,
            "SELECT g.relation::pg_catalog.text FROM parmana.governed_tables g \
               JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) g.relation \
               JOIN pg_catalog.pg_roles r ON r.rolname OPERATOR(pg_catalog.=) $2 \
             WHERE pg_catalog.starts_with($1, g.execution_id_prefix) AND NOT r.rolsuper \
               AND pg_catalog.pg_has_role(r.oid, c.relowner, 'USAGE') LIMIT 1",
            &[TEXTOID, TEXTOID],
        );
        let rows = client.select(plan, Some(1), &[execution_id.into(), login.into()])?;
        if rows.is_empty() {
            return Ok(None);
        }
        rows.first().get_one::<String>()
    })
    .or_raise()
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
    let approved_by = required(approved_by, "approved_by");
    validate_label(&approved_by, "approved_by").or_raise();
    let approver_role = required(approver_role, "approver_role");
    let reason = required(reason, "reason");
    if reason.trim().is_empty() {
        raise(ParmanaError::new(&codes::VAL_016, "reason must not be blank"));
    }
    refuse_inside_trigger("parmana_override");
    let (role, login) = (acting_role(), login());

    let pending = lock_pending(&execution_id).unwrap_or_else(|| {
        raise(ParmanaError::new(
            &codes::SYS_021,
            format!("No pending execution found for executionId {execution_id:?}"),
        ))
    });
    if pending.status != "pending" {
        raise(ParmanaError::new(
            &codes::SYS_026,
            format!("Override already resolved for executionId {execution_id:?}"),
        ));
    }
    check_authority(&pending, &approver_role, &login, &role);

    let original: Value = parse_json(&pending.attestation).unwrap_or_else(|e| internal("pending attestation", e));
    let doc = original.as_object().unwrap_or_else(|| internal("pending attestation", "not an object"));
    let policy = PolicyIdentity::of_document(doc).unwrap_or_else(|| internal("pending attestation", "policy fields"));
    let decision = doc
        .get("decision")
        .and_then(Decision::from_json)
        .unwrap_or_else(|| internal("pending attestation", "decision"));
    let fingerprint =
        doc["execution_fingerprint"].as_str().unwrap_or_else(|| internal("pending attestation", "fingerprint"));

    let key = current_signer();
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
        resolved_by_login: &login,
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
        resolved_by_login: Some(&login),
        explanation: None,
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
        db_login: &login,
        override_id: Some(&override_id),
        attestation: JsonbDatum::from_text(resolution_json.to_string()),
    });
    resolve_parked(&execution_id, replay_to);
    Spi::connect_mut(|client| {
        client.update(
            "UPDATE parmana.overrides SET resolution_status = $2, approved_by = $3, approver_role = $4, \
               resolution_reason = $5, resolved_by = $6, resolved_at = pg_catalog.clock_timestamp(), override_id = $7, \
               override_record = $8::pg_catalog.jsonb, resolution_attestation_id = $9, resolved_login = $10 \
             WHERE id = $1",
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
                login.as_str().into(),
            ],
        )?;
        Ok::<_, pgrx::spi::SpiError>(())
    })
    .or_raise();
    notify(RESOLVED_CHANNEL, pending.id);
    JsonbText::from_value(&json!({
        "status": status,
        "overrideId": override_id,
        "executionId": execution_id,
        "override": override_json,
        "resolution": resolution_json,
    }))
}
