//! Statements prepared once per backend and kept.

use crate::error::OrRaise;
use pgrx::pg_sys::{PgBuiltInOids, PgOid};
use pgrx::spi::{OwnedPreparedStatement, SpiClient};
use std::cell::RefCell;
use std::collections::HashMap;

thread_local! {
    // A backend is single-threaded; plans are kept with SPI_keepplan and re-planned by
    // PostgreSQL's plan cache when the tables they use change.
    static PLANS: RefCell<HashMap<&'static str, &'static OwnedPreparedStatement>> = RefCell::new(HashMap::new());
}

/// A read-only statement prepared on first use in this backend and kept for its lifetime.
pub fn prepared(client: &SpiClient<'_>, sql: &'static str, args: &[PgBuiltInOids]) -> &'static OwnedPreparedStatement {
    keep(client, sql, args, false)
}

/// A statement that writes, prepared on first use in this backend and kept.
pub fn prepared_write(
    client: &SpiClient<'_>,
    sql: &'static str,
    args: &[PgBuiltInOids],
) -> &'static OwnedPreparedStatement {
    keep(client, sql, args, true)
}

fn keep(
    client: &SpiClient<'_>,
    sql: &'static str,
    args: &[PgBuiltInOids],
    mutating: bool,
) -> &'static OwnedPreparedStatement {
    if let Some(plan) = PLANS.with(|p| p.borrow().get(sql).copied()) {
        return plan;
    }
    let oids: Vec<PgOid> = args.iter().map(|o| PgOid::BuiltIn(*o)).collect();
    let plan = if mutating { client.prepare_mut(sql, &oids) } else { client.prepare(sql, &oids) };
    // Leaked on purpose: kept plans live as long as the backend.
    let plan: &'static OwnedPreparedStatement = Box::leak(Box::new(plan.or_raise().keep()));
    PLANS.with(|p| p.borrow_mut().insert(sql, plan));
    plan
}
