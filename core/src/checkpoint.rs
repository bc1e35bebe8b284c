//! Signed checkpoints over the attestation log.
//!
//! Since 0.4.0 a checkpoint is a signed tree head: the attestations, in id order, are the leaves
//! of an RFC 9162 Merkle tree (`merkle`), `digest` is the hex root of its first `treeSize` leaves,
//! and the same head is published as a C2SP signed note (`note`). Each appends the rows with ids in
//! `(fromId, toId]` and names the previous checkpoint's digest.
//!
//! Checkpoints written before 0.4.0 chain instead: `digest = hex SHA-256( previousDigest "\n"
//! { id " " leaf "\n" } )` over the rows in `(fromId, toId]` in id order, with
//! `leaf = hex SHA-256(JCS(attestation))` (signature included) and 64 zeros before the first.
//! They stay verifiable (`ChainHasher`).

use crate::canonical::canonicalize;
use crate::hashes::{jcs_sha256, to_hex};
use crate::keys::KeyPair;
use crate::merkle::{leaf_hash, Hash};
use crate::signing::{sign, Signed, CHECKPOINT_TYPE};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

/// previousDigest of the first checkpoint.
pub const GENESIS_DIGEST: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Streams rows, in id order, into a checkpoint digest.
pub struct ChainHasher {
    hasher: Sha256,
    rows: u64,
    last_id: Option<i64>,
}

impl ChainHasher {
    pub fn new(previous_digest: &str) -> ChainHasher {
        let mut hasher = Sha256::new();
        hasher.update(previous_digest.as_bytes());
        hasher.update(b"\n");
        ChainHasher { hasher, rows: 0, last_id: None }
    }

    /// Add the next row; ids must increase.
    pub fn add(&mut self, id: i64, attestation: &Value) {
        debug_assert!(self.last_id.is_none_or(|last| id > last), "rows must come in id order");
        self.hasher.update(format!("{id} {}\n", jcs_sha256(attestation)).as_bytes());
        self.rows += 1;
        self.last_id = Some(id);
    }

    pub fn rows(&self) -> u64 {
        self.rows
    }

    pub fn finish(self) -> String {
        to_hex(&self.hasher.finalize())
    }
}

/// A log origin for a database that configured none: `parmana.invalid/log-<20 random hex digits>`.
pub fn generated_origin() -> crate::Result<String> {
    let mut raw = [0u8; 10];
    getrandom::fill(&mut raw)
        .map_err(|e| crate::ParmanaError::no_signing_key(format!("The OS random source failed: {e}")))?;
    Ok(format!("parmana.invalid/log-{}", to_hex(&raw)))
}

/// The Merkle leaf hash of an attestation: `SHA-256(0x00 ‖ JCS(attestation))`.
pub fn attestation_leaf(attestation: &Value) -> Hash {
    leaf_hash(canonicalize(attestation).as_bytes())
}

/// The leaf index of attestation `id` in a tree checkpoint that appended the ids in
/// `(from_id, to_id]` as leaves from `first_leaf`, where `gaps` (sorted) are the ids no row had.
pub fn leaf_index(first_leaf: u64, from_id: i64, to_id: i64, gaps: &[i64], id: i64) -> Option<u64> {
    if id <= from_id || id > to_id || gaps.binary_search(&id).is_ok() {
        return None;
    }
    let missing_before = gaps.partition_point(|g| *g < id) as u64;
    Some(first_leaf + (id - from_id - 1) as u64 - missing_before)
}

/// What a tree checkpoint states, before signing.
#[derive(Debug, Clone)]
pub struct TreeHeadFields<'a> {
    pub checkpoint_id: i64,
    pub origin: &'a str,
    /// Exclusive lower bound of the ids this checkpoint appended.
    pub from_id: i64,
    /// Inclusive upper bound.
    pub to_id: i64,
    /// Rows appended by this checkpoint.
    pub row_count: u64,
    pub tree_size: u64,
    pub previous_digest: &'a str,
    /// Hex root of the tree of `tree_size` leaves.
    pub digest: &'a str,
    pub issued_at: String,
}

