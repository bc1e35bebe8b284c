//! Witnessing a replicated log (see sql/witness.sql): check that the tree heads replicated from
//! the primary match the rows this database holds, and cosign the newest one when it also
//! extends the head cosigned before, with this database's own signing key.

use crate::audit::for_each_row;
use crate::error::{raise, required, OrRaise};
use crate::keys::current_signer;
use parmana_core::checkpoint::attestation_leaf;
use parmana_core::error::codes;
use parmana_core::hashes::to_hex;
use parmana_core::merkle::{consistency_proof, Appender, CompactRange, Hash, TiledTree, Tiles};
use parmana_core::note::{
    parse_note, parse_verifier_key, valid_name, verifier_key, verify_note, Checkpoint, VerifierKey, COSIGNATURE_V1,
};
use parmana_core::witness::{cosign_checkpoint, TreeHead};
use parmana_core::ParmanaError;
use pgrx::prelude::*;
use pgrx::spi::SpiClient;
use std::time::{SystemTime, UNIX_EPOCH};

fn log_key(vkey: Option<String>) -> VerifierKey {
    parse_verifier_key(&required(vkey, "log_key")).unwrap_or_else(|why| {
        raise(ParmanaError::new(&codes::WIT_001, format!("log_key is not a note verifier key: {why}")))
    })
}

/// The replicated tree checkpoints, in order: (id, tree size, hex root, note).
fn tree_checkpoints(client: &SpiClient<'_>) -> Vec<(i64, u64, String, String)> {
    client
        .select(
            "SELECT id, tree_size, digest, note FROM parmana.checkpoints \
             WHERE tree_size IS NOT NULL ORDER BY tree_size",
            None,
            &[],
        )
        .or_raise()
        .map(|r| {
            (
                r.get::<i64>(1).or_raise().unwrap_or_default(),
                r.get::<i64>(2).or_raise().unwrap_or_default() as u64,
                r.get::<String>(3).or_raise().unwrap_or_default(),
                r.get::<String>(4).or_raise().unwrap_or_default(),
            )
        })
        .collect()
}

/// The roots of the tree of the rows this database holds, at each of `sizes` (ascending), and
/// optionally its tiles.
fn local_roots(client: &SpiClient<'_>, sizes: &[u64], keep_tiles: bool) -> (Vec<Option<Hash>>, Tiles) {
    let mut range = CompactRange::default();
    let mut appender = Appender::resume(0, &mut Tiles::default()).expect("empty");
    let mut roots = vec![None; sizes.len()];
    let mut next = 0usize;
    let last = sizes.last().copied().unwrap_or(0);
    for_each_row(client, 0, i64::MAX, false, |_, doc, _| {
        if range.size() >= last {
            return;
        }
        let leaf = attestation_leaf(&doc);
        range.push(leaf);
        if keep_tiles {
            appender.push(leaf);
        }
        while next < sizes.len() && sizes[next] == range.size() {
            roots[next] = Some(range.root());
            next += 1;
        }
    })
    .or_raise();
    (roots, appender.changed)
}

/// What a witness finds wrong with the log it holds: rewrites replication tried to apply, and
/// replicated tree heads whose note does not verify with `log_key` or whose root is not the root
/// of the rows this database holds. None when the copy and the primary agree.
#[pg_extern(stable, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn parmana_witness_check(
    log_key: Option<String>,
) -> TableIterator<'static, (name!(problem, String), name!(detail, String))> {
    let key = self::log_key(log_key);
    let mut problems: Vec<(String, String)> = Vec::new();
    Spi::connect(|client| {
        for row in client
            .select(
                "SELECT table_name, operation, row_id, seen_at::text FROM parmana.witness_conflicts ORDER BY id",
                None,
                &[],
            )
            .or_raise()
        {
            let table = row.get::<String>(1).or_raise().unwrap_or_default();
            let op = row.get::<String>(2).or_raise().unwrap_or_default();
            let id = row.get::<i64>(3).or_raise().unwrap_or_default();
            let at = row.get::<String>(4).or_raise().unwrap_or_default();
            problems.push((
                "rewrite_refused".into(),
                format!("at {at} replication tried to {op} {table} id {id}; this witness kept the row it had"),
            ));
        }
        let heads = tree_checkpoints(client);
        let sizes: Vec<u64> = heads.iter().map(|h| h.1).collect();
        let (roots, _) = local_roots(client, &sizes, false);
        for ((id, size, digest, note), local) in heads.iter().zip(roots) {
            if let Err(why) = parse_note(note).and_then(|n| verify_note(&n, std::slice::from_ref(&key)).map(|_| n)) {
                problems.push(("checkpoint_note".into(), format!("checkpoint {id}: {why}")));
            }
            match local {
                Some(root) if to_hex(&root) == *digest => {}
                Some(root) => problems.push((
                    "checkpoint_inconsistent".into(),
                    format!(
                        "checkpoint {id} states root {digest} for {size} entries; the rows this witness holds give {}: \
                         history was rewritten",
                        to_hex(&root)
                    ),
                )),
                None => problems.push((
                    "checkpoint_inconsistent".into(),
                    format!("checkpoint {id} covers {size} entries; this witness holds fewer"),
                )),
            }
        }
    });
    TableIterator::new(problems)
}

