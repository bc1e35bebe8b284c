//! Property tests (fuzzing): canonical JSON, policy compile and evaluation,
//! signal validation and verification never panic on arbitrary input, canonical output is stable
//! under re-canonicalization, and errors never echo signal values.
//!
//! CI runs the default number of cases; a longer run:
//! `PROPTEST_CASES=200000 cargo test -p parmana-core --release --test properties`.

use parmana_core::attestation::{AttestationFields, ExecutionState};
use parmana_core::canonical::{canonicalize, parse_json};
use parmana_core::hashes::execution_fingerprint;
use parmana_core::keys::{parse_public_key_pem, KeyPair};
use parmana_core::policy::{compile, CompiledPolicy};
use parmana_core::signals::{validate, SignalLimits};
use parmana_core::verify::{explicit_key, verify_document};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use serde_json::{json, Map, Value};
use std::sync::OnceLock;

fn fixture(name: &str) -> Value {
    let path = format!("{}/../fixtures/policies/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn policies() -> &'static Vec<CompiledPolicy> {
    static P: OnceLock<Vec<CompiledPolicy>> = OnceLock::new();
    P.get_or_init(|| {
        ["claims-approval-v1", "loan-approval-1.0.0", "insurance-claim-approval-1.0.0"]
            .iter()
            .map(|n| compile(&fixture(n)).unwrap())
            .collect()
    })
}

/// Arbitrary JSON, including the awkward parts: surrogate-plane and control characters, huge and
/// tiny numbers, negative zero, deep nesting.
fn json_value() -> impl Strategy<Value = Value> {
    let number = prop_oneof![
        any::<i64>().prop_map(|i| json!(i)),
        any::<u64>().prop_map(|u| json!(u)),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f).map(Value::Number)),
        Just(json!(-0.0)),
        Just(json!(1e21)),
        Just(json!(1e-7)),
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number,
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(any::<String>(), inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Signals shaped like a policy's, with each value drawn from right and wrong types.
fn signals_for(policy: &'static CompiledPolicy) -> impl Strategy<Value = Value> {
    let names: Vec<String> = policy.signals.iter().map(|s| s.name.clone()).collect();
    let value = prop_oneof![
        3 => any::<i32>().prop_map(|i| json!(i)),
        1 => any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f).map(Value::Number)),
        2 => any::<bool>().prop_map(Value::Bool),
        1 => prop::sample::select(vec!["bronze", "silver", "gold", "platinum", "", "jane@example.com"])
            .prop_map(|s| json!(s)),
        1 => any::<String>().prop_map(Value::String),
        1 => Just(Value::Null),
    ];
    (
        prop::collection::vec(value, names.len()),
        prop::collection::vec(any::<bool>(), names.len()),
        any::<Option<String>>(),
    )
        .prop_map(move |(values, keep, extra)| {
            let mut m = Map::new();
            for ((name, v), k) in names.iter().zip(values).zip(keep) {
                if k || names.len() < 3 {
                    m.insert(name.clone(), v);
                }
            }
            if let Some(extra) = extra {
                m.insert(extra, json!(1));
            }
            Value::Object(m)
        })
}

fn key() -> &'static KeyPair {
    static K: OnceLock<KeyPair> = OnceLock::new();
    K.get_or_init(|| KeyPair::from_seed(&[7u8; 32]))
}