impl TreeHeadFields<'_> {
    pub fn body(&self, signer_key_id: &str) -> Map<String, Value> {
        let mut body = Map::new();
        body.insert("checkpointId".into(), json!(self.checkpoint_id));
        body.insert("origin".into(), json!(self.origin));
        body.insert("fromId".into(), json!(self.from_id));
        body.insert("toId".into(), json!(self.to_id));
        body.insert("rowCount".into(), json!(self.row_count));
        body.insert("treeSize".into(), json!(self.tree_size));
        body.insert("previousDigest".into(), json!(self.previous_digest));
        body.insert("digest".into(), json!(self.digest));
        body.insert("issuedAt".into(), json!(self.issued_at));
        body.insert("schemaVersion".into(), json!(crate::runtime::SUPPORTED_SCHEMA_VERSIONS[0]));
        body.insert("runtimeVersion".into(), json!(crate::runtime::RUNTIME_VERSION));
        body.insert("runtimeHash".into(), json!(crate::runtime::runtime_hash()));
        body.insert("signerKeyId".into(), json!(signer_key_id));
        body
    }

    pub fn sign(&self, key: &KeyPair) -> Signed {
        sign(self.body(key.key_id()), CHECKPOINT_TYPE, key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_depends_on_every_row_its_id_and_the_previous_digest() {
        let a = json!({"executionId": "a", "signature": "x"});
        let b = json!({"executionId": "b", "signature": "y"});
        let digest = |prev: &str, rows: &[(i64, &Value)]| {
            let mut h = ChainHasher::new(prev);
            for (id, v) in rows {
                h.add(*id, v);
            }
            h.finish()
        };
        let base = digest(GENESIS_DIGEST, &[(1, &a), (2, &b)]);
        assert_eq!(base.len(), 64);
        assert_ne!(base, digest(GENESIS_DIGEST, &[(1, &a)]), "a deleted row changes the digest");
        assert_ne!(base, digest(GENESIS_DIGEST, &[(1, &a), (3, &b)]), "a renumbered row changes it");
        assert_ne!(base, digest(GENESIS_DIGEST, &[(1, &b), (2, &a)]), "swapped rows change it");
        assert_ne!(base, digest(&"1".repeat(64), &[(1, &a), (2, &b)]), "it chains on the previous digest");
        // The documented construction, spelled out.
        let text = format!("{GENESIS_DIGEST}\n1 {}\n2 {}\n", jcs_sha256(&a), jcs_sha256(&b));
        assert_eq!(base, crate::hashes::sha256_hex(text.as_bytes()));
    }

    #[test]
    fn leaf_indexes_skip_missing_ids() {
        // A checkpoint appended ids (10, 20] from leaf 5; ids 12 and 17 do not exist.
        let gaps = [12, 17];
        assert_eq!(leaf_index(5, 10, 20, &gaps, 11), Some(5));
        assert_eq!(leaf_index(5, 10, 20, &gaps, 12), None);
        assert_eq!(leaf_index(5, 10, 20, &gaps, 13), Some(6));
        assert_eq!(leaf_index(5, 10, 20, &gaps, 18), Some(10));
        assert_eq!(leaf_index(5, 10, 20, &gaps, 20), Some(12));
        assert_eq!(leaf_index(5, 10, 20, &gaps, 10), None);
        assert_eq!(leaf_index(5, 10, 20, &gaps, 21), None);
    }

    #[test]
    fn leaves_are_rfc9162_leaves_of_the_canonical_attestation() {
        let a = json!({"b": 1, "a": "x"});
        assert_eq!(attestation_leaf(&a), leaf_hash(br#"{"a":"x","b":1}"#));
    }
}
