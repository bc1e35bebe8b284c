//! The audit trail: signed checkpoints over `parmana.attestations` and `parmana_audit_verify()`.
//!
//! Checkpoints never make executions wait. Each call seals the rows up to the *watermark* taken by
//! the previous call — the last attestation id handed out then — once every transaction that had
//! parmana.attestations open for writing in this database at that moment has ended, so no
//! uncommitted lower id can appear later under a sealed range. A transaction takes that lock
//! before it takes an attestation id and keeps it to its end; transactions elsewhere in the
//! cluster, or in this database without attestations, never hold a checkpoint back.

use crate::errors::OrRaise;
use crate::jsonb::{JsonbParsed, JsonbText};
use crate::keys::{active_embedded_key_id, signer, verifying_key};
use parmana_core::attestation::issued_at_now;
use parmana_core::checkpoint::{ChainHasher, CheckpointFields, GENESIS_DIGEST};
use parmana_core::verify::verify_document;
use pgrx::prelude::*;
use pgrx::spi::{SpiClient, SpiHeapTupleData};
use serde_json::{json, Value};

const BATCH: i64 = 5000;
const PROGRESS_EVERY: i64 = 100_000;

/// Stream `(id, attestation, mismatched columns)` for ids in `(after, through]` in id order. The
/// attestation is read from jsonb's binary form (JSON null when unreadable, which fails its checks).
/// With `compare_columns`, the stored columns are compared with the signed JSON (in SQL, as
/// text); the checkpointer does not need that and gets an empty list.
fn for_each_row(
    client: &SpiClient<'_>,
    after: i64,
    through: i64,
    compare_columns: bool,
    mut f: impl FnMut(i64, Value, Vec<String>),
) -> Result<(), pgrx::spi::SpiError> {
    const ROWS: &str =
        "SELECT id, attestation, NULL::text[] FROM parmana.attestations WHERE id > $1 AND id <= $2 ORDER BY id";
    // NULL rather than an empty array when the columns agree: nothing to allocate per intact row.
    const ROWS_AND_COLUMNS: &str = "SELECT id, attestation, NULLIF(array_remove(ARRAY[
           CASE WHEN execution_id IS DISTINCT FROM attestation->>'executionId' THEN 'execution_id' END,
           CASE WHEN execution_fingerprint IS DISTINCT FROM attestation->>'execution_fingerprint' THEN 'execution_fingerprint' END,
           CASE WHEN policy_id IS DISTINCT FROM attestation->>'policyId' THEN 'policy_id' END,
           CASE WHEN policy_version IS DISTINCT FROM attestation->>'policyVersion' THEN 'policy_version' END,
           CASE WHEN action IS DISTINCT FROM attestation->'decision'->>'action' THEN 'action' END,
           CASE WHEN execution_state IS DISTINCT FROM attestation->>'execution_state' THEN 'execution_state' END,
           CASE WHEN signer_key_id IS DISTINCT FROM attestation->>'signerKeyId' THEN 'signer_key_id' END,
           CASE WHEN to_char(issued_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') IS DISTINCT FROM attestation->>'issuedAt' THEN 'issued_at' END,
           CASE WHEN override_id IS DISTINCT FROM attestation->>'overrideId' THEN 'override_id' END,
           CASE WHEN kind IS DISTINCT FROM (CASE WHEN attestation ? 'overrideId' THEN 'resolution' ELSE 'decision' END) THEN 'kind' END
         ], NULL), '{}')
         FROM parmana.attestations WHERE id > $1 AND id <= $2 ORDER BY id";
    let mut cursor =
        client.open_cursor(if compare_columns { ROWS_AND_COLUMNS } else { ROWS }, &[after.into(), through.into()]);
    loop {
        let batch = cursor.fetch(BATCH)?;
        let fetched = unsafe { pg_sys::SPI_tuptable };
        if batch.is_empty() {
            return Ok(());
        }
        for row in batch {
            let id = row.get::<i64>(1)?.unwrap_or_default();
            let doc = document(&row, 2)?;
            f(id, doc, row.get::<Vec<String>>(3)?.unwrap_or_default());
        }
        // pgrx leaves fetched batches to SPI_finish: free each one, or memory grows with the log.
        unsafe { pg_sys::SPI_freetuptable(fetched) };
    }
}

