//! Signed notes (c2sp.org/signed-note), tree heads as checkpoints (c2sp.org/tlog-checkpoint) and
//! witness cosignatures (c2sp.org/tlog-cosignature, Ed25519 cosignature/v1), so that existing
//! witness and monitor tooling can read parmana's log.
//!
//! ```text
//! <origin>\n<tree size>\n<base64(root hash)>\n      the checkpoint: the note's text
//! \n
//! — <key name> base64(key ID ‖ signature)\n         one line per signature
//! ```
//!
//! A note key's ID is `SHA-256(name ‖ "\n" ‖ type ‖ public key)[:4]` with type 0x01 for an Ed25519
//! note signature and 0x04 for an Ed25519 cosignature, whose signature is a big-endian u64
//! timestamp followed by the signature over `cosignature/v1\ntime <t>\n` ‖ the checkpoint text.

use crate::keys::KeyPair;
use crate::merkle::Hash;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use ed25519_dalek::{Signature, Signer, VerifyingKey};
use sha2::{Digest, Sha256};

/// Signature type byte of an Ed25519 note signature.
pub const ED25519: u8 = 0x01;
/// Signature type byte of an Ed25519 cosignature/v1.
pub const COSIGNATURE_V1: u8 = 0x04;

const DASH: &str = "\u{2014} ";

/// Why a note, key or checkpoint was refused.
pub type NoteError = String;

/// Key names are non-empty, without white space or `+`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty() && !name.contains('+') && !name.chars().any(char::is_whitespace)
}

pub fn key_id(name: &str, kind: u8, public_key: &[u8; 32]) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([kind]);
    h.update(public_key);
    let digest = h.finalize();
    [digest[0], digest[1], digest[2], digest[3]]
}

/// A verifier key: `<name>+<key ID hex>+base64(type ‖ public key)`.
pub fn verifier_key(name: &str, kind: u8, public_key: &VerifyingKey) -> String {
    let pk = public_key.to_bytes();
    let mut material = vec![kind];
    material.extend_from_slice(&pk);
    format!("{name}+{}+{}", crate::hashes::to_hex(&key_id(name, kind, &pk)), BASE64.encode(material))
}

/// A parsed verifier key.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifierKey {
    pub name: String,
    pub kind: u8,
    pub id: [u8; 4],
    pub key: VerifyingKey,
}

pub fn parse_verifier_key(vkey: &str) -> Result<VerifierKey, NoteError> {
    let mut parts = vkey.trim().splitn(3, '+');
    let (Some(name), Some(id_hex), Some(material)) = (parts.next(), parts.next(), parts.next()) else {
        return Err("a verifier key is <name>+<key id>+<base64 key>".into());
    };
    if !valid_name(name) {
        return Err("invalid key name".into());
    }
    let raw = canonical_base64(material)?;
    let (&kind, pk) = raw.split_first().ok_or("empty key material")?;
    let pk: [u8; 32] = pk.try_into().map_err(|_| "an Ed25519 key is 32 bytes".to_string())?;
    if kind != ED25519 && kind != COSIGNATURE_V1 {
        return Err(format!("unsupported signature type 0x{kind:02x}"));
    }
    let id = key_id(name, kind, &pk);
    if id_hex != crate::hashes::to_hex(&id) {
        return Err("the key ID does not match the key".into());
    }
    let key = VerifyingKey::from_bytes(&pk).map_err(|_| "not an Ed25519 public key".to_string())?;
    Ok(VerifierKey { name: name.to_owned(), kind, id, key })
}

/// Standard padded base64 that re-encodes to the same text.
fn canonical_base64(text: &str) -> Result<Vec<u8>, NoteError> {
    let raw = BASE64.decode(text).map_err(|_| "not base64".to_string())?;
    if BASE64.encode(&raw) != text {
        return Err("non-canonical base64".into());
    }
    Ok(raw)
}

/// One signature line of a note.
#[derive(Debug, Clone, PartialEq)]
pub struct NoteSignature {
    pub name: String,
    pub id: [u8; 4],
    /// The bytes after the key ID.
    pub signature: Vec<u8>,
}

impl NoteSignature {
    pub fn line(&self) -> String {
        let mut raw = self.id.to_vec();
        raw.extend_from_slice(&self.signature);
        format!("{DASH}{} {}\n", self.name, BASE64.encode(raw))
    }
}

/// A note: its text (ending in a newline) and its signature lines.
#[derive(Debug, Clone, PartialEq)]
pub struct Note {
    pub text: String,
    pub signatures: Vec<NoteSignature>,
}

