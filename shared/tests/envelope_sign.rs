//! Signed CloudEvents envelopes: round trips, and rejection of tampered fields, wrong
//! subjects, foreign signers and malformed envelopes, each with its reason.

use std::time::{Duration, SystemTime};

use pitlane_shared::canonical;
use pitlane_shared::envelope::{Envelope, EnvelopeError, Expected, SignedEnvelope};
use pitlane_shared::identity::{DeviceKey, keccak256};
use proptest::prelude::*;
use serde_json::{Value, json};

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Telemetry {
    speed_kmh: f64,
    rpm: u32,
    dtcs: Vec<String>,
}

fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_millis(secs * 1000 + 250)
}

fn telemetry_envelope(key: &DeviceKey) -> Envelope<Telemetry> {
    let address = key.address().to_lowercase_hex();
    Envelope::new(
        "pitlane.telemetry.v1",
        "0f8fad5b-d9cb-469f-a165-70867728950e",
        format!("pitlane://dev/{address}"),
        address,
        at(1_795_000_000),
        Telemetry {
            speed_kmh: 87.3,
            rpm: 2150,
            dtcs: vec!["P0301".into()],
        },
    )
}

fn signed_bytes(key: &DeviceKey) -> Vec<u8> {
    telemetry_envelope(key).sign(key).unwrap().to_vec().unwrap()
}

#[test]
fn wire_form_and_hash_are_as_designed() {
    let key = DeviceKey::generate();
    let signed = telemetry_envelope(&key).sign(&key).unwrap();
    let wire: Value = serde_json::from_slice(&signed.to_vec().unwrap()).unwrap();
    let mut keys: Vec<&str> = wire
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "data",
            "datacontenttype",
            "id",
            "signature",
            "source",
            "specversion",
            "subject",
            "time",
            "type"
        ]
    );
    assert_eq!(wire["specversion"], "1.0");
    assert_eq!(wire["datacontenttype"], "application/json");
    assert_eq!(wire["time"], "2026-11-18T11:06:40.250Z");
    assert_eq!(wire["type"], "pitlane.telemetry.v1");
    let signature = wire["signature"].as_str().unwrap();
    assert!(
        signature.starts_with("0x") && signature.len() == 132,
        "{signature}"
    );
    assert!(
        signature.ends_with("1b") || signature.ends_with("1c"),
        "{signature}"
    );

    // The signature covers keccak256 of the canonical JSON without `signature`.
    let mut unsigned = wire.clone();
    unsigned.as_object_mut().unwrap().remove("signature");
    let hash = keccak256(canonical::to_string(&unsigned));
    assert_eq!(signed.hash(), hash);
    assert_eq!(signed.signature().recover(&hash).unwrap(), key.address());
}

#[test]
fn round_trip_verifies_and_ignores_key_order_and_whitespace() {
    let key = DeviceKey::generate();
    let bytes = signed_bytes(&key);
    let received = SignedEnvelope::<Telemetry>::from_slice(&bytes).unwrap();
    assert_eq!(received.signer().unwrap(), key.address());
    let envelope = received
        .verify(&Expected::from_device(key.address()))
        .unwrap();
    assert_eq!(envelope, telemetry_envelope(&key));
    assert_eq!(envelope.timestamp().unwrap(), at(1_795_000_000));

    // A relay that re-serialises (pretty, other key order) does not break the signature.
    let value: Value = serde_json::from_slice(&bytes).unwrap();
    let mut reordered = serde_json::Map::new();
    for (k, v) in value.as_object().unwrap().iter().rev() {
        reordered.insert(k.clone(), v.clone());
    }
    let pretty = serde_json::to_vec_pretty(&Value::Object(reordered)).unwrap();
    SignedEnvelope::<Value>::from_slice(&pretty)
        .unwrap()
        .verify(&Expected::from_device(key.address()))
        .unwrap();
}

/// Changes one field of a genuine envelope and expects verification to fail with `expected`.
fn check_tamper(edit: impl FnOnce(&mut Value), expected: impl FnOnce(&EnvelopeError) -> bool) {
    let key = DeviceKey::generate();
    let mut value: Value = serde_json::from_slice(&signed_bytes(&key)).unwrap();
    edit(&mut value);
    let result = SignedEnvelope::<Value>::from_slice(value.to_string().as_bytes())
        .and_then(|received| received.verify(&Expected::from_device(key.address())));
    match result {
        Err(err) => assert!(expected(&err), "unexpected error: {err}"),
        Ok(_) => panic!("tampered envelope accepted: {value}"),
    }
}

fn altered(err: &EnvelopeError) -> bool {
    matches!(err, EnvelopeError::WrongSigner { .. })
        && err
            .to_string()
            .contains("altered after signing or signed by a foreign key")
}