/// The jsonb document in column `ordinal`, read from its binary form: JSON null when it is NULL or
/// unreadable, which then fails every check.
fn document(row: &SpiHeapTupleData<'_>, ordinal: usize) -> Result<Value, pgrx::spi::SpiError> {
    Ok(row.get::<JsonbParsed>(ordinal)?.and_then(|parsed| parsed.0.ok()).unwrap_or(Value::Null))
}

/// Seal the attestations written before the previous call into a signed, chained checkpoint,
/// and set the watermark for the next call. Cheap enough to run every minute.
#[pg_extern(volatile, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn parmana_checkpoint() -> JsonbText {
    let outcome = Spi::connect_mut(|client| {
        // One checkpointer at a time; executions never take this lock.
        client.update("LOCK TABLE parmana.checkpoint_state IN EXCLUSIVE MODE", None, &[])?;
        let head = client.select(
            "SELECT id, to_id, digest FROM parmana.checkpoints ORDER BY id DESC LIMIT 1",
            Some(1),
            &[],
        )?;
        let (head_id, sealed_to, head_digest) = if head.is_empty() {
            (0i64, 0i64, GENESIS_DIGEST.to_owned())
        } else {
            let row = head.first();
            let (id, to) = row.get_two::<i64, i64>()?;
            (id.unwrap_or_default(), to.unwrap_or_default(), row.get::<String>(3)?.unwrap_or_default())
        };
        let now = client
            .select(
                "SELECT (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM parmana.attestations_id_seq),
                        s.watermark_id,
                        s.watermark_id IS NOT NULL AND NOT EXISTS (
                          SELECT FROM pg_catalog.pg_locks l
                          WHERE l.locktype = 'relation' AND l.relation = 'parmana.attestations'::pg_catalog.regclass
                            AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d
                                              WHERE d.datname = pg_catalog.current_database())
                            AND l.virtualtransaction = ANY (s.watermark_holders))
                 FROM (SELECT 1) one LEFT JOIN parmana.checkpoint_state s ON true",
                Some(1),
                &[],
            )?
            .first()
            .get_three::<i64, i64, bool>()?;
        let (last_id_handed_out, watermark, watermark_safe) = (now.0.unwrap_or(0), now.1, now.2.unwrap_or(false));

        let mut sealed = Value::Null;
        let mut new_head = (head_id, head_digest.clone());
        let mut keep_watermark = false;
        if let Some(through) = watermark.filter(|w| *w > sealed_to) {
            if watermark_safe {
                let mut hasher = ChainHasher::new(&head_digest);
                for_each_row(client, sealed_to, through, false, |id, doc, _| hasher.add(id, &doc))?;
                let rows = hasher.rows();
                let digest = hasher.finish();
                let key = signer(active_embedded_key_id().as_deref());
                let fields = CheckpointFields {
                    checkpoint_id: head_id + 1,
                    from_id: sealed_to,
                    to_id: through,
                    row_count: rows,
                    previous_digest: &head_digest,
                    digest: &digest,
                    issued_at: issued_at_now(),
                };
                let doc = Value::Object(fields.sign(&key).document);
                client.update(
                    "INSERT INTO parmana.checkpoints (id, from_id, to_id, row_count, previous_digest, digest, signer_key_id, issued_at, checkpoint) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8::timestamptz, $9::jsonb)",
                    None,
                    &[
                        fields.checkpoint_id.into(),
                        sealed_to.into(),
                        through.into(),
                        (rows as i64).into(),
                        head_digest.as_str().into(),
                        digest.as_str().into(),
                        key.key_id().into(),
                        fields.issued_at.as_str().into(),
                        doc.to_string().into(),
                    ],
                )?;
                new_head = (fields.checkpoint_id, digest);
                sealed = doc;
            } else {
                // Transactions that were running at the watermark are still open: try again later.
                keep_watermark = true;
            }
        }
        client.update(
            "INSERT INTO parmana.checkpoint_state AS s \
               (singleton, watermark_id, watermark_holders, head_checkpoint_id, head_digest, updated_at) \
             VALUES (true, $1, \
               (SELECT coalesce(pg_catalog.array_agg(DISTINCT l.virtualtransaction), '{}') FROM pg_catalog.pg_locks l \
                WHERE l.locktype = 'relation' AND l.relation = 'parmana.attestations'::pg_catalog.regclass \
                  AND l.mode = 'RowExclusiveLock' \
                  AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d \
                                    WHERE d.datname = pg_catalog.current_database())), \
               $2, $3, pg_catalog.now()) \
             ON CONFLICT (singleton) DO UPDATE SET \
               watermark_id = CASE WHEN $4 THEN s.watermark_id ELSE EXCLUDED.watermark_id END, \
               watermark_holders = CASE WHEN $4 THEN s.watermark_holders ELSE EXCLUDED.watermark_holders END, \
               head_checkpoint_id = EXCLUDED.head_checkpoint_id, head_digest = EXCLUDED.head_digest, updated_at = now()",
            None,
            &[
                last_id_handed_out.into(),
                (new_head.0 > 0).then_some(new_head.0).into(),
                (new_head.0 > 0).then_some(new_head.1.as_str()).into(),
                keep_watermark.into(),
            ],
        )?;
        Ok::<_, pgrx::spi::SpiError>(json!({
            "sealed": sealed,
            "sealedThrough": if sealed.is_null() { sealed_to } else { watermark.unwrap_or(sealed_to) },
            "waitingFor": if keep_watermark { watermark } else { None },
            "nextWatermark": if keep_watermark { watermark.unwrap_or(0) } else { last_id_handed_out },
        }))
    })
    .or_raise();
    JsonbText::from_value(&outcome)
}

