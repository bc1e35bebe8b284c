//! Who is calling, taken from the session and never from arguments, and running work on a user's
//! table with the right rights.
//!
//! - the *login* is `session_user`: the person or application that connected;
//! - the *acting role* is the role the session acts as (`SET ROLE` included). SECURITY DEFINER
//!   does not change it, so parmana's definer functions can record and check it;
//! - the *caller* of an invoker function is `current_user` at the call.
//!
//! Inside a security-restricted operation (VACUUM, REFRESH MATERIALIZED VIEW, parmana's own work on
//! governed tables) another role's code runs in the session, so nothing there may act under the
//! session's login: asking for the login or acting role raises `AUTH-006`.

use crate::error::{raise, OrRaise};
use crate::settings::{set_local, SettingsScope};
use crate::spi::prepared;
use parmana_core::error::codes;
use parmana_core::ParmanaError;
use pgrx::pg_sys::BuiltinOid::{OIDOID, TEXTOID};
use pgrx::pg_sys::{self, Oid};
use pgrx::prelude::*;

fn role_name(oid: Oid) -> String {
    unsafe {
        let name = pg_sys::GetUserNameFromId(oid, false);
        let owned = std::ffi::CStr::from_ptr(name).to_string_lossy().into_owned();
        pg_sys::pfree(name.cast());
        owned
    }
}

fn refuse_in_restricted_operation() {
    if unsafe { pg_sys::InSecurityRestrictedOperation() } {
        raise(
            ParmanaError::new(
                &codes::AUTH_006,
                "parmana does not decide, review or record a step inside a security-restricted operation",
            )
            .with_detail(
                "Code running there (a table owner's trigger, a default, an index expression) is not the session's.",
            )
            .with_hint("Call parmana from the application's own statements."),
        );
    }
}

/// `session_user`: the login.
pub fn login() -> String {
    refuse_in_restricted_operation();
    role_name(unsafe { pg_sys::GetSessionUserId() })
}

/// The role the session acts as, unaffected by SECURITY DEFINER.
pub fn acting_role() -> String {
    refuse_in_restricted_operation();
    role_name(unsafe { pg_sys::GetOuterUserId() })
}

/// Refuse `what` when a trigger is running: a table owner's trigger runs as whoever writes the
/// table, so inside one a review or a workflow step could be someone else's act (`AUTH-007`).
pub fn refuse_inside_trigger(what: &str) {
    let depth = Spi::connect(|client| {
        let plan = prepared(client, "SELECT pg_catalog.pg_trigger_depth()", &[]);
        client.select(plan, Some(1), &[])?.first().get_one::<i32>()
    })
    .or_raise()
    .unwrap_or(0);
    if depth > 0 {
        raise(
            ParmanaError::new(&codes::AUTH_007, format!("{what} cannot run inside a trigger"))
                .with_detail("A trigger runs as the role writing the table, whoever wrote the trigger.")
                .with_hint("Call it from the application's own statements."),
        );
    }
}

/// `current_user`.
pub fn caller() -> Oid {
    unsafe { pg_sys::GetUserId() }
}

/// The role the session acts as (`SET ROLE` included), also inside SECURITY DEFINER functions:
/// what parmana's definer functions record beside the login.
#[pg_extern(stable, parallel_safe, name = "acting_role")]
fn acting_role_sql() -> String {
    acting_role()
}

/// `pg_has_role(role, target, mode)` for role names; false when either role does not exist.
pub fn has_role(role: &str, target: &str, mode: &'static str) -> bool {
    Spi::connect(|client| {
        let plan = prepared(
            client,
            "SELECT pg_catalog.pg_has_role(r.oid, t.oid, $3) FROM pg_catalog.pg_roles r, pg_catalog.pg_roles t \
             WHERE r.rolname = $1 AND t.rolname = $2",
            &[TEXTOID, TEXTOID, TEXTOID],
        );
        let table = client.select(plan, Some(1), &[role.into(), target.into(), mode.into()])?;
        if table.is_empty() {
            return Ok(None);
        }
        table.first().get_one::<bool>()
    })
    .or_raise()
    .unwrap_or(false)
}

