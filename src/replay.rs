//! The replay state machine on `parmana.replay_state`, inside the caller's transaction. Claims are
//! one `INSERT .. ON CONFLICT DO UPDATE .. WHERE claimable`: a concurrent duplicate blocks on the
//! uncommitted row, then fails (or proceeds if the first transaction rolled back). Other steps
//! lock the row and apply the core's transition function.
//!
//! Who may do what: an id inside an execution namespace may be claimed only by logins that belong
//! to the namespace's owner role. A step on a claimed id is allowed to the login that claimed it,
//! to members of its namespace's owner role, and to parmana_admin; the override step only to a
//! parmana_approver who is not the login that claimed it. Every step is logged with who took it.

use crate::error::{raise, required, OrRaise};
use crate::identity::{acting_role, has_role, login, refuse_inside_trigger};
use crate::settings::{FAILED_TTL, RESERVATION_TTL};
use crate::spi::{prepared, prepared_write};
use parmana_core::error::codes;
use parmana_core::hashes::is_sha256_hex;
use parmana_core::identifiers::validate_execution_id;
use parmana_core::replay::{next, Current, ReplayState, Step};
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
    pub login: &'a str,
}

/// Seconds until a row in `state` lapses, or None when it never does.
fn ttl_of(state: ReplayState) -> Option<i32> {
    match state {
        ReplayState::Reserved => Some(RESERVATION_TTL.get()),
        ReplayState::Failed => Some(FAILED_TTL.get()),
        _ => None,
    }
}

/// The owner role of the longest execution namespace `execution_id` falls in, if any.
fn namespace_owner(execution_id: &str) -> Option<String> {
    Spi::connect(|client| {
        let plan = prepared(
            client,
            "SELECT n.owner_role::pg_catalog.text FROM parmana.execution_namespaces n \
             WHERE pg_catalog.starts_with($1, n.prefix) ORDER BY pg_catalog.length(n.prefix) DESC LIMIT 1",
            &[TEXTOID],
        );
        let table = client.select(plan, Some(1), &[execution_id.into()])?;
        if table.is_empty() {
            return Ok(None);
        }
        table.first().get_one::<String>()
    })
    .or_raise()
}

/// Refuse a login outside the namespace that owns `execution_id` (`AUTH-005`).
pub fn check_namespace(execution_id: &str, owner: Option<&str>, login: &str) {
    if let Some(owner) = owner {
        if !has_role(login, owner, "MEMBER") {
            raise(
                ParmanaError::new(
                    &codes::AUTH_005,
                    format!("Login {login:?} may not claim execution id {execution_id:?}"),
                )
                .with_detail(format!("The id lies in an execution namespace owned by role {owner:?}."))
                .with_hint("Ids under a namespace are claimed only by members of its owner role."),
            );
        }
    }
}

/// Claim the id or raise `[INV-013@replay]`.
pub fn claim(c: &Claim<'_>) {
    let claimed = Spi::connect_mut(|client| {
        let plan = prepared_write(
            client,
            "INSERT INTO parmana.replay_state AS r \
               (execution_id, execution_fingerprint, state, parked, policy_id, policy_version, executed_by, \
                executed_login, created_at, updated_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $9, pg_catalog.clock_timestamp(), pg_catalog.clock_timestamp(), \
                     pg_catalog.clock_timestamp() + pg_catalog.make_interval(secs => $8)) \
             ON CONFLICT (execution_id) DO UPDATE SET \
               execution_fingerprint = EXCLUDED.execution_fingerprint, state = EXCLUDED.state, \
               parked = EXCLUDED.parked, policy_id = EXCLUDED.policy_id, policy_version = EXCLUDED.policy_version, \
               executed_by = EXCLUDED.executed_by, executed_login = EXCLUDED.executed_login, \
               created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at, expires_at = EXCLUDED.expires_at \
             WHERE r.state = 'EXPIRED' \
                OR (r.state IN ('RESERVED', 'FAILED') AND r.expires_at <= pg_catalog.clock_timestamp()) \
             RETURNING 1",
            &[TEXTOID, TEXTOID, TEXTOID, BOOLOID, TEXTOID, TEXTOID, TEXTOID, INT4OID, TEXTOID],
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
            c.login.into(),
        ];
        client.update(plan, None, &args).map(|t| !t.is_empty())
    })
    .or_raise();
    if !claimed {
        // Not claimable: the transition function says why (always a replay for a claim).
        let current = current(c.execution_id, false).map(|row| row.current);
        raise(
            next(c.execution_id, current, Step::Reserve)
                .err()
                .unwrap_or_else(|| ParmanaError::replay(c.execution_id, "claimed concurrently")),
        );
    }
}

