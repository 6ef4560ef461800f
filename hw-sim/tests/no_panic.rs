//! Untrusted input never panics the simulator: arbitrary command lines to the ELM327,
//! arbitrary bytes to the SLCAN and socketcand front ends, arbitrary requests to an ECU and
//! arbitrary frames to the ELM327 printer.

use std::time::Duration;

use pitlane_shared::can::{CanFrame, CanId};
use pitlane_shared::wire::{slcan, socketcand};
use pitlane_sim::Scenario;
use pitlane_sim::adapter::elm327::{Action, Settings, frame_lines};
use pitlane_sim::adapter::slcan::SlcanState;
use pitlane_sim::adapter::socketcand::{Mode, handle};
use pitlane_sim::ecu::Ecu;
use proptest::prelude::*;

proptest! {
    #[test]
    fn elm327_lines_never_panic(lines in prop::collection::vec(".{0,40}", 1..8)) {
        let mut s = Settings::default();
        for line in &lines {
            if let Action::Obd { data, .. } = s.handle(line) {
                prop_assert!(!data.is_empty() && data.len() <= 8);
            }
        }
    }

    #[test]
    fn elm327_prints_any_frame(id in 0u32..0x2000_0000, data in prop::collection::vec(any::<u8>(), 0..=8),
                               headers: bool, spaces: bool, caf: bool) {
        let id = if id > 0x7FF { CanId::Extended(id) } else { CanId::Standard(id as u16) };
        let frame = CanFrame::new(id, &data).unwrap();
        let s = Settings { headers, spaces, caf, ..Settings::default() };
        prop_assert!(!frame_lines(&frame, &s).is_empty());
    }

    #[test]
    fn slcan_bytes_never_panic(chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..80), 1..6)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        let _guard = rt.enter();
        let mut state = SlcanState::new(tokio::time::Instant::now());
        let mut dec = slcan::Decoder::default();
        for chunk in &chunks {
            dec.push(chunk);
            while let Some(cmd) = dec.next_command() {
                prop_assert!(!state.handle(cmd).reply.is_empty());
            }
        }
    }

    #[test]
    fn socketcand_bytes_never_panic(chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..120), 1..6)) {
        let mut mode = Mode::NoBus;
        let mut dec = socketcand::Decoder::default();
        for chunk in &chunks {
            dec.push(chunk);
            while let Some(msg) = dec.next_client() {
                handle(&mut mode, msg.map_err(|e| e.to_string()));
            }
        }
    }

    #[test]
    fn ecu_requests_never_panic(request in prop::collection::vec(any::<u8>(), 0..64), functional: bool, secs in 0u64..1_000_000) {
        let s = Scenario::default_car();
        let mut ecu = Ecu::new(s.ecus[0].clone(), s.live.clone(), s.vin.clone());
        ecu.handle_request(&request, functional, Duration::from_secs(secs));
    }
}
