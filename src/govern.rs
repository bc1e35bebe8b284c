//! Governed business tables, the Rust half: execution ids and signals from a row (called by the
//! `parmana_govern` trigger, which runs as the role writing the row), copying review resolutions
//! into governed rows, and checking that every governed row still matches its attestation.
//!
//! Refresh and verification read and write the business table in a security-restricted operation
//! as the caller, or as the table's owner when the caller is a superuser
//! (`identity::with_table_rights`): a superuser's scheduled refresh must not run a table owner's
//! triggers with superuser rights, and nobody gains rights on the table by calling them.

use crate::error::{raise, required, OrRaise};
use crate::identity::{caller, has_column_privilege, has_table_privilege, with_table_rights};
use crate::jsonb::{JsonbParsed, JsonbRow, JsonbText};
use crate::keys::verifying_key;
use crate::policy::find;
use crate::regclass::RegClass;
use crate::settings::{current, set_local, signal_limits, with_setting};
use parmana_core::error::codes;
use parmana_core::govern::{RowValue, SignalMapping};
use parmana_core::hashes::execution_fingerprint;
use parmana_core::identifiers::{canonical_key, validate_execution_id, KeyType};
use parmana_core::signals::validate;
use parmana_core::verify::verify_document;
use parmana_core::ParmanaError;
use pgrx::pg_sys::{self, Oid};
use pgrx::prelude::*;
use pgrx::spi::SpiClient;
use serde_json::Value;
use std::collections::HashMap;
use std::ffi::{CStr, CString};

/// Rows read from a governed table per batch.
const BATCH: i64 = 2000;

fn gov_005(message: String) -> ParmanaError {
    ParmanaError::new(&codes::GOV_005, message)
}

/// The accepted type of `column` of `relation` (domains resolved to their base type).
fn key_type(relation: Oid, column: &str) -> Result<KeyType, ParmanaError> {
    let name = CString::new(column).map_err(|_| gov_005("key column name holds a NUL".into()))?;
    let base = unsafe {
        let attnum = pg_sys::get_attnum(relation, name.as_ptr());
        if attnum == pg_sys::InvalidAttrNumber as pg_sys::AttrNumber {
            return Err(gov_005(format!("the governed table has no key column {column:?}")));
        }
        pg_sys::getBaseType(pg_sys::get_atttype(relation, attnum))
    };
    match base {
        pg_sys::INT2OID | pg_sys::INT4OID | pg_sys::INT8OID | pg_sys::NUMERICOID => Ok(KeyType::Number),
        pg_sys::TEXTOID | pg_sys::VARCHAROID => Ok(KeyType::Text),
        pg_sys::UUIDOID => Ok(KeyType::Uuid),
        pg_sys::DATEOID => Ok(KeyType::Date),
        _ => Err(gov_005(format!("key column {column:?} has a type parmana does not accept as a business key"))
            .with_hint("Use smallint, integer, bigint, numeric, text, varchar, uuid or date.")),
    }
}

/// prefix ‖ the canonical text of the key: the execution id of a governed row.
fn execution_id_of(prefix: &str, kind: KeyType, key: Option<&str>) -> Result<String, ParmanaError> {
    let key = key.ok_or_else(|| gov_005("the business key of the row is NULL".into()))?;
    let id = format!("{prefix}{}", canonical_key(kind, key)?);
    validate_execution_id(&id)?;
    Ok(id)
}

/// The execution id of a governed row, from the key as `to_jsonb(row) ->> key_column` writes it.
#[pg_extern(stable, parallel_safe)]
fn govern_execution_id(
    prefix: Option<String>,
    relation: Option<RegClass>,
    key_column: Option<String>,
    key: Option<String>,
) -> String {
    let prefix = required(prefix, "prefix");
    let relation = required(relation, "relation");
    let kind = key_type(relation.0, &required(key_column, "key_column")).or_raise();
    execution_id_of(&prefix, kind, key.as_deref()).or_raise()
}

