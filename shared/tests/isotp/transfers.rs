//! Whole transfers between a tester and an ECU: frame sequences, addressing, pacing.

use std::time::Duration;

use pitlane_shared::can::isotp::{Addressing, Config, Endpoint, Event, FUNCTIONAL_11, StMin};
use pitlane_shared::can::{CanFrame, CanId};

use crate::obd_pair;
use crate::pair::{Pair, Side};

const VIN_RESPONSE: &[u8] = b"\x49\x02\x011D4GP00R55B123456";

#[test]
fn single_frame_request_and_response() {
    let mut p = obd_pair(Config::default(), Config::default());
    p.tester.send(&[0x01, 0x0D]).expect("idle");
    p.drive();
    assert_eq!(p.ecu_events, vec![Event::Received(vec![0x01, 0x0D])]);
    p.ecu.send(&[0x41, 0x0D, 0x32]).expect("idle");
    p.drive();
    assert_eq!(
        p.tester_events,
        vec![Event::Sent, Event::Received(vec![0x41, 0x0D, 0x32])]
    );
    assert_eq!(p.sent_by(Side::Tester), ["7E0#02010DCCCCCCCCCC"]);
    assert_eq!(p.sent_by(Side::Ecu), ["7E8#03410D32CCCCCCCC"]);
}

#[test]
fn vin_response_is_segmented_and_flow_control_goes_to_the_physical_id() {
    let mut p = obd_pair(Config::default(), Config::default());
    p.ecu.send(VIN_RESPONSE).expect("idle");
    p.drive();
    assert_eq!(
        p.sent_by(Side::Ecu),
        [
            "7E8#1014490201314434",
            "7E8#2147503030523535",
            "7E8#2242313233343536",
        ]
    );
    assert_eq!(p.sent_by(Side::Tester), ["7E0#300000CCCCCCCCCC"]);
    assert_eq!(
        p.tester_events,
        vec![Event::Received(VIN_RESPONSE.to_vec())]
    );
    assert_eq!(p.ecu_events, vec![Event::Sent]);
}

#[test]
fn extended_29_bit_normal_fixed_addressing() {
    let addr = Addressing::tester_29(0x10);
    let mut p = Pair::new(
        Endpoint::new(Config::default(), addr),
        Endpoint::new(Config::default(), addr.reversed()),
    );
    p.ecu.send(VIN_RESPONSE).expect("idle");
    p.drive();
    assert_eq!(p.sent_by(Side::Tester), ["18DA10F1#300000CCCCCCCCCC"]);
    assert_eq!(p.sent_by(Side::Ecu)[0], "18DAF110#1014490201314434");
    assert_eq!(
        p.tester_events,
        vec![Event::Received(VIN_RESPONSE.to_vec())]
    );
}

#[test]
fn block_size_makes_the_sender_wait_for_flow_control_per_block() {
    let tester = Config {
        block_size: 2,
        ..Config::default()
    };
    let mut p = obd_pair(tester, Config::default());
    let payload: Vec<u8> = (0..=40).collect();
    p.ecu.send(&payload).expect("idle");
    p.drive();
    // 41 bytes: FF (6) + 5 CFs (7 each); BS 2 means FC after FF, after CF 2 and after CF 4.
    let kinds: String = p
        .log
        .iter()
        .map(|l| match l.frame.data()[0] >> 4 {
            1 => 'F',
            2 => 'C',
            3 => 'W',
            _ => '?',
        })
        .collect();
    assert_eq!(kinds, "FWCCWCCWC");
    assert_eq!(p.tester_events, vec![Event::Received(payload)]);
}

fn consecutive_gaps(st_min: StMin) -> Vec<Duration> {
    let tester = Config {
        st_min,
        ..Config::default()
    };
    let mut p = obd_pair(tester, Config::default());
    p.ecu.send(&[0x55; 40]).expect("idle");
    p.drive();
    assert_eq!(p.tester_events, vec![Event::Received(vec![0x55; 40])]);
    let times = p.consecutive_times(Side::Ecu);
    times.windows(2).map(|w| w[1] - w[0]).collect()
}

