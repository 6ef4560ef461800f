//! Property: whatever an ECU answers, printed the way an ELM327 prints it (headers on or off,
//! spaces on or off, 11- or 29-bit ids, single or multi-frame, echo on or off), parses back
//! to the same payload from the same ECU.

use std::time::Instant;

use pitlane_shared::can::isotp::{Addressing, Config, Sender};
use pitlane_shared::can::{CanFrame, CanId};
use pitlane_shared::wire::elm327::{EcuMessage, parse_obd_reply};
use proptest::prelude::*;

/// The frames an ECU sends for `payload` (padded with 0xAA, as some ECUs do).
fn frames(addr: Addressing, payload: &[u8]) -> Vec<CanFrame> {
    let config = Config {
        padding: Some(0xAA),
        ..Config::default()
    };
    let mut sender = Sender::new(config, addr);
    sender.send(payload).expect("1..=4095 bytes");
    let now = Instant::now();
    let mut out = vec![sender.poll_transmit(now).expect("first frame")];
    let fc = CanFrame::new(addr.rx, &[0x30, 0, 0]).expect("valid");
    sender.handle_frame(now, &fc);
    out.extend(std::iter::from_fn(|| sender.poll_transmit(now)));
    out
}

fn bytes(data: &[u8], spaces: bool) -> String {
    let sep = if spaces { " " } else { "" };
    data.iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(sep)
}

/// The adapter's text for one ECU's answer.
fn elm_text(id: CanId, frames: &[CanFrame], headers: bool, spaces: bool) -> String {
    let sep = if spaces { " " } else { "" };
    let mut out = String::new();
    if headers {
        let header = match id {
            CanId::Standard(raw) => format!("{raw:03X}"),
            CanId::Extended(raw) => bytes(&raw.to_be_bytes(), spaces),
        };
        for f in frames {
            out.push_str(&format!("{header}{sep}{}\r", bytes(f.data(), spaces)));
        }
    } else if frames.len() == 1 {
        let data = frames[0].data();
        let len = usize::from(data[0] & 0x0F);
        out.push_str(&format!("{}\r", bytes(&data[1..=len], spaces)));
    } else {
        let first = frames[0].data();
        let len = (usize::from(first[0] & 0x0F) << 8) | usize::from(first[1]);
        out.push_str(&format!(
            "{len:03X}\r0:{sep}{}\r",
            bytes(&first[2..], spaces)
        ));
        for (i, f) in frames[1..].iter().enumerate() {
            let index = (i + 1) % 16;
            out.push_str(&format!(
                "{index:X}:{sep}{}\r",
                bytes(&f.data()[1..], spaces)
            ));
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn printed_answers_parse_back(
        payload in prop::collection::vec(any::<u8>(), 1..=600),
        ecu in 0u8..8,
        extended in any::<bool>(),
        headers in any::<bool>(),
        spaces in any::<bool>(),
        echo in any::<bool>(),
    ) {
        let addr = if extended {
            Addressing::tester_29(0x10 + ecu).reversed()
        } else {
            Addressing::tester_11(0x7E0 + u16::from(ecu)).expect("OBD id").reversed()
        };
        let frames = frames(addr, &payload);
        let mut reply = String::new();
        if echo {
            reply.push_str("0902\rSEARCHING...\r");
        }
        reply.push_str(&elm_text(addr.tx, &frames, headers, spaces));
        reply.push('\r');
        let expected = EcuMessage { from: headers.then_some(addr.tx), payload };
        prop_assert_eq!(parse_obd_reply("0902", reply.as_bytes(), headers), Ok(vec![expected]));
    }
}