/// Whether role `role` holds `privilege` (as `has_table_privilege` spells it) on `relation`.
pub fn has_table_privilege(role: Oid, relation: Oid, privilege: &str) -> bool {
    Spi::connect(|client| {
        let plan = prepared(client, "SELECT pg_catalog.has_table_privilege($1, $2, $3)", &[OIDOID, OIDOID, TEXTOID]);
        client.select(plan, Some(1), &[role.into(), relation.into(), privilege.into()])?.first().get_one::<bool>()
    })
    .or_raise()
    .unwrap_or(false)
}

/// Whether role `role` holds `privilege` on column `column` of `relation`.
pub fn has_column_privilege(role: Oid, relation: Oid, column: &str, privilege: &str) -> bool {
    Spi::connect(|client| {
        let plan = prepared(
            client,
            "SELECT pg_catalog.has_column_privilege($1, $2, $3, $4)",
            &[OIDOID, OIDOID, TEXTOID, TEXTOID],
        );
        client
            .select(plan, Some(1), &[role.into(), relation.into(), column.into(), privilege.into()])?
            .first()
            .get_one::<bool>()
    })
    .or_raise()
    .unwrap_or(false)
}

/// Restores the identity saved by [`with_table_rights`], also when the closure unwinds (declared
/// after the settings scope, so it is dropped first).
struct RestoreUser {
    user: Oid,
    context: i32,
}

impl Drop for RestoreUser {
    fn drop(&mut self) {
        // On an error, transaction or subtransaction abort restores it; PostgreSQL must not be
        // called while an error unwinds.
        if !std::thread::panicking() {
            unsafe { pg_sys::SetUserIdAndSecContext(self.user, self.context) };
        }
    }
}

/// Run `work` on a user's table in a security-restricted operation, as PostgreSQL runs VACUUM or
/// REFRESH MATERIALIZED VIEW. A superuser's call runs as the table's owner with search_path
/// `pg_catalog, pg_temp` (a scheduled job must not run a table owner's triggers with superuser
/// rights, or resolve their names through a path others may have set); anyone else's runs with
/// its own rights and `caller_search_path`, exactly as its own UPDATE would. Either way the
/// table's triggers, rules, policies, defaults and index expressions never get more rights than
/// the caller has, nothing there can act under the session's identity, and settings they (or
/// `work`) change are undone.
pub fn with_table_rights<R>(relation: Oid, caller_search_path: &str, work: impl FnOnce() -> R) -> R {
    let (mut user, mut context) = (Oid::INVALID, 0);
    unsafe { pg_sys::GetUserIdAndSecContext(&mut user, &mut context) };
    let (run_as, search_path) = if unsafe { pg_sys::superuser_arg(user) } {
        let owner = Spi::connect(|client| {
            let plan = prepared(client, "SELECT relowner FROM pg_catalog.pg_class WHERE oid = $1", &[OIDOID]);
            client.select(plan, Some(1), &[relation.into()])?.first().get_one::<Oid>()
        })
        .or_raise()
        .unwrap_or_else(|| crate::error::internal("with_table_rights", "relation has no owner"));
        (owner, "pg_catalog, pg_temp")
    } else {
        (user, caller_search_path)
    };
    let restricted =
        context | pg_sys::SECURITY_RESTRICTED_OPERATION as i32 | pg_sys::SECURITY_LOCAL_USERID_CHANGE as i32;
    unsafe { pg_sys::SetUserIdAndSecContext(run_as, restricted) };
    let _restore_user = RestoreUser { user, context };
    let _settings = SettingsScope::open();
    set_local("search_path", search_path);
    work()
}
