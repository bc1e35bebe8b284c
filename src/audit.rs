//! `parmana_audit_verify()`: the whole audit trail checked from its rows — every attestation's
//! signature (in batches) and stored columns, every checkpoint's signature, note and place in the
//! chain, the Merkle roots of tree checkpoints and the stored tiles, the chained digests of
//! checkpoints from before 0.4.0, and every override record.

use crate::error::OrRaise;
use crate::jsonb::JsonbParsed;
use crate::keys::verifying_key;
use parmana_core::checkpoint::{attestation_leaf, leaf_index, ChainHasher, GENESIS_DIGEST};
use parmana_core::hashes::to_hex;
use parmana_core::merkle::{Appender, CompactRange, Hash, Tiles};
use parmana_core::note::{parse_note, verifier_key, verify_note, Checkpoint as NoteCheckpoint, VerifierKey, ED25519};
use parmana_core::verify::{prepare, verify_document, verify_prepared};
use pgrx::prelude::*;
use pgrx::spi::{SpiClient, SpiHeapTupleData};
use serde_json::Value;

const BATCH: i64 = 5000;
const PROGRESS_EVERY: i64 = 100_000;

/// Stream `(id, attestation, mismatched columns)` for ids in `(after, through]` in id order. The
/// attestation is read from jsonb's binary form (JSON null when unreadable, which fails its checks).
/// With `compare_columns`, the stored columns are compared with the signed JSON (in SQL, as
/// text); the checkpointer does not need that and gets an empty list.
pub fn for_each_row(
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
           CASE WHEN execution_fingerprint IS DISTINCT FROM attestation->>'execution_fingerprint' \
             THEN 'execution_fingerprint' END,
           CASE WHEN policy_id IS DISTINCT FROM attestation->>'policyId' THEN 'policy_id' END,
           CASE WHEN policy_version IS DISTINCT FROM attestation->>'policyVersion' THEN 'policy_version' END,
           CASE WHEN action IS DISTINCT FROM attestation->'decision'->>'action' THEN 'action' END,
           CASE WHEN execution_state IS DISTINCT FROM attestation->>'execution_state' THEN 'execution_state' END,
           CASE WHEN signer_key_id IS DISTINCT FROM attestation->>'signerKeyId' THEN 'signer_key_id' END,
           CASE WHEN to_char(issued_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') \
             IS DISTINCT FROM attestation->>'issuedAt' THEN 'issued_at' END,
           CASE WHEN override_id IS DISTINCT FROM attestation->>'overrideId' THEN 'override_id' END,
           CASE WHEN kind IS DISTINCT FROM (CASE WHEN attestation ? 'overrideId' \
             THEN 'resolution' ELSE 'decision' END) THEN 'kind' END
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

/// A tree checkpoint's Merkle facts.
struct Tree {
    size: u64,
    first_leaf: u64,
    gaps: Vec<i64>,
}

struct Checkpoint {
    id: i64,
    from_id: i64,
    to_id: i64,
    row_count: i64,
    previous_digest: String,
    digest: String,
    /// None for a chained checkpoint from before 0.4.0.
    tree: Option<Tree>,
    hasher: Option<ChainHasher>,
}

type Problem = (i64, Option<i64>, String, String);

/// Attestations verified per signature batch.
const SIGNATURE_BATCH: usize = 128;

/// Rows waiting for their signatures to be checked in one batch.
#[derive(Default)]
struct Pending {
    rows: Vec<(i64, Value)>,
}

impl Pending {
    fn push(&mut self, id: i64, doc: Value, problems: &mut Vec<Problem>) {
        self.rows.push((id, doc));
        if self.rows.len() >= SIGNATURE_BATCH {
            self.flush(problems);
        }
    }

    fn flush(&mut self, problems: &mut Vec<Problem>) {
        let prepared: Vec<_> = self.rows.iter().map(|(_, doc)| prepare(doc, verifying_key)).collect();
        for ((id, _), report) in self.rows.iter().zip(verify_prepared(&prepared)) {
            if !report.valid {
                problems.push((*id, Some(*id), "attestation_signature".into(), report.reason.unwrap_or_default()));
            }
        }
        self.rows.clear();
    }
}

/// Full tiles of the tree recomputed from the rows, compared with the stored ones as they complete.
struct TileCheck<'a, 'c> {
    client: &'a SpiClient<'c>,
    appender: Appender,
}

impl TileCheck<'_, '_> {
    fn stored(&mut self, level: u32, index: u64) -> Result<Option<Vec<Hash>>, pgrx::spi::SpiError> {
        let rows = self.client.select(
            "SELECT hashes FROM parmana.log_tiles WHERE level = $1 AND idx = $2",
            Some(1),
            &[(level as i16).into(), (index as i64).into()],
        )?;
        if rows.is_empty() {
            return Ok(None);
        }
        let bytes = rows.first().get_one::<Vec<u8>>()?.unwrap_or_default();
        Ok(Some(bytes.chunks_exact(32).map(|c| c.try_into().expect("32 bytes")).collect()))
    }

    fn compare(
        &mut self,
        tiles: Vec<((u32, u64), Vec<Hash>)>,
        problems: &mut Vec<Problem>,
    ) -> Result<(), pgrx::spi::SpiError> {
        for ((level, index), hashes) in tiles {
            let stored = self.stored(level, index)?;
            // A partial tile may have grown past the last checkpoint; its prefix must still match.
            if stored.as_ref().is_none_or(|s| s.len() < hashes.len() || s[..hashes.len()] != hashes[..]) {
                problems.push((
                    0,
                    None,
                    "log_tiles".into(),
                    format!("tile {level}/{index} differs from the tree recomputed from the rows"),
                ));
            }
        }
        Ok(())
    }
}

/// Check the whole audit trail, or a window of it: every attestation's signature and stored
/// columns, every checkpoint's signature, note, chain and digest, the stored Merkle tiles, and
/// every override record. Returns one row per problem; an intact log returns none. A window
/// checks its rows against the stored tiles; only a run from the start recomputes the roots.
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
        let (chain, tree): (Vec<Checkpoint>, Vec<Checkpoint>) = checkpoints.drain(..).partition(|c| c.tree.is_none());
        let mut chain = chain;
        // Ordered by range for the walk below (the same as by id unless the chain was tampered with).
        chain.sort_by_key(|c| (c.to_id, c.id));
        // Start at the beginning of the chained checkpoint that contains from_id, so its digest
        // can be recomputed.
        let start = chain
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
            // Finish the chained checkpoint the window ends in.
            Some(n) => {
                let end = start.saturating_add(n.max(0));
                chain.iter().find(|c| c.from_id < end && end <= c.to_id).map(|c| c.to_id).unwrap_or(end)
            }
            None => i64::MAX,
        };
        for c in chain.iter_mut().filter(|c| c.from_id >= start && c.to_id <= through) {
            c.hasher = Some(ChainHasher::new(&c.previous_digest));
        }
        // From the start, the tree is recomputed; in a window, rows are checked against the tiles.
        let whole = start == 0 && max_rows.is_none();
        let sealed_size = tree.last().and_then(|t| t.tree.as_ref()).map_or(0, |t| t.size);
        let mut tiles = TileCheck { client, appender: Appender::resume(0, &mut Tiles::default()).expect("empty") };
        let mut range = CompactRange::default();
        let mut gaps: Vec<i64> = Vec::new();
        let mut expected_id = 1i64;
        let mut next_tree = 0usize;

        let mut pending = Pending::default();
        let mut seen = 0i64;
        let mut at = 0usize;
        let mut walk_problems = Vec::new();
        for_each_row(client, start, through, true, |id, doc, mismatched| {
            if !mismatched.is_empty() {
                walk_problems.push((
                    id,
                    Some(id),
                    "attestation_columns".into(),
                    format!("stored columns differ from the signed JSON: {}", mismatched.join(", ")),
                ));
            }
            while at < chain.len() && chain[at].to_id < id {
                at += 1;
            }
            if let Some(c) = chain.get_mut(at).filter(|c| c.from_id < id) {
                if let Some(h) = c.hasher.as_mut() {
                    h.add(id, &doc);
                }
            }
            let leaf = attestation_leaf(&doc);
            if whole {
                // Close every tree checkpoint that ends before this row.
                while let Some(t) = tree.get(next_tree).filter(|t| t.to_id < id) {
                    gaps.extend(expected_id..=t.to_id);
                    expected_id = t.to_id + 1;
                    close_tree(t, &range, &mut gaps, &mut walk_problems);
                    next_tree += 1;
                }
                gaps.extend(expected_id..id);
                expected_id = id + 1;
                range.push(leaf);
                // Tiles hold the sealed tree only; rows after the last checkpoint are not in them yet.
                if tiles.appender.size() < sealed_size {
                    tiles.appender.push(leaf);
                    let full = tiles.appender.take_full();
                    if let Err(e) = tiles.compare(full, &mut walk_problems) {
                        walk_problems.push((id, Some(id), "log_tiles".into(), e.to_string()));
                    }
                }
            } else if let Some(t) = tree.iter().find(|t| t.from_id < id && id <= t.to_id) {
                let info = t.tree.as_ref().expect("tree checkpoint");
                let stored = leaf_index(info.first_leaf, t.from_id, t.to_id, &info.gaps, id).and_then(|index| {
                    tiles.stored(0, index / 256).ok().flatten().and_then(|h| h.get((index % 256) as usize).copied())
                });
                if stored != Some(leaf) {
                    walk_problems.push((
                        id,
                        Some(id),
                        "attestation_leaf".into(),
                        format!("the row is not leaf it was sealed as in checkpoint {}", t.id),
                    ));
                }
            }
            pending.push(id, doc, &mut walk_problems);
            seen += 1;
            if seen % PROGRESS_EVERY == 0 {
                notice!("parmana_audit_verify: {seen} attestations checked (through id {id})");
            }
        })?;
        pending.flush(&mut walk_problems);
        if whole {
            for t in &tree[next_tree..] {
                gaps.extend(expected_id..=t.to_id);
                expected_id = t.to_id + 1;
                close_tree(t, &range, &mut gaps, &mut walk_problems);
            }
            // The partial tiles at the right edge of the sealed tree.
            let edge: Vec<((u32, u64), Vec<Hash>)> =
                std::mem::take(&mut tiles.appender.changed.tiles).into_iter().collect();
            tiles.compare(edge, &mut walk_problems)?;
        }
        problems.extend(walk_problems);
        for c in chain.iter_mut() {
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

/// Compare a tree checkpoint with the tree recomputed through its last id.
fn close_tree(t: &Checkpoint, range: &CompactRange, gaps: &mut Vec<i64>, problems: &mut Vec<Problem>) {
    let info = t.tree.as_ref().expect("tree checkpoint");
    let appended = range.size() as i64 - info.first_leaf as i64;
    let own_gaps: Vec<i64> = gaps.iter().copied().filter(|g| *g > t.from_id).collect();
    gaps.clear();
    if range.size() != info.size
        || to_hex(&range.root()) != t.digest
        || appended != t.row_count
        || own_gaps != info.gaps
    {
        problems.push((
            t.from_id + 1,
            Some(t.to_id),
            "checkpoint_digest".into(),
            format!(
                "the rows through checkpoint {} do not give its tree: sealed {} leaves with root {}, \
                 found {} with root {}",
                t.id,
                info.size,
                t.digest,
                range.size(),
                to_hex(&range.root())
            ),
        ));
    }
}

/// Signatures, notes, columns and the chain of every checkpoint, and the head recorded in
/// checkpoint_state.
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
             OR (checkpoint->>'treeSize')::text IS DISTINCT FROM tree_size::text,
           tree_size, first_leaf, gaps, note, signer_key_id, checkpoint->>'origin'
         FROM parmana.checkpoints ORDER BY id",
        None,
        &[],
    )?;
    let mut out = Vec::new();
    let (mut expected_id, mut prev_to, mut prev_digest) = (1i64, 0i64, GENESIS_DIGEST.to_owned());
    let (mut prev_tree_to, mut prev_tree_size) = (0i64, 0i64);
    for row in rows {
        let id = row.get::<i64>(1)?.unwrap_or_default();
        let from_id = row.get::<i64>(2)?.unwrap_or_default();
        let to_id = row.get::<i64>(3)?.unwrap_or_default();
        let previous_digest = row.get::<String>(5)?.unwrap_or_default();
        let digest = row.get::<String>(6)?.unwrap_or_default();
        let doc = document(&row, 7)?;
        let tree_size = row.get::<i64>(9)?;
        let mut problem =
            |kind: &str, detail: String| problems.push((from_id + 1, Some(to_id), kind.to_owned(), detail));
        if id != expected_id {
            problem("checkpoint_missing", format!("checkpoints {expected_id} to {} are missing", id - 1));
        }
        // A tree checkpoint appends from the previous tree checkpoint; a chained one from the previous.
        let continues = match tree_size {
            Some(_) => from_id == prev_tree_to && to_id > prev_to,
            None => from_id == prev_to,
        };
        if !continues || previous_digest != prev_digest {
            problem(
                "checkpoint_chain",
                format!("checkpoint {id} does not continue the previous checkpoint's range and digest"),
            );
        }
        let report = verify_document(&doc, verifying_key);
        if !report.valid {
            problem("checkpoint_signature", format!("checkpoint {id}: {}", report.reason.unwrap_or_default()));
        }
        if row.get::<bool>(8)?.unwrap_or(true) {
            problem("checkpoint_columns", format!("checkpoint {id}: stored columns differ from the signed JSON"));
        }
        let tree = match tree_size {
            None => None,
            Some(size) => {
                let first_leaf = row.get::<i64>(10)?.unwrap_or_default();
                let gaps = row.get::<Vec<i64>>(11)?.unwrap_or_default();
                let note = row.get::<String>(12)?.unwrap_or_default();
                let key_id = row.get::<String>(13)?.unwrap_or_default();
                let origin = row.get::<String>(14)?.unwrap_or_default();
                if let Err(why) = check_note(&note, &origin, &key_id, size, &digest) {
                    problem("checkpoint_note", format!("checkpoint {id}: {why}"));
                }
                if first_leaf != prev_tree_size {
                    problem(
                        "checkpoint_chain",
                        format!("checkpoint {id} does not start where the previous tree ended"),
                    );
                }
                (prev_tree_to, prev_tree_size) = (to_id, size);
                Some(Tree { size: size as u64, first_leaf: first_leaf as u64, gaps })
            }
        };
        let row_count = row.get::<i64>(4)?.unwrap_or_default();
        out.push(Checkpoint {
            id,
            from_id,
            to_id,
            row_count,
            previous_digest: previous_digest.clone(),
            digest: digest.clone(),
            tree,
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

/// A tree checkpoint's signed note: signed by its key under the log's origin, for its size and root.
fn check_note(note: &str, origin: &str, key_id: &str, size: i64, digest: &str) -> Result<(), String> {
    let key = verifying_key(key_id)?;
    let vkey: VerifierKey = parmana_core::note::parse_verifier_key(&verifier_key(origin, ED25519, &key))?;
    let parsed = parse_note(note)?;
    verify_note(&parsed, &[vkey])?;
    let head = NoteCheckpoint::parse(&parsed.text)?;
    if head.origin != origin || head.size as i64 != size || to_hex(&head.root) != digest {
        return Err("the note states another tree head than the checkpoint".into());
    }
    Ok(())
}

/// Every resolved override's signed record, and its id column.
fn verify_overrides(client: &SpiClient<'_>, problems: &mut Vec<Problem>) -> Result<(), pgrx::spi::SpiError> {
    let rows = client.select(
        "SELECT coalesce(resolution_attestation_id, pending_attestation_id), override_record,
                override_id IS DISTINCT FROM override_record->>'overrideId'
                  OR execution_id IS DISTINCT FROM override_record->>'executionId'
                  OR execution_fingerprint IS DISTINCT FROM override_record->>'execution_fingerprint'
                  OR policy_id IS DISTINCT FROM override_record->>'policyId'
                  OR policy_version IS DISTINCT FROM override_record->>'policyVersion'
                  OR action IS DISTINCT FROM override_record->'decision'->>'action'
                  OR (resolution_status = 'approved') IS DISTINCT FROM (override_record->>'approved')::boolean
                  OR approved_by IS DISTINCT FROM override_record->>'approvedBy'
                  OR approver_role IS DISTINCT FROM override_record->>'approverRole'
                  OR resolution_reason IS DISTINCT FROM override_record->>'reason'
                  OR resolved_by IS DISTINCT FROM override_record->>'resolvedBy'
                  OR resolved_login::text IS DISTINCT FROM override_record->>'resolvedByLogin', id
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
