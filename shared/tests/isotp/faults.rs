//! Faults: lost frames, timeouts, wait frames, overflow, wrong sequence, malformed input.

use std::time::{Duration, Instant};

use pitlane_shared::can::isotp::{
    Addressing, Config, Event, IsoTpError, PciError, Receiver, Sender,
};
use pitlane_shared::can::{CanFrame, CanId};

use crate::obd_pair;
use crate::pair::Side;

fn std_frame(id: u16, data: &[u8]) -> CanFrame {
    CanFrame::new(CanId::Standard(id), data).expect("valid frame")
}

#[test]
fn missing_flow_control_fails_the_sender_after_n_bs() {
    let ecu = Config {
        n_bs: Duration::from_millis(150),
        ..Config::default()
    };
    let mut p = obd_pair(Config::default(), ecu);
    p.deliver = Box::new(|from, _| from == Side::Ecu);
    p.ecu.send(&[7; 20]).expect("idle");
    p.drive();
    assert_eq!(
        p.ecu_events,
        vec![Event::SendFailed(IsoTpError::FlowControlTimeout {
            id: CanId::Standard(0x7E0),
            timeout: Duration::from_millis(150),
        })]
    );
    assert_eq!(p.ecu_event_times, [Duration::from_millis(150)]);
    // The tester received the first frame but never a consecutive one.
    assert!(matches!(
        p.tester_events.as_slice(),
        [Event::ReceiveFailed(IsoTpError::ConsecutiveTimeout {
            received: 6,
            len: 20,
            ..
        })]
    ));
}

#[test]
fn a_lost_consecutive_frame_is_a_sequence_error() {
    let mut p = obd_pair(Config::default(), Config::default());
    let mut n = 0;
    p.deliver = Box::new(move |from, frame| {
        let cf = from == Side::Ecu && frame.data()[0] >> 4 == 2;
        n += usize::from(cf);
        !(cf && n == 2)
    });
    p.ecu.send(&[1; 30]).expect("idle");
    p.drive();
    assert_eq!(
        p.tester_events,
        vec![Event::ReceiveFailed(IsoTpError::WrongSequence {
            id: CanId::Standard(0x7E8),
            expected: 2,
            got: 3,
        })]
    );
}

#[test]
fn a_lost_last_frame_times_out_after_n_cr() {
    let tester = Config {
        n_cr: Duration::from_millis(250),
        ..Config::default()
    };
    let mut p = obd_pair(tester, Config::default());
    let mut n = 0;
    p.deliver = Box::new(move |from, frame| {
        let cf = from == Side::Ecu && frame.data()[0] >> 4 == 2;
        n += usize::from(cf);
        !(cf && n == 2)
    });
    p.ecu.send(&[1; 20]).expect("idle");
    p.drive();
    assert_eq!(
        p.tester_events,
        vec![Event::ReceiveFailed(IsoTpError::ConsecutiveTimeout {
            id: CanId::Standard(0x7E8),
            timeout: Duration::from_millis(250),
            received: 13,
            len: 20,
        })]
    );
    assert_eq!(p.tester_event_times, [Duration::from_millis(250)]);
}

#[test]
fn overflow_is_reported_on_both_sides() {
    let tester = Config {
        max_payload: 100,
        ..Config::default()
    };
    let mut p = obd_pair(tester, Config::default());
    p.ecu.send(&[0; 101]).expect("idle");
    p.drive();
    assert_eq!(p.sent_by(Side::Tester), ["7E0#320000CCCCCCCCCC"]);
    assert_eq!(
        p.ecu_events,
        vec![Event::SendFailed(IsoTpError::Overflow {
            id: CanId::Standard(0x7E0),
            len: 101,
        })]
    );
    assert_eq!(
        p.tester_events,
        vec![Event::ReceiveFailed(IsoTpError::ReceiveTooLong {
            id: CanId::Standard(0x7E8),
            len: 101,
            max: 100,
        })]
    );
}

/// A sender that has sent its first frame, plus the clock.
fn sender_waiting(config: Config) -> (Sender, Instant) {
    let addr = Addressing::ecu_for_request(CanId::Standard(0x7E0)).expect("valid");
    let mut s = Sender::new(config, addr);
    let now = Instant::now();
    s.send(&[9; 20]).expect("idle");
    assert!(s.poll_transmit(now).is_some());
    (s, now)
}

#[test]
fn wait_frames_are_obeyed_up_to_the_limit() {
    let config = Config {
        max_wait_frames: 2,
        n_bs: Duration::from_millis(100),
        ..Config::default()
    };
    let wait = std_frame(0x7E0, &[0x31, 0, 0]);
    let cts = std_frame(0x7E0, &[0x30, 0, 0]);

    // Two waits, each restarting N_Bs, then CTS: the transfer completes.
    let (mut s, t0) = sender_waiting(config.clone());
    s.handle_frame(t0 + Duration::from_millis(90), &wait);
    s.handle_timeout(t0 + Duration::from_millis(150));
    s.handle_frame(t0 + Duration::from_millis(180), &wait);
    assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_millis(280)));
    s.handle_frame(t0 + Duration::from_millis(200), &cts);
    let now = t0 + Duration::from_millis(200);
    let sent = std::iter::from_fn(|| s.poll_transmit(now)).count();
    assert_eq!(sent, 2);
    assert_eq!(s.poll_event(), Some(Event::Sent));

    // A third wait is one too many.
    let (mut s, t0) = sender_waiting(config);
    for _ in 0..3 {
        s.handle_frame(t0, &wait);
    }
    assert_eq!(
        s.poll_event(),
        Some(Event::SendFailed(IsoTpError::TooManyWaits {
            id: CanId::Standard(0x7E0),
            limit: 2,
        }))
    );
    assert!(!s.is_busy());
}

