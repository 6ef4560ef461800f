//! The in-process car: OBD-II over the virtual bus with the shared ISO-TP machines as tester,
//! and the body module reacting to command frames. Runs in virtual (paused) tokio time.

use std::time::Duration;

use pitlane_shared::can::isotp::{self, Addressing, Event};
use pitlane_shared::can::{CanFrame, CanId};
use pitlane_sim::{BusPort, Car, Scenario};
use tokio::time::{Instant, timeout};

const WAIT: Duration = Duration::from_secs(2);

fn std_id(id: u16) -> CanId {
    CanId::Standard(id)
}

fn single(id: CanId, payload: &[u8]) -> CanFrame {
    let mut data = vec![payload.len() as u8];
    data.extend_from_slice(payload);
    data.resize(8, 0xCC);
    CanFrame::new(id, &data).unwrap()
}

/// Sends `request` on `request_id` and collects every answer (reassembled, flow control sent to
/// each responder's physical id) until `quiet` passes without a frame.
async fn exchange(port: &mut BusPort, request_id: CanId, request: &[u8]) -> Vec<(CanId, Vec<u8>)> {
    port.send(single(request_id, request));
    let mut receivers: Vec<isotp::Receiver> = Vec::new();
    let mut answers = Vec::new();
    // Body-module status frames keep coming; the exchange ends 300 ms after the last answer.
    let quiet = Duration::from_millis(300);
    let mut until = Instant::now() + quiet;
    while let Ok(frame) = tokio::time::timeout_at(until, port.recv()).await {
        let frame = frame.unwrap();
        let Some(addressing) = Addressing::tester_for_response(frame.id()) else {
            continue;
        };
        until = Instant::now() + quiet;
        let rx = match receivers
            .iter_mut()
            .position(|r| r.addressing() == addressing)
        {
            Some(i) => &mut receivers[i],
            None => {
                receivers.push(isotp::Receiver::new(isotp::Config::default(), addressing));
                receivers.last_mut().unwrap()
            }
        };
        let now = Instant::now().into_std();
        rx.handle_frame(now, &frame);
        while let Some(fc) = rx.poll_transmit(now) {
            assert_ne!(
                fc.id(),
                std_id(0x7DF),
                "flow control must go to a physical id"
            );
            port.send(fc);
        }
        while let Some(event) = rx.poll_event() {
            match event {
                Event::Received(payload) => answers.push((frame.id(), payload)),
                other => panic!("unexpected ISO-TP event {other:?}"),
            }
        }
    }
    answers
}

#[tokio::test(start_paused = true)]
async fn functional_vin_request_is_answered_by_the_engine_in_several_frames() {
    let car = Car::start(Scenario::default_car());
    let mut port = car.connect();
    let answers = exchange(&mut port, std_id(0x7DF), &[0x09, 0x02]).await;
    let mut expected = vec![0x49, 0x02, 0x01];
    expected.extend_from_slice(b"5NPEB4AC9DH571382");
    assert_eq!(answers, vec![(std_id(0x7E8), expected)]);
    car.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn every_ecu_answers_a_functional_0100_and_codes_are_per_ecu() {
    let car = Car::start(Scenario::default_car());
    let mut port = car.connect();
    let mut ids: Vec<CanId> = exchange(&mut port, std_id(0x7DF), &[0x01, 0x00])
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    ids.sort();
    assert_eq!(ids, vec![std_id(0x7E8), std_id(0x7E9), std_id(0x7EA)]);

    let mut codes = exchange(&mut port, std_id(0x7DF), &[0x03]).await;
    codes.sort();
    assert_eq!(
        codes,
        vec![
            (std_id(0x7E8), vec![0x43, 0x02, 0x03, 0x01, 0x04, 0x20]),
            (std_id(0x7E9), vec![0x43, 0x01, 0x07, 0x00]),
            (std_id(0x7EA), vec![0x43, 0x00]),
        ]
    );
    // Clearing on the engine only (physical request) leaves the others alone.
    let cleared = exchange(&mut port, std_id(0x7E0), &[0x04]).await;
    assert_eq!(cleared, vec![(std_id(0x7E8), vec![0x44])]);
    let dtcs = car.dtcs();
    assert!(dtcs[0].stored.is_empty() && dtcs[0].pending.is_empty());
    assert_eq!(dtcs[0].permanent, vec!["P0420"]);
    assert_eq!(dtcs[1].stored, vec!["P0700"]);
}

#[tokio::test(start_paused = true)]
async fn twenty_nine_bit_addressing_answers_on_18daf1xx() {
    let mut scenario = Scenario::default_car();
    scenario.addressing = pitlane_sim::scenario::Addressing::Extended;
    let car = Car::start(scenario);
    let mut port = car.connect();
    assert!(
        exchange(&mut port, std_id(0x7DF), &[0x01, 0x00])
            .await
            .is_empty()
    );
    let answers = exchange(&mut port, CanId::Extended(0x18DA_10F1), &[0x22, 0xF1, 0x90]).await;
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0].0, CanId::Extended(0x18DA_F110));
    assert_eq!(&answers[0].1[3..], b"5NPEB4AC9DH571382");
}

#[tokio::test(start_paused = true)]
async fn body_module_reacts_to_commands_and_broadcasts_status() {
    let car = Car::start(Scenario::default_car());
    let mut port = car.connect();
    let mut body = car.watch_body();
    assert!(car.body_state().doors_locked);
    port.send(CanFrame::new(std_id(0x2F0), &[0x02, 0, 0, 0, 0, 0, 0, 0]).unwrap());
    timeout(WAIT, body.wait_for(|s| !s.doors_locked))
        .await
        .unwrap()
        .unwrap();
    // A status frame with bit 0 clear follows within 20 ms.
    let sent = Instant::now();
    loop {
        let f = timeout(WAIT, port.recv()).await.unwrap().unwrap();
        if f.id() == std_id(0x2F1) && f.data()[0] & 1 == 0 {
            break;
        }
    }
    assert!(Instant::now() - sent <= Duration::from_millis(20));
    port.send(CanFrame::new(std_id(0x2F0), &[0x03, 0, 0, 0, 0, 0, 0, 0]).unwrap());
    timeout(WAIT, body.wait_for(|s| s.trunk_open))
        .await
        .unwrap()
        .unwrap();
    // Someone shuts the trunk ten seconds later.
    timeout(Duration::from_secs(11), body.wait_for(|s| !s.trunk_open))
        .await
        .unwrap()
        .unwrap();
}
