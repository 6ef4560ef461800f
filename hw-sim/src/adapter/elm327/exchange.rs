//! Carrying out one OBD request on the bus as an ELM327 does: the automatic protocol search,
//! sending the request, printing each answer frame as it arrives, sending flow control for
//! multi-frame answers, and stopping after the response count or when the bus stays quiet
//! for the `ATST` time.

use std::time::Duration;

use pitlane_shared::can::isotp::{self, Addressing, Event};
use pitlane_shared::can::{CanFrame, CanId};
use tokio::time::{Instant, timeout_at};

use super::format::frame_lines;
use super::settings::{Protocol, Settings};
use crate::adapter::is_diagnostic_response;
use crate::bus::{BusPort, PortError};

/// However often response-pending stretches the wait, an exchange ends after this long.
const LONGEST_EXCHANGE: Duration = Duration::from_secs(10);

/// Carries out `data` (with `responses` as the response-count digit) and returns the lines
/// to print, `SEARCHING...` and error strings included.
pub async fn obd_request(
    port: &mut BusPort,
    s: &mut Settings,
    data: &[u8],
    responses: Option<u8>,
) -> Vec<String> {
    let mut lines = Vec::new();
    if s.protocol.0 == 0 {
        lines.push("SEARCHING...".to_string());
        match search(port, s).await {
            Some(found) => s.protocol = found,
            None => {
                lines.push("UNABLE TO CONNECT".into());
                return lines;
            }
        }
    }
    match s.protocol.0 {
        6 | 7 => {}
        // The car's bus runs at 500 kbit/s: other CAN protocols see only errors.
        8..=12 => return vec!["CAN ERROR".into()],
        1 | 2 => return vec!["NO DATA".into()],
        _ => return vec!["BUS INIT: ...ERROR".into()],
    }
    if s.caf && data.len() > 7 {
        return vec!["?".into()];
    }
    let answers = transact(port, s, s.protocol, data, responses).await;
    if answers.is_empty() {
        lines.push("NO DATA".into());
    }
    lines.extend(answers);
    lines
}

/// Tries 11-bit then 29-bit CAN at 500 kbit/s with a functional `01 00`.
async fn search(port: &mut BusPort, s: &Settings) -> Option<Protocol> {
    for protocol in [Protocol::CAN_11_500, Protocol::CAN_29_500] {
        let probe = Settings {
            header: None,
            receive_filter: None,
            caf: true,
            ..s.clone()
        };
        // Wait the full time, so late answers to the probe do not leak into the request's.
        if !transact(port, &probe, protocol, &[0x01, 0x00], None)
            .await
            .is_empty()
        {
            return Some(protocol);
        }
    }
    None
}

fn accepts(s: &Settings, protocol: Protocol, id: CanId) -> bool {
    match s.receive_filter {
        Some(filter) => {
            id.raw() == filter && id.is_extended() == (filter > 0x7FF || protocol.extended())
        }
        None => is_diagnostic_response(id) && id.is_extended() == protocol.extended(),
    }
}

/// Sends one request and prints the answers; empty when nothing answered.
async fn transact(
    port: &mut BusPort,
    s: &Settings,
    protocol: Protocol,
    data: &[u8],
    responses: Option<u8>,
) -> Vec<String> {
    // Whatever arrived before the request is not an answer to it.
    while let Ok(Some(_)) = port.try_recv() {}
    let payload = if s.caf {
        let mut frame = Vec::with_capacity(8);
        // Invariant: the caller keeps CAF requests to at most 7 bytes.
        frame.push(data.len() as u8);
        frame.extend_from_slice(data);
        frame.resize(8, 0x00);
        frame
    } else {
        data.to_vec()
    };
    let Ok(request) = CanFrame::new(s.request_id(protocol), &payload) else {
        return vec!["?".into()];
    };
    port.send(request);

    let mut lines = Vec::new();
    let mut receivers: Vec<isotp::Receiver> = Vec::new();
    let mut complete = 0u8;
    let started = Instant::now();
    let mut deadline = started + s.timeout();
    loop {
        let until = deadline.min(started + LONGEST_EXCHANGE);
        let frame = match timeout_at(until, port.recv()).await {
            Err(_) | Ok(Err(PortError::Closed)) => break,
            Ok(Err(PortError::Overrun(n))) => {
                tracing::warn!("ELM327: {n} frames lost");
                continue;
            }
            Ok(Ok(frame)) => frame,
        };
        if !accepts(s, protocol, frame.id()) {
            continue;
        }
        let now = Instant::now();
        deadline = now + s.timeout();
        lines.extend(frame_lines(&frame, s));
        if !s.caf {
            complete = complete.saturating_add(1);
        } else if let Some(addressing) = Addressing::tester_for_response(frame.id()) {
            let rx = match receivers.iter().position(|r| r.addressing() == addressing) {
                Some(i) => &mut receivers[i],
                None => {
                    receivers.push(isotp::Receiver::new(isotp::Config::default(), addressing));
                    let last = receivers.len() - 1;
                    &mut receivers[last]
                }
            };
            rx.handle_frame(now.into_std(), &frame);
            while let Some(fc) = rx.poll_transmit(now.into_std()) {
                port.send(fc);
            }
            while let Some(event) = rx.poll_event() {
                if let Event::Received(answer) = event
                    && !matches!(answer.as_slice(), [0x7F, _, 0x78])
                {
                    complete = complete.saturating_add(1);
                }
            }
        }
        if responses.is_some_and(|n| complete >= n) {
            break;
        }
    }
    lines
}