impl Note {
    pub fn to_text(&self) -> String {
        let mut out = self.text.clone();
        out.push('\n');
        for s in &self.signatures {
            out.push_str(&s.line());
        }
        out
    }
}

/// At most this many signature lines are read (the spec asks to accept at least 16).
pub const MAX_SIGNATURES: usize = 100;

pub fn parse_note(note: &str) -> Result<Note, NoteError> {
    if let Some(c) = note.chars().find(|c| *c < ' ' && *c != '\n') {
        return Err(format!("control character U+{:04X} in note", c as u32));
    }
    let split = note.rfind("\n\n").ok_or("no blank line before the signatures")?;
    let (text, block) = (&note[..split + 1], &note[split + 2..]);
    if block.is_empty() || !block.ends_with('\n') {
        return Err("the signature block must be lines ending in a newline".into());
    }
    let lines: Vec<&str> = block[..block.len() - 1].split('\n').collect();
    if lines.len() > MAX_SIGNATURES {
        return Err("too many signatures".into());
    }
    let mut signatures = Vec::new();
    for line in lines {
        let rest = line.strip_prefix(DASH).ok_or("a signature line starts with an em dash and a space")?;
        let (name, b64) = rest.rsplit_once(' ').ok_or("a signature line is '— <name> <base64>'")?;
        if !valid_name(name) {
            return Err("invalid key name in a signature line".into());
        }
        let raw = canonical_base64(b64)?;
        if raw.len() < 5 {
            return Err("signature too short".into());
        }
        signatures.push(NoteSignature {
            name: name.to_owned(),
            id: [raw[0], raw[1], raw[2], raw[3]],
            signature: raw[4..].to_vec(),
        });
    }
    Ok(Note { text: text.to_owned(), signatures })
}

/// Sign `text` as a note with an Ed25519 note signature of key `name`.
pub fn sign_note(text: &str, name: &str, key: &KeyPair) -> Note {
    Note { text: text.to_owned(), signatures: vec![note_signature(text, name, key)] }
}

pub fn note_signature(text: &str, name: &str, key: &KeyPair) -> NoteSignature {
    let pk = key.verifying_key().to_bytes();
    let signature = key.signing_key().sign(text.as_bytes()).to_bytes().to_vec();
    NoteSignature { name: name.to_owned(), id: key_id(name, ED25519, &pk), signature }
}

/// The names of the known keys whose signatures on `note` verify. Every signature line that
/// matches a known (name, key ID) must verify, or the whole note is refused; at least one must.
pub fn verify_note(note: &Note, keys: &[VerifierKey]) -> Result<Vec<String>, NoteError> {
    let mut verified = Vec::new();
    for sig in &note.signatures {
        let Some(key) = keys.iter().find(|k| k.name == sig.name && k.id == sig.id) else { continue };
        let ok = match key.kind {
            ED25519 => Signature::from_slice(&sig.signature)
                .is_ok_and(|s| key.key.verify_strict(note.text.as_bytes(), &s).is_ok()),
            COSIGNATURE_V1 => verify_cosignature(&note.text, sig, &key.key).is_ok(),
            _ => false,
        };
        if !ok {
            return Err(format!("the signature of {} does not verify", sig.name));
        }
        verified.push(sig.name.clone());
    }
    if verified.is_empty() {
        return Err("no signature by a known key".into());
    }
    Ok(verified)
}

/// A tree head as a checkpoint note's text.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
}

impl Checkpoint {
    pub fn text(&self) -> String {
        format!("{}\n{}\n{}\n", self.origin, self.size, BASE64.encode(self.root))
    }

    /// The first three lines of a checkpoint text; extension lines are allowed and ignored.
    pub fn parse(text: &str) -> Result<Checkpoint, NoteError> {
        let mut lines = text.split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next()) else {
            return Err("a checkpoint is origin, tree size and root hash lines".into());
        };
        if origin.is_empty() || !text.ends_with('\n') {
            return Err("a checkpoint needs an origin and must end in a newline".into());
        }
        if size.is_empty() || (size.len() > 1 && size.starts_with('0')) || !size.bytes().all(|b| b.is_ascii_digit()) {
            return Err("the tree size is a decimal number without leading zeros".into());
        }
        let size = size.parse::<u64>().map_err(|_| "the tree size does not fit in 64 bits".to_string())?;
        let root: Hash = canonical_base64(root)?.try_into().map_err(|_| "the root hash is not 32 bytes".to_string())?;
        Ok(Checkpoint { origin: origin.to_owned(), size, root })
    }
}

