//! ISO-TP throughput: reassembly of pre-built frames and segmentation, in MB/s and frames/s.

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pitlane_shared::can::CanFrame;
use pitlane_shared::can::isotp::{Addressing, Config, Event, Receiver, Sender};

/// The frames an ECU sends for `len` bytes, segmented by the real sender.
fn frames_for(len: usize) -> Vec<CanFrame> {
    let addr = Addressing::tester_11(0x7E0).expect("valid id").reversed();
    let mut sender = Sender::new(Config::default(), addr);
    let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
    sender.send(&payload).expect("idle sender");
    let now = Instant::now();
    let mut frames = vec![sender.poll_transmit(now).expect("first frame")];
    let fc = CanFrame::new(addr.rx, &[0x30, 0, 0]).expect("valid frame");
    sender.handle_frame(now, &fc);
    frames.extend(std::iter::from_fn(|| sender.poll_transmit(now)));
    frames
}

fn reassembly(c: &mut Criterion) {
    let addr = Addressing::tester_11(0x7E0).expect("valid id");
    let mut group = c.benchmark_group("isotp");
    for len in [20usize, 4095] {
        let frames = frames_for(len);
        let now = Instant::now();
        let mut run = || {
            let mut rx = Receiver::new(Config::default(), addr);
            for f in &frames {
                rx.handle_frame(now, f);
                while rx.poll_transmit(now).is_some() {}
            }
            match rx.poll_event() {
                Some(Event::Received(m)) => black_box(m.len()),
                other => panic!("unexpected {other:?}"),
            }
        };
        group.throughput(Throughput::Bytes(len as u64));
        group.bench_function(format!("reassemble_{len}_bytes"), |b| b.iter(&mut run));
        group.throughput(Throughput::Elements(frames.len() as u64));
        group.bench_function(format!("reassemble_{len}_frames"), |b| b.iter(&mut run));
    }
    group.throughput(Throughput::Bytes(4095));
    group.bench_function("segment_4095_bytes", |b| {
        b.iter(|| black_box(frames_for(4095).len()))
    });
    group.finish();
}

criterion_group!(benches, reassembly);
criterion_main!(benches);
