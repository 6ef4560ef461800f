//! Properties of the adapter codecs: random bytes never panic a decoder, and every frame
//! survives encode → decode in both SLCAN directions and both socketcand directions.

use pitlane_shared::can::{CanFrame, CanId};
use pitlane_shared::wire::{elm327, slcan, socketcand};
use proptest::prelude::*;

fn any_frame() -> impl Strategy<Value = CanFrame> {
    let id = prop_oneof![
        (0u16..=0x7FF).prop_map(CanId::Standard),
        (0u32..=0x1FFF_FFFF).prop_map(CanId::Extended),
    ];
    (id, prop::collection::vec(any::<u8>(), 0..=8))
        .prop_map(|(id, data)| CanFrame::new(id, &data).expect("at most 8 bytes"))
}

/// Bytes that look like adapter output often enough to reach deep into the parsers.
fn noisy_bytes() -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        any::<u8>().prop_map(|b| vec![b]),
        Just(b"\r".to_vec()),
        Just(b">".to_vec()),
        Just(b"<".to_vec()),
        Just(b" ".to_vec()),
        Just(b"7E8 ".to_vec()),
        Just(b"10 14 ".to_vec()),
        Just(b"21 ".to_vec()),
        Just(b"0: ".to_vec()),
        Just(b"014\r".to_vec()),
        Just(b"t7E88".to_vec()),
        Just(b"< frame ".to_vec()),
        Just(b"< send ".to_vec()),
        prop::collection::vec(prop::sample::select(b"0123456789ABCDEF".to_vec()), 1..=8),
    ];
    prop::collection::vec(token, 0..64).prop_map(|t| t.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn slcan_decoders_never_panic(bytes in noisy_bytes(), split in any::<prop::sample::Index>()) {
        let cut = split.index(bytes.len() + 1);
        for as_commands in [false, true] {
            let mut dec = slcan::Decoder::default();
            dec.push(&bytes[..cut]);
            drain_slcan(&mut dec, as_commands);
            dec.push(&bytes[cut..]);
            drain_slcan(&mut dec, as_commands);
            prop_assert!(dec.buffered() <= slcan::MAX_LINE);
        }
    }

    #[test]
    fn socketcand_decoders_never_panic(bytes in noisy_bytes()) {
        for server in [false, true] {
            let mut dec = socketcand::Decoder::default();
            dec.push(&bytes);
            for _ in 0..=bytes.len() {
                let more = if server {
                    dec.next_server().map(|r| r.map(drop))
                } else {
                    dec.next_client().map(|r| r.map(drop))
                };
                if more.is_none() {
                    break;
                }
            }
            prop_assert!(dec.buffered() <= bytes.len());
        }
    }

    #[test]
    fn elm327_parser_never_panics(bytes in noisy_bytes(), headers in any::<bool>()) {
        let mut dec = elm327::Decoder::default();
        dec.push(&bytes);
        while let Some(reply) = dec.next_reply() {
            if let Ok(reply) = reply {
                let _ = elm327::parse_obd_reply("0902", &reply, headers);
            }
        }
        let _ = elm327::parse_obd_reply("0100", &bytes, headers);
    }

    #[test]
    fn slcan_frames_round_trip(frame in any_frame(), ts in prop::option::of(any::<u16>())) {
        let cmd = slcan::Command::Transmit(frame);
        prop_assert_eq!(slcan::Command::parse(&cmd.to_bytes()), Ok(cmd));
        let resp = slcan::Response::Frame { frame, timestamp: ts };
        prop_assert_eq!(slcan::Response::parse(&resp.to_bytes()), Ok(resp));
    }

    #[test]
    fn socketcand_frames_round_trip(frame in any_frame(), secs in any::<u32>(), micros in 0u32..1_000_000) {
        let send = socketcand::ClientMessage::Send(frame);
        prop_assert_eq!(socketcand::ClientMessage::parse(&send.to_bytes()), Ok(send));
        let timestamp = socketcand::Timestamp { secs: secs.into(), micros };
        let recv = socketcand::ServerMessage::Frame { frame, timestamp };
        let mut dec = socketcand::Decoder::default();
        dec.push(&recv.to_bytes());
        prop_assert_eq!(dec.next_server(), Some(Ok(recv)));
    }
}

fn drain_slcan(dec: &mut slcan::Decoder, as_commands: bool) {
    loop {
        let more = if as_commands {
            dec.next_command().map(|r| r.map(drop))
        } else {
            dec.next_response().map(|r| r.map(drop))
        };
        if more.is_none() {
            return;
        }
    }
}