struct Checkpoint {
    id: i64,
    from_id: i64,
    to_id: i64,
    row_count: i64,
    previous_digest: String,
    digest: String,
    hasher: Option<ChainHasher>,
}

type Problem = (i64, Option<i64>, String, String);

/// Check the whole audit trail, or a window of it: every attestation's signature and stored
/// columns, every checkpoint's signature, chain and digest, every override record. Returns one
/// row per problem; an intact log returns none.
#[pg_extern(stable, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn parmana_audit_verify(
    from_id: default!(Option<i64>, 1),
    max_rows: default!(Option<i64>, "NULL"),
) -> TableIterator<
    'static,
    (name!(first_id, i64), name!(last_id, Option<i64>), name!(problem, String), name!(detail, String)),
> {
    // NULL means from the beginning.
    let from_id = from_id.unwrap_or(1);
    let mut problems: Vec<Problem> = Vec::new();
    Spi::connect(|client| {
        let mut checkpoints = verify_checkpoints(client, &mut problems)?;
        // Ordered by range for the walk below (the same as by id unless the chain was tampered with).
        checkpoints.sort_by_key(|c| (c.to_id, c.id));
        // Start at the beginning of the checkpoint that contains from_id, so its digest can be recomputed.
        let start = checkpoints
            .iter()
            .find(|c| c.from_id < from_id && from_id <= c.to_id)
            .map(|c| c.from_id)
            .unwrap_or(from_id.saturating_sub(1));
        let last_id = client
            .select("SELECT coalesce(max(id), 0) FROM parmana.attestations", Some(1), &[])?
            .first()
            .get_one::<i64>()?
            .unwrap_or(0);
        let through = match max_rows {
            // Finish the checkpoint the window ends in.
            Some(n) => {
                let end = start.saturating_add(n.max(0));
                checkpoints.iter().find(|c| c.from_id < end && end <= c.to_id).map(|c| c.to_id).unwrap_or(end)
            }
            None => i64::MAX,
        };
        // Recompute the digest of every checkpoint wholly inside the window, seeded by its own previousDigest.
        for c in checkpoints.iter_mut().filter(|c| c.from_id >= start && c.to_id <= through) {
            c.hasher = Some(ChainHasher::new(&c.previous_digest));
        }

        let mut seen = 0i64;
        // Rows come in id order and checkpoint ranges are contiguous and ordered: walk them together.
        let mut at = 0usize;
        for_each_row(client, start, through, true, |id, doc, mismatched| {
            let report = verify_document(&doc, verifying_key);
            if !report.valid {
                let reason = report.reason.unwrap_or_default();
                problems.push((id, Some(id), "attestation_signature".into(), reason));
            }
            if !mismatched.is_empty() {
                problems.push((
                    id,
                    Some(id),
                    "attestation_columns".into(),
                    format!("stored columns differ from the signed JSON: {}", mismatched.join(", ")),
                ));
            }
            while at < checkpoints.len() && checkpoints[at].to_id < id {
                at += 1;
            }
            if let Some(c) = checkpoints.get_mut(at).filter(|c| c.from_id < id) {
                if let Some(h) = c.hasher.as_mut() {
                    h.add(id, &doc);
                }
            }
            seen += 1;
            if seen % PROGRESS_EVERY == 0 {
                notice!("parmana_audit_verify: {seen} attestations checked (through id {id})");
            }
        })?;
        for c in checkpoints.iter_mut() {
            let Some(h) = c.hasher.take() else { continue };
            let rows = h.rows() as i64;
            if h.finish() != c.digest {
                problems.push((
                    c.from_id + 1,
                    Some(c.to_id),
                    "checkpoint_digest".into(),
                    format!(
                        "rows under checkpoint {} changed, were added or were removed: sealed {} rows, found {rows}",
                        c.id, c.row_count
                    ),
                ));
            }
        }
        if max_rows.is_none() || through >= last_id {
            verify_overrides(client, &mut problems)?;
        }
        Ok::<_, pgrx::spi::SpiError>(())
    })
    .or_raise();
    problems.sort_by_key(|p| (p.0, p.1));
    TableIterator::new(problems)
}

