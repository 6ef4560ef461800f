//! MQTT ingest throughput: signed telemetry messages (100 registered devices, 10 live values
//! each, as the agent sends them) verified on the pipeline's 2 threads, then de-duplicated and
//! stored in one SQLite transaction per batch of 1,024, as `mqtt::ingest` does. Signing the
//! messages happens outside the timed region; every batch holds fresh envelope ids.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pitlane_cloud::db::Db;
use pitlane_cloud::mqtt::ingest::{MAX_BATCH, verify_batch};
use pitlane_cloud::mqtt::verify::Verified;
use pitlane_cloud::registry::{self, NewDevice};
use pitlane_cloud::telemetry::store::IngestStore;
use pitlane_shared::envelope::Envelope;
use pitlane_shared::identity::DeviceKey;
use pitlane_shared::topics::{self, UpKind};
use rumqttc::{Publish, QoS};
use serde_json::json;

const DEVICES: usize = 100;

fn batch(keys: &[DeviceKey]) -> Vec<Publish> {
    (0..MAX_BATCH)
        .map(|i| {
            let key = &keys[i % keys.len()];
            let values: Vec<_> = (0..10)
                .map(|p| json!({"ecu": "7E8", "pid": format!("{:02X}", 0x0C + p), "name": "Engine speed", "value": 800.0 + i as f64, "unit": "rpm"}))
                .collect();
            let bytes = Envelope::new(
                UpKind::Telemetry.event_type(),
                uuid::Uuid::new_v4().to_string(),
                topics::device_source(key.address()),
                key.address().to_lowercase_hex(),
                SystemTime::now(),
                json!({"ignition": "on", "values": values}),
            )
            .sign(key)
            .expect("sign")
            .to_vec()
            .expect("bytes");
            Publish::new(topics::up(key.address(), UpKind::Telemetry), QoS::AtLeastOnce, bytes)
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("bench.db").display()
    );
    let db = rt.block_on(Db::connect(&url)).expect("db");
    let keys: Vec<DeviceKey> = (0..DEVICES).map(|_| DeviceKey::generate()).collect();
    rt.block_on(async {
        for (i, key) in keys.iter().enumerate() {
            registry::register_device(
                &db,
                NewDevice {
                    serial: format!("BENCH-{i}"),
                    address: key.address(),
                    manufacturer: "Bench".into(),
                },
            )
            .await
            .expect("register");
        }
    });
    let store = IngestStore::default();

    let mut group = c.benchmark_group("ingest");
    group.throughput(Throughput::Elements(MAX_BATCH as u64));
    group.bench_function("verify_1024_on_2_threads", |b| {
        let batch = Arc::new(batch(&keys));
        b.to_async(&rt).iter(|| verify_batch(batch.clone()));
    });
    group.bench_function("store_1024_new", |b| {
        b.iter_custom(|iters| {
            let batches: Vec<Vec<Verified>> = (0..iters)
                .map(|_| {
                    let checked = rt.block_on(verify_batch(Arc::new(batch(&keys))));
                    checked.into_iter().map(|r| r.expect("genuine")).collect()
                })
                .collect();
            let start = Instant::now();
            for verified in &batches {
                let out = rt
                    .block_on(store.store(&db, verified, pitlane_cloud::telemetry::now_ms()))
                    .expect("store");
                assert_eq!(out.outcomes.len(), MAX_BATCH);
            }
            start.elapsed()
        })
    });
    group.bench_function("verify_and_store_1024", |b| {
        b.iter_custom(|iters| {
            let batches: Vec<Arc<Vec<Publish>>> =
                (0..iters).map(|_| Arc::new(batch(&keys))).collect();
            let start = Instant::now();
            for publishes in batches {
                rt.block_on(async {
                    let verified: Vec<Verified> = verify_batch(publishes)
                        .await
                        .into_iter()
                        .map(|r| r.expect("genuine"))
                        .collect();
                    store
                        .store(&db, &verified, pitlane_cloud::telemetry::now_ms())
                        .await
                        .expect("store");
                });
            }
            start.elapsed()
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(5));
    targets = bench
}
criterion_main!(benches);
