//! Micro-benchmarks of the hot path: canonicalization, fingerprint, evaluation, signing and
//! verification. `cargo bench -p parmana-core` (results in BENCHMARKS.md).

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use parmana_core::attestation::{AttestationFields, ExecutionState};
use parmana_core::canonical::{canonicalize, parse_json};
use parmana_core::hashes::execution_fingerprint;
use parmana_core::keys::KeyPair;
use parmana_core::policy::compile;
use parmana_core::signals::{validate, SignalLimits};
use parmana_core::signing::{pae, ATTESTATION_TYPE};
use parmana_core::verify::{explicit_key, verify_document};
use serde_json::{json, Value};

fn setup() -> (parmana_core::policy::CompiledPolicy, Value, KeyPair) {
    let doc: Value = serde_json::from_str(include_str!("../../fixtures/policies/claims-approval-v1.json")).unwrap();
    let policy = compile(&doc).unwrap();
    let signals = json!({"claim_amount": 8500, "insurance_active": true, "risk_score": 42, "vip_customer": false});
    (policy, signals, KeyPair::from_seed(&[9u8; 32]))
}

fn attestation(policy: &parmana_core::policy::CompiledPolicy, signals: &Value, key: &KeyPair) -> Value {
    let v = validate(policy, signals, SignalLimits::default()).unwrap();
    let d = policy.evaluate(&v.values).unwrap();
    let fp = execution_fingerprint(&policy.policy_id, &policy.policy_version, &v.canonical);
    let fields = AttestationFields {
        execution_id: "claim-CLM-2024-00441",
        execution_fingerprint: &fp,
        policy: policy.identity(),
        decision: &d,
        state: ExecutionState::Completed,
        issued_at: "2026-11-26T00:00:00.000000Z".into(),
        override_id: None,
        resolved_by_login: None,
        explanation: None,
    };
    Value::Object(fields.sign(key).document)
}

fn benches(c: &mut Criterion) {
    let (policy, signals, key) = setup();
    let att = attestation(&policy, &signals, &key);
    let att_text = att.to_string();
    let mut body = att.clone();
    body.as_object_mut().unwrap().remove("signature");
    let canonical_body = canonicalize(&body);
    let sig = parmana_core::signing::decode_signature(att["signature"].as_str().unwrap()).unwrap();
    let vk = key.verifying_key();

    c.bench_function("parse attestation text", |b| b.iter(|| parse_json(black_box(&att_text)).unwrap()));
    c.bench_function("canonicalize attestation (RFC 8785)", |b| b.iter(|| canonicalize(black_box(&att))));
    c.bench_function("validate + fingerprint signals", |b| {
        b.iter(|| {
            let v = validate(&policy, black_box(&signals), SignalLimits::default()).unwrap();
            execution_fingerprint(&policy.policy_id, &policy.policy_version, &v.canonical)
        })
    });
    let values = validate(&policy, &signals, SignalLimits::default()).unwrap().values;
    c.bench_function("evaluate policy", |b| b.iter(|| policy.evaluate(black_box(&values)).unwrap()));
    c.bench_function("sign attestation (build + JCS + Ed25519)", |b| {
        b.iter(|| attestation(&policy, black_box(&signals), &key))
    });
    c.bench_function("Ed25519 verify_strict only", |b| {
        b.iter(|| {
            vk.verify_strict(
                &pae(ATTESTATION_TYPE, black_box(canonical_body.as_bytes())),
                &ed25519_dalek::Signature::from_bytes(&sig),
            )
            .unwrap()
        })
    });
    // 64 distinct attestations signed by one key, verified in one batch: time per batch of 64.
    let batch: Vec<(Vec<u8>, [u8; 64])> = (0..64)
        .map(|i| {
            let mut a = attestation(&policy, &signals, &key);
            a["executionId"] = json!(format!("claim-{i}"));
            let mut body = a.clone();
            body.as_object_mut().unwrap().remove("signature");
            let sig = parmana_core::signing::decode_signature(a["signature"].as_str().unwrap()).unwrap();
            (pae(ATTESTATION_TYPE, canonicalize(&body).as_bytes()), sig)
        })
        .collect();
    let batch: Vec<(Vec<u8>, [u8; 64])> = batch
        .into_iter()
        .map(|(msg, _)| {
            let sig = ed25519_dalek::Signer::sign(&ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]), &msg).to_bytes();
            (msg, sig)
        })
        .collect();
    c.bench_function("Ed25519 verify_strict x64", |b| {
        b.iter(|| {
            for (msg, sig) in &batch {
                vk.verify_strict(black_box(msg), &ed25519_dalek::Signature::from_bytes(sig)).unwrap();
            }
        })
    });
    c.bench_function("Ed25519 batch verification x64", |b| {
        let items: Vec<parmana_core::batch::Item> =
            batch.iter().map(|(m, s)| parmana_core::batch::Item { key: &vk, message: m, signature: s }).collect();
        b.iter(|| assert!(parmana_core::batch::verify(black_box(&items)).iter().all(|v| *v)))
    });
    c.bench_function("verify_document (full, parsed)", |b| {
        b.iter(|| verify_document(black_box(&att), explicit_key(vk)))
    });
    c.bench_function("parse + verify_document", |b| {
        b.iter(|| verify_document(&parse_json(black_box(&att_text)).unwrap(), explicit_key(vk)))
    });
}

criterion_group! {
    name = core;
    config = Criterion::default()
        .sample_size(30)
        .measurement_time(std::time::Duration::from_secs(2))
        .warm_up_time(std::time::Duration::from_millis(500));
    targets = benches
}
criterion_main!(core);
