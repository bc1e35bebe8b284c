//! The published test vectors in fixtures/vectors/ (documented in docs/format.md): built here from
//! the RFC 8032 test keys and fixed times, so every byte is determined (Ed25519 is deterministic).
//! The test fails when the code would produce anything else; `PARMANA_WRITE_VECTORS=1 cargo test
//! --test vectors` rewrites the files after an intended format change.

use parmana_core::attestation::{AttestationFields, ExecutionState, PolicyIdentity};
use parmana_core::canonical::{canonicalize, canonicalize_without};
use parmana_core::checkpoint::{attestation_leaf, TreeHeadFields};
use parmana_core::hashes::{execution_fingerprint, jcs_sha256, to_hex};
use parmana_core::keys::{key_id, KeyPair};
use parmana_core::merkle::{consistency_proof, inclusion_proof, root, Hash, Subtrees};
use parmana_core::note::{cosign, sign_note, verifier_key, Checkpoint, COSIGNATURE_V1, ED25519};
use parmana_core::overrides::OverrideFields;
use parmana_core::policy::compile;
use parmana_core::signals::{validate, SignalLimits};
use parmana_core::signing::{base64_encode, pae, ATTESTATION_TYPE, CHECKPOINT_TYPE, OVERRIDE_TYPE};
use parmana_core::verify::dsse_envelope;
use serde_json::{json, Map, Value};
use std::path::PathBuf;

/// RFC 8032 section 7.1, TEST 1 and TEST 2 secret keys.
const LOG_SEED: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
const WITNESS_SEED: &str = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb";
const ORIGIN: &str = "example.com/parmana-log";
const WITNESS: &str = "witness.example/w1";
const COSIGNED_AT: u64 = 1_767_225_600; // 2026-01-01T00:00:00Z

fn seed(hex: &str) -> [u8; 32] {
    let bytes: Vec<u8> = (0..32).map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap()).collect();
    bytes.try_into().unwrap()
}

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/vectors")
}

