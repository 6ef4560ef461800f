//! MQTT ingest throughput, stage by stage: signed telemetry messages (100 registered devices,
//! 10 live values each, as the agent sends them) verified (parse + canonical JSON + keccak,
//! then signature recovery, or a batch check once the devices' keys are known), de-duplicated and stored in one SQLite transaction per batch of
//! 1,024, and the whole pipeline of `mqtt::ingest` (verification on every core overlapped
//! with storage, acknowledgements counted). Signing happens outside the timed region; every
//! batch holds fresh envelope ids unless it is the duplicates case.
//!
//! `cpu/…` benchmarks report the CPU time of the whole process (every thread: verifiers,
//! SQLite worker, runtime), so a loaded machine inflates them far less than wall time; on 2
//! cores the most a stage can do is 2 × its per-CPU-second throughput. `wall/…` is the time
//! on the clock, on whatever this machine has free.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use criterion::{Bencher, Criterion, Throughput, black_box, criterion_group, criterion_main};
use pitlane_cloud::db::Db;
use pitlane_cloud::mqtt::ingest::{self, Acker, MAX_BATCH, verify_all};
use pitlane_cloud::mqtt::keys::DeviceKeys;
use pitlane_cloud::mqtt::stats::IngestStats;
use pitlane_cloud::mqtt::verify::{self, Verified};
use pitlane_cloud::mqtt::waiters::Waiters;
use pitlane_cloud::registry::{self, NewDevice};
use pitlane_cloud::telemetry::now_ms;
use pitlane_cloud::telemetry::store::IngestStore;
use pitlane_shared::envelope::{Envelope, SignedEnvelope};
use pitlane_shared::identity::DeviceKey;
use pitlane_shared::topics::{self, UpKind};
use rumqttc::{Publish, QoS};
use serde_json::{Value, json};
use tokio::sync::{Notify, mpsc};

const DEVICES: usize = 100;
/// Messages per iteration of the whole pipeline: several store batches, so verification
/// and storage overlap as in service.
const PIPELINE: usize = 4 * MAX_BATCH;

fn message(key: &DeviceKey, i: usize) -> Publish {
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
    Publish::new(
        topics::up(key.address(), UpKind::Telemetry),
        QoS::AtLeastOnce,
        bytes,
    )
}

fn batch(keys: &[DeviceKey], n: usize) -> Vec<Publish> {
    (0..n).map(|i| message(&keys[i % keys.len()], i)).collect()
}

fn verified(rt: &tokio::runtime::Runtime, publishes: Vec<Publish>) -> Vec<Verified> {
    rt.block_on(verify_all(&Arc::new(DeviceKeys::default()), publishes))
        .into_iter()
        .map(|r| r.expect("genuine"))
        .collect()
}

/// CPU time consumed so far by every thread of this process.
fn process_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec, which `ts` is.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_PROCESS_CPUTIME_ID) failed");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Times `f` in process CPU time.
fn on_cpu<O>(b: &mut Bencher<'_>, mut f: impl FnMut() -> O) {
    b.iter_custom(|iters| {
        let start = process_cpu();
        for _ in 0..iters {
            black_box(f());
        }
        process_cpu() - start
    })
}

/// Counts acknowledgements and wakes whoever waits for them.
#[derive(Default)]
struct Counter {
    acked: AtomicUsize,
    changed: Notify,
}

struct CountingAcker(Arc<Counter>);

impl Acker for CountingAcker {
    fn ack(&self, _publish: &Publish) {
        self.0.acked.fetch_add(1, Ordering::Relaxed);
        self.0.changed.notify_one();
    }
}