fn mapping(mapping: Option<JsonbParsed>) -> SignalMapping {
    let doc = required(mapping, "signals").0.unwrap_or_else(|e| raise(gov_005(format!("signals mapping: {e}"))));
    SignalMapping::parse(&doc).or_raise()
}

/// The columns a signals mapping reads (checks the mapping).
#[pg_extern(immutable, parallel_safe)]
fn govern_signal_columns(signals: Option<JsonbParsed>) -> Vec<String> {
    mapping(signals).columns().map(str::to_owned).collect()
}

/// The signals of a row (`to_jsonb(row)`) under a mapping, normalized as configured.
#[pg_extern(immutable, parallel_safe)]
fn govern_signals(signals: Option<JsonbParsed>, rec: Option<JsonbRow>) -> JsonbText {
    let row = required(rec, "rec").0.unwrap_or_else(|e| raise(gov_005(format!("row: {e}"))));
    JsonbText::from_value(&mapping(signals).signals_of(&row).or_raise())
}

/// A governed-table configuration as refresh and verification need it.
struct Config {
    name: String,
    relation: Oid,
    prefix: String,
    key_column: String,
    signals: Value,
    attestation_column: Option<String>,
    action_column: Option<String>,
    state_column: Option<String>,
}

impl Config {
    fn read(client: &SpiClient<'_>, filter: &str, arg: pgrx::datum::DatumWithOid<'_>) -> Option<Config> {
        let sql = format!(
            "SELECT name, relation::pg_catalog.oid, execution_id_prefix, key_column::text, signals::text, \
               attestation_column::text, action_column::text, state_column::text \
             FROM parmana.governed_tables WHERE {filter}"
        );
        let table = client.select(&sql, Some(1), &[arg]).or_raise();
        if table.is_empty() {
            return None;
        }
        let row = table.first();
        let text = |i| row.get::<String>(i).or_raise();
        Some(Config {
            name: text(1).unwrap_or_default(),
            relation: row.get::<Oid>(2).or_raise().unwrap_or(Oid::INVALID),
            prefix: text(3).unwrap_or_default(),
            key_column: text(4).unwrap_or_default(),
            signals: serde_json::from_str(&text(5).unwrap_or_default()).unwrap_or(Value::Null),
            attestation_column: text(6),
            action_column: text(7),
            state_column: text(8),
        })
    }
}

/// `"column"`, quoted for SQL.
fn ident(name: &str) -> String {
    let c = CString::new(name).unwrap_or_else(|_| raise(gov_005("column name holds a NUL".into())));
    unsafe { CStr::from_ptr(pg_sys::quote_identifier(c.as_ptr())).to_string_lossy().into_owned() }
}

/// The relation's name, schema-qualified.
fn relation_name(client: &SpiClient<'_>, relation: Oid) -> String {
    client
        .select(
            "SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) FROM pg_catalog.pg_class c \
                 JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1",
            Some(1),
            &[relation.into()],
        )
        .or_raise()
        .first()
        .get_one::<String>()
        .or_raise()
        .unwrap_or_else(|| raise(gov_005("the governed table no longer exists".into())))
}

fn not_allowed(what: String) -> ! {
    raise(ParmanaError::new(&codes::GOV_006, what))
}

/// Copy review resolutions into the governed rows still marked `pending_override` (state, action,
/// attestation columns); returns how many rows changed. The caller needs UPDATE on those columns
/// and reads and writes the table with its own rights (a superuser with the owner's).
#[pg_extern(volatile)]
fn parmana_govern_refresh(name: Option<String>) -> i64 {
    let name = required(name, "name");
    let who = caller();
    // parmana's own statements resolve names in pg_catalog only; the table's code gets the
    // caller's search_path back when it runs with the caller's rights (`with_table_rights`).
    let caller_path = current("search_path");
    with_setting("search_path", "pg_catalog, pg_temp", || refresh(&name, who, &caller_path))
}