/// Cosign the newest replicated tree head with this database's signing key under `witness_name`,
/// if its note verifies with `log_key`, its root is the root of the rows this database holds, and
/// it extends the head this witness cosigned before. Returns the note with the cosignature.
#[pg_extern(volatile, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn parmana_witness_cosign(log_key: Option<String>, witness_name: Option<String>) -> String {
    let key = self::log_key(log_key);
    let name = witness_name_of(witness_name);
    Spi::connect_mut(|client| {
        let heads = tree_checkpoints(client);
        let Some((id, size, digest, note)) = heads.last().cloned() else {
            raise(ParmanaError::new(&codes::AUD_002, "No tree head has been replicated to this witness yet"))
        };
        let previous = client
            .select(
                "SELECT tree_size, root_hash FROM parmana.witness_heads WHERE origin = $1",
                Some(1),
                &[key.name.as_str().into()],
            )
            .or_raise()
            .next()
            .map(|r| TreeHead {
                size: r.get::<i64>(1).or_raise().unwrap_or_default() as u64,
                root: r.get::<Vec<u8>>(2).or_raise().unwrap_or_default().try_into().unwrap_or([0; 32]),
            });
        let (roots, tiles) = local_roots(client, &[size], true);
        if roots[0].map(|r| to_hex(&r)) != Some(digest.clone()) {
            raise(ParmanaError::new(
                &codes::WIT_002,
                format!("The witness refuses to cosign: checkpoint {id}'s root is not the root of the rows it holds"),
            ));
        }
        let proof = match &previous {
            Some(p) if p.size > 0 && p.size < size => {
                consistency_proof(&mut TiledTree { source: tiles, size }, p.size, size)
                    .unwrap_or_else(|e| crate::error::internal("witness proof", e))
            }
            _ => Vec::new(),
        };
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let (cosigned, head) = cosign_checkpoint(&note, &key, previous.as_ref(), &proof, &name, &current_signer(), now)
            .map_err(ParmanaError::from)
            .or_raise();
        let text = cosigned.to_text();
        let checkpoint =
            Checkpoint::parse(&cosigned.text).unwrap_or_else(|e| crate::error::internal("cosigned note", e));
        client
            .update(
                "INSERT INTO parmana.witness_heads (origin, tree_size, root_hash, note) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (origin) DO UPDATE SET tree_size = EXCLUDED.tree_size, root_hash = EXCLUDED.root_hash, \
                   note = EXCLUDED.note, cosigned_at = pg_catalog.clock_timestamp()",
                None,
                &[
                    checkpoint.origin.as_str().into(),
                    (head.size as i64).into(),
                    head.root.to_vec().into(),
                    text.as_str().into(),
                ],
            )
            .or_raise();
        text
    })
}

/// A witness's name for its cosignatures: a note key name (no white space, no `+`).
fn witness_name_of(witness_name: Option<String>) -> String {
    let name = required(witness_name, "witness_name");
    if !valid_name(&name) {
        raise(
            ParmanaError::new(&codes::VAL_016, "witness_name is not a note key name")
                .with_hint("Use a name such as auditor.example/witness: no white space, no '+'."),
        );
    }
    name
}

/// The verifier key (`<witness_name>+<key id>+<base64 key>`, cosignature/v1) of the cosignatures
/// this database makes as `witness_name`: what monitors are configured with to check them.
#[pg_extern(stable, security_definer, parallel_restricted)]
#[search_path(pg_catalog, pg_temp)]
fn parmana_witness_key(witness_name: Option<String>) -> String {
    let name = witness_name_of(witness_name);
    verifier_key(&name, COSIGNATURE_V1, &current_signer().verifying_key())
}