#[test]
fn stmin_paces_consecutive_frames() {
    let cases = [
        (0x00, Duration::ZERO),
        (0x05, Duration::from_millis(5)),
        (0x7F, Duration::from_millis(127)),
        (0xF1, Duration::from_micros(100)),
        (0xF9, Duration::from_micros(900)),
        (0x80, Duration::from_millis(127)),
        (0xFA, Duration::from_millis(127)),
    ];
    for (byte, gap) in cases {
        let gaps = consecutive_gaps(StMin::from_byte(byte));
        assert_eq!(gaps.len(), 4, "STmin {byte:#04X}");
        assert!(
            gaps.iter().all(|g| *g == gap),
            "STmin {byte:#04X}: {gaps:?}"
        );
    }
}

#[test]
fn sequence_numbers_wrap_in_a_4095_byte_message() {
    let mut p = obd_pair(Config::default(), Config::default());
    let payload: Vec<u8> = (0..4095u32).map(|i| (i * 7 % 251) as u8).collect();
    p.ecu.send(&payload).expect("idle");
    p.drive();
    let sns: Vec<u8> = p
        .log
        .iter()
        .filter(|l| l.frame.data()[0] >> 4 == 2)
        .map(|l| l.frame.data()[0] & 0x0F)
        .take(18)
        .collect();
    assert_eq!(
        sns,
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2]
    );
    assert_eq!(p.sent_by(Side::Ecu)[0], "7E8#1FFF00070E151C23");
    assert_eq!(p.tester_events, vec![Event::Received(payload)]);
}

#[test]
fn frames_without_padding_and_with_odd_padding_are_accepted() {
    let unpadded = Config {
        padding: None,
        ..Config::default()
    };
    let mut p = obd_pair(Config::default(), unpadded);
    p.ecu.send(VIN_RESPONSE).expect("idle");
    p.drive();
    assert_eq!(p.sent_by(Side::Ecu)[2], "7E8#2242313233343536");
    assert_eq!(
        p.tester_events,
        vec![Event::Received(VIN_RESPONSE.to_vec())]
    );

    // A short last frame and a single frame padded with 0x55 / 0x00.
    let addr = Addressing::tester_11(0x7E0).expect("valid");
    let mut tester = Endpoint::new(Config::default(), addr);
    let now = p.now;
    for data in [
        &[0x03, 0x41, 0x0D, 0x32, 0x55, 0x55, 0x55, 0x55][..],
        &[0x02, 0x41, 0x0D, 0, 0, 0, 0, 0],
    ] {
        let frame = CanFrame::new(CanId::Standard(0x7E8), data).expect("valid");
        tester.handle_frame(now, &frame);
    }
    assert_eq!(
        tester.poll_event(),
        Some(Event::Received(vec![0x41, 0x0D, 0x32]))
    );
    assert_eq!(tester.poll_event(), Some(Event::Received(vec![0x41, 0x0D])));
}

#[test]
fn ecu_accepts_functional_single_frames_and_ignores_other_ids() {
    let addr = Addressing::ecu_for_request(CanId::Standard(0x7E0)).expect("valid");
    let mut ecu = Endpoint::new(Config::default(), addr).with_functional(FUNCTIONAL_11);
    let now = std::time::Instant::now();
    let frames = [
        (0x7DF, &[0x02, 0x01, 0x00, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC][..]),
        (0x7E1, &[0x02, 0x01, 0x0C]),
        (0x7DF, &[0x10, 0x10, 1, 2, 3, 4, 5, 6]),
        (0x7E0, &[0x02, 0x09, 0x02]),
    ];
    for (id, data) in frames {
        let frame = CanFrame::new(CanId::Standard(id), data).expect("valid");
        ecu.handle_frame(now, &frame);
    }
    assert_eq!(ecu.poll_event(), Some(Event::Received(vec![0x01, 0x00])));
    assert_eq!(ecu.poll_event(), Some(Event::Received(vec![0x09, 0x02])));
    assert_eq!(ecu.poll_event(), None);
    assert_eq!(
        ecu.poll_transmit(now),
        None,
        "no flow control for a functional first frame"
    );
}