#[test]
fn a_tampered_field_is_rejected() {
    check_tamper(|v| v["data"]["rpm"] = json!(2151), altered);
    check_tamper(
        |v| v["data"]["speed_kmh"] = json!(87.30000000000001),
        altered,
    );
    check_tamper(|v| v["data"]["dtcs"] = json!([]), altered);
    check_tamper(|v| v["id"] = json!("another-id"), altered);
    check_tamper(|v| v["source"] = json!("pitlane://dev/0xevil"), altered);
    check_tamper(|v| v["type"] = json!("pitlane.command.result.v1"), altered);
    check_tamper(|v| v["time"] = json!("2026-11-18T11:06:41.250Z"), altered);
    check_tamper(
        |v| v["subject"] = json!("0x0000000000000000000000000000000000000000"),
        altered,
    );
    check_tamper(|v| v["extension"] = json!("smuggled"), altered);
    check_tamper(
        |v| drop(v.as_object_mut().unwrap().remove("id")),
        |e| matches!(e, EnvelopeError::Malformed(m) if m.contains("missing field `id`")),
    );
    check_tamper(
        |v| {
            let sig = v["signature"].as_str().unwrap().to_owned();
            let flipped = if sig.as_bytes()[10] == b'0' { '1' } else { '0' };
            v["signature"] = json!(format!("{}{flipped}{}", &sig[..10], &sig[11..]));
        },
        |e| {
            matches!(
                e,
                EnvelopeError::WrongSigner { .. } | EnvelopeError::MalformedSignature(_)
            )
        },
    );
}

#[test]
fn a_foreign_signer_is_named() {
    let device = DeviceKey::generate();
    let intruder = DeviceKey::generate();
    // The intruder builds an envelope claiming to be the device and signs it with its own key.
    let bytes = telemetry_envelope(&device)
        .sign(&intruder)
        .unwrap()
        .to_vec()
        .unwrap();
    let err = SignedEnvelope::<Telemetry>::from_slice(&bytes)
        .unwrap()
        .verify(&Expected::from_device(device.address()))
        .unwrap_err();
    assert_eq!(
        err,
        EnvelopeError::WrongSigner {
            expected: device.address(),
            recovered: intruder.address()
        }
    );
}

#[test]
fn a_wrong_subject_is_rejected() {
    let cloud = DeviceKey::generate();
    let device = DeviceKey::generate();
    let other_device = DeviceKey::generate();
    // A genuine command for another device, replayed to this one.
    let command = Envelope::new(
        "pitlane.command.v1",
        "cmd-1",
        "pitlane://cloud",
        other_device.address().to_lowercase_hex(),
        at(1_795_000_000),
        json!({"request_id": "r1", "action": "doors.unlock"}),
    )
    .sign(&cloud)
    .unwrap()
    .to_vec()
    .unwrap();
    let expected = Expected {
        signer: cloud.address(),
        subject: device.address().to_lowercase_hex(),
    };
    let err = SignedEnvelope::<Value>::from_slice(&command)
        .unwrap()
        .verify(&expected)
        .unwrap_err();
    assert_eq!(
        err,
        EnvelopeError::WrongSubject {
            expected: device.address().to_lowercase_hex(),
            got: other_device.address().to_lowercase_hex(),
        }
    );
    assert!(err.to_string().starts_with("envelope subject is"), "{err}");
}

#[test]
fn malformed_envelopes_are_rejected_with_the_reason() {
    let key = DeviceKey::generate();
    let genuine: Value = serde_json::from_slice(&signed_bytes(&key)).unwrap();
    let check = |bytes: &[u8], expected: &str| {
        let err = SignedEnvelope::<Value>::from_slice(bytes).unwrap_err();
        assert!(err.to_string().starts_with(expected), "{err}");
    };
    check(b"not json", "envelope is not valid JSON");
    check(b"[1,2]", "envelope must be a JSON object");
    let without = |key: &str| {
        let mut v = genuine.clone();
        v.as_object_mut().unwrap().remove(key);
        v.to_string().into_bytes()
    };
    check(&without("signature"), "envelope has no signature");
    check(
        &without("subject"),
        "envelope is malformed: missing field `subject`",
    );
    let with = |key: &str, value: Value| {
        let mut v = genuine.clone();
        v[key] = value;
        v.to_string().into_bytes()
    };
    check(
        &with("signature", json!(42)),
        "envelope signature is malformed",
    );
    check(
        &with("signature", json!("0x1234")),
        "envelope signature is malformed: a signature is 65 bytes",
    );
    check(
        &with("specversion", json!("0.3")),
        "envelope specversion is \"0.3\"",
    );
    check(
        &with("time", json!("yesterday")),
        "envelope time \"yesterday\" is not an RFC 3339",
    );
    check(
        &with("datacontenttype", json!("text/plain")),
        "envelope is malformed: datacontenttype",
    );
    check(
        &with("subject", json!(5)),
        "envelope is malformed: invalid type",
    );
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "\\PC{0,16}".prop_map(Value::from),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("\\PC{0,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_data_round_trips_through_the_wire(data in json_value(), id in "[a-z0-9-]{1,20}", secs in 0u64..4_000_000_000) {
        let key = DeviceKey::generate();
        let subject = key.address().to_lowercase_hex();
        let envelope = Envelope::new("pitlane.event.v1", id, "pitlane://dev/x", subject, at(secs), data);
        let bytes = envelope.clone().sign(&key).unwrap().to_vec().unwrap();
        let verified = SignedEnvelope::<Value>::from_slice(&bytes)
            .unwrap()
            .verify(&Expected::from_device(key.address()))
            .unwrap();
        prop_assert_eq!(verified, envelope);
    }
}
