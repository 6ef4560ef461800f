//! Devices API validation costs: a full geofence body (2,000 H3 cells) and a full error-code
//! request (100 codes parsed and described).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use h3o::{LatLng, Resolution};
use pitlane_cloud::devices::error_codes::{MAX_CODES, parse_codes};
use pitlane_cloud::devices::geofences::{GeofenceInput, MAX_CELLS};
use pitlane_shared::obd::describe;

fn bench(c: &mut Criterion) {
    let origin = LatLng::new(37.775, -122.418)
        .expect("valid coordinates")
        .to_cell(Resolution::Nine);
    let cells: Vec<String> = origin
        .grid_disk::<Vec<_>>(30)
        .into_iter()
        .take(MAX_CELLS)
        .map(|c| c.to_string())
        .collect();
    assert_eq!(cells.len(), MAX_CELLS);
    let codes: Vec<String> = (0..MAX_CODES)
        .map(|i| format!("P{:04X}", 0x0100 + i))
        .collect();

    let mut group = c.benchmark_group("devices");
    group.throughput(Throughput::Elements(MAX_CELLS as u64));
    group.bench_function("geofence_parse_2000_cells", |b| {
        b.iter(|| GeofenceInput::parse("Home", "PrivacyFence", &cells, &[]).expect("valid"))
    });
    group.throughput(Throughput::Elements(MAX_CODES as u64));
    group.bench_function("error_codes_parse_describe_100", |b| {
        b.iter(|| {
            parse_codes(&codes)
                .expect("valid")
                .into_iter()
                .map(|code| describe(code, Some("Ford")).text().len())
                .sum::<usize>()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
