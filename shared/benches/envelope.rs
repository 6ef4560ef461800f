//! The non-signature work of one received envelope, as the cloud's ingest does it per
//! message: topic parse, envelope parse, canonical JSON + keccak256 of the envelope without
//! `signature`, attribute checks, `time` and the typed `data` (no signature recovery, which
//! `signing` measures).
//!
//! The message is a telemetry envelope as the agent sends it (10 live values, a UUID id).
//! `cloud_telemetry` is the cloud's whole per-message path (`cloud::mqtt::verify` minus the
//! signature); the others are its parts. `reference_…` are the same work as it was done
//! before the one-pass receive path (parse to a `Value`, `canonical::to_vec`, `from_value`
//! into `Envelope<Box<RawValue>>`), kept to compare with in the same run. Every benchmark
//! runs as `wall/…` (criterion's clock) and `cpu/…` (the calling thread's CPU time, steadier
//! on a shared machine). Measured on the 2-core box, load ≈ 1: `cloud_telemetry` 10.4–10.7
//! µs against 22.3–23.7 µs for `reference_cloud_telemetry`; keccak256 alone is ≈ 3.4 µs of
//! either. In instructions (cachegrind, deterministic): 145.6 k against 251.6 k.
//! Run: `cargo bench -p pitlane-shared --bench envelope -- --warm-up-time 1
//! --measurement-time 3`

#[path = "support/thread_cpu.rs"]
mod thread_cpu;
use thread_cpu::thread_cpu_now;

use std::hint::black_box;
use std::time::{Duration, SystemTime};

use criterion::{Bencher, Criterion, Throughput, criterion_group, criterion_main};
use pitlane_shared::canonical;
use pitlane_shared::envelope::{Envelope, SignedEnvelope};
use pitlane_shared::identity::{DeviceKey, keccak256};
use pitlane_shared::topics::{self, TelemetryReport, Topic, UpKind};
use serde_json::Value;
use serde_json::json;
use serde_json::value::RawValue;

/// A telemetry message as the agent publishes it: its topic and payload.
fn telemetry(key: &DeviceKey) -> (String, Vec<u8>) {
    let values: Vec<Value> = (0..10)
        .map(|p| {
            json!({"ecu": "7E8", "pid": format!("{:02X}", 0x0C + p), "name": "Engine speed",
                   "value": 812.25 + f64::from(p), "unit": "rpm"})
        })
        .collect();
    let bytes = Envelope::new(
        UpKind::Telemetry.event_type(),
        "0f8fad5b-d9cb-469f-a165-70867728950e",
        topics::device_source(key.address()),
        key.address().to_lowercase_hex(),
        SystemTime::UNIX_EPOCH + Duration::from_millis(1_795_000_000_123),
        json!({"ignition": "on", "values": values}),
    )
    .sign(key)
    .expect("serialisable")
    .to_vec()
    .expect("serialisable");
    (topics::up(key.address(), UpKind::Telemetry), bytes)
}

/// What the cloud does with one message before and after the signature check.
fn cloud_telemetry(topic: &str, payload: &[u8]) -> (TelemetryReport, SystemTime) {
    let Ok(Topic::Up { .. }) = topic.parse::<Topic>() else {
        panic!("a device topic")
    };
    let signed = SignedEnvelope::from_slice_raw(payload).expect("well-formed");
    black_box(signed.hash());
    let envelope = signed.envelope();
    let time = envelope.timestamp().expect("a valid time");
    let report = envelope.data.parse().expect("telemetry");
    (report, time)
}

/// The cloud's path before `from_slice_raw` and the one-pass canonical writer: the
/// reference `cloud_telemetry` is compared with.
fn reference_cloud_telemetry(topic: &str, payload: &[u8]) -> (TelemetryReport, SystemTime) {
    let Ok(Topic::Up { .. }) = topic.parse::<Topic>() else {
        panic!("a device topic")
    };
    let (envelope, hash, _) = reference_from_slice(payload);
    black_box(hash);
    let time = envelope.timestamp().expect("a valid time");
    let report = serde_json::from_str(envelope.data.get()).expect("telemetry");
    (report, time)
}

/// `SignedEnvelope::<Box<RawValue>>::from_slice` as it was before the one-pass canonical
/// writer (a `Value` parse, `canonical::to_vec`, `from_value`): the reference the benchmarks
/// compare with.
fn reference_from_slice(bytes: &[u8]) -> (Envelope<Box<RawValue>>, [u8; 32], String) {
    let Value::Object(mut object) = serde_json::from_slice(bytes).expect("JSON") else {
        panic!("an object")
    };
    let Some(Value::String(signature)) = object.remove("signature") else {
        panic!("a signature")
    };
    let unsigned = Value::Object(object);
    let hash = keccak256(canonical::to_vec(&unsigned));
    let envelope: Envelope<Box<RawValue>> = serde_json::from_value(unsigned).expect("envelope");
    envelope.timestamp().expect("a valid time");
    (envelope, hash.0, signature)
}

/// Times `f` in the calling thread's CPU time.
fn on_cpu<O>(b: &mut Bencher<'_>, mut f: impl FnMut() -> O) {
    b.iter_custom(|iters| {
        let start = thread_cpu_now();
        for _ in 0..iters {
            black_box(f());
        }
        thread_cpu_now() - start
    })
}

fn envelope(c: &mut Criterion) {
    let key = DeviceKey::from_bytes(&keccak256("cow").0).expect("valid key");
    let (topic, payload) = telemetry(&key);
    let mut group = c.benchmark_group("received_telemetry");
    group.throughput(Throughput::Elements(1));
    // Each case as `wall/…` and `cpu/…`.
    macro_rules! both {
        ($name:literal, $f:expr) => {
            group.bench_function(concat!("wall/", $name), |b| b.iter(|| $f));
            group.bench_function(concat!("cpu/", $name), |b| on_cpu(b, || $f));
        };
    }
    both!(
        "cloud_telemetry",
        cloud_telemetry(black_box(&topic), black_box(&payload))
    );
    both!(
        "reference_cloud_telemetry",
        reference_cloud_telemetry(black_box(&topic), black_box(&payload))
    );
    both!(
        "from_slice_raw",
        SignedEnvelope::from_slice_raw(black_box(&payload)).expect("ok")
    );
    both!(
        "from_slice_raw_value_data",
        SignedEnvelope::<Box<RawValue>>::from_slice(black_box(&payload)).expect("ok")
    );
    both!(
        "from_slice_value_data",
        SignedEnvelope::<Value>::from_slice(black_box(&payload)).expect("ok")
    );
    both!(
        "reference_from_slice_raw_value_data",
        reference_from_slice(black_box(&payload))
    );
    let unsigned = canonical::object_without(&payload, "signature")
        .expect("JSON")
        .expect("an object")
        .text;
    both!("keccak_unsigned", keccak256(black_box(&unsigned)));
    let data =
        serde_json::to_string(&serde_json::from_slice::<Value>(&payload).expect("JSON")["data"])
            .expect("serialisable");
    both!(
        "typed_data",
        serde_json::from_str::<TelemetryReport>(black_box(&data)).expect("telemetry")
    );
    let value: Value = serde_json::from_slice(&payload).expect("JSON");
    both!("canonical_to_vec", canonical::to_vec(black_box(&value)));
    both!(
        "canonical_from_slice",
        canonical::from_slice(black_box(&payload)).expect("JSON")
    );
    both!(
        "topic_parse",
        black_box(&topic).parse::<Topic>().expect("topic")
    );
    group.finish();
}

criterion_group!(benches, envelope);
criterion_main!(benches);
