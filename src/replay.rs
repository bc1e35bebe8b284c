//! The replay claim on `parmana.replay_state` (SPEC §7, §8), inside the caller's transaction.
//! A concurrent duplicate blocks on the uncommitted row, then fails (or proceeds if the first
//! transaction rolled back): PostgreSQL's unique index decides, exactly one wins.

use crate::errors::{raise, OrRaise};
use crate::spi::{prepared, prepared_write};
use parmana_core::ParmanaError;
use pgrx::pg_sys::BuiltinOid::{BOOLOID, TEXTOID};
use pgrx::prelude::*;

pub const CONFIRMED: &str = "CONFIRMED";
pub const EXECUTING: &str = "EXECUTING";

/// Claim `execution_id` for a decision, ending in `state`. Unseen, EXPIRED and lapsed
/// RESERVED/FAILED ids are claimable; anything else raises `[INV-013@replay]`.
pub fn claim(execution_id: &str, fingerprint: &str, state: &str, parked: bool, policy_id: &str, policy_version: &str, role: &str) {
    let claimed = Spi::connect_mut(|client| {
        let plan = prepared_write(
            client,
            "INSERT INTO parmana.replay_state AS r \
               (execution_id, execution_fingerprint, state, parked, policy_id, policy_version, executed_by, created_at, updated_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, clock_timestamp(), clock_timestamp(), NULL) \
             ON CONFLICT (execution_id) DO UPDATE SET \
               execution_fingerprint = EXCLUDED.execution_fingerprint, state = EXCLUDED.state, parked = EXCLUDED.parked, \
               policy_id = EXCLUDED.policy_id, policy_version = EXCLUDED.policy_version, executed_by = EXCLUDED.executed_by, \
               created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at, expires_at = NULL \
             WHERE r.state = 'EXPIRED' OR (r.state IN ('RESERVED', 'FAILED') AND r.expires_at <= clock_timestamp()) \
             RETURNING 1",
            &[TEXTOID, TEXTOID, TEXTOID, BOOLOID, TEXTOID, TEXTOID, TEXTOID],
        );
        let args = [
            execution_id.into(),
            fingerprint.into(),
            state.into(),
            parked.into(),
            policy_id.into(),
            policy_version.into(),
            role.into(),
        ];
        client.update(plan, None, &args).map(|t| !t.is_empty())
    })
    .or_raise();
    if !claimed {
        raise(ParmanaError::Replay { execution_id: execution_id.to_owned(), state: describe_state(execution_id) });
    }
}

/// How the blocking row looks now, for the replay message.
fn describe_state(execution_id: &str) -> String {
    let row = Spi::connect(|client| {
        let plan = prepared(client, "SELECT state, parked FROM parmana.replay_state WHERE execution_id = $1", &[TEXTOID]);
        client.select(plan, Some(1), &[execution_id.into()])?.first().get_two::<String, bool>()
    })
    .unwrap_or((None, None));
    match row {
        (Some(state), Some(true)) => format!("{state} (pending override)"),
        (Some(state), _) if state == "RESERVED" || state == "EXECUTING" || state == "FAILED" => format!("{state} (in flight)"),
        (Some(state), _) => format!("{state} (already executed)"),
        _ => "claimed".to_owned(),
    }
}