/// A replay row as steps see it: its effective state and who claimed it.
struct Row {
    current: Current,
    executed_by: String,
    executed_login: Option<String>,
}

macro_rules! select_current {
    () => {
        "SELECT state, parked, coalesce(expires_at <= pg_catalog.clock_timestamp(), false), executed_by::text, \
           executed_login::text \
         FROM parmana.replay_state WHERE execution_id = $1"
    };
}

/// The row with TTLs applied; `lock` takes `FOR UPDATE` so the step that follows is serialized.
fn current(execution_id: &str, lock: bool) -> Option<Row> {
    Spi::connect_mut(|client| {
        let table = if lock {
            let plan = prepared_write(client, concat!(select_current!(), " FOR UPDATE"), &[TEXTOID]);
            client.update(plan, Some(1), &[execution_id.into()])?
        } else {
            client.select(prepared(client, select_current!(), &[TEXTOID]), Some(1), &[execution_id.into()])?
        };
        if table.is_empty() {
            return Ok::<_, pgrx::spi::SpiError>(None);
        }
        let row = table.first();
        let state = row.get::<String>(1)?.as_deref().and_then(ReplayState::parse);
        let state = state.unwrap_or_else(|| crate::error::internal("replay_state.state", "unknown state"));
        let lapsed = row.get::<bool>(3)?.unwrap_or(false);
        Ok(Some(Row {
            current: Current { state: state.effective(lapsed), parked: row.get::<bool>(2)?.unwrap_or(false) },
            executed_by: row.get::<String>(4)?.unwrap_or_default(),
            executed_login: row.get::<String>(5)?,
        }))
    })
    .or_raise()
}

/// Whether the session claimed `row`: its login, or for ids claimed before logins were recorded,
/// its acting role.
fn claimed_by_caller(row: &Row, login: &str, role: &str) -> bool {
    match &row.executed_login {
        Some(claimer) => claimer == login,
        None => row.executed_by == role,
    }
}

/// Refuse a step on someone else's id (`AUTH-004`), or an override by a non-reviewer or by the
/// login that claimed it (`AUTH-001`, `AUTH-003`).
fn check_step_allowed(execution_id: &str, row: &Row, step: Step, login: &str, role: &str) {
    let mine = claimed_by_caller(row, login, role);
    if step == Step::Override {
        if !has_role(role, "parmana_approver", "USAGE") {
            raise(
                ParmanaError::new(&codes::AUTH_001, format!("Role {role:?} may not take the override step"))
                    .with_detail("The override step records a reviewer's decision: it needs parmana_approver."),
            );
        }
        if mine {
            raise(ParmanaError::new(
                &codes::AUTH_003,
                format!(
                    "Separation of duties: login {login:?} claimed execution id {execution_id:?} \
                     and may not override it"
                ),
            ));
        }
        return;
    }
    if mine || has_role(login, "parmana_admin", "MEMBER") {
        return;
    }
    if let Some(owner) = namespace_owner(execution_id) {
        if has_role(login, &owner, "MEMBER") {
            return;
        }
    }
    raise(
        ParmanaError::new(
            &codes::AUTH_004,
            format!("Login {login:?} may not take the {} step on execution id {execution_id:?}", step.name()),
        )
        .with_detail("Another login claimed it.")
        .with_hint("Steps belong to the login that reserved the id, its namespace's owner role, and parmana_admin."),
    );
}

/// Apply a non-claiming step under the row lock, and log it.
fn step(execution_id: &str, step: Step) -> String {
    refuse_inside_trigger(&format!("the replay {} step", step.name()));
    let (login, role) = (login(), acting_role());
    let row = current(execution_id, true);
    if let Some(row) = &row {
        check_step_allowed(execution_id, row, step, &login, &role);
    }
    let from = row.as_ref().map(|r| r.current);
    let to = next(execution_id, from, step).or_raise();
    Spi::connect_mut(|client| {
        let plan = prepared_write(
            client,
            "UPDATE parmana.replay_state SET state = $2, updated_at = pg_catalog.clock_timestamp(), \
               expires_at = pg_catalog.clock_timestamp() + pg_catalog.make_interval(secs => $3) \
             WHERE execution_id = $1",
            &[TEXTOID, TEXTOID, INT4OID],
        );
        client.update(plan, None, &[execution_id.into(), to.as_str().into(), ttl_of(to).into()])?;
        Ok::<_, pgrx::spi::SpiError>(())
    })
    .or_raise();
    log_step(execution_id, step, from.map(|c| c.state), to, &login, &role);
    to.as_str().to_owned()
}

