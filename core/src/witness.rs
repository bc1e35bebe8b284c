//! A witness cosigns a log's tree heads only when each is consistent with the last one it
//! cosigned: the log may grow, never rewrite or fork its history. A superuser who rewrites the
//! log and re-seals it with the log's own key cannot get a witness's cosignature on the result.

use crate::keys::KeyPair;
use crate::merkle::{verify_consistency, Hash};
use crate::note::{cosign, parse_note, verify_note, Checkpoint, Note, VerifierKey};

/// The tree head a witness last cosigned for a log.
#[derive(Debug, Clone, PartialEq)]
pub struct TreeHead {
    pub size: u64,
    pub root: Hash,
}

/// Why a witness refuses to cosign.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// The note is malformed or not signed by the log's key.
    NotTheLogs(String),
    /// The head names another log.
    WrongOrigin { expected: String, found: String },
    /// The log is smaller than a head already cosigned.
    Shrunk { cosigned: u64, offered: u64 },
    /// Same size, another root: a fork.
    Forked { size: u64 },
    /// The consistency proof does not show the cosigned head as a prefix of the new one.
    Inconsistent { from: u64, to: u64 },
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::NotTheLogs(why) => write!(f, "not a checkpoint signed by the log: {why}"),
            Refusal::WrongOrigin { expected, found } => {
                write!(f, "the checkpoint is for log {found:?}, not {expected:?}")
            }
            Refusal::Shrunk { cosigned, offered } => {
                write!(f, "the log went back from {cosigned} to {offered} entries")
            }
            Refusal::Forked { size } => write!(f, "a different root for tree size {size}: the log forked"),
            Refusal::Inconsistent { from, to } => {
                write!(f, "the proof does not show the tree of {from} entries as a prefix of the tree of {to}")
            }
        }
    }
}

impl From<Refusal> for crate::ParmanaError {
    fn from(refusal: Refusal) -> Self {
        let code = match refusal {
            Refusal::NotTheLogs(_) | Refusal::WrongOrigin { .. } => &crate::error::codes::WIT_001,
            _ => &crate::error::codes::WIT_002,
        };
        crate::ParmanaError::new(code, format!("The witness refuses to cosign: {refusal}"))
    }
}

/// Check `note` (a checkpoint signed by `log_key`) against the head last cosigned, and cosign it
/// with the witness's key at `timestamp`. Returns the note with the cosignature added and the new
/// head to remember.
pub fn cosign_checkpoint(
    note: &str,
    log_key: &VerifierKey,
    previous: Option<&TreeHead>,
    proof: &[Hash],
    witness_name: &str,
    witness_key: &KeyPair,
    timestamp: u64,
) -> Result<(Note, TreeHead), Refusal> {
    let mut note = parse_note(note).map_err(Refusal::NotTheLogs)?;
    verify_note(&note, std::slice::from_ref(log_key)).map_err(Refusal::NotTheLogs)?;
    let checkpoint = Checkpoint::parse(&note.text).map_err(Refusal::NotTheLogs)?;
    if checkpoint.origin != log_key.name {
        return Err(Refusal::WrongOrigin { expected: log_key.name.clone(), found: checkpoint.origin });
    }
    if let Some(previous) = previous {
        if checkpoint.size < previous.size {
            return Err(Refusal::Shrunk { cosigned: previous.size, offered: checkpoint.size });
        }
        if checkpoint.size == previous.size && checkpoint.root != previous.root {
            return Err(Refusal::Forked { size: checkpoint.size });
        }
        if previous.size > 0
            && checkpoint.size > previous.size
            && !verify_consistency(previous.size, checkpoint.size, proof, &previous.root, &checkpoint.root)
        {
            return Err(Refusal::Inconsistent { from: previous.size, to: checkpoint.size });
        }
    }
    note.signatures.retain(|s| s.name != witness_name);
    note.signatures.push(cosign(&note.text, witness_name, witness_key, timestamp));
    Ok((note, TreeHead { size: checkpoint.size, root: checkpoint.root }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::{consistency_proof, leaf_hash, root, Appender, TiledTree, Tiles};
    use crate::note::{parse_verifier_key, sign_note, verifier_key, verify_cosignature, ED25519};

    fn tree(leaves: &[Hash]) -> TiledTree<Tiles> {
        let mut tiles = Tiles::default();
        let mut appender = Appender::resume(0, &mut tiles).unwrap();
        for leaf in leaves {
            appender.push(*leaf);
        }
        TiledTree { source: appender.changed, size: leaves.len() as u64 }
    }

    fn head(t: &mut TiledTree<Tiles>, size: u64, log: &KeyPair) -> String {
        let cp = Checkpoint { origin: "log.example/one".into(), size, root: root(t, size).unwrap() };
        sign_note(&cp.text(), "log.example/one", log).to_text()
    }

    #[test]
    fn cosigns_growth_and_refuses_rewrites() {
        let log = KeyPair::from_seed(&[1; 32]);
        let witness = KeyPair::from_seed(&[2; 32]);
        let log_key = parse_verifier_key(&verifier_key("log.example/one", ED25519, &log.verifying_key())).unwrap();
        let leaves: Vec<Hash> = (0u8..20).map(|i| leaf_hash(&[i])).collect();
        let mut honest = tree(&leaves);

        let first = head(&mut honest, 7, &log);
        let (cosigned, seen) = cosign_checkpoint(&first, &log_key, None, &[], "w.example/1", &witness, 10).unwrap();
        assert_eq!(seen.size, 7);
        let sig = cosigned.signatures.last().unwrap();
        assert_eq!(verify_cosignature(&cosigned.text, sig, &witness.verifying_key()).unwrap(), 10);

        let grown = head(&mut honest, 20, &log);
        let proof = consistency_proof(&mut honest, 7, 20).unwrap();
        let (_, seen2) = cosign_checkpoint(&grown, &log_key, Some(&seen), &proof, "w.example/1", &witness, 11).unwrap();
        assert_eq!(seen2.size, 20);

        // History rewritten (leaf 3 changed) and re-sealed with the log's own key.
        let mut forged_leaves = leaves.clone();
        forged_leaves[3] = leaf_hash(b"rewritten");
        let mut forged = tree(&forged_leaves);
        let resealed = head(&mut forged, 20, &log);
        let forged_proof = consistency_proof(&mut forged, 7, 20).unwrap();
        assert_eq!(
            cosign_checkpoint(&resealed, &log_key, Some(&seen), &forged_proof, "w.example/1", &witness, 12)
                .unwrap_err(),
            Refusal::Inconsistent { from: 7, to: 20 }
        );
        // A fork at the size already cosigned, a shrunk log, an unsigned note, another log.
        assert_eq!(
            cosign_checkpoint(&resealed, &log_key, Some(&seen2), &[], "w.example/1", &witness, 12).unwrap_err(),
            Refusal::Forked { size: 20 }
        );
        let smaller = head(&mut honest, 5, &log);
        assert!(matches!(
            cosign_checkpoint(&smaller, &log_key, Some(&seen), &[], "w.example/1", &witness, 12),
            Err(Refusal::Shrunk { .. })
        ));
        let by_other = head(&mut honest, 20, &KeyPair::from_seed(&[9; 32]));
        assert!(matches!(
            cosign_checkpoint(&by_other, &log_key, Some(&seen), &proof, "w.example/1", &witness, 12),
            Err(Refusal::NotTheLogs(_))
        ));
    }
}