fn cosigned_message(text: &str, timestamp: u64) -> Vec<u8> {
    format!("cosignature/v1\ntime {timestamp}\n{text}").into_bytes()
}

/// A witness's cosignature line on checkpoint text `text`, at `timestamp` (POSIX seconds).
pub fn cosign(text: &str, name: &str, key: &KeyPair, timestamp: u64) -> NoteSignature {
    let pk = key.verifying_key().to_bytes();
    let mut signature = timestamp.to_be_bytes().to_vec();
    signature.extend_from_slice(&key.signing_key().sign(&cosigned_message(text, timestamp)).to_bytes());
    NoteSignature { name: name.to_owned(), id: key_id(name, COSIGNATURE_V1, &pk), signature }
}

/// Verify a cosignature line; returns its timestamp.
pub fn verify_cosignature(text: &str, sig: &NoteSignature, key: &VerifyingKey) -> Result<u64, NoteError> {
    if sig.signature.len() != 72 {
        return Err("a cosignature is an 8-byte timestamp and a 64-byte signature".into());
    }
    let timestamp = u64::from_be_bytes(sig.signature[..8].try_into().expect("8 bytes"));
    if timestamp > i64::MAX as u64 {
        return Err("cosignature timestamp out of range".into());
    }
    let signature = Signature::from_slice(&sig.signature[8..]).map_err(|_| "bad signature".to_string())?;
    key.verify_strict(&cosigned_message(text, timestamp), &signature)
        .map_err(|_| "the cosignature does not verify".to_string())?;
    Ok(timestamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> KeyPair {
        KeyPair::from_seed(&[seed; 32])
    }

    #[test]
    fn signed_checkpoint_round_trip() {
        let log = key(1);
        let cp = Checkpoint { origin: "parmana.example/log".into(), size: 12, root: [7; 32] };
        let note = sign_note(&cp.text(), "parmana.example/log", &log);
        let text = note.to_text();
        assert!(text.starts_with("parmana.example/log\n12\nBwcH"));
        assert!(text.contains("\n\n\u{2014} parmana.example/log "));
        let parsed = parse_note(&text).unwrap();
        assert_eq!(parsed, note);
        let vkey = parse_verifier_key(&verifier_key("parmana.example/log", ED25519, &log.verifying_key())).unwrap();
        assert_eq!(verify_note(&parsed, std::slice::from_ref(&vkey)).unwrap(), ["parmana.example/log"]);
        assert_eq!(Checkpoint::parse(&parsed.text).unwrap(), cp);
        // Any change to the text, or a signature by another key under the same name, is refused.
        let changed = Note { text: parsed.text.replace("12", "13"), ..parsed.clone() };
        assert!(verify_note(&changed, std::slice::from_ref(&vkey)).is_err());
        let other = sign_note(&cp.text(), "parmana.example/log", &key(2));
        assert!(verify_note(&other, &[vkey]).is_err());
    }

    #[test]
    fn cosignatures_verify_and_bind_the_timestamp() {
        let witness = key(3);
        let text = Checkpoint { origin: "o".into(), size: 1, root: [0; 32] }.text();
        let sig = cosign(&text, "witness.example/w1", &witness, 1_700_000_000);
        assert_eq!(verify_cosignature(&text, &sig, &witness.verifying_key()).unwrap(), 1_700_000_000);
        let mut later = sig.clone();
        later.signature[..8].copy_from_slice(&1_700_000_001u64.to_be_bytes());
        assert!(verify_cosignature(&text, &later, &witness.verifying_key()).is_err());
        let vkey = verifier_key("witness.example/w1", COSIGNATURE_V1, &witness.verifying_key());
        let note = Note { text: text.clone(), signatures: vec![sig] };
        assert_eq!(verify_note(&note, &[parse_verifier_key(&vkey).unwrap()]).unwrap(), ["witness.example/w1"]);
    }

    #[test]
    fn malformed_notes_and_keys_are_refused() {
        for bad in
            ["no blank line\n", "text\n\n", "text\n\nnot a signature\n", "text\n\n\u{2014} name !!!\n", "a\tb\n\n"]
        {
            assert!(parse_note(bad).is_err(), "{bad:?}");
        }
        for bad in ["name+00000000+AQ==", "na me+1+AA==", "x", "name+zz+AQID"] {
            assert!(parse_verifier_key(bad).is_err(), "{bad:?}");
        }
        for bad in ["o\n012\nAAAA\n", "o\n1\nAAAA\n", "\n1\n", "o\n1\n"] {
            assert!(Checkpoint::parse(bad).is_err(), "{bad:?}");
        }
    }
}
