//! `parmana_execute` and `parmana_simulate`: the governed decision path.

use crate::attestation::{insert, AttestationRow};
use crate::error::{raise, required, OrRaise};
use crate::identity::{acting_role, login};
use crate::jsonb::{JsonbDatum, JsonbText};
use crate::keys::signer;
use crate::overrides::{request_override, OverrideRequest};
use crate::policy::{load, PolicyLookup};
use crate::replay::{check_namespace, claim, Claim};
use crate::settings::{signal_limits, EXPLAIN_DECISIONS};
use crate::shadow;
use parmana_core::attestation::{issued_at_now, AttestationFields, ExecutionState};
use parmana_core::canonical::parse_json;
use parmana_core::error::codes;
use parmana_core::explain::Explanation;
use parmana_core::hashes::execution_fingerprint;
use parmana_core::identifiers::validate_execution_id;
use parmana_core::policy::Decision;
use parmana_core::replay::ReplayState;
use parmana_core::signals::validate;
use parmana_core::ParmanaError;
use pgrx::prelude::*;
use serde_json::{json, Value};

/// What evaluation of signals under a policy yields, before anything is claimed or signed.
struct Evaluated {
    lookup: PolicyLookup,
    signals: Value,
    fingerprint: String,
    decision: Decision,
    explanation: Option<Explanation>,
}

/// Load the policy, validate and normalize signals, fingerprint and evaluate (and explain, when
/// asked). Touches no replay row.
fn evaluate(
    policy_id: &str,
    policy_version: &str,
    signals: &str,
    execution_id: Option<&str>,
    explain: bool,
) -> Evaluated {
    let lookup = load(policy_id, policy_version, execution_id);
    let signals = parse_json(signals).unwrap_or_else(|e| {
        // serde's message names a position, never the value.
        raise(ParmanaError::new(&codes::VAL_010, "Signals are not representable").with_detail(e.to_string()))
    });
    let validated = validate(&lookup.policy, &signals, signal_limits()).or_raise();
    let fingerprint =
        execution_fingerprint(&lookup.policy.policy_id, &lookup.policy.policy_version, &validated.canonical);
    let (decision, explanation) = if explain {
        let (decision, why) = lookup.policy.explain(&validated.values).or_raise();
        (decision, Some(why))
    } else {
        (lookup.policy.evaluate(&validated.values).or_raise(), None)
    };
    Evaluated { lookup, signals, fingerprint, decision, explanation }
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
    let Evaluated { lookup, signals, fingerprint, decision, explanation } =
        evaluate(&policy_id, &policy_version, &signals.0, Some(&execution_id), EXPLAIN_DECISIONS.get());
    let (role, login) = (acting_role(), login());
    check_namespace(&execution_id, lookup.namespace_owner.as_deref(), &login);
    let state = ExecutionState::of_decision(&decision);
    let parked = state == ExecutionState::PendingOverride;
    claim(&Claim {
        execution_id: &execution_id,
        fingerprint: Some(&fingerprint),
        target: if parked { ReplayState::Executing } else { ReplayState::Confirmed },
        parked,
        policy: Some((&policy_id, &policy_version)),
        role: &role,
        login: &login,
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
        resolved_by_login: None,
        explanation: explanation.map(|why| why.compact_json()),
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
        db_login: &login,
        override_id: None,
        attestation,
    });
    if parked {
        request_override(&OverrideRequest {
            execution_id: &execution_id,
            fingerprint: &fingerprint,
            policy_id: &policy_id,
            policy_version: &policy_version,
            decision: &decision,
            attestation_id,
            role: &role,
            login: &login,
        });
    }
    if let Some((candidate, candidate_hash)) = &lookup.shadow {
        shadow::evaluate(&shadow::Run {
            policy: &lookup.policy,
            candidate,
            candidate_hash,
            execution_id: &execution_id,
            fingerprint: &fingerprint,
            signals: &signals,
            decision: &decision,
        });
    }
    attestation
}

/// Evaluate only: no replay claim, no signature, no row. Says why: which conditions of the
/// matching rule held and where each rule before it failed (signal names and operators only).
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
    let Evaluated { lookup, fingerprint, decision, explanation, .. } =
        evaluate(&policy_id, &policy_version, &signals.0, None, true);
    JsonbText::from_value(&json!({
        "simulated": true,
        "policyId": lookup.policy.policy_id,
        "policyVersion": lookup.policy.policy_version,
        "policyHash": lookup.policy.policy_hash,
        "execution_fingerprint": fingerprint,
        "decision": decision.to_json(),
        "execution_state": ExecutionState::of_decision(&decision).as_str(),
        "explanation": explanation.map(|why| why.to_json()),
    }))
}