proptest! {
    #[test]
    fn canonical_form_is_stable(v in json_value()) {
        let once = canonicalize(&v);
        let again = canonicalize(&parse_json(&once).expect("canonical output parses"));
        prop_assert_eq!(&once, &again);
        // Control characters are escaped: canonical JSON is one line.
        prop_assert!(!once.contains('\n'));
    }

    #[test]
    fn canonical_form_matches_the_reference_implementation(v in json_value()) {
        prop_assert_eq!(canonicalize(&v), serde_json_canonicalizer::to_string(&v).unwrap());
    }

    #[test]
    fn parsing_arbitrary_text_never_panics(s in any::<String>()) {
        let _ = parse_json(&s).map(|v| canonicalize(&v));
    }

    #[test]
    fn compiling_arbitrary_documents_never_panics(v in json_value()) {
        if let Err(e) = compile(&v) {
            prop_assert!(e.code().starts_with("POL-"), "{}", e);
        }
    }

    #[test]
    fn compiling_mutated_policies_never_panics(
        which in 0usize..3,
        path_seed in any::<u64>(),
        replacement in json_value()
    ) {
        let names = ["claims-approval-v1", "loan-approval-1.0.0", "insurance-claim-approval-1.0.0"];
        let mut doc = fixture(names[which]);
        // Replace one node, chosen by walking the document with the seed.
        let mut seed = path_seed;
        let mut at = &mut doc;
        loop {
            let len = match at { Value::Object(m) => m.len(), Value::Array(a) => a.len(), _ => 0 };
            if len == 0 || seed % 4 == 0 { break; }
            let i = (seed as usize / 4) % len;
            seed /= 7;
            at = match at {
                Value::Object(m) => m.values_mut().nth(i).unwrap(),
                Value::Array(a) => &mut a[i],
                _ => unreachable!(),
            };
        }
        *at = replacement;
        match compile(&doc) {
            Ok(p) => {
                // Values that do not line up with the declared signals are refused, never a panic.
                if !p.signals.is_empty() {
                    prop_assert_eq!(p.evaluate(&[]).unwrap_err().code(), "VAL-004");
                }
            }
            Err(e) => prop_assert!(e.code().starts_with("POL-"), "{}", e),
        }
    }

    #[test]
    fn validation_and_evaluation_never_panic_nor_echo_values(which in 0usize..3, seed in any::<u64>()) {
        let policy = &policies()[which];
        let mut runner = proptest::test_runner::TestRunner::new_with_rng(
            ProptestConfig::default(),
            proptest::test_runner::TestRng::from_seed(
                proptest::test_runner::RngAlgorithm::ChaCha,
                &seed.to_le_bytes().repeat(4),
            ),
        );
        let signals = signals_for(policy).new_tree(&mut runner).unwrap().current();
        match validate(policy, &signals, SignalLimits::default()) {
            Ok(v) => {
                let d1 = policy.evaluate(&v.values);
                let d2 = policy.evaluate(&v.values);
                prop_assert_eq!(d1.is_ok(), d2.is_ok());
                // Key order does not change the fingerprint.
                let reordered: Value = parse_json(&canonicalize(&signals)).unwrap();
                let v2 = validate(policy, &reordered, SignalLimits::default()).unwrap();
                prop_assert_eq!(
                    execution_fingerprint(&policy.policy_id, &policy.policy_version, &v.canonical),
                    execution_fingerprint(&policy.policy_id, &policy.policy_version, &v2.canonical)
                );
            }
            Err(e) => {
                prop_assert!(e.code().starts_with("VAL-"), "{}", e);
                let msg = e.to_string();
                for value in signals.as_object().unwrap().values() {
                    if let Value::String(s) = value {
                        if s.chars().count() >= 4 {
                            prop_assert!(!msg.contains(s.as_str()), "message {} echoes a value", msg);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn verifying_arbitrary_documents_never_panics(v in json_value()) {
        let pk = key().verifying_key();
        let r = verify_document(&v, explicit_key(pk));
        prop_assert!(!r.valid);
        prop_assert!(r.reason.is_some());
    }

    #[test]
    fn any_change_to_a_signed_attestation_is_caught(field_seed in any::<usize>(), replacement in json_value()) {
        let policy = &policies()[1];
        let v = validate(policy, &json!({"credit_score": 720, "loan_amount": 1}), SignalLimits::default()).unwrap();
        let d = policy.evaluate(&v.values).unwrap();
        let fp = execution_fingerprint(&policy.policy_id, &policy.policy_version, &v.canonical);
        let fields = AttestationFields {
            execution_id: "prop-1", execution_fingerprint: &fp, policy: policy.identity(), decision: &d,
            state: ExecutionState::Completed, issued_at: "2026-01-01T00:00:00.000000Z".into(), override_id: None,
            resolved_by_login: None, explanation: None,
        };
        let doc = Value::Object(fields.sign(key()).document);
        let pk = parse_public_key_pem(&key().public_key_pem()).unwrap();
        prop_assert!(verify_document(&doc, explicit_key(pk)).valid);
        let mut tampered = doc.clone();
        let keys: Vec<String> = doc.as_object().unwrap().keys().cloned().collect();
        let field = &keys[field_seed % keys.len()];
        prop_assume!(tampered[field.as_str()] != replacement);
        tampered[field.as_str()] = replacement;
        prop_assert!(!verify_document(&tampered, explicit_key(pk)).valid);
    }
}
