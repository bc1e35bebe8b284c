//! `parmana_execute` and `parmana_simulate` (SPEC §7): the governed decision path.

use crate::errors::{raise, required, OrRaise};
use crate::jsonb::JsonbText;
use crate::keys::signer;
use crate::policies::{load, PolicyLookup};
use crate::replay::{claim, CONFIRMED, EXECUTING};
use crate::settings::signal_limits;
use crate::spi::{calling_role, prepared_write};
use parmana_core::attestation::{issued_at_now, AttestationFields, ExecutionState};
use parmana_core::canonical::parse_json;
use parmana_core::hashes::execution_fingerprint;
use parmana_core::policy::Decision;
use parmana_core::signals::{validate, validate_execution_id};
use parmana_core::ParmanaError;
use pgrx::pg_sys::BuiltinOid::TEXTOID;
use pgrx::prelude::*;
use serde_json::{json, Value};

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
    let fingerprint = execution_fingerprint(&lookup.policy.policy_id, &lookup.policy.policy_version, &validated.canonical);
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
) -> JsonbText {
    let execution_id = required(execution_id, "execution_id");
    let policy_id = required(policy_id, "policy_id");
    let policy_version = required(policy_version, "policy_version");
    let signals = required(signals, "signals");
    validate_execution_id(&execution_id).or_raise();
    let Evaluated { lookup, fingerprint, decision } = evaluate(&policy_id, &policy_version, &signals.0);
    let state = ExecutionState::of_decision(&decision);
    let parked = state == ExecutionState::PendingOverride;
    let role = calling_role();
    claim(
        &execution_id,
        &fingerprint,
        if parked { EXECUTING } else { CONFIRMED },
        parked,
        &policy_id,
        &policy_version,
        &role,
    );
    let key = signer(lookup.active_key_id.as_deref());
    let fields = AttestationFields {
        execution_id: &execution_id,
        execution_fingerprint: &fingerprint,
        policy: &lookup.policy,
        decision: &decision,
        state,
        issued_at: issued_at_now(),
        override_id: None,
    };
    let signed = fields.sign(&key);
    let attestation = Value::Object(signed.document);
    let text = attestation.to_string();
    Spi::connect_mut(|client| {
        let plan = prepared_write(
            client,
            "INSERT INTO parmana.attestations \
               (execution_id, kind, execution_fingerprint, policy_id, policy_version, action, execution_state, signer_key_id, issued_at, db_user, attestation) \
             VALUES ($1, 'decision', $2, $3, $4, $5, $6, $7, $8::timestamptz, $9, $10::jsonb)",
            &[TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID],
        );
        let args = [
            execution_id.as_str().into(),
            fingerprint.as_str().into(),
            policy_id.as_str().into(),
            policy_version.as_str().into(),
            decision.action.as_str().into(),
            state.as_str().into(),
            key.key_id().into(),
            fields.issued_at.as_str().into(),
            role.as_str().into(),
            text.as_str().into(),
        ];
        client.update(plan, None, &args).map(|_| ())
    })
    .or_raise();
    JsonbText(text)
}

/// Evaluate only: no replay claim, no signature, no row.
#[pg_extern(stable, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn parmana_simulate(policy_id: Option<String>, policy_version: Option<String>, signals: Option<JsonbText>) -> JsonbText {
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
