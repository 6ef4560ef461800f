//! Fuzzes ISO-TP reassembly: arbitrary frames (id choice, data, time steps) into an endpoint
//! that is also sending; it must never panic, only send on its own id, and always pad to 8.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use pitlane_shared::can::isotp::{Addressing, Config, Endpoint, Event};
use pitlane_shared::can::{CanFrame, CanId};

fuzz_target!(|data: &[u8]| {
    let addr = Addressing::tester_11(0x7E0).expect("valid OBD id");
    let mut ep = Endpoint::new(Config::default(), addr);
    let start = Instant::now();
    let mut now = start;
    let _ = ep.send(&[0x22, 0xF1, 0x90, 0, 0, 0, 0, 0, 0, 0]);
    // Each record: [control, len, data…]; control bit 0 picks the id, the rest is a time step.
    let mut rest = data;
    while let [control, len, tail @ ..] = rest {
        let n = usize::from(*len % 9).min(tail.len());
        let id = if control & 1 == 0 { 0x7E8 } else { 0x7DF };
        let frame = CanFrame::new(CanId::Standard(id), &tail[..n]).expect("at most 8 bytes");
        ep.handle_frame(now, &frame);
        now += Duration::from_millis(u64::from(control >> 1) * 10);
        ep.handle_timeout(now);
        while let Some(out) = ep.poll_transmit(now) {
            assert_eq!(out.id(), CanId::Standard(0x7E0));
            assert_eq!(out.dlc(), 8);
        }
        while let Some(event) = ep.poll_event() {
            if let Event::Received(payload) = event {
                assert!(!payload.is_empty() && payload.len() <= 4095);
            }
        }
        rest = &tail[n..];
    }
});
