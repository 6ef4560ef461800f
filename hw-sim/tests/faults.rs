//! Fault injection: misbehaving ECUs in virtual time, misbehaving adapters over real ptys/TCP.

mod common;

use std::time::Duration;

use common::{Serial, Sim, elm_tcp, read_until, tcp};
use pitlane_shared::can::isotp::{self, Addressing, Event, IsoTpError};
use pitlane_shared::can::{CanFrame, CanId};
use pitlane_sim::scenario::EcuFaults;
use pitlane_sim::{BusPort, Car, Scenario};
use tokio::time::{Instant, timeout};

const ENGINE: CanId = CanId::Standard(0x7E0);
const ENGINE_RX: CanId = CanId::Standard(0x7E8);

fn car_with(faults: EcuFaults) -> Car {
    let mut s = Scenario::default_car();
    s.ecus[0].faults = faults;
    Car::start(s)
}

fn frame(id: CanId, data: &[u8]) -> CanFrame {
    CanFrame::new(id, data).unwrap()
}

/// The next frame from the engine, or `None` after `wait` (virtual time).
async fn engine_frame(port: &mut BusPort, wait: Duration) -> Option<CanFrame> {
    let until = Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(until, port.recv()).await {
            Err(_) => return None,
            Ok(f) => {
                let f = f.unwrap();
                if f.id() == ENGINE_RX {
                    return Some(f);
                }
            }
        }
    }
}

#[tokio::test(start_paused = true)]
async fn response_pending_comes_first_then_the_answer() {
    let car = car_with(EcuFaults {
        pending_responses: 2,
        pending_interval_ms: 40,
        ..EcuFaults::default()
    });
    let mut port = car.connect();
    let t0 = Instant::now();
    port.send(frame(ENGINE, &[0x02, 0x01, 0x0D, 0, 0, 0, 0, 0]));
    let mut seen = Vec::new();
    for _ in 0..3 {
        let f = engine_frame(&mut port, Duration::from_secs(1))
            .await
            .unwrap();
        seen.push((Instant::now() - t0, f.data()[..4].to_vec()));
    }
    assert_eq!(seen[0].1, [0x03, 0x7F, 0x01, 0x78]);
    assert_eq!(seen[1].1, [0x03, 0x7F, 0x01, 0x78]);
    assert_eq!(seen[2].1[1..3], [0x41, 0x0D]);
    assert_eq!(seen[1].0 - seen[0].0, Duration::from_millis(40));
    assert_eq!(seen[2].0 - seen[1].0, Duration::from_millis(40));
}

