//! Outbox cost per message: queue a signed-envelope-sized payload, read it back for
//! publishing, delete it on its PUBACK (on a real file, WAL, synchronous=FULL).

use criterion::{Criterion, criterion_group, criterion_main};
use pitlane_agent::store::{Priority, Store};

fn outbox(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let store =
        std::cell::RefCell::new(Store::open(&dir.path().join("bench.db"), 1 << 30).unwrap());
    let payload = vec![b'x'; 600];
    c.bench_function("outbox push+pending+ack (600 B)", |b| {
        b.iter(|| {
            let mut s = store.borrow_mut();
            s.push(
                "pitlane/v1/dev/x/up/telemetry",
                &payload,
                false,
                Priority::Telemetry,
            )
            .unwrap();
            let row = s.pending(0, 1).unwrap().remove(0);
            s.acknowledge(row.id).unwrap();
        })
    });
}

criterion_group!(benches, outbox);
criterion_main!(benches);
