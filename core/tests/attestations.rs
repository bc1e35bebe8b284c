//! Signed attestations verify, fail after any single field changes, and round-trip through DSSE.

use parmana_core::attestation::{AttestationFields, ExecutionState};
use parmana_core::keys::{parse_public_key_pem, KeyPair};
use parmana_core::policy::compile;
use parmana_core::signals::{validate, SignalLimits};
use parmana_core::signing::{pae, ATTESTATION_TYPE};
use parmana_core::verify::{document_from_dsse, dsse_envelope, explicit_key, verify_document};
use serde_json::{json, Value};

const RFC8032_SEED: [u8; 32] = [
    0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4, 0x44, 0x49, 0xc5,
    0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60,
];

fn signed_attestation(key: &KeyPair) -> Value {
    let doc: Value = serde_json::from_str(
        &std::fs::read_to_string(format!(
            "{}/../fixtures/policies/claims-approval-v1.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap(),
    )
    .unwrap();
    let policy = compile(&doc).unwrap();
    let signals = json!({"claim_amount": 8500, "insurance_active": true, "risk_score": 42, "vip_customer": false});
    let v = validate(&policy, &signals, SignalLimits::default()).unwrap();
    let decision = policy.evaluate(&v.values).unwrap();
    let fp = parmana_core::hashes::execution_fingerprint(&policy.policy_id, &policy.policy_version, &v.canonical);
    let fields = AttestationFields {
        execution_id: "claim-CLM-2024-00441",
        execution_fingerprint: &fp,
        policy: policy.identity(),
        decision: &decision,
        state: ExecutionState::of_decision(&decision),
        issued_at: "2026-11-26T00:00:00.000000Z".into(),
        override_id: None,
        resolved_by_login: None,
        explanation: None,
    };
    Value::Object(fields.sign(key).document)
}

fn verify_with(doc: &Value, key: &KeyPair) -> Value {
    let pk = parse_public_key_pem(&key.public_key_pem()).unwrap();
    verify_document(doc, explicit_key(pk)).to_json()
}

#[test]
fn attestation_verifies_with_rfc8032_key() {
    let key = KeyPair::from_seed(&RFC8032_SEED);
    let att = signed_attestation(&key);
    assert_eq!(att["execution_fingerprint"], "556198846e28e59b2ecbaac7fc3383f1811a067d22698a4b4c5e550afa2b403a");
    assert_eq!(att["signalsHash"], att["execution_fingerprint"]);
    assert_eq!(att["decision"]["ruleId"], "standard-approval");
    assert_eq!(att["execution_state"], "completed");
    assert_eq!(att["signerKeyId"], key.key_id());
    assert_eq!(
        verify_with(&att, &key),
        json!({"valid": true, "signatureVerified": true, "runtimeVerified": true, "schemaCompatible": true})
    );
    // Deterministic: Ed25519 signs the same bytes to the same signature.
    assert_eq!(att["signature"], signed_attestation(&key)["signature"]);
}

#[test]
fn any_single_changed_field_fails() {
    let key = KeyPair::from_seed(&RFC8032_SEED);
    let att = signed_attestation(&key);
    let obj = att.as_object().unwrap();
    for field in obj.keys() {
        let mut tampered = att.clone();
        tampered[field.as_str()] = match &att[field.as_str()] {
            Value::String(s) if field == "signature" => {
                let mut raw = parmana_core::signing::decode_signature(s).unwrap();
                raw[0] ^= 1;
                json!(parmana_core::signing::base64_encode(&raw))
            }
            Value::String(s) => json!(format!("{s}x")),
            Value::Object(_) => {
                json!({
                    "action": "reject",
                    "requires_override": false,
                    "reason": "standard_approval",
                    "ruleId": "standard-approval"
                })
            }
            other => panic!("unexpected {other}"),
        };
        let report = verify_with(&tampered, &key);
        assert_eq!(report["valid"], false, "changing {field} must invalidate: {report}");
    }
    // Adding a field also breaks the signature.
    let mut extra = att.clone();
    extra["note"] = json!("added");
    assert_eq!(verify_with(&extra, &key)["signatureVerified"], false);
    // Removing one is reported as malformed.
    let mut missing = att.clone();
    missing.as_object_mut().unwrap().remove("policyHash");
    assert_eq!(verify_with(&missing, &key)["reason"], "missing field policyHash");
}

#[test]
fn wrong_key_and_malformed_input_are_reports_not_errors() {
    let key = KeyPair::from_seed(&RFC8032_SEED);
    let other = KeyPair::generate().unwrap();
    let att = signed_attestation(&key);
    assert_eq!(verify_with(&att, &other)["reason"], "signerKeyId does not match the given public key");
    for junk in [json!(null), json!(1), json!("x"), json!([]), json!({}), json!({"execution_state": "completed"})] {
        let r = verify_with(&junk, &key);
        assert_eq!(r["valid"], false);
        assert!(r["reason"].is_string());
    }
    let mut bad_sig = att.clone();
    bad_sig["signature"] = json!("not base64!");
    assert_eq!(verify_with(&bad_sig, &key)["reason"], "signature is not standard base64");
}

#[test]
fn dsse_envelope_carries_the_same_signature() {
    let key = KeyPair::from_seed(&RFC8032_SEED);
    let att = signed_attestation(&key);
    let env = dsse_envelope(&att).unwrap();
    assert_eq!(env["payloadType"], ATTESTATION_TYPE);
    assert_eq!(env["signatures"][0]["keyid"], key.key_id());
    assert_eq!(env["signatures"][0]["sig"], att["signature"]);
    use base64::Engine;
    let payload = base64::engine::general_purpose::STANDARD.decode(env["payload"].as_str().unwrap()).unwrap();
    let mut body = att.clone();
    body.as_object_mut().unwrap().remove("signature");
    assert_eq!(payload, parmana_core::canonical::canonicalize(&body).into_bytes());
    let sig = parmana_core::signing::decode_signature(att["signature"].as_str().unwrap()).unwrap();
    key.verifying_key()
        .verify_strict(&pae(ATTESTATION_TYPE, &payload), &ed25519_dalek::Signature::from_bytes(&sig))
        .unwrap();
    assert!(dsse_envelope(&json!({"a": 1})).is_err());
}

#[test]
fn override_record_signs_verifies_and_names_its_id() {
    use parmana_core::hashes::jcs_sha256;
    use parmana_core::overrides::{override_id_of, OverrideFields};
    use parmana_core::policy::Decision;
    let key = KeyPair::from_seed(&RFC8032_SEED);
    let pending = signed_attestation(&key);
    let decision = Decision::from_json(&pending["decision"]).unwrap();
    let obj = pending.as_object().unwrap();
    let fields = OverrideFields {
        execution_id: "claim-CLM-2024-00441",
        execution_fingerprint: pending["execution_fingerprint"].as_str().unwrap(),
        policy: parmana_core::attestation::PolicyIdentity::of_document(obj).unwrap(),
        decision: &decision,
        pending_attestation_hash: &jcs_sha256(&pending),
        approved: true,
        approved_by: "jane",
        approver_role: "credit_officer",
        reason: "verified",
        resolved_by: "reviewer",
        resolved_by_login: "jane",
        issued_at: "2026-11-26T00:00:00.000000Z".into(),
    };
    let record = Value::Object(fields.sign(&key).document);
    assert_eq!(record["overrideId"].as_str().unwrap(), override_id_of(record.as_object().unwrap()));
    assert_eq!(verify_with(&record, &key)["valid"], true);
    let dsse = dsse_envelope(&record).unwrap();
    assert_eq!(dsse["payloadType"], parmana_core::signing::OVERRIDE_TYPE);

    let mut flipped = record.clone();
    flipped["approved"] = json!(false);
    assert_eq!(verify_with(&flipped, &key)["signatureVerified"], false);
    // A record signed with an id that is not its hash is refused even though the signature holds.
    let mut body = record.as_object().unwrap().clone();
    body.remove("signature");
    body.insert("overrideId".into(), json!("0".repeat(64)));
    let forged = Value::Object(parmana_core::signing::sign(body, parmana_core::signing::OVERRIDE_TYPE, &key).document);
    let report = verify_with(&forged, &key);
    assert_eq!((report["signatureVerified"].clone(), report["valid"].clone()), (json!(true), json!(false)));
    assert_eq!(report["reason"], "overrideId is not the hash of the record");
}

#[test]
fn dsse_envelopes_turn_back_into_the_document() {
    let key = KeyPair::from_seed(&RFC8032_SEED);
    let att = signed_attestation(&key);
    let env = dsse_envelope(&att).unwrap();
    assert_eq!(document_from_dsse(&env).unwrap(), att);
    let mut wrong_type = env.clone();
    wrong_type["payloadType"] = json!("application/vnd.parmana.override.v1+json");
    assert!(document_from_dsse(&wrong_type).unwrap_err().contains("does not fit"));
    let mut wrong_keyid = env.clone();
    wrong_keyid["signatures"][0]["keyid"] = json!("someone-else");
    assert!(document_from_dsse(&wrong_keyid).is_err());
    let mut not_canonical = env.clone();
    let spaced = format!("{{ \"x\": 1, {}", &parmana_core::canonical::canonicalize(&att)[1..]);
    not_canonical["payload"] = json!(parmana_core::signing::base64_encode(spaced.as_bytes()));
    assert!(document_from_dsse(&not_canonical).is_err());
    let mut two = env.clone();
    two["signatures"] = json!([env["signatures"][0], env["signatures"][0]]);
    assert!(document_from_dsse(&two).is_err());
    // A forged payload keeps the old signature, which then fails verification.
    let mut forged = env;
    let mut body = att.clone();
    body.as_object_mut().unwrap().remove("signature");
    body["executionId"] = json!("forged-id");
    forged["payload"] =
        json!(parmana_core::signing::base64_encode(parmana_core::canonical::canonicalize(&body).as_bytes()));
    let doc = document_from_dsse(&forged).unwrap();
    assert_eq!(
        verify_document(&doc, explicit_key(key.verifying_key())).reason.as_deref(),
        Some("signature does not verify")
    );
}
