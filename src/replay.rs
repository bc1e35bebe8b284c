//! The replay state machine on `parmana.replay_state` (SPEC §7, §8), inside the caller's
//! transaction. Claims are one `INSERT .. ON CONFLICT DO UPDATE .. WHERE claimable`: a concurrent
//! duplicate blocks on the uncommitted row, then fails (or proceeds if the first transaction
//! rolled back). Other steps lock the row and apply the core's transition function.

use crate::errors::{raise, required, OrRaise};
use crate::settings::{FAILED_TTL, RESERVATION_TTL};
use crate::spi::{calling_role, prepared, prepared_write};
use parmana_core::hashes::is_sha256_hex;
use parmana_core::replay::{next, Current, ReplayState, Step};
use parmana_core::signals::validate_execution_id;
use parmana_core::ParmanaError;
use pgrx::pg_sys::BuiltinOid::{BOOLOID, INT4OID, TEXTOID};
use pgrx::prelude::*;

/// A claim of an execution id: unseen, EXPIRED and lapsed RESERVED/FAILED ids are claimable.
pub struct Claim<'a> {
    pub execution_id: &'a str,
    pub fingerprint: Option<&'a str>,
    pub target: ReplayState,
    pub parked: bool,
    pub policy: Option<(&'a str, &'a str)>,
    pub role: &'a str,
}

/// Seconds until a row in `state` lapses, or None when it never does.
fn ttl_of(state: ReplayState) -> Option<i32> {
    match state {
        ReplayState::Reserved => Some(RESERVATION_TTL.get()),
        ReplayState::Failed => Some(FAILED_TTL.get()),
        _ => None,
    }
}

/// Claim the id or raise `[INV-013@replay]`.
pub fn claim(c: &Claim<'_>) {
    let claimed = Spi::connect_mut(|client| {
        let plan = prepared_write(
            client,
            "INSERT INTO parmana.replay_state AS r \
               (execution_id, execution_fingerprint, state, parked, policy_id, policy_version, executed_by, created_at, updated_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, clock_timestamp(), clock_timestamp(), clock_timestamp() + make_interval(secs => $8)) \
             ON CONFLICT (execution_id) DO UPDATE SET \
               execution_fingerprint = EXCLUDED.execution_fingerprint, state = EXCLUDED.state, parked = EXCLUDED.parked, \
               policy_id = EXCLUDED.policy_id, policy_version = EXCLUDED.policy_version, executed_by = EXCLUDED.executed_by, \
               created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at, expires_at = EXCLUDED.expires_at \
             WHERE r.state = 'EXPIRED' OR (r.state IN ('RESERVED', 'FAILED') AND r.expires_at <= clock_timestamp()) \
             RETURNING 1",
            &[TEXTOID, TEXTOID, TEXTOID, BOOLOID, TEXTOID, TEXTOID, TEXTOID, INT4OID],
        );
        let args = [
            c.execution_id.into(),
            c.fingerprint.into(),
            c.target.as_str().into(),
            c.parked.into(),
            c.policy.map(|p| p.0).into(),
            c.policy.map(|p| p.1).into(),
            c.role.into(),
            ttl_of(c.target).into(),
        ];
        client.update(plan, None, &args).map(|t| !t.is_empty())
    })
    .or_raise();
    if !claimed {
        // Not claimable: the transition function says why (always a replay for a claim).
        let current = current(c.execution_id, false);
        let step = if c.target == ReplayState::Reserved { Step::Reserve } else { Step::MarkExecuted };
        raise(next(c.execution_id, current, step).err().unwrap_or_else(|| ParmanaError::Replay {
            execution_id: c.execution_id.to_owned(),
            state: "claimed concurrently".into(),
        }));
    }
}

macro_rules! select_current {
    () => {
        "SELECT state, parked, coalesce(expires_at <= clock_timestamp(), false) FROM parmana.replay_state WHERE execution_id = $1"
    };
}

/// The row with TTLs applied; `lock` takes `FOR UPDATE` so the step that follows is serialized.
fn current(execution_id: &str, lock: bool) -> Option<Current> {
    let row = Spi::connect_mut(|client| {
        let table = if lock {
            let plan = prepared_write(client, concat!(select_current!(), " FOR UPDATE"), &[TEXTOID]);
            client.update(plan, Some(1), &[execution_id.into()])?
        } else {
            client.select(prepared(client, select_current!(), &[TEXTOID]), Some(1), &[execution_id.into()])?
        };
        if table.is_empty() {
            return Ok::<_, pgrx::spi::SpiError>(None);
        }
        Ok(Some(table.first().get_three::<String, bool, bool>()?))
    })
    .or_raise();
    let (state, parked, lapsed) = row?;
    let state = state
        .as_deref()
        .and_then(ReplayState::parse)
        .unwrap_or_else(|| crate::errors::internal("replay_state.state", "unknown state"));
    Some(Current { state: state.effective(lapsed.unwrap_or(false)), parked: parked.unwrap_or(false) })
}