/// Signatures, columns and the chain of every checkpoint, and the head recorded in checkpoint_state.
fn verify_checkpoints(
    client: &SpiClient<'_>,
    problems: &mut Vec<Problem>,
) -> Result<Vec<Checkpoint>, pgrx::spi::SpiError> {
    let rows = client.select(
        "SELECT id, from_id, to_id, row_count, previous_digest, digest, checkpoint,
           (checkpoint->>'checkpointId')::text IS DISTINCT FROM id::text
             OR (checkpoint->>'fromId')::text IS DISTINCT FROM from_id::text
             OR (checkpoint->>'toId')::text IS DISTINCT FROM to_id::text
             OR (checkpoint->>'rowCount')::text IS DISTINCT FROM row_count::text
             OR checkpoint->>'previousDigest' IS DISTINCT FROM previous_digest
             OR checkpoint->>'digest' IS DISTINCT FROM digest
             OR checkpoint->>'signerKeyId' IS DISTINCT FROM signer_key_id
         FROM parmana.checkpoints ORDER BY id",
        None,
        &[],
    )?;
    let mut out = Vec::new();
    let (mut expected_id, mut prev_to, mut prev_digest) = (1i64, 0i64, GENESIS_DIGEST.to_owned());
    for row in rows {
        let id = row.get::<i64>(1)?.unwrap_or_default();
        let from_id = row.get::<i64>(2)?.unwrap_or_default();
        let to_id = row.get::<i64>(3)?.unwrap_or_default();
        let previous_digest = row.get::<String>(5)?.unwrap_or_default();
        let digest = row.get::<String>(6)?.unwrap_or_default();
        let doc = document(&row, 7)?;
        if id != expected_id {
            problems.push((
                prev_to + 1,
                Some(from_id),
                "checkpoint_missing".into(),
                format!("checkpoints {expected_id} to {} are missing", id - 1),
            ));
        }
        if from_id != prev_to || previous_digest != prev_digest {
            problems.push((
                from_id + 1,
                Some(to_id),
                "checkpoint_chain".into(),
                format!("checkpoint {id} does not continue the previous checkpoint's range and digest"),
            ));
        }
        let report = verify_document(&doc, verifying_key);
        if !report.valid {
            problems.push((
                from_id + 1,
                Some(to_id),
                "checkpoint_signature".into(),
                format!("checkpoint {id}: {}", report.reason.unwrap_or_default()),
            ));
        }
        if row.get::<bool>(8)?.unwrap_or(true) {
            problems.push((
                from_id + 1,
                Some(to_id),
                "checkpoint_columns".into(),
                format!("checkpoint {id}: stored columns differ from the signed JSON"),
            ));
        }
        let row_count = row.get::<i64>(4)?.unwrap_or_default();
        out.push(Checkpoint {
            id,
            from_id,
            to_id,
            row_count,
            previous_digest: previous_digest.clone(),
            digest: digest.clone(),
            hasher: None,
        });
        (expected_id, prev_to, prev_digest) = (id + 1, to_id, digest);
    }
    let head = client.select("SELECT head_checkpoint_id, head_digest FROM parmana.checkpoint_state", Some(1), &[])?;
    if !head.is_empty() {
        let (head_id, head_digest) = head.first().get_two::<i64, String>()?;
        if let Some(head_id) = head_id {
            let matches = out.last().is_some_and(|c| c.id == head_id && Some(&c.digest) == head_digest.as_ref());
            if !matches && out.iter().all(|c| c.id != head_id || Some(&c.digest) != head_digest.as_ref()) {
                problems.push((
                    prev_to + 1,
                    None,
                    "checkpoint_missing".into(),
                    format!("the chain head, checkpoint {head_id}, is missing or altered"),
                ));
            }
        }
    }
    Ok(out)
}

