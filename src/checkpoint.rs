//! Checkpoints: signed tree heads over `parmana.attestations`, the tiles that hold the Merkle
//! tree, and inclusion and consistency proofs read from them.
//!
//! Checkpoints never make executions wait. Each call seals the rows up to the *watermark* taken by
//! the previous call — the last attestation id handed out then — once every transaction that had
//! parmana.attestations open for writing in this database at that moment has ended, so no
//! uncommitted lower id can appear later under a sealed range. A transaction takes that lock
//! before it takes an attestation id and keeps it to its end; transactions elsewhere in the
//! cluster, or in this database without attestations, never hold a checkpoint back.

use crate::audit::for_each_row;
use crate::error::{raise, required, OrRaise};
use crate::jsonb::JsonbText;
use crate::keys::current_signer;
use crate::settings::log_origin;
use crate::spi::{prepared, prepared_write};
use parmana_core::attestation::issued_at_now;
use parmana_core::checkpoint::{attestation_leaf, generated_origin, leaf_index, TreeHeadFields, GENESIS_DIGEST};
use parmana_core::error::codes;
use parmana_core::hashes::to_hex;
use parmana_core::merkle::{consistency_proof, inclusion_proof, root, Appender, Hash, TileSource, TiledTree, Tiles};
use parmana_core::note::{sign_note, valid_name, verifier_key, Checkpoint, ED25519};
use parmana_core::signing::base64_encode;
use parmana_core::ParmanaError;
use pgrx::pg_sys::BuiltinOid::{INT2OID, INT8OID};
use pgrx::prelude::*;
use pgrx::spi::SpiClient;
use serde_json::{json, Value};
use std::collections::HashMap;

/// Tiles read from `parmana.log_tiles`, each at most once per call, seen through the tiles a
/// checkpoint has changed but not written yet.
struct StoredTiles<'a, 'c> {
    client: &'a SpiClient<'c>,
    read: HashMap<(u32, u64), Option<Vec<Hash>>>,
    overlay: Tiles,
}

impl<'a, 'c> StoredTiles<'a, 'c> {
    fn new(client: &'a SpiClient<'c>) -> Self {
        StoredTiles { client, read: HashMap::new(), overlay: Tiles::default() }
    }
}

impl TileSource for StoredTiles<'_, '_> {
    fn tile(&mut self, level: u32, index: u64) -> Result<Option<Vec<Hash>>, String> {
        if let Some(tile) = self.overlay.tiles.get(&(level, index)) {
            return Ok(Some(tile.clone()));
        }
        if let Some(tile) = self.read.get(&(level, index)) {
            return Ok(tile.clone());
        }
        let plan = prepared(
            self.client,
            "SELECT hashes FROM parmana.log_tiles WHERE level = $1 AND idx = $2",
            &[INT2OID, INT8OID],
        );
        let rows = self
            .client
            .select(plan, Some(1), &[(level as i16).into(), (index as i64).into()])
            .map_err(|e| e.to_string())?;
        let tile = if rows.is_empty() {
            None
        } else {
            let bytes = rows.first().get_one::<Vec<u8>>().map_err(|e| e.to_string())?.unwrap_or_default();
            Some(bytes.chunks_exact(32).map(|c| c.try_into().expect("32 bytes")).collect())
        };
        self.read.insert((level, index), tile.clone());
        Ok(tile)
    }
}

fn tree_error(e: String) -> ! {
    crate::error::internal("the log's tiles", e)
}

/// The log's origin: the name its checkpoints and their note key carry, fixed at the first tree
/// checkpoint (from `parmana.log_origin`, or generated).
fn origin(client: &SpiClient<'_>) -> Result<String, pgrx::spi::SpiError> {
    let stored = client
        .select("SELECT origin FROM parmana.checkpoint_state", Some(1), &[])?
        .next()
        .and_then(|row| row.get::<String>(1).ok().flatten());
    if let Some(origin) = stored {
        return Ok(origin);
    }
    match log_origin() {
        Some(configured) if valid_name(&configured) => Ok(configured),
        Some(_) => raise(
            ParmanaError::new(&codes::CFG_002, "parmana.log_origin is not a valid log name")
                .with_hint("A log name has no white space and no '+', like example.com/claims-log."),
        ),
        None => Ok(generated_origin().or_raise()),
    }
}

