//! Storing signed attestations in `parmana.attestations`, and notifications.

use crate::errors::OrRaise;
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
    pub db_user: &'a str,
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
                signer_key_id, issued_at, db_user, override_id, attestation) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::timestamptz, $10, $11, $12) RETURNING id",
            &[
                TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID,
                JSONBOID,
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
        ];
        client.update(plan, Some(1), &args)?.first().get_one::<i64>()
    })
    .or_raise()
    .unwrap_or_else(|| crate::errors::internal("attestation insert", "no id returned"))
}

/// `pg_notify(channel, payload)`: delivered to listeners when the transaction commits.
pub fn notify(channel: &str, payload: &serde_json::Value) {
    Spi::connect_mut(|client| {
        let plan = prepared_write(client, "SELECT pg_catalog.pg_notify($1, $2)", &[TEXTOID, TEXTOID]);
        client.update(plan, None, &[channel.into(), payload.to_string().into()]).map(|_| ())
    })
    .or_raise();
}