/// Apply a non-claiming step under the row lock.
fn step(execution_id: &str, step: Step) -> String {
    let to = next(execution_id, current(execution_id, true), step).or_raise();
    Spi::connect_mut(|client| {
        let plan = prepared_write(
            client,
            "UPDATE parmana.replay_state SET state = $2, updated_at = clock_timestamp(), \
               expires_at = clock_timestamp() + make_interval(secs => $3) WHERE execution_id = $1",
            &[TEXTOID, TEXTOID, INT4OID],
        );
        client.update(plan, None, &[execution_id.into(), to.as_str().into(), ttl_of(to).into()]).map(|_| ())
    })
    .or_raise();
    to.as_str().to_owned()
}

/// Move a parked id out of EXECUTING once `parmana_override` has resolved it.
pub fn resolve_parked(execution_id: &str, to: ReplayState) {
    let moved = Spi::connect_mut(|client| {
        client
            .update(
                "UPDATE parmana.replay_state SET state = $2, parked = false, updated_at = clock_timestamp(), expires_at = NULL \
                 WHERE execution_id = $1 AND state = 'EXECUTING' AND parked RETURNING 1",
                None,
                &[execution_id.into(), to.as_str().into()],
            )
            .map(|t| !t.is_empty())
    })
    .or_raise();
    if !moved {
        crate::errors::internal("resolve_parked", format!("{execution_id:?} is not parked in EXECUTING"));
    }
}

fn checked_id(execution_id: Option<String>) -> String {
    let id = required(execution_id, "execution_id");
    validate_execution_id(&id).or_raise();
    id
}

/// unseen or claimable → RESERVED (lapses after `parmana.reservation_ttl`).
#[pg_extern(volatile, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn parmana_replay_reserve(
    execution_id: Option<String>,
    execution_fingerprint: default!(Option<String>, "NULL"),
) -> String {
    let id = checked_id(execution_id);
    if let Some(fp) = &execution_fingerprint {
        if !is_sha256_hex(fp) {
            raise(ParmanaError::invalid_input(
                "VAL-015",
                "execution_fingerprint must be 64 lowercase hex characters (SHA-256)",
            ));
        }
    }
    let role = calling_role();
    claim(&Claim {
        execution_id: &id,
        fingerprint: execution_fingerprint.as_deref(),
        target: ReplayState::Reserved,
        parked: false,
        policy: None,
        role: &role,
    });
    ReplayState::Reserved.as_str().to_owned()
}

/// RESERVED → EXECUTING.
#[pg_extern(volatile, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn parmana_replay_start(execution_id: Option<String>) -> String {
    step(&checked_id(execution_id), Step::Start)
}

/// EXECUTING → CONFIRMED.
#[pg_extern(volatile, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn parmana_replay_confirm(execution_id: Option<String>) -> String {
    step(&checked_id(execution_id), Step::Confirm)
}

/// EXECUTING → OVERRIDDEN (not for ids parked by parmana_execute: those use parmana_override).
#[pg_extern(volatile, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn parmana_replay_override(execution_id: Option<String>) -> String {
    step(&checked_id(execution_id), Step::Override)
}

/// RESERVED / EXECUTING → FAILED (lapses after `parmana.failed_ttl`).
#[pg_extern(volatile, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn parmana_replay_fail(execution_id: Option<String>) -> String {
    step(&checked_id(execution_id), Step::Fail)
}

/// RESERVED / FAILED → EXPIRED.
#[pg_extern(volatile, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn parmana_replay_expire(execution_id: Option<String>) -> String {
    step(&checked_id(execution_id), Step::Expire)
}

/// unseen or claimable → CONFIRMED (the original's legacy two-method interface).
#[pg_extern(volatile, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn parmana_replay_mark_executed(execution_id: Option<String>) -> String {
    let id = checked_id(execution_id);
    let role = calling_role();
    claim(&Claim {
        execution_id: &id,
        fingerprint: None,
        target: ReplayState::Confirmed,
        parked: false,
        policy: None,
        role: &role,
    });
    ReplayState::Confirmed.as_str().to_owned()
}

/// Current state with TTLs applied; NULL when unseen.
#[pg_extern(stable, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn parmana_replay_state(execution_id: Option<String>) -> Option<String> {
    current(&required(execution_id, "execution_id"), false).map(|c| c.state.as_str().to_owned())
}

/// True for CONFIRMED / OVERRIDDEN.
#[pg_extern(stable, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn parmana_replay_has_executed(execution_id: Option<String>) -> bool {
    current(&required(execution_id, "execution_id"), false).is_some_and(|c| c.state.has_executed())
}

/// Apply TTLs to every lapsed row (RESERVED / FAILED → EXPIRED); returns how many changed.
#[pg_extern(volatile, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn parmana_replay_sweep() -> i64 {
    Spi::connect_mut(|client| {
        client
            .update(
                "UPDATE parmana.replay_state SET state = 'EXPIRED', updated_at = clock_timestamp(), expires_at = NULL \
                 WHERE state IN ('RESERVED', 'FAILED') AND expires_at <= clock_timestamp() AND NOT parked",
                None,
                &[],
            )
            .map(|t| t.len() as i64)
    })
    .or_raise()
}
