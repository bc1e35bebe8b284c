//! Signed checkpoints over the attestation log. A checkpoint seals the rows with ids in
//! `(fromId, toId]`; its digest chains onto the previous checkpoint's, so a changed, inserted or
//! deleted row under any checkpoint — or a deleted checkpoint — is detectable.
//!
//! `digest = hex SHA-256( previousDigest "\n" { id " " leaf "\n" } )` over rows in id order, where
//! `leaf = hex SHA-256(JCS(attestation))` (signature included). The first previousDigest is 64 zeros.

use crate::hashes::{jcs_sha256, to_hex};
use crate::keys::KeyPair;
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

/// What a checkpoint states, before signing.
#[derive(Debug, Clone)]
pub struct CheckpointFields<'a> {
    pub checkpoint_id: i64,
    /// Exclusive lower bound: the previous checkpoint's toId (0 for the first).
    pub from_id: i64,
    /// Inclusive upper bound.
    pub to_id: i64,
    pub row_count: u64,
    pub previous_digest: &'a str,
    pub digest: &'a str,
    pub issued_at: String,
}

impl CheckpointFields<'_> {
    pub fn body(&self, signer_key_id: &str) -> Map<String, Value> {
        let mut body = Map::new();
        body.insert("checkpointId".into(), json!(self.checkpoint_id));
        body.insert("fromId".into(), json!(self.from_id));
        body.insert("toId".into(), json!(self.to_id));
        body.insert("rowCount".into(), json!(self.row_count));
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
}