fn refresh(name: &str, who: Oid, caller_path: &str) -> i64 {
    Spi::connect_mut(|client| {
        let config = Config::read(client, "name OPERATOR(pg_catalog.=) $1", name.into()).unwrap_or_else(|| {
            raise(ParmanaError::new(
                &codes::GOV_001,
                format!("no parmana.governed_tables configuration named {name:?}"),
            ))
        });
        let state = config.state_column.clone().unwrap_or_else(|| {
            raise(gov_005(format!("governed table {:?} has no state_column to refresh", config.name)))
        });
        let outputs: Vec<&String> = [Some(&state), config.action_column.as_ref(), config.attestation_column.as_ref()]
            .into_iter()
            .flatten()
            .collect();
        for column in &outputs {
            if !has_column_privilege(who, config.relation, column, "UPDATE") {
                not_allowed(format!("the caller may not update column {column:?} of the governed table"));
            }
        }
        for column in [&config.key_column, &state] {
            if !has_column_privilege(who, config.relation, column, "SELECT") {
                not_allowed(format!("the caller may not read column {column:?} of the governed table"));
            }
        }
        let kind = key_type(config.relation, &config.key_column).or_raise();
        let table = relation_name(client, config.relation);

        let pending: Vec<(String, String)> = with_table_rights(config.relation, caller_path, || {
            let sql = format!(
                "SELECT t.ctid::pg_catalog.text, pg_catalog.to_jsonb(t.{key}) OPERATOR(pg_catalog.#>>) '{{}}' \
                 FROM ONLY {table} t WHERE t.{state} OPERATOR(pg_catalog.=) 'pending_override' FOR UPDATE OF t",
                key = ident(&config.key_column),
                state = ident(&state),
            );
            let rows = client.update(&sql, None, &[]).or_raise();
            rows.filter_map(|row| {
                let ctid = row.get::<String>(1).ok().flatten()?;
                let id = execution_id_of(&config.prefix, kind, row.get::<String>(2).ok().flatten().as_deref()).ok()?;
                Some((ctid, id))
            })
            .collect()
        });
        if pending.is_empty() {
            return 0;
        }
        let ids: Vec<String> = pending.iter().map(|(_, id)| id.clone()).collect();
        let resolutions: HashMap<String, String> = client
            .select(
                "SELECT execution_id, attestation::text FROM parmana.resolution_attestations($1)",
                None,
                &[ids.into()],
            )
            .or_raise()
            .filter_map(|row| Some((row.get::<String>(1).ok()??, row.get::<String>(2).ok()??)))
            .collect();

        let mut sets = vec![format!("{} = $2", ident(&state))];
        if let Some(action) = &config.action_column {
            sets.push(format!("{} = $3", ident(action)));
        }
        if let Some(attestation) = &config.attestation_column {
            sets.push(format!("{} = $4::pg_catalog.jsonb", ident(attestation)));
        }
        // ONLY: a ctid names a row of this table, not of an inheritance child.
        let update = format!(
            "UPDATE ONLY {table} t SET {} WHERE t.ctid OPERATOR(pg_catalog.=) $1::pg_catalog.tid \
               AND t.{pending} OPERATOR(pg_catalog.=) 'pending_override'",
            sets.join(", "),
            pending = ident(&state)
        );
        with_table_rights(config.relation, caller_path, || {
            let mut updated = 0i64;
            for (ctid, id) in &pending {
                let Some(text) = resolutions.get(id) else { continue };
                let doc: Value = serde_json::from_str(text).unwrap_or(Value::Null);
                let state = doc["execution_state"].as_str().unwrap_or_default().to_owned();
                let action = doc["decision"]["action"].as_str().unwrap_or_default().to_owned();
                let args = [ctid.as_str().into(), state.as_str().into(), action.as_str().into(), text.as_str().into()];
                updated += client.update(&update, None, &args).or_raise().len() as i64;
            }
            updated
        })
    })
}

type Finding = (Option<String>, Option<String>, String, String);

/// One governed row as verification needs it, copied out of the table.
struct GovernedRow {
    key: Option<String>,
    row: HashMap<String, RowValue>,
}