#[tokio::test(start_paused = true)]
async fn a_slow_ecu_answers_after_p2() {
    let car = car_with(EcuFaults {
        response_delay_ms: 300,
        ..EcuFaults::default()
    });
    let mut port = car.connect();
    let t0 = Instant::now();
    port.send(frame(ENGINE, &[0x02, 0x01, 0x0D, 0, 0, 0, 0, 0]));
    assert_eq!(
        engine_frame(&mut port, Duration::from_millis(299)).await,
        None
    );
    let f = engine_frame(&mut port, Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(f.data()[1], 0x41);
    assert_eq!(Instant::now() - t0, Duration::from_millis(300));
}

/// Requests the VIN physically and feeds the answer to a tester-side receiver.
async fn vin_events(port: &mut BusPort, wait: Duration) -> Vec<Event> {
    let addressing = Addressing::tester_for_response(ENGINE_RX).unwrap();
    let mut rx = isotp::Receiver::new(isotp::Config::default(), addressing);
    port.send(frame(ENGINE, &[0x02, 0x09, 0x02, 0, 0, 0, 0, 0]));
    let mut events = Vec::new();
    while let Some(f) = engine_frame(port, wait).await {
        let now = Instant::now().into_std();
        rx.handle_frame(now, &f);
        while let Some(fc) = rx.poll_transmit(now) {
            port.send(fc);
        }
        events.extend(std::iter::from_fn(|| rx.poll_event()));
    }
    rx.handle_timeout(Instant::now().into_std() + Duration::from_secs(5));
    events.extend(std::iter::from_fn(|| rx.poll_event()));
    events
}

#[tokio::test(start_paused = true)]
async fn a_dropped_consecutive_frame_breaks_the_sequence() {
    let car = car_with(EcuFaults {
        drop_consecutive_frame: Some(1),
        ..EcuFaults::default()
    });
    let mut port = car.connect();
    let events = vin_events(&mut port, Duration::from_millis(500)).await;
    assert!(
        matches!(
            events[0],
            Event::ReceiveFailed(IsoTpError::WrongSequence {
                expected: 1,
                got: 2,
                ..
            })
        ),
        "{events:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn an_ecu_that_ignores_flow_control_stalls_after_the_first_frame() {
    let car = car_with(EcuFaults {
        ignore_flow_control: true,
        ..EcuFaults::default()
    });
    let mut port = car.connect();
    let events = vin_events(&mut port, Duration::from_millis(1500)).await;
    assert!(
        matches!(
            events.as_slice(),
            [Event::ReceiveFailed(IsoTpError::ConsecutiveTimeout {
                received: 6,
                len: 20,
                ..
            })]
        ),
        "{events:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn an_ecu_without_flow_control_never_clears_a_long_request() {
    for (no_fc, expect_fc) in [(false, true), (true, false)] {
        let car = car_with(EcuFaults {
            no_flow_control: no_fc,
            ..EcuFaults::default()
        });
        let mut port = car.connect();
        // A 10-byte request must be segmented: first frame, then wait for the ECU's flow control.
        port.send(frame(
            ENGINE,
            &[0x10, 0x0A, 0x22, 0xF1, 0x90, 0xF1, 0x91, 0xF1],
        ));
        let fc = engine_frame(&mut port, Duration::from_secs(2)).await;
        assert_eq!(
            fc.is_some_and(|f| f.data()[0] == 0x30),
            expect_fc,
            "no_flow_control = {no_fc}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_body_module_that_ignores_commands_stays_locked() {
    let mut s = Scenario::default_car();
    s.body.ignore_commands = true;
    let car = Car::start(s);
    let port = car.connect();
    port.send(frame(CanId::Standard(0x2F0), &[0x02, 0, 0, 0, 0, 0, 0, 0]));
    let mut body = car.watch_body();
    timeout(
        Duration::from_secs(1),
        body.wait_for(|b| b.ignored_commands == 1),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(car.body_state().doors_locked);
}

#[test]
fn garbage_on_the_serial_line_precedes_answers() {
    let sim = Sim::start(&["--elm327-pty", "{dir}/elm", "--fault", "garbage"]);
    let mut port = Serial::open(&sim.path("elm"));
    assert_eq!(port.elm("ATE0"), "ATE0\rOK\r\r>");
    let answer = port.elm("0902");
    let start = answer.find("SEARCHING...").unwrap();
    assert!(start > 0, "noise before the answer: {answer:?}");
    assert!(
        answer.ends_with("2: 48 35 37 31 33 38 32\r\r>"),
        "{answer:?}"
    );
}

#[test]
fn a_vanishing_pty_adapter_comes_back_on_a_new_pty() {
    let mut sim = Sim::start(&["--elm327-pty", "{dir}/elm", "--fault", "vanish"]);
    let first = sim.endpoint("elm327-pty");
    let mut port = Serial::open(&sim.path("elm"));
    port.write(b"0100\r");
    let cut = port.read_until(|b| b.ends_with(b">"));
    assert!(
        !cut.ends_with(b">") && !cut.is_empty(),
        "answer cut short: {cut:?}"
    );
    let again = sim.next_line();
    assert!(
        again.starts_with("elm327-pty ") && again != format!("elm327-pty {first}"),
        "{again}"
    );
    let mut port = Serial::open(&sim.path("elm"));
    assert_eq!(port.elm("ATE0"), "ATE0\rOK\r\r>");
    assert!(port.elm("0100").contains("41 00 98 1A 80 13"));
    sim.stop();
}

#[test]
fn a_vanishing_tcp_adapter_drops_the_connection_mid_answer() {
    let sim = Sim::start(&["--elm327-tcp", "127.0.0.1:0", "--fault", "vanish=2"]);
    let mut s = tcp(&sim.addr("elm327-tcp"));
    elm_tcp(&mut s, "ATE0");
    assert!(elm_tcp(&mut s, "0100").contains("41 00"));
    std::io::Write::write_all(&mut s, b"0902\r").unwrap();
    let cut = read_until(&mut s, true, |b| b.ends_with(b">"));
    assert!(!cut.ends_with(b">"), "{cut:?}");
    let mut s = tcp(&sim.addr("elm327-tcp"));
    elm_tcp(&mut s, "ATE0");
    assert!(elm_tcp(&mut s, "0902").contains("1: 45 42 34 41 43 39 44"));
    sim.stop();
}
