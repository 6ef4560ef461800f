//! Fuzzes the one-pass receive path of signed envelopes (what the cloud runs on every MQTT
//! payload) against the parse-to-`Value` path it replaced: `canonical::object_without` fails
//! exactly on what serde_json refuses, finds an object exactly where serde_json does, and then
//! writes the same canonical text `canonical::to_vec` writes for the object minus `signature`;
//! `SignedEnvelope::from_slice_raw` accepts what `from_slice::<Value>` accepts, with the same
//! hash and the same data.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pitlane_shared::canonical;
use pitlane_shared::envelope::SignedEnvelope;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let stripped = canonical::object_without(data, "signature");
    match serde_json::from_slice::<Value>(data) {
        Ok(Value::Object(mut object)) => {
            let removed = object.remove("signature");
            let stripped = stripped
                .expect("serde_json parsed it")
                .expect("serde_json found an object");
            assert_eq!(stripped.text, canonical::to_vec(&Value::Object(object)));
            assert_eq!(stripped.removed, removed);
        }
        Ok(_) => assert!(matches!(stripped, Ok(None)), "not an object"),
        Err(_) => assert!(stripped.is_err(), "serde_json refused it"),
    }
    let raw = SignedEnvelope::from_slice_raw(data);
    let value = SignedEnvelope::<Value>::from_slice(data);
    match (raw, value) {
        (Ok(raw), Ok(value)) => {
            assert_eq!(raw.hash(), value.hash());
            assert_eq!(raw.signature(), value.signature());
            let parsed: Value = raw.envelope().data.parse().expect("canonical JSON");
            assert_eq!(&parsed, &value.envelope().data);
        }
        (Err(_), Err(_)) => {}
        (raw, value) => panic!("raw: {:?}; value: {:?}", raw.err(), value.err()),
    }
});