fn text_of(value: Option<&RowValue>) -> Option<String> {
    match value? {
        RowValue::Text(s) | RowValue::Number(s) => Some(s.clone()),
        RowValue::Bool(b) => Some(b.to_string()),
        RowValue::Json(v) => Some(v.to_string()),
        RowValue::Null => None,
    }
}

/// Every governed row of `governed` that has no attestation, whose attestation does not verify,
/// is not the one stored for its execution id, or disagrees with the row (execution id from the
/// key, signalsHash recomputed from the signal columns, decision and state columns). One row per
/// problem; an intact table returns none. The caller needs SELECT on the table.
#[pg_extern(stable)]
fn parmana_govern_verify(
    governed: Option<RegClass>,
) -> TableIterator<
    'static,
    (name!(key, Option<String>), name!(execution_id, Option<String>), name!(problem, String), name!(detail, String)),
> {
    let relation = required(governed, "governed").0;
    let who = caller();
    let caller_path = current("search_path");
    let findings = with_setting("search_path", "pg_catalog, pg_temp", || verify_table(relation, who, &caller_path));
    TableIterator::new(findings)
}

fn verify_table(relation: Oid, who: Oid, caller_path: &str) -> Vec<Finding> {
    let mut findings: Vec<Finding> = Vec::new();
    Spi::connect(|client| {
        let config = Config::read(client, "relation = $1::pg_catalog.regclass", relation.into()).unwrap_or_else(|| {
            raise(ParmanaError::new(&codes::GOV_001, "no parmana.governed_tables configuration governs this table"))
        });
        if !has_table_privilege(who, relation, "SELECT") {
            not_allowed("the caller may not read the governed table".into());
        }
        let kind = key_type(relation, &config.key_column).or_raise();
        let mapping = SignalMapping::parse(&config.signals).or_raise();
        let table = relation_name(client, relation);
        let query = format!("SELECT pg_catalog.to_jsonb(t) FROM ONLY {table} t");
        // row_security off: a row-level security policy (even one the owner forces on itself)
        // makes the read fail instead of hiding rows from verification.
        let mut cursor = with_table_rights(relation, caller_path, || {
            set_local("row_security", "off");
            client.open_cursor(&query, &[])
        });
        loop {
            let batch: Vec<GovernedRow> = with_table_rights(relation, caller_path, || {
                set_local("row_security", "off");
                let fetched = cursor.fetch(BATCH).or_raise();
                let tuptable = unsafe { pg_sys::SPI_tuptable };
                let rows = fetched
                    .into_iter()
                    .map(|r| {
                        let row = r.get::<JsonbRow>(1).or_raise().and_then(|r| r.0.ok()).unwrap_or_default();
                        GovernedRow { key: text_of(row.get(&config.key_column)), row }
                    })
                    .collect();
                unsafe { pg_sys::SPI_freetuptable(tuptable) };
                rows
            });
            if batch.is_empty() {
                break;
            }
            check_batch(client, &config, kind, &mapping, batch, &mut findings);
        }
        Ok::<_, pgrx::spi::SpiError>(())
    })
    .or_raise();
    findings
}

/// The stored attestations of the batch's execution ids, by id: (kind, document).
fn stored_attestations(client: &SpiClient<'_>, ids: Vec<String>) -> HashMap<String, Vec<(String, Value)>> {
    let mut stored: HashMap<String, Vec<(String, Value)>> = HashMap::new();
    let rows = client
        .select(
            "SELECT execution_id, kind, attestation FROM parmana.attestations \
             WHERE execution_id = ANY ($1) ORDER BY id",
            None,
            &[ids.into()],
        )
        .or_raise();
    for row in rows {
        let (Some(id), Some(kind)) = (row.get::<String>(1).or_raise(), row.get::<String>(2).or_raise()) else {
            continue;
        };
        let doc = row.get::<JsonbParsed>(3).or_raise().and_then(|p| p.0.ok()).unwrap_or(Value::Null);
        stored.entry(id).or_default().push((kind, doc));
    }
    stored
}

