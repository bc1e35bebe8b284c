//! Single documents, inclusion and consistency proofs, and signed notes. Each prints one line per
//! item (`ok ...` or `FAIL ...`) and returns whether all verified.

use crate::input;
use crate::keys::{lookup, PublicKeys};
use parmana_core::checkpoint::attestation_leaf;
use parmana_core::merkle::{verify_consistency, verify_inclusion, Hash};
use parmana_core::note::{parse_note, verify_note, Checkpoint, VerifierKey};
use parmana_core::signing::base64_decode;
use parmana_core::verify::{document_from_dsse, verify_document};
use serde_json::Value;
use std::path::Path;

fn report(label: &str, outcome: Result<String, String>) -> bool {
    match outcome {
        Ok(what) => {
            println!("ok {label}: {what}");
            true
        }
        Err(why) => {
            println!("FAIL {label}: {why}");
            false
        }
    }
}

/// Run `check` on every document of the input; true when all pass.
fn each_document(path: &Path, check: impl Fn(&Value) -> Result<String, String>) -> Result<bool, String> {
    let docs = input::documents(path)?;
    if docs.is_empty() {
        return Err(format!("{}: no documents", path.display()));
    }
    let mut all = true;
    for (label, doc) in docs {
        all &= report(&label, doc.and_then(|d| check(&d)));
    }
    Ok(all)
}

/// An attestation, override record or checkpoint record, or a DSSE envelope of one.
fn verify_signed(doc: &Value, keys: &PublicKeys) -> Result<String, String> {
    let (doc, form) = if doc.get("payloadType").is_some() {
        (document_from_dsse(doc)?, "DSSE envelope")
    } else {
        (doc.clone(), "document")
    };
    let report = verify_document(&doc, |id| lookup(keys, id));
    if !report.valid {
        return Err(report.reason.unwrap_or_else(|| "does not verify".into()));
    }
    let what = doc.get("executionId").or_else(|| doc.get("checkpointId")).map_or(String::new(), |v| format!(" {v}"));
    Ok(format!("{form}{what} signed by {}", doc["signerKeyId"].as_str().unwrap_or_default()))
}

pub fn documents(path: &Path, keys: &PublicKeys) -> Result<bool, String> {
    each_document(path, |doc| verify_signed(doc, keys))
}

fn hash(value: &Value, field: &str) -> Result<Hash, String> {
    let text = value.as_str().ok_or_else(|| format!("{field} is not a string"))?;
    base64_decode(text).map_err(|e| format!("{field}: {e}"))?.try_into().map_err(|_| format!("{field} is not 32 bytes"))
}

fn hashes(doc: &Value) -> Result<Vec<Hash>, String> {
    let list = doc["hashes"].as_array().ok_or("hashes is not a list")?;
    list.iter().map(|h| hash(h, "hashes[]")).collect()
}

fn size(doc: &Value, field: &str) -> Result<u64, String> {
    doc[field].as_u64().ok_or_else(|| format!("{field} is not a tree size"))
}

/// A checkpoint note signed by one of the log's keys: the tree head it states.
fn signed_tree_head(note: &str, log_keys: &[VerifierKey]) -> Result<Checkpoint, String> {
    let note = parse_note(note).map_err(|e| format!("checkpoint note: {e}"))?;
    let signers = verify_note(&note, log_keys).map_err(|e| format!("checkpoint note: {e}"))?;
    let head = Checkpoint::parse(&note.text).map_err(|e| format!("checkpoint note: {e}"))?;
    // A log signs its own heads: the origin line names the key that signed it.
    if !signers.contains(&head.origin) {
        return Err(format!("checkpoint note: origin {} is not the name of a key that signed it", head.origin));
    }
    Ok(head)
}

fn verify_inclusion_proof(doc: &Value, log_keys: &[VerifierKey], keys: &PublicKeys) -> Result<String, String> {
    let head = signed_tree_head(doc["checkpoint"].as_str().ok_or("the proof carries no checkpoint note")?, log_keys)?;
    let (index, tree_size) = (size(doc, "leafIndex")?, size(doc, "treeSize")?);
    if tree_size != head.size {
        return Err(format!("treeSize {tree_size} is not the signed tree size {}", head.size));
    }
    let leaf = match doc.get("attestation") {
        Some(attestation) => {
            let leaf = attestation_leaf(attestation);
            if doc.get("leafHash").is_some() && hash(&doc["leafHash"], "leafHash")? != leaf {
                return Err("leafHash is not the hash of the attestation".into());
            }
            if !keys.is_empty() {
                verify_signed(attestation, keys).map_err(|e| format!("attestation: {e}"))?;
            }
            leaf
        }
        None => hash(&doc["leafHash"], "leafHash")?,
    };
    if !verify_inclusion(&leaf, index, head.size, &hashes(doc)?, &head.root) {
        return Err(format!("leaf {index} is not in the signed tree of size {}", head.size));
    }
    Ok(format!("leaf {index} is in {} at size {}", head.origin, head.size))
}

pub fn inclusion(path: &Path, log_keys: &[VerifierKey], keys: &PublicKeys) -> Result<bool, String> {
    each_document(path, |doc| verify_inclusion_proof(doc, log_keys, keys))
}

fn verify_consistency_proof(doc: &Value, log_keys: &[VerifierKey], old_note: Option<&str>) -> Result<String, String> {
    let new = signed_tree_head(doc["checkpoint"].as_str().ok_or("the proof carries no checkpoint note")?, log_keys)?;
    let old_note = old_note
        .or_else(|| doc["oldCheckpoint"].as_str())
        .ok_or("no signed older tree head: the proof carries none and --old-checkpoint is not given")?;
    let old = signed_tree_head(old_note, log_keys)?;
    if old.origin != new.origin {
        return Err(format!("the tree heads are of different logs: {} and {}", old.origin, new.origin));
    }
    let (old_size, new_size) = (size(doc, "oldSize")?, size(doc, "newSize")?);
    if old_size != old.size || new_size != new.size {
        return Err(format!(
            "the proof is for sizes {old_size} → {new_size}, the signed heads are {} → {}",
            old.size, new.size
        ));
    }
    let proof = hashes(doc)?;
    let consistent = if old.size == new.size {
        proof.is_empty() && old.root == new.root
    } else {
        verify_consistency(old.size, new.size, &proof, &old.root, &new.root)
    };
    if !consistent {
        return Err(format!("the tree of size {} is not a prefix of the tree of size {}", old.size, new.size));
    }
    Ok(format!("{} at size {} extends size {}", new.origin, new.size, old.size))
}

pub fn consistency(path: &Path, log_keys: &[VerifierKey], old_checkpoint: Option<&Path>) -> Result<bool, String> {
    let old_note = old_checkpoint.map(input::read_text).transpose()?;
    each_document(path, |doc| verify_consistency_proof(doc, log_keys, old_note.as_deref()))
}

pub fn note(path: &Path, keys: &[VerifierKey]) -> Result<bool, String> {
    let text = input::read_text(path)?;
    let outcome = parse_note(&text).map_err(|e| e.to_string()).and_then(|note| {
        let signers = verify_note(&note, keys).map_err(|e| e.to_string())?;
        let head = match Checkpoint::parse(&note.text) {
            Ok(c) => format!("; checkpoint of {} at size {}", c.origin, c.size),
            Err(_) => String::new(),
        };
        Ok(format!("signed by {}{head}", signers.join(", ")))
    });
    Ok(report(&path.display().to_string(), outcome))
}