fn policy_doc() -> Value {
    let text = std::fs::read_to_string(dir().join("../policies/loan-approval-1.0.0.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Compare with (or, when asked, write) fixtures/vectors/<name>.
fn check(name: &str, value: &Value) {
    let path = dir().join(name);
    let text = serde_json::to_string_pretty(value).unwrap() + "\n";
    if std::env::var_os("PARMANA_WRITE_VECTORS").is_some() {
        std::fs::create_dir_all(dir()).unwrap();
        std::fs::write(&path, text).unwrap();
        return;
    }
    let stored = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        stored == text,
        "{name} differs from what the code produces; rerun with PARMANA_WRITE_VECTORS=1 if the change is intended"
    );
}

struct Leaves(Vec<Hash>);
impl Subtrees for Leaves {
    fn subtree(&mut self, height: u32, index: u64) -> Result<Hash, String> {
        let lo = (index << height) as usize;
        let hashes = &self.0[lo..lo + (1usize << height)];
        fn mth(h: &[Hash]) -> Hash {
            if h.len() == 1 {
                return h[0];
            }
            let k = h.len().next_power_of_two() / 2;
            parmana_core::merkle::node_hash(&mth(&h[..k]), &mth(&h[k..]))
        }
        Ok(mth(hashes))
    }
}

fn b64_list(hashes: &[Hash]) -> Value {
    Value::Array(hashes.iter().map(|h| json!(base64_encode(h))).collect())
}

/// A signed document with everything a verifier needs to check each step.
fn signed_vector(name: &str, payload_type: &str, document: &Map<String, Value>) -> Value {
    let body = canonicalize_without(document, &["signature"]);
    let doc = Value::Object(document.clone());
    json!({
        "name": name,
        "payloadType": payload_type,
        "document": doc,
        "canonicalBody": body,
        "pae": String::from_utf8(pae(payload_type, body.as_bytes())).unwrap(),
        "signature": document["signature"],
        "dsse": dsse_envelope(&doc).unwrap(),
        "leafHash": to_hex(&attestation_leaf(&doc)),
    })
}

#[test]
fn published_vectors() {
    let log_key = KeyPair::from_seed(&seed(LOG_SEED));
    let witness_key = KeyPair::from_seed(&seed(WITNESS_SEED));
    let log_vkey = verifier_key(ORIGIN, ED25519, &log_key.verifying_key());
    check(
        "keys.json",
        &json!({
            "description": "The signing key is RFC 8032 TEST 1, the witness key RFC 8032 TEST 2.",
            "secretKeyHex": LOG_SEED,
            "publicKeyHex": to_hex(log_key.verifying_key().as_bytes()),
            "publicKeyPem": log_key.public_key_pem(),
            "privateKeyPem": log_key.to_pkcs8_pem(),
            "signerKeyId": key_id(&log_key.verifying_key()),
            "logOrigin": ORIGIN,
            "logVerifierKey": log_vkey,
            "witnessName": WITNESS,
            "witnessSecretKeyHex": WITNESS_SEED,
            "witnessVerifierKey": verifier_key(WITNESS, COSIGNATURE_V1, &witness_key.verifying_key()),
        }),
    );

    // Decisions under loan-approval 1.0.0: approve, and one that needs review.
    let doc = policy_doc();
    let policy = compile(&doc).unwrap();
    let mut documents = Vec::new();
    let mut vectors = Vec::new();
    let mut decided = |execution_id: &str, signals: Value, issued_at: &str| {
        let v = validate(&policy, &signals, SignalLimits::default()).unwrap();
        let decision = policy.evaluate(&v.values).unwrap();
        let fingerprint = execution_fingerprint(&policy.policy_id, &policy.policy_version, &v.canonical);
        let fields = AttestationFields {
            execution_id,
            execution_fingerprint: &fingerprint,
            policy: policy.identity(),
            decision: &decision,
            state: ExecutionState::of_decision(&decision),
            issued_at: issued_at.into(),
            override_id: None,
            resolved_by_login: None,
            explanation: None,
        };
        let signed = fields.sign(&log_key).document;
        let mut vector = signed_vector(execution_id, ATTESTATION_TYPE, &signed);
        vector["signals"] = signals;
        vector["canonicalSignals"] = json!(v.canonical);
        vector["fingerprintInput"] =
            json!(parmana_core::hashes::fingerprint_input(&policy.policy_id, &policy.policy_version, &v.canonical));
        vectors.push(vector);
        (Value::Object(signed), decision, fingerprint)
    };
    let (approved, _, _) =
        decided("loan-1001", json!({"credit_score": 720, "loan_amount": 15000}), "2026-01-01T00:00:00.000000Z");
    let (pending, decision, fingerprint) =
        decided("loan-1002", json!({"loan_amount": 9000.0, "credit_score": 650}), "2026-01-01T00:00:01.000000Z");
    documents.push(approved);
    documents.push(pending.clone());

    // The review: an override record, then the resolution attestation that names it.
    let identity = PolicyIdentity::of_document(pending.as_object().unwrap()).unwrap();
    let record = OverrideFields {
        execution_id: "loan-1002",
        execution_fingerprint: &fingerprint,
        policy: identity,
        decision: &decision,
        pending_attestation_hash: &jcs_sha256(&pending),
        approved: true,
        approved_by: "Jane Doe",
        approver_role: "credit_officers",
        reason: "income verified",
        resolved_by: "reviewer_app",
        resolved_by_login: "jane",
        issued_at: "2026-01-01T00:05:00.000000Z".into(),
    }
    .sign(&log_key)
    .document;
    let override_id = record["overrideId"].as_str().unwrap().to_owned();
    vectors.push(signed_vector("override of loan-1002", OVERRIDE_TYPE, &record));
    let resolution = AttestationFields {
        execution_id: "loan-1002",
        execution_fingerprint: &fingerprint,
        policy: identity,
        decision: &decision,
        state: ExecutionState::Completed,
        issued_at: "2026-01-01T00:05:00.000001Z".into(),
        override_id: Some(&override_id),
        resolved_by_login: Some("jane"),
        explanation: None,
    }
    .sign(&log_key)
    .document;
    vectors.push(signed_vector("resolution of loan-1002", ATTESTATION_TYPE, &resolution));
    documents.push(Value::Object(resolution));

    // A decision with its explanation signed in.
    let v = validate(&policy, &json!({"credit_score": 450, "loan_amount": 5}), SignalLimits::default()).unwrap();
    let (decision, why) = policy.explain(&v.values).unwrap();
    let explained = AttestationFields {
        execution_id: "loan-1003",
        execution_fingerprint: &execution_fingerprint(&policy.policy_id, &policy.policy_version, &v.canonical),
        policy: policy.identity(),
        decision: &decision,
        state: ExecutionState::of_decision(&decision),
        issued_at: "2026-01-01T00:06:00.000000Z".into(),
        override_id: None,
        resolved_by_login: None,
        explanation: Some(why.compact_json()),
    }
    .sign(&log_key)
    .document;
    let mut vector = signed_vector("loan-1003 (explained)", ATTESTATION_TYPE, &explained);
    vector["signals"] = json!({"credit_score": 450, "loan_amount": 5});
    vector["canonicalSignals"] = json!(v.canonical);
    vector["fingerprintInput"] =
        json!(parmana_core::hashes::fingerprint_input(&policy.policy_id, &policy.policy_version, &v.canonical));
    vectors.push(vector);
    documents.push(Value::Object(explained));

    // The log: these four attestations are leaves 0..3; a checkpoint seals all four.
    let leaves: Vec<Hash> = documents.iter().map(attestation_leaf).collect();
    let mut tree = Leaves(leaves.clone());
    let roots: Vec<Value> = (1..=4).map(|n| json!(base64_encode(&root(&mut tree, n).unwrap()))).collect();
    let size = leaves.len() as u64;
    let root4 = root(&mut tree, size).unwrap();
    let record = TreeHeadFields {
        checkpoint_id: 1,
        origin: ORIGIN,
        from_id: 0,
        to_id: 4,
        row_count: 4,
        tree_size: 4,
        previous_digest: &"0".repeat(64),
        digest: &to_hex(&root4),
        issued_at: "2026-01-01T00:10:00.000000Z".into(),
    }
    .sign(&log_key)
    .document;
    vectors.push(signed_vector("checkpoint 1", CHECKPOINT_TYPE, &record));
    let text = Checkpoint { origin: ORIGIN.into(), size, root: root4 }.text();
    let note = sign_note(&text, ORIGIN, &log_key);
    let mut cosigned = note.clone();
    cosigned.signatures.push(cosign(&text, WITNESS, &witness_key, COSIGNED_AT));
    // Signed tree heads at every size, as a log checkpointing after each leaf would have made.
    let notes: Vec<String> = (1..=size)
        .map(|n| {
            let head = Checkpoint { origin: ORIGIN.into(), size: n, root: root(&mut tree, n).unwrap() };
            sign_note(&head.text(), ORIGIN, &log_key).to_text()
        })
        .collect();
    let inclusion: Vec<Value> = (0..size)
        .map(|i| {
            json!({"leafIndex": i, "treeSize": size, "leafHash": base64_encode(&leaves[i as usize]),
                   "hashes": b64_list(&inclusion_proof(&mut tree, i, size).unwrap()), "checkpoint": note.to_text()})
        })
        .collect();
    let consistency: Vec<Value> = (1..size)
        .map(|m| {
            json!({"oldSize": m, "newSize": size, "oldRootHash": roots[m as usize - 1], "newRootHash": roots[3],
                   "hashes": b64_list(&consistency_proof(&mut tree, m, size).unwrap()),
                   "oldCheckpoint": notes[m as usize - 1], "checkpoint": note.to_text()})
        })
        .collect();
    // Each of these must be rejected.
    let mut tampered = Vec::new();
    let mut changed = |name: &str, kind: &str, input: Value, why: &str| {
        tampered.push(json!({"name": name, "kind": kind, "input": input, "why": why}));
    };
    let first = vectors[0]["document"].clone();
    let mut doc = first.clone();
    doc["decision"]["action"] = json!("reject");
    changed("decision changed", "document", doc, "the signature covers the decision");
    let mut doc = first.clone();
    let sig = doc["signature"].as_str().unwrap().to_owned();
    let flipped = format!("{}{}", if sig.starts_with('A') { 'B' } else { 'A' }, &sig[1..]);
    doc["signature"] = json!(flipped);
    changed("signature changed", "document", doc, "the signature does not verify");
    let mut doc = first.clone();
    doc["issuedAt"] = json!("2026-01-01T00:00:00.000001Z");
    changed("time changed", "document", doc, "the signature covers issuedAt");
    let mut doc = vectors[2]["document"].clone();
    doc["approvedBy"] = json!("Mallory");
    changed("override approver changed", "document", doc, "the signature covers approvedBy");
    let mut env = vectors[0]["dsse"].clone();
    env["payloadType"] = json!(OVERRIDE_TYPE);
    changed("DSSE payload type changed", "dsse", env, "the payload is an attestation; PAE binds the type");
    let mut proof = inclusion[1].clone();
    proof["leafIndex"] = json!(2);
    changed("inclusion proof for another index", "inclusion", proof, "the path does not lead to the root from index 2");
    let mut proof = inclusion[1].clone();
    proof["leafHash"] = json!(base64_encode(&leaves[0]));
    changed("inclusion proof for another leaf", "inclusion", proof, "leaf 0 is not at index 1");
    // A fork: a head for size 2, signed by the log's key, with another root.
    let forked = sign_note(&Checkpoint { origin: ORIGIN.into(), size: 2, root: leaves[3] }.text(), ORIGIN, &log_key);
    let mut proof = consistency[1].clone();
    proof["oldRootHash"] = json!(base64_encode(&leaves[3]));
    proof["oldCheckpoint"] = json!(forked.to_text());
    changed("consistency from a forked head", "consistency", proof, "no proof connects a forked head to the tree");
    changed(
        "checkpoint note with another size",
        "note",
        json!(note.to_text().replacen("\n4\n", "\n5\n", 1)),
        "the note signature covers the tree size",
    );
    let mut later = cosigned.clone();
    later.signatures[1].signature[..8].copy_from_slice(&(COSIGNED_AT + 1).to_be_bytes());
    changed(
        "cosignature with another timestamp",
        "cosignedNote",
        json!(later.to_text()),
        "the cosignature covers its timestamp",
    );
    check("tampered.json", &Value::Array(tampered));
    check("documents.json", &Value::Array(vectors));
    check(
        "log.json",
        &json!({
            "leaves": documents.iter().enumerate().map(|(i, d)| json!({
                "index": i, "executionId": d["executionId"], "canonical": canonicalize(d),
                "leafHash": base64_encode(&leaves[i])
            })).collect::<Vec<_>>(),
            "rootsBySize": roots,
            "checkpointText": text,
            "signedNote": note.to_text(),
            "signedNotesBySize": notes,
            "cosignedNote": cosigned.to_text(),
            "cosignatureTimestamp": COSIGNED_AT,
            "inclusionProofs": inclusion,
            "consistencyProofs": consistency,
        }),
    );
}