/// The newest tree checkpoint: (tree size, last id it sealed).
fn last_tree(client: &SpiClient<'_>) -> Result<(u64, i64), pgrx::spi::SpiError> {
    let rows = client.select(
        "SELECT tree_size, to_id FROM parmana.checkpoints WHERE tree_size IS NOT NULL ORDER BY tree_size DESC LIMIT 1",
        Some(1),
        &[],
    )?;
    if rows.is_empty() {
        return Ok((0, 0));
    }
    let (size, to) = rows.first().get_two::<i64, i64>()?;
    Ok((size.unwrap_or(0) as u64, to.unwrap_or(0)))
}

/// Seal the attestations written before the previous call into a signed tree head, and set the
/// watermark for the next call. Cheap enough to run every minute.
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

        let origin = origin(client)?;
        let mut sealed = Value::Null;
        let mut new_head = (head_id, head_digest.clone());
        let mut keep_watermark = false;
        if let Some(through) = watermark.filter(|w| *w > sealed_to) {
            if watermark_safe {
                let (tree_size, tree_to) = last_tree(client)?;
                let mut tiles = StoredTiles::new(client);
                let mut appender = Appender::resume(tree_size, &mut tiles).unwrap_or_else(|e| tree_error(e));
                let mut gaps = Vec::new();
                let mut expected = tree_to + 1;
                for_each_row(client, tree_to, through, false, |id, doc, _| {
                    gaps.extend(expected..id);
                    expected = id + 1;
                    appender.push(attestation_leaf(&doc));
                })?;
                gaps.extend(expected..=through);
                let size = appender.size();
                tiles.overlay = appender.changed;
                let root_hash =
                    root(&mut TiledTree { source: &mut tiles, size }, size).unwrap_or_else(|e| tree_error(e));
                let digest = to_hex(&root_hash);
                let key = current_signer();
                let fields = TreeHeadFields {
                    checkpoint_id: head_id + 1,
                    origin: &origin,
                    from_id: tree_to,
                    to_id: through,
                    row_count: size - tree_size,
                    tree_size: size,
                    previous_digest: &head_digest,
                    digest: &digest,
                    issued_at: issued_at_now(),
                };
                let doc = Value::Object(fields.sign(&key).document);
                let note =
                    sign_note(&Checkpoint { origin: origin.clone(), size, root: root_hash }.text(), &origin, &key);
                let write_tile = prepared_write(
                    client,
                    "INSERT INTO parmana.log_tiles (level, idx, hashes) VALUES ($1, $2, $3) \
                     ON CONFLICT (level, idx) DO UPDATE SET hashes = EXCLUDED.hashes",
                    &[INT2OID, INT8OID, pgrx::pg_sys::BuiltinOid::BYTEAOID],
                );
                for ((level, index), hashes) in &tiles.overlay.tiles {
                    let bytes: Vec<u8> = hashes.concat();
                    client.update(write_tile, None, &[(*level as i16).into(), (*index as i64).into(), bytes.into()])?;
                }
                client.update(
                    "INSERT INTO parmana.checkpoints (id, from_id, to_id, row_count, previous_digest, digest, \
                       signer_key_id, issued_at, checkpoint, tree_size, first_leaf, gaps, note) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8::pg_catalog.timestamptz, $9::pg_catalog.jsonb, \
                       $10, $11, $12, $13)",
                    None,
                    &[
                        fields.checkpoint_id.into(),
                        tree_to.into(),
                        through.into(),
                        (fields.row_count as i64).into(),
                        head_digest.as_str().into(),
                        digest.as_str().into(),
                        key.key_id().into(),
                        fields.issued_at.as_str().into(),
                        doc.to_string().into(),
                        (size as i64).into(),
                        (tree_size as i64).into(),
                        gaps.into(),
                        note.to_text().into(),
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
               (singleton, watermark_id, watermark_holders, head_checkpoint_id, head_digest, updated_at, origin) \
             VALUES (true, $1, \
               (SELECT coalesce(pg_catalog.array_agg(DISTINCT l.virtualtransaction), '{}') FROM pg_catalog.pg_locks l \
                WHERE l.locktype = 'relation' AND l.relation = 'parmana.attestations'::pg_catalog.regclass \
                  AND l.mode = 'RowExclusiveLock' \
                  AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d \
                                    WHERE d.datname = pg_catalog.current_database())), \
               $2, $3, pg_catalog.now(), $5) \
             ON CONFLICT (singleton) DO UPDATE SET \
               watermark_id = CASE WHEN $4 THEN s.watermark_id ELSE EXCLUDED.watermark_id END, \
               watermark_holders = CASE WHEN $4 THEN s.watermark_holders ELSE EXCLUDED.watermark_holders END, \
               head_checkpoint_id = EXCLUDED.head_checkpoint_id, head_digest = EXCLUDED.head_digest, \
               updated_at = pg_catalog.now(), origin = coalesce(s.origin, EXCLUDED.origin)",
            None,
            &[
                last_id_handed_out.into(),
                (new_head.0 > 0).then_some(new_head.0).into(),
                (new_head.0 > 0).then_some(new_head.1.as_str()).into(),
                keep_watermark.into(),
                (!sealed.is_null()).then_some(origin.as_str()).into(),
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

/// A tree checkpoint as proofs need it.
struct TreeHead {
    id: i64,
    size: u64,
    root: String,
    note: String,
}

fn tree_head(client: &SpiClient<'_>, size: Option<i64>) -> Option<TreeHead> {
    let rows = client
        .select(
            "SELECT id, tree_size, digest, note FROM parmana.checkpoints \
             WHERE tree_size IS NOT NULL AND ($1::pg_catalog.int8 IS NULL OR tree_size = $1) \
             ORDER BY tree_size DESC LIMIT 1",
            Some(1),
            &[size.into()],
        )
        .or_raise();
    let row = rows.into_iter().next()?;
    Some(TreeHead {
        id: row.get::<i64>(1).or_raise().unwrap_or_default(),
        size: row.get::<i64>(2).or_raise().unwrap_or_default() as u64,
        root: row.get::<String>(3).or_raise().unwrap_or_default(),
        note: row.get::<String>(4).or_raise().unwrap_or_default(),
    })
}

fn no_checkpoint(size: Option<i64>) -> ! {
    raise(
        match size {
            Some(size) => ParmanaError::new(&codes::AUD_002, format!("No checkpoint has tree size {size}")),
            None => ParmanaError::new(&codes::AUD_002, "The log has no tree checkpoint yet"),
        }
        .with_hint("parmana.parmana_checkpoint() seals the log; proofs name the tree sizes of its checkpoints."),
    )
}

fn hashes_json(hashes: &[Hash]) -> Value {
    Value::Array(hashes.iter().map(|h| json!(base64_encode(h))).collect())
}

fn root_b64(hex_root: &str) -> String {
    let bytes: Vec<u8> =
        (0..hex_root.len() / 2).filter_map(|i| u8::from_str_radix(&hex_root[2 * i..2 * i + 2], 16).ok()).collect();
    base64_encode(&bytes)
}

/// The inclusion proof of one attestation in a checkpoint's tree (the latest by default): the
/// attestation, its leaf index and the audit path, with the signed tree head it proves against.
#[pg_extern(stable, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn parmana_inclusion_proof(attestation_id: Option<i64>, tree_size: default!(Option<i64>, "NULL")) -> JsonbText {
    let id = required(attestation_id, "attestation_id");
    Spi::connect(|client| {
        let head = tree_head(client, tree_size).unwrap_or_else(|| no_checkpoint(tree_size));
        let rows = client
            .select(
                "SELECT c.first_leaf, c.from_id, c.to_id, c.gaps, a.attestation::text FROM parmana.checkpoints c \
                 JOIN parmana.attestations a ON a.id = $1 \
                 WHERE c.tree_size IS NOT NULL AND c.from_id < $1 AND c.to_id >= $1 \
                 ORDER BY c.tree_size LIMIT 1",
                Some(1),
                &[id.into()],
            )
            .or_raise();
        let Some(row) = rows.into_iter().next() else {
            raise(
                ParmanaError::new(&codes::AUD_002, format!("Attestation {id} is not in any checkpoint"))
                    .with_hint("It may not exist, or not be sealed yet: run parmana.parmana_checkpoint() twice."),
            )
        };
        let first_leaf = row.get::<i64>(1).or_raise().unwrap_or_default() as u64;
        let (from_id, to_id) =
            (row.get::<i64>(2).or_raise().unwrap_or_default(), row.get::<i64>(3).or_raise().unwrap_or_default());
        let gaps = row.get::<Vec<i64>>(4).or_raise().unwrap_or_default();
        let attestation: Value =
            serde_json::from_str(&row.get::<String>(5).or_raise().unwrap_or_default()).unwrap_or(Value::Null);
        let index = leaf_index(first_leaf, from_id, to_id, &gaps, id)
            .unwrap_or_else(|| crate::error::internal("inclusion proof", "attestation id listed as a gap"));
        if index >= head.size {
            raise(ParmanaError::new(
                &codes::AUD_002,
                format!("Attestation {id} was sealed after the tree of size {}", head.size),
            ));
        }
        let mut tree = TiledTree { source: StoredTiles::new(client), size: head.size };
        let path = inclusion_proof(&mut tree, index, head.size).unwrap_or_else(|e| tree_error(e));
        JsonbText::from_value(&json!({
            "attestationId": id,
            "leafIndex": index,
            "treeSize": head.size,
            "rootHash": root_b64(&head.root),
            "leafHash": base64_encode(&attestation_leaf(&attestation)),
            "hashes": hashes_json(&path),
            "checkpointId": head.id,
            "checkpoint": head.note,
            "attestation": attestation,
        }))
    })
}

/// The consistency proof between two sizes of the log: the tree of `old_size` leaves is a prefix
/// of the checkpoint of `new_size` leaves (the latest by default).
#[pg_extern(stable, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn parmana_consistency_proof(old_size: Option<i64>, new_size: default!(Option<i64>, "NULL")) -> JsonbText {
    let old = required(old_size, "old_size");
    Spi::connect(|client| {
        let head = tree_head(client, new_size).unwrap_or_else(|| no_checkpoint(new_size));
        if old < 1 || old as u64 > head.size {
            raise(
                ParmanaError::new(&codes::AUD_002, format!("No consistency proof from {old} to {} entries", head.size))
                    .with_detail("old_size must be between 1 and the newer tree's size."),
            );
        }
        let mut tree = TiledTree { source: StoredTiles::new(client), size: head.size };
        let proof = consistency_proof(&mut tree, old as u64, head.size).unwrap_or_else(|e| tree_error(e));
        let old_root = root(&mut tree, old as u64).unwrap_or_else(|e| tree_error(e));
        let old_note = tree_head(client, Some(old)).map(|h| h.note);
        JsonbText::from_value(&json!({
            "oldSize": old,
            "newSize": head.size,
            "oldRootHash": base64_encode(&old_root),
            "newRootHash": root_b64(&head.root),
            "hashes": hashes_json(&proof),
            "checkpointId": head.id,
            "checkpoint": head.note,
            "oldCheckpoint": old_note,
        }))
    })
}

/// The log's note verifier key (`<origin>+<key id>+<base64 key>`) for the active signing key, or
/// for `key_id`; what witnesses and monitors are configured with. NULL before the first checkpoint.
#[pg_extern(stable, security_definer, parallel_restricted)]
#[search_path(pg_catalog, pg_temp)]
fn parmana_log_key(key_id: default!(Option<String>, "NULL")) -> Option<String> {
    let origin = Spi::connect(|client| {
        let plan = prepared(client, "SELECT origin FROM parmana.checkpoint_state", &[]);
        let rows = client.select(plan, Some(1), &[])?;
        if rows.is_empty() {
            return Ok(None);
        }
        rows.first().get_one::<String>()
    })
    .or_raise()?;
    let key = match key_id {
        None => current_signer().verifying_key(),
        Some(id) => crate::keys::verifying_key(&id).ok()?,
    };
    debug_assert!(valid_name(&origin));
    Some(verifier_key(&origin, ED25519, &key))
}