fn log_step(execution_id: &str, step: Step, from: Option<ReplayState>, to: ReplayState, login: &str, role: &str) {
    Spi::connect_mut(|client| {
        let plan = prepared_write(
            client,
            "INSERT INTO parmana.replay_steps (execution_id, step, from_state, to_state, login, role) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID],
        );
        let args = [
            execution_id.into(),
            step.name().into(),
            from.map(ReplayState::as_str).into(),
            to.as_str().into(),
            login.into(),
            role.into(),
        ];
        client.update(plan, None, &args).map(|_| ())
    })
    .or_raise();
}

/// Move a parked id out of EXECUTING once `parmana_override` has resolved it.
pub fn resolve_parked(execution_id: &str, to: ReplayState) {
    let moved = Spi::connect_mut(|client| {
        client
            .update(
                "UPDATE parmana.replay_state SET state = $2, parked = false, \
                   updated_at = pg_catalog.clock_timestamp(), \
                   expires_at = NULL \
                 WHERE execution_id = $1 AND state = 'EXECUTING' AND parked RETURNING 1",
                None,
                &[execution_id.into(), to.as_str().into()],
            )
            .map(|t| !t.is_empty())
    })
    .or_raise();
    if !moved {
        crate::error::internal("resolve_parked", format!("{execution_id:?} is not parked in EXECUTING"));
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
            raise(ParmanaError::new(
                &codes::VAL_015,
                "execution_fingerprint must be 64 lowercase hex characters (SHA-256)",
            ));
        }
    }
    refuse_inside_trigger("the replay reserve step");
    let (login, role) = (login(), acting_role());
    check_namespace(&id, namespace_owner(&id).as_deref(), &login);
    let from = current(&id, false).map(|r| r.current.state);
    claim(&Claim {
        execution_id: &id,
        fingerprint: execution_fingerprint.as_deref(),
        target: ReplayState::Reserved,
        parked: false,
        policy: None,
        role: &role,
        login: &login,
    });
    log_step(&id, Step::Reserve, from, ReplayState::Reserved, &login, &role);
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

/// EXECUTING → OVERRIDDEN, by a reviewer (not for ids parked by parmana_execute: those use
/// parmana_override).
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

/// RESERVED → CONFIRMED, by whoever may step the reservation: the legacy two-method interface
/// (`has_executed`, `mark_executed`) with a reservation first, so nobody marks an id executed that
/// nobody reserved.
#[pg_extern(volatile, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn parmana_replay_mark_executed(execution_id: Option<String>) -> String {
    step(&checked_id(execution_id), Step::MarkExecuted)
}

/// Current state with TTLs applied; NULL when unseen.
#[pg_extern(stable, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn parmana_replay_state(execution_id: Option<String>) -> Option<String> {
    current(&required(execution_id, "execution_id"), false).map(|r| r.current.state.as_str().to_owned())
}

/// True for CONFIRMED / OVERRIDDEN.
#[pg_extern(stable, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn parmana_replay_has_executed(execution_id: Option<String>) -> bool {
    current(&required(execution_id, "execution_id"), false).is_some_and(|r| r.current.state.has_executed())
}

/// Apply TTLs to every lapsed row (RESERVED / FAILED → EXPIRED); returns how many changed.
#[pg_extern(volatile, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn parmana_replay_sweep() -> i64 {
    Spi::connect_mut(|client| {
        client
            .update(
                "UPDATE parmana.replay_state SET state = 'EXPIRED', updated_at = pg_catalog.clock_timestamp(), \
                   expires_at = NULL \
                 WHERE state IN ('RESERVED', 'FAILED') AND expires_at <= pg_catalog.clock_timestamp() AND NOT parked",
                None,
                &[],
            )
            .map(|t| t.len() as i64)
    })
    .or_raise()
}
