//! Storing signed attestations in `parmana.attestations`.

use crate::error::OrRaise;
use crate::jsonb::JsonbDatum;
use crate::spi::prepared_write;
use pgrx::pg_sys::BuiltinOid::{JSONBOID, TEXTOID};
use pgrx::prelude::*;

/// One row of `parmana.attestations`: the JSON plus the columns auditors query.
pub struct AttestationRow<'a> {
    pub execution_id: &'a str,
    /// `decision` for parmana_execute, `resolution` for parmana_override.
    pub kind: &'a str,
    pub fingerprint: &'a str,
    pub policy_id: &'a str,
    pub policy_version: &'a str,
    pub action: &'a str,
    pub execution_state: &'a str,
    pub signer_key_id: &'a str,
    pub issued_at: &'a str,
    /// The acting role and the login of the caller.
    pub db_user: &'a str,
    pub db_login: &'a str,
    pub override_id: Option<&'a str>,
    pub attestation: JsonbDatum,
}

/// Insert the row; returns its id.
pub fn insert(row: &AttestationRow<'_>) -> i64 {
    Spi::connect_mut(|client| {
        let plan = prepared_write(
            client,
            "INSERT INTO parmana.attestations \
               (execution_id, kind, execution_fingerprint, policy_id, policy_version, action, execution_state, \
                signer_key_id, issued_at, db_user, override_id, attestation, db_login) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::pg_catalog.timestamptz, $10, $11, $12, $13) RETURNING id",
            &[
                TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID,
                JSONBOID, TEXTOID,
            ],
        );
        let args = [
            row.execution_id.into(),
            row.kind.into(),
            row.fingerprint.into(),
            row.policy_id.into(),
            row.policy_version.into(),
            row.action.into(),
            row.execution_state.into(),
            row.signer_key_id.into(),
            row.issued_at.into(),
            row.db_user.into(),
            row.override_id.into(),
            row.attestation.into(),
            row.db_login.into(),
        ];
        client.update(plan, Some(1), &args)?.first().get_one::<i64>()
    })
    .or_raise()
    .unwrap_or_else(|| crate::error::internal("attestation insert", "no id returned"))
}
