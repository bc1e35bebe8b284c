//! `parmana_execute` and `parmana_simulate` (SPEC §7): the governed decision path.

use crate::attestations::{insert, notify, AttestationRow};
use crate::errors::{raise, required, OrRaise};
use crate::jsonb::{JsonbDatum, JsonbText};
use crate::keys::signer;
use crate::policies::{load, PolicyLookup};
use crate::replay::{claim, Claim};
use crate::settings::signal_limits;
use crate::spi::{calling_role, prepared_write};
use parmana_core::attestation::{issued_at_now, AttestationFields, ExecutionState};
use parmana_core::canonical::parse_json;
use parmana_core::hashes::execution_fingerprint;
use parmana_core::policy::Decision;
use parmana_core::replay::ReplayState;
use parmana_core::signals::{validate, validate_execution_id};
use parmana_core::ParmanaError;
use pgrx::pg_sys::BuiltinOid::{INT8OID, TEXTOID};
use pgrx::prelude::*;
use serde_json::{json, Value};

/// The channel that announces decisions waiting for a reviewer.
pub const PENDING_CHANNEL: &str = "parmana_pending_override";

/// What evaluation of signals under a policy yields, before anything is claimed or signed.
struct Evaluated {
    lookup: PolicyLookup,
    fingerprint: String,
    decision: Decision,
}

/// Load the policy, validate and normalize signals, fingerprint and evaluate. Touches no replay row.
fn evaluate(policy_id: &str, policy_version: &str, signals: &str) -> Evaluated {
    let lookup = load(policy_id, policy_version);
    let signals = parse_json(signals).unwrap_or_else(|e| {
        // serde's message names a position, never the value.
        raise(ParmanaError::invalid_input("VAL-010", format!("Signals are not representable: {e}")))
    });
    let validated = validate(&lookup.policy, &signals, signal_limits()).or_raise();
    let fingerprint =
        execution_fingerprint(&lookup.policy.policy_id, &lookup.policy.policy_version, &validated.canonical);
    let decision = lookup.policy.evaluate(&validated.values).or_raise();
    Evaluated { lookup, fingerprint, decision }
}

/// Validate, fingerprint, evaluate, claim the replay key, sign, store; returns the attestation.
#[pg_extern(volatile, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn parmana_execute(
    execution_id: Option<String>,
    policy_id: Option<String>,
    policy_version: Option<String>,
    signals: Option<JsonbText>,
) -> JsonbDatum {
    let execution_id = required(execution_id, "execution_id");
    let policy_id = required(policy_id, "policy_id");
    let policy_version = required(policy_version, "policy_version");
    let signals = required(signals, "signals");
    validate_execution_id(&execution_id).or_raise();
    let Evaluated { lookup, fingerprint, decision } = evaluate(&policy_id, &policy_version, &signals.0);
    let state = ExecutionState::of_decision(&decision);
    let parked = state == ExecutionState::PendingOverride;
    let role = calling_role();
    claim(&Claim {
        execution_id: &execution_id,
        fingerprint: Some(&fingerprint),
        target: if parked { ReplayState::Executing } else { ReplayState::Confirmed },
        parked,
        policy: Some((&policy_id, &policy_version)),
        role: &role,
    });
    let key = signer(lookup.active_key_id.as_deref());
    let fields = AttestationFields {
        execution_id: &execution_id,
        execution_fingerprint: &fingerprint,
        policy: lookup.policy.identity(),
        decision: &decision,
        state,
        issued_at: issued_at_now(),
        override_id: None,
    };
    // Parsed into jsonb once: the same datum is stored and returned.
    let attestation = JsonbDatum::from_text(Value::Object(fields.sign(&key).document).to_string());
    let attestation_id = insert(&AttestationRow {
        execution_id: &execution_id,
        kind: "decision",
        fingerprint: &fingerprint,
        policy_id: &policy_id,
        policy_version: &policy_version,
        action: &decision.action,
        execution_state: state.as_str(),
        signer_key_id: key.key_id(),
        issued_at: &fields.issued_at,
        db_user: &role,
        override_id: None,
        attestation,
    });
    if parked {
        request_override(&execution_id, &fingerprint, &policy_id, &policy_version, &decision, attestation_id, &role);
    }
    attestation
}

/// Park a decision for review: a pending row in `parmana.overrides` and a notification that
/// listeners receive at commit.
fn request_override(
    execution_id: &str,
    fingerprint: &str,
    policy_id: &str,
    policy_version: &str,
    decision: &Decision,
    attestation_id: i64,
    role: &str,
) {
    Spi::connect_mut(|client| {
        let plan = prepared_write(
            client,
            "INSERT INTO parmana.overrides                (execution_id, execution_fingerprint, policy_id, policy_version, action, reason, pending_attestation_id, requested_by)              VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT8OID, TEXTOID],
        );
        let args = [
            execution_id.into(),
            fingerprint.into(),
            policy_id.into(),
            policy_version.into(),
            decision.action.as_str().into(),
            decision.reason.as_str().into(),
            attestation_id.into(),
            role.into(),
        ];
        client.update(plan, None, &args).map(|_| ())
    })
    .or_raise();
    notify(
        PENDING_CHANNEL,
        &json!({
            "executionId": execution_id,
            "policyId": policy_id,
            "policyVersion": policy_version,
            "action": decision.action,
            "reason": decision.reason,
        }),
    );
}

/// Evaluate only: no replay claim, no signature, no row.
#[pg_extern(stable, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn parmana_simulate(
    policy_id: Option<String>,
    policy_version: Option<String>,
    signals: Option<JsonbText>,
) -> JsonbText {
    let policy_id = required(policy_id, "policy_id");
    let policy_version = required(policy_version, "policy_version");
    let signals = required(signals, "signals");
    let Evaluated { lookup, fingerprint, decision } = evaluate(&policy_id, &policy_version, &signals.0);
    JsonbText::from_value(&json!({
        "simulated": true,
        "policyId": lookup.policy.policy_id,
        "policyVersion": lookup.policy.policy_version,
        "policyHash": lookup.policy.policy_hash,
        "execution_fingerprint": fingerprint,
        "decision": {
            "action": decision.action,
            "requires_override": decision.requires_override,
            "reason": decision.reason,
            "ruleId": decision.rule_id,
        },
        "execution_state": ExecutionState::of_decision(&decision).as_str(),
    }))
}