/// Feeds `publishes` to the running pipeline and waits until every one is acknowledged.
async fn through_pipeline(counter: &Counter, tx: &mpsc::Sender<Publish>, publishes: Vec<Publish>) {
    let target = counter.acked.load(Ordering::Relaxed) + publishes.len();
    let feeder = {
        let tx = tx.clone();
        tokio::spawn(async move {
            for p in publishes {
                tx.send(p).await.expect("pipeline runs");
            }
        })
    };
    while counter.acked.load(Ordering::Relaxed) < target {
        let _ = tokio::time::timeout(Duration::from_millis(10), counter.changed.notified()).await;
    }
    feeder.await.expect("feeder");
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
    let store = Arc::new(IngestStore::default());

    let one = message(&keys[0], 0);
    let mut group = c.benchmark_group("verify_one");
    group.throughput(Throughput::Elements(1));
    group.bench_function("cpu/parse_canonicalise_hash", |b| {
        on_cpu(b, || {
            SignedEnvelope::<Value>::from_slice(&one.payload).expect("parse")
        })
    });
    let signed = SignedEnvelope::<Value>::from_slice(&one.payload).expect("parse");
    group.bench_function("cpu/recover_signer", |b| {
        on_cpu(b, || signed.signer().expect("recover"))
    });
    group.bench_function("cpu/whole", |b| {
        on_cpu(b, || {
            verify::verify(&one.topic, &one.payload).expect("genuine")
        })
    });
    group.finish();

    let mut group = c.benchmark_group("ingest");
    group.throughput(Throughput::Elements(MAX_BATCH as u64));
    let publishes = batch(&keys, MAX_BATCH);
    // Keys unknown: every signature recovered. Known (learned from one earlier pass): each
    // chunk checked in one batch, with 100 devices interleaved (16 keys per chunk) or all
    // from one device (one key per chunk).
    let warm = Arc::new(DeviceKeys::default());
    let one_device = batch(&keys[..1], MAX_BATCH);
    rt.block_on(verify_all(&warm, batch(&keys, DEVICES)));
    group.bench_function("wall/verify_1024_on_every_core", |b| {
        b.to_async(&rt)
            .iter(|| verify_all(&warm, publishes.clone()));
    });
    group.bench_function("cpu/verify_1024_keys_unknown", |b| {
        on_cpu(b, || {
            rt.block_on(verify_all(
                &Arc::new(DeviceKeys::default()),
                publishes.clone(),
            ))
        })
    });
    group.bench_function("cpu/verify_1024_keys_known", |b| {
        on_cpu(b, || rt.block_on(verify_all(&warm, publishes.clone())))
    });
    group.bench_function("cpu/verify_1024_keys_known_one_device", |b| {
        on_cpu(b, || rt.block_on(verify_all(&warm, one_device.clone())))
    });
    for clock in ["wall", "cpu"] {
        group.bench_function(format!("{clock}/store_1024_new"), |b| {
            b.iter_custom(|iters| {
                let batches: Vec<Vec<Verified>> = (0..iters)
                    .map(|_| verified(&rt, batch(&keys, MAX_BATCH)))
                    .collect();
                let (wall, cpu) = (Instant::now(), process_cpu());
                for verified in &batches {
                    let out = rt
                        .block_on(store.store(&db, verified, now_ms()))
                        .expect("store");
                    assert_eq!(out.outcomes.len(), MAX_BATCH);
                }
                if clock == "wall" {
                    wall.elapsed()
                } else {
                    process_cpu() - cpu
                }
            })
        });
    }
    let again = verified(&rt, batch(&keys, MAX_BATCH));
    rt.block_on(store.store(&db, &again, now_ms()))
        .expect("store");
    group.bench_function("cpu/store_1024_duplicates", |b| {
        on_cpu(b, || {
            rt.block_on(store.store(&db, &again, now_ms()))
                .expect("store")
        })
    });
    group.throughput(Throughput::Elements(PIPELINE as u64));
    let counter = Arc::new(Counter::default());
    let (tx, rx) = mpsc::channel(4 * MAX_BATCH);
    let pipeline = rt.spawn(ingest::run(
        db.clone(),
        store.clone(),
        CountingAcker(counter.clone()),
        rx,
        Arc::new(Waiters::default()),
        Arc::new(IngestStats::default()),
    ));
    for clock in ["wall", "cpu"] {
        group.bench_function(format!("{clock}/pipeline_4096"), |b| {
            b.iter_custom(|iters| {
                let batches: Vec<Vec<Publish>> =
                    (0..iters).map(|_| batch(&keys, PIPELINE)).collect();
                let (wall, cpu) = (Instant::now(), process_cpu());
                for publishes in batches {
                    rt.block_on(through_pipeline(&counter, &tx, publishes));
                }
                if clock == "wall" {
                    wall.elapsed()
                } else {
                    process_cpu() - cpu
                }
            });
        });
    }
    drop(tx);
    rt.block_on(pipeline).expect("pipeline ends");
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(5));
    targets = bench
}
criterion_main!(benches);
