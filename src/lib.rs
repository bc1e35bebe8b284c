//! parmana: provable business decisions inside PostgreSQL. The decisions and proofs are in
//! `parmana-core`; this crate stores them (SPI), exposes SQL functions and reads settings. Each
//! module is named after what it holds, in parallel with `parmana-core` where both have a half.
//!
//! Per-backend caches (a backend serves one session; nothing is shared between backends), each
//! valid without invalidation because what it caches never changes once written:
//! - `policy::COMPILED`: compiled policies by (id, version), used only while the stored
//!   policyHash matches (registered versions are immutable);
//! - `keys::EMBEDDED`, `keys::FILE_KEY`, `keys::PUBLIC`: signing keys by key id (key rows are
//!   append-only), the key file's key with the file's identity, public keys by key id;
//! - `verify::EXPLICIT_KEYS`: parsed PEM keys given to `parmana_verify(attestation, key)`, and the
//!   one "valid" report datum `parmana_verify` returns;
//! - `spi::PLANS`: prepared statements of fixed SQL text;
//! - `parmana_core::runtime` computes each runtime hash once per process.

use pgrx::prelude::*;

mod attestation;
mod audit;
mod checkpoint;
mod error;
mod execute;
mod govern;
mod identity;
mod jsonb;
mod keys;
mod overrides;
mod policy;
mod policy_diff;
mod policy_test;
mod regclass;
mod replay;
mod settings;
mod shadow;
mod spi;
mod verify;
mod witness;

::pgrx::pg_module_magic!(name, version);

extension_sql_file!("sql/bootstrap.sql", name = "bootstrap", bootstrap);
extension_sql_file!("sql/audit.sql", name = "audit", requires = ["bootstrap"]);
extension_sql_file!("sql/config.sql", name = "config", requires = ["audit", acting_role_sql, govern_signal_columns]);
extension_sql_file!(
    "sql/govern.sql",
    name = "govern",
    requires = ["config", parmana_execute, govern_execution_id, govern_signals]
);
extension_sql_file!("sql/witness.sql", name = "witness", requires = ["audit"]);
extension_sql_file!("sql/shadow.sql", name = "shadow", requires = ["audit"]);
extension_sql_file!("sql/finalize.sql", name = "finalize", finalize);

#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    // Errors that pass through Rust frames must reach clients without a Rust backtrace, whatever
    // RUST_BACKTRACE says in the server's environment. Nothing has captured one yet in this process.
    std::env::set_var("RUST_LIB_BACKTRACE", "0");
    settings::register();
}

/// Required by `cargo pgrx test`.
#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    #[must_use]
    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![]
    }
}
