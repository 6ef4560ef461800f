//! Wall time of a full probe per transport against the simulator (filled in below).

use criterion::{Criterion, criterion_group, criterion_main};

fn probe(_c: &mut Criterion) {}

criterion_group!(benches, probe);
criterion_main!(benches);
