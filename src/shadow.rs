//! Shadow evaluation: while an admin has a candidate version shadowing a policy version
//! (`parmana.shadow_evaluations`), every execution of that version also evaluates the candidate on
//! the same signals: no signature, no replay claim, no effect on the decision. Executions where the
//! candidate decides differently (action, rule or review), or refuses the signals, are recorded in
//! `parmana.shadow_divergences`.

use crate::error::OrRaise;
use crate::policy::compiled;
use crate::settings::signal_limits;
use crate::spi::prepared_write;
use parmana_core::policy::{CompiledPolicy, Decision};
use parmana_core::signals::validate;
use pgrx::pg_sys::BuiltinOid::{BOOLOID, TEXTOID};
use pgrx::prelude::*;
use serde_json::Value;

/// One execution to shadow.
pub struct Run<'a> {
    pub policy: &'a CompiledPolicy,
    pub candidate: &'a str,
    pub candidate_hash: &'a str,
    pub execution_id: &'a str,
    pub fingerprint: &'a str,
    /// The signals as the caller gave them: the candidate validates them by its own schema.
    pub signals: &'a Value,
    pub decision: &'a Decision,
}

/// Evaluate the candidate and record a divergence, if any.
pub fn evaluate(run: &Run<'_>) {
    let candidate = compiled(&run.policy.policy_id, run.candidate, run.candidate_hash);
    let outcome = validate(&candidate, run.signals, signal_limits()).and_then(|v| candidate.evaluate(&v.values));
    let (decision, error) = match &outcome {
        Ok(d)
            if d.action == run.decision.action
                && d.rule_id == run.decision.rule_id
                && d.requires_override == run.decision.requires_override =>
        {
            return
        }
        Ok(d) => (Some(d), None),
        Err(e) => (None, Some(e.code())),
    };
    Spi::connect_mut(|client| {
        let plan = prepared_write(
            client,
            "INSERT INTO parmana.shadow_divergences (policy_id, policy_version, candidate_version, execution_id, \
               execution_fingerprint, action, rule_id, requires_override, candidate_action, candidate_rule_id, \
               candidate_requires_override, candidate_error) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            &[
                TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, BOOLOID, TEXTOID, TEXTOID, BOOLOID,
                TEXTOID,
            ],
        );
        let args = [
            run.policy.policy_id.as_str().into(),
            run.policy.policy_version.as_str().into(),
            run.candidate.into(),
            run.execution_id.into(),
            run.fingerprint.into(),
            run.decision.action.as_str().into(),
            run.decision.rule_id.as_str().into(),
            run.decision.requires_override.into(),
            decision.map(|d| d.action.as_str()).into(),
            decision.map(|d| d.rule_id.as_str()).into(),
            decision.map(|d| d.requires_override).into(),
            error.into(),
        ];
        client.update(plan, None, &args).map(|_| ())
    })
    .or_raise();
}