#[test]
fn reserved_flow_status_aborts_and_stray_flow_control_is_ignored() {
    let (mut s, t0) = sender_waiting(Config::default());
    s.handle_frame(t0, &std_frame(0x7E1, &[0x33, 0, 0]));
    assert!(s.is_busy(), "frames on other ids are not ours");
    s.handle_frame(t0, &std_frame(0x7E0, &[0x33, 0, 0]));
    assert!(matches!(
        s.poll_event(),
        Some(Event::SendFailed(IsoTpError::Malformed {
            source: PciError::FlowStatus(3),
            ..
        }))
    ));
    // An idle sender ignores flow control.
    s.handle_frame(t0, &std_frame(0x7E0, &[0x30, 0, 0]));
    assert_eq!(s.poll_event(), None);
    assert_eq!(s.poll_transmit(t0), None);
}

#[test]
fn send_rejects_bad_payloads() {
    let addr = Addressing::tester_11(0x7E0).expect("valid");
    let mut s = Sender::new(Config::default(), addr);
    assert_eq!(s.send(&[]), Err(IsoTpError::Empty));
    assert_eq!(
        s.send(&[0; 4096]),
        Err(IsoTpError::TooLong {
            len: 4096,
            max: 4095
        })
    );
    s.send(&[0; 8]).expect("idle");
    assert_eq!(
        s.send(&[0; 8]),
        Err(IsoTpError::Busy {
            id: CanId::Standard(0x7E0)
        })
    );
    let functional = Addressing {
        tx: CanId::Standard(0x7DF),
        rx: CanId::Standard(0x7E8),
    };
    let mut f = Sender::new(Config::default(), functional);
    assert_eq!(
        f.send(&[0; 8]),
        Err(IsoTpError::FunctionalTooLong {
            id: CanId::Standard(0x7DF),
            len: 8
        })
    );
    f.send(&[0x09, 0x02]).expect("fits a single frame");
    assert_eq!(
        f.poll_transmit(Instant::now()).map(|fr| fr.to_string()),
        Some("7DF#020902CCCCCCCCCC".into())
    );
}

fn receiver() -> Receiver {
    let addr = Addressing::tester_11(0x7E0).expect("valid");
    Receiver::new(Config::default(), addr)
}

#[test]
fn receiver_reports_bad_frames_and_interruptions() {
    let now = Instant::now();
    let mut r = receiver();
    // A consecutive frame nobody asked for is ignored.
    r.handle_frame(now, &std_frame(0x7E8, &[0x21, 1, 2, 3, 4, 5, 6, 7]));
    assert_eq!(r.poll_event(), None);
    // Malformed frames are reported with the frame.
    r.handle_frame(now, &std_frame(0x7E8, &[0x09, 1, 2]));
    assert!(matches!(
        r.poll_event(),
        Some(Event::ReceiveFailed(IsoTpError::Malformed { source: PciError::SingleLength { len: 9, available: 2 }, frame }))
            if frame.to_string() == "7E8#090102"
    ));
    r.handle_frame(now, &std_frame(0x7E8, &[]));
    assert!(matches!(
        r.poll_event(),
        Some(Event::ReceiveFailed(IsoTpError::Malformed {
            source: PciError::Empty,
            ..
        }))
    ));
    // A new first frame interrupts a reception and starts another one.
    r.handle_frame(now, &std_frame(0x7E8, &[0x10, 0x0A, 1, 2, 3, 4, 5, 6]));
    r.handle_frame(now, &std_frame(0x7E8, &[0x10, 0x09, 9, 9, 9, 9, 9, 9]));
    assert_eq!(
        r.poll_event(),
        Some(Event::ReceiveFailed(IsoTpError::Interrupted {
            id: CanId::Standard(0x7E8),
            kind: "first",
            received: 6,
            len: 10,
        }))
    );
    assert!(r.is_receiving());
    // A consecutive frame too short for the bytes still missing.
    r.handle_frame(now, &std_frame(0x7E8, &[0x21, 9, 9]));
    assert!(matches!(
        r.poll_event(),
        Some(Event::ReceiveFailed(IsoTpError::ShortConsecutive {
            needed: 3,
            available: 2,
            ..
        }))
    ));
    assert!(!r.is_receiving());
}

#[test]
fn a_busy_receiver_sends_wait_frames_which_count_against_the_limit() {
    let busy = |fc_waits| Config {
        fc_waits,
        block_size: 2,
        ..Config::default()
    };
    let ecu = Config {
        max_wait_frames: 3,
        ..Config::default()
    };
    // Three waits before each CONTINUE are within the limit: the message arrives.
    let mut p = obd_pair(busy(3), ecu.clone());
    p.ecu.send(&[5; 30]).expect("idle");
    p.drive();
    assert_eq!(p.tester_events, vec![Event::Received(vec![5; 30])]);
    let tester_frames = p.sent_by(Side::Tester);
    assert_eq!(tester_frames.len(), 8, "{tester_frames:?}");
    assert_eq!(tester_frames[0], "7E0#310000CCCCCCCCCC");
    assert_eq!(tester_frames[3], "7E0#300200CCCCCCCCCC");

    // Four are one too many.
    let mut p = obd_pair(busy(4), ecu);
    p.ecu.send(&[5; 30]).expect("idle");
    p.drive();
    assert_eq!(
        p.ecu_events,
        vec![Event::SendFailed(IsoTpError::TooManyWaits {
            id: CanId::Standard(0x7E0),
            limit: 3,
        })]
    );
}