/// Every resolved override's signed record, and its id column.
fn verify_overrides(client: &SpiClient<'_>, problems: &mut Vec<Problem>) -> Result<(), pgrx::spi::SpiError> {
    let rows = client.select(
        "SELECT coalesce(resolution_attestation_id, pending_attestation_id), override_record,
                override_id IS DISTINCT FROM override_record->>'overrideId'
                  OR execution_id IS DISTINCT FROM override_record->>'executionId'
                  OR (resolution_status = 'approved') IS DISTINCT FROM (override_record->>'approved')::boolean, id
         FROM parmana.overrides WHERE resolution_status <> 'pending' ORDER BY id",
        None,
        &[],
    )?;
    for row in rows {
        let attestation_id = row.get::<i64>(1)?.unwrap_or_default();
        let override_row = row.get::<i64>(4)?.unwrap_or_default();
        let report = verify_document(&document(&row, 2)?, verifying_key);
        if !report.valid {
            problems.push((
                attestation_id,
                Some(attestation_id),
                "override_signature".into(),
                format!("parmana.overrides id {override_row}: {}", report.reason.unwrap_or_default()),
            ));
        }
        if row.get::<bool>(3)?.unwrap_or(true) {
            problems.push((
                attestation_id,
                Some(attestation_id),
                "override_columns".into(),
                format!("parmana.overrides id {override_row}: stored columns differ from the signed record"),
            ));
        }
    }
    Ok(())
}