fn check_batch(
    client: &SpiClient<'_>,
    config: &Config,
    kind: KeyType,
    mapping: &SignalMapping,
    batch: Vec<GovernedRow>,
    findings: &mut Vec<Finding>,
) {
    let ids: Vec<Option<Result<String, ParmanaError>>> =
        batch.iter().map(|r| Some(execution_id_of(&config.prefix, kind, r.key.as_deref()))).collect();
    let lookup: Vec<String> = ids.iter().filter_map(|id| id.as_ref()?.as_ref().ok().cloned()).collect();
    let stored = stored_attestations(client, lookup);
    for (governed, id) in batch.iter().zip(ids) {
        let mut report = |id: Option<&str>, problem: &str, detail: String| {
            findings.push((governed.key.clone(), id.map(str::to_owned), problem.to_owned(), detail));
        };
        let id = match id {
            Some(Ok(id)) => id,
            Some(Err(e)) => {
                report(None, "key_invalid", e.to_string());
                continue;
            }
            None => continue,
        };
        let stored_here = stored.get(&id).map(Vec::as_slice).unwrap_or(&[]);
        // The row's attestation: its column, or (without one) the latest stored for its id.
        let attestation = match &config.attestation_column {
            Some(column) => match governed.row.get(column) {
                Some(RowValue::Json(doc)) => Some(doc.clone()),
                _ => None,
            },
            None => stored_here.last().map(|(_, doc)| doc.clone()),
        };
        let Some(attestation) = attestation else {
            report(Some(&id), "missing_attestation", "the row has no attestation".into());
            continue;
        };
        let verified = verify_document(&attestation, verifying_key);
        if !verified.valid {
            report(Some(&id), "attestation_invalid", verified.reason.unwrap_or_default());
        }
        if !stored_here.iter().any(|(_, doc)| *doc == attestation) {
            report(
                Some(&id),
                "attestation_not_stored",
                "the attestation is not one parmana.attestations holds for this execution id".into(),
            );
        }
        let stated_id = attestation["executionId"].as_str().unwrap_or_default();
        if stated_id != id {
            report(Some(&id), "execution_id_mismatch", format!("the attestation is for execution id {stated_id:?}"));
        }
        if let Some(problem) = signals_problem(mapping, &governed.row, &attestation) {
            report(Some(&id), "signals_mismatch", problem);
        }
        let columns = [
            (&config.action_column, attestation["decision"]["action"].as_str(), "decision_mismatch"),
            (&config.state_column, attestation["execution_state"].as_str(), "state_mismatch"),
        ];
        for (column, signed, problem) in columns {
            let Some(column) = column else { continue };
            let held = text_of(governed.row.get(column));
            if held.as_deref() != signed {
                report(Some(&id), problem, format!("column {column:?} does not say what the attestation says"));
            }
        }
    }
}

/// Why the row's signal columns do not give the attestation's signalsHash, if they do not.
fn signals_problem(mapping: &SignalMapping, row: &HashMap<String, RowValue>, attestation: &Value) -> Option<String> {
    let (Some(policy_id), Some(policy_version), Some(signed)) =
        (attestation["policyId"].as_str(), attestation["policyVersion"].as_str(), attestation["signalsHash"].as_str())
    else {
        return Some("the attestation names no policy or signalsHash".into());
    };
    let Some(policy) = find(policy_id, policy_version) else {
        return Some("the attestation names a policy version that is not registered".into());
    };
    let fingerprint = mapping
        .signals_of(row)
        .and_then(|signals| validate(&policy, &signals, signal_limits()))
        .map(|v| execution_fingerprint(policy_id, policy_version, &v.canonical));
    match fingerprint {
        Ok(f) if f == signed => None,
        Ok(_) => Some("the signal columns no longer give the attestation's signalsHash".into()),
        Err(e) => Some(format!("the signal columns are no longer valid signals: {}", e.code())),
    }
}
