//! Who is calling, taken from the session and never from arguments, and running work on a user's
//! table as that table's owner.
//!
//! - the *login* is `session_user`: the person or application that connected;
//! - the *acting role* is the role the session acts as (`SET ROLE` included). SECURITY DEFINER
//!   does not change it, so parmana's definer functions can record and check it;
//! - the *caller* of an invoker function is `current_user` at the call.

use crate::errors::OrRaise;
use crate::spi::prepared;
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

/// `session_user`: the login.
pub fn login() -> String {
    role_name(unsafe { pg_sys::GetSessionUserId() })
}

/// The role the session acts as, unaffected by SECURITY DEFINER.
pub fn acting_role() -> String {
    role_name(unsafe { pg_sys::GetOuterUserId() })
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

/// Restores the identity saved by [`as_table_owner`], also when the closure unwinds.
struct Restore {
    user: Oid,
    context: i32,
    guc_level: i32,
}

impl Drop for Restore {
    fn drop(&mut self) {
        // On an error, transaction or subtransaction abort restores both; PostgreSQL must not be
        // called while an error unwinds.
        if std::thread::panicking() {
            return;
        }
        unsafe {
            pg_sys::AtEOXact_GUC(false, self.guc_level);
            pg_sys::SetUserIdAndSecContext(self.user, self.context);
        }
    }
}

/// Run `work` as the owner of `relation`, in a security-restricted operation, as PostgreSQL runs
/// VACUUM or REFRESH MATERIALIZED VIEW: triggers, rules, policies, defaults, casts and index
/// expressions of the table then run with its owner's rights, whoever called (a superuser's
/// scheduled job included), and settings they change are undone.
pub fn as_table_owner<R>(relation: Oid, work: impl FnOnce() -> R) -> R {
    let owner = Spi::connect(|client| {
        let plan = prepared(client, "SELECT relowner FROM pg_catalog.pg_class WHERE oid = $1", &[OIDOID]);
        client.select(plan, Some(1), &[relation.into()])?.first().get_one::<Oid>()
    })
    .or_raise()
    .unwrap_or_else(|| crate::errors::internal("as_table_owner", "relation has no owner"));
    let (mut user, mut context) = (Oid::INVALID, 0);
    unsafe { pg_sys::GetUserIdAndSecContext(&mut user, &mut context) };
    let restricted =
        context | pg_sys::SECURITY_RESTRICTED_OPERATION as i32 | pg_sys::SECURITY_LOCAL_USERID_CHANGE as i32;
    unsafe { pg_sys::SetUserIdAndSecContext(owner, restricted) };
    let _restore = Restore { user, context, guc_level: unsafe { pg_sys::NewGUCNestLevel() } };
    work()
}
