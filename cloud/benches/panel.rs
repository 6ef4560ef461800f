//! Web panel costs: drawing the largest geofence (1,951 H3 cells, 25 rings) as SVG, and the
//! CSV of a 10,000-VIN bulk decode (each VIN decoded again for its validity column).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pitlane_cloud::panel::bulks::{TaskRow, to_csv};
use pitlane_cloud::panel::map::{MAX_RINGS, disk, project, svg};
use pitlane_cloud::vin::{Decoder, report};

const VINS: [&str; 4] = [
    "1HGCM82633A004352",
    "JH4DC4340RS003205",
    "KNAE55HD7R6000001",
    "WVWZZZAUZHW000001",
];

fn bench(c: &mut Criterion) {
    let cells = disk(52.52, 13.405, 9, MAX_RINGS).expect("disk");
    let decoder = Decoder::new().expect("decoder data");
    let rows: Vec<TaskRow> = (0..10_000)
        .map(|i| {
            let vin = VINS[i % VINS.len()];
            TaskRow {
                vin: vin.to_owned(),
                state: "completed".into(),
                report: Some(report(&decoder.decode(vin), decoder.index())),
            }
        })
        .collect();

    let mut group = c.benchmark_group("panel");
    group.throughput(Throughput::Elements(cells.len() as u64));
    group.bench_function("geofence_svg_1951_cells", |b| {
        b.iter(|| svg(&project(&cells), "Depot", true).into_string().len())
    });
    group.throughput(Throughput::Elements(rows.len() as u64));
    group.bench_function("bulk_csv_10000_vins", |b| {
        b.iter(|| to_csv(&rows, &decoder).expect("csv").len())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
