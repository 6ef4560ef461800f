//! Signing throughput on one core: typed-data hashes, signatures and recoveries per second.
//!
//! Goals (issue 3): at least 20,000 signatures/s and 10,000 recoveries/s on one core.
//! `verify_batch/…` checks batches of signatures against known keys (throughput per
//! signature). Signing and recovery are measured for each backend built in (`sign/k256`,
//! `sign/libsecp256k1` with feature `libsecp256k1`, …); hashing and envelopes use the default
//! backend. Every benchmark runs twice: `wall/…` with criterion's wall clock, and `cpu/…` with the
//! calling thread's CPU time, which is what "on one core" means and stays meaningful when
//! other work shares the machine.
//! Run: `cargo bench -p pitlane-shared --features libsecp256k1 --bench signing --
//! --warm-up-time 1 --measurement-time 3`

#[path = "support/thread_cpu.rs"]
mod thread_cpu;
use thread_cpu::thread_cpu_now;

use std::hint::black_box;
use std::time::{Duration, SystemTime};

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pitlane_shared::eip712::{DimoDomain, DimoPayload, TypedData, U256};
use pitlane_shared::envelope::{Envelope, Expected, SignedEnvelope};
use pitlane_shared::identity::{Backend, BatchItem, DeviceKey, keccak256, verify_batch};
use serde_json::json;

fn claim_json() -> String {
    let domain = DimoDomain {
        chain_id: U256::from(80002u64),
        verifying_contract: "0x5eAA326fB2fc97fAcCe6A79A304876daD0F2e96c"
            .parse()
            .expect("valid address"),
    };
    DimoPayload::Claim {
        aftermarket_device_node: U256::from(42u64),
        owner: "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"
            .parse()
            .expect("valid address"),
    }
    .to_json(&domain)
    .to_string()
}

fn signing<M: Measurement>(c: &mut Criterion<M>, clock: &str) {
    let key = DeviceKey::from_bytes(&keccak256("cow").0).expect("valid key");
    let payload = claim_json();
    let hash = TypedData::from_json(&payload)
        .expect("valid payload")
        .signing_hash();

    let mut group = c.benchmark_group(clock);
    group.throughput(Throughput::Elements(1));
    group.bench_function("typed_data_hash", |b| {
        b.iter(|| {
            TypedData::from_json(black_box(&payload))
                .expect("valid payload")
                .signing_hash()
        })
    });
    for &backend in Backend::ALL {
        let signature = key.sign_hash_with(backend, &hash);
        group.bench_function(format!("sign/{backend}"), |b| {
            b.iter(|| key.sign_hash_with(backend, black_box(&hash)))
        });
        group.bench_function(format!("recover/{backend}"), |b| {
            b.iter(|| {
                signature
                    .recover_with(backend, black_box(&hash))
                    .expect("recoverable")
            })
        });
    }

    // Batch verification against known keys (the cloud's ingest path once a device's key is
    // cached); throughput is per signature. One device, and every item from another device.
    let keys: Vec<DeviceKey> = (0..64u8)
        .map(|i| DeviceKey::from_bytes(&keccak256([i]).0).expect("valid key"))
        .collect();
    for (n, devices) in [(16, 1), (64, 1), (16, 16)] {
        let set: Vec<_> = (0..n)
            .map(|i| {
                let key = &keys[i % devices];
                let hash = keccak256(i.to_be_bytes());
                (hash, key.sign_hash(&hash), key.public_key())
            })
            .collect();
        let items: Vec<BatchItem<'_>> = set
            .iter()
            .map(|(hash, signature, key)| BatchItem {
                hash: *hash,
                signature,
                key,
            })
            .collect();
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(format!("verify_batch/{n}_of_{devices}_devices"), |b| {
            b.iter(|| assert!(verify_batch(black_box(&items))))
        });
    }
    group.throughput(Throughput::Elements(1));

    let envelope = Envelope::new(
        "pitlane.telemetry.v1",
        "0f8fad5b-d9cb-469f-a165-70867728950e",
        "pitlane://dev/x",
        key.address().to_lowercase_hex(),
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_000),
        json!({"speed_kmh": 87.3, "rpm": 2150, "coolant_c": 91, "dtcs": ["P0301"]}),
    );
    let wire = envelope
        .clone()
        .sign(&key)
        .expect("serialisable")
        .to_vec()
        .expect("serialisable");
    let expected = Expected::from_device(key.address());
    let default = Backend::DEFAULT;
    group.bench_function(format!("envelope_sign/{default}"), |b| {
        b.iter(|| {
            envelope
                .clone()
                .sign(&key)
                .expect("serialisable")
                .to_vec()
                .expect("serialisable")
        })
    });
    group.bench_function(format!("envelope_verify/{default}"), |b| {
        b.iter(|| {
            SignedEnvelope::<serde_json::Value>::from_slice(black_box(&wire))
                .expect("well-formed")
                .verify(&expected)
                .expect("genuine")
        })
    });
    group.finish();
}

fn wall(c: &mut Criterion<WallTime>) {
    signing(c, "wall");
}

fn cpu(c: &mut Criterion<ThreadCpuTime>) {
    signing(c, "cpu");
}

/// CPU time consumed by the calling thread (`CLOCK_THREAD_CPUTIME_ID`).
struct ThreadCpuTime;

impl Measurement for ThreadCpuTime {
    type Intermediate = Duration;
    type Value = Duration;

    fn start(&self) -> Duration {
        thread_cpu_now()
    }
    fn end(&self, start: Duration) -> Duration {
        thread_cpu_now().saturating_sub(start)
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &CpuFormatter
    }
}

/// Formats nanoseconds of CPU time as "µs (cpu)" and throughput as elements per CPU-second.
struct CpuFormatter;

impl ValueFormatter for CpuFormatter {
    fn scale_values(&self, _typical_ns: f64, values: &mut [f64]) -> &'static str {
        values.iter_mut().for_each(|v| *v /= 1e3);
        "µs (cpu)"
    }

    fn scale_throughputs(
        &self,
        _typical: f64,
        throughput: &Throughput,
        values: &mut [f64],
    ) -> &'static str {
        let per_iteration = match *throughput {
            Throughput::Bytes(n) | Throughput::BytesDecimal(n) | Throughput::Elements(n) => {
                n as f64
            }
        };
        values
            .iter_mut()
            .for_each(|v| *v = per_iteration * 1e9 / *v / 1e3);
        "K/cpu-s"
    }

    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

criterion_group!(wall_clock, wall);
criterion_group! {
    name = cpu_time;
    config = Criterion::default().with_measurement(ThreadCpuTime);
    targets = cpu
}
criterion_main!(wall_clock, cpu_time);
