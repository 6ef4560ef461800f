//! VIN decoder benchmarks: decodes per second on one core, cold start (index parse), index size.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pitlane_cloud::vin::{Decoder, Summary, index::Index};

/// Real VINs from the test fixtures, so the mix of WMIs and schemas is realistic.
fn fixture_vins() -> Vec<String> {
    let mut vins = Vec::new();
    for file in ["real-vins.csv", "vpic-decoded-vins.csv"] {
        let path = format!("{}/tests/fixtures/vin/{file}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        vins.extend(
            text.lines()
                .skip(1)
                .filter_map(|l| l.split(',').next())
                .map(str::to_owned),
        );
    }
    vins
}

fn bench(c: &mut Criterion) {
    let decoder = Decoder::new().expect("embedded data loads");
    eprintln!("vPIC index size: {} bytes", decoder.index().file_size);
    let vins = fixture_vins();
    assert!(!vins.is_empty(), "fixtures present");

    let mut group = c.benchmark_group("vin");
    group.throughput(Throughput::Elements(vins.len() as u64));
    group.bench_function("decode_fixture_mix", |b| {
        b.iter(|| {
            for v in &vins {
                std::hint::black_box(decoder.decode(v));
            }
        })
    });
    group.finish();

    // 100,000 VINs end to end as `pitlane-cloud decode --json` does it: decode, summarise,
    // serialise one JSON line each.
    let bulk: Vec<&String> = vins.iter().cycle().take(100_000).collect();
    let mut e2e = c.benchmark_group("vin_bulk");
    e2e.sample_size(10);
    e2e.throughput(Throughput::Elements(bulk.len() as u64));
    e2e.bench_function("decode_100k_to_json_lines", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(16 << 20);
            for v in &bulk {
                serde_json::to_writer(&mut out, &Summary::new(&decoder.decode(v)))
                    .expect("serialises");
                out.push(b'\n');
            }
            std::hint::black_box(out.len())
        })
    });
    e2e.finish();

    let mut cold = c.benchmark_group("vin_cold_start");
    cold.sample_size(10);
    cold.bench_function("parse_index", |b| {
        b.iter(|| {
            std::hint::black_box(
                Index::parse(include_bytes!("../data/vpic-index.bin")).expect("parses"),
            )
        })
    });
    cold.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
