//! Adapter codec throughput: SLCAN and socketcand frame decoding, ELM327 answer parsing.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pitlane_shared::can::{CanFrame, CanId};
use pitlane_shared::wire::{elm327, slcan, socketcand};

fn frames(n: usize) -> Vec<CanFrame> {
    (0..n)
        .map(|i| {
            let data = [0x21, i as u8, 2, 3, 4, 5, 6, 7];
            CanFrame::new(CanId::Standard(0x7E8), &data).expect("8 bytes")
        })
        .collect()
}

fn codecs(c: &mut Criterion) {
    let frames = frames(1000);
    let mut group = c.benchmark_group("codecs");

    let mut slcan_bytes = Vec::new();
    for f in &frames {
        slcan::Response::Frame {
            frame: *f,
            timestamp: None,
        }
        .encode(&mut slcan_bytes);
    }
    group.throughput(Throughput::Elements(frames.len() as u64));
    group.bench_function("slcan_decode_1000_frames", |b| {
        b.iter(|| {
            let mut dec = slcan::Decoder::default();
            dec.push(&slcan_bytes);
            black_box(std::iter::from_fn(|| dec.next_response()).count())
        })
    });

    let mut scd_bytes = Vec::new();
    for f in &frames {
        let timestamp = socketcand::Timestamp {
            secs: 1_700_000_000,
            micros: 1,
        };
        socketcand::ServerMessage::Frame {
            frame: *f,
            timestamp,
        }
        .encode(&mut scd_bytes);
    }
    group.bench_function("socketcand_decode_1000_frames", |b| {
        b.iter(|| {
            let mut dec = socketcand::Decoder::default();
            dec.push(&scd_bytes);
            black_box(std::iter::from_fn(|| dec.next_server()).count())
        })
    });

    let vin_reply = b"0902\r7E8 10 14 49 02 01 31 44 34\r7E8 21 47 50 30 30 52 35 35\r\
                      7E8 22 42 31 32 33 34 35 36\r\r";
    group.throughput(Throughput::Bytes(vin_reply.len() as u64));
    group.bench_function("elm327_parse_vin_reply", |b| {
        b.iter(|| black_box(elm327::parse_obd_reply("0902", vin_reply, true)))
    });
    group.finish();
}

criterion_group!(benches, codecs);
criterion_main!(benches);
