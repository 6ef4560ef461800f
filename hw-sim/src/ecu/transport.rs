//! The task that speaks ISO-TP for one ECU on the virtual bus, using the shared sans-IO
//! machines: it reassembles requests (sending flow control), hands them to the ECU, and sends
//! the answers, waiting for the tester's flow control and honouring its block size and STmin.
//! Per-ECU faults (slow answers, response-pending, dropped or stalled frames) are applied here.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use pitlane_shared::can::isotp::{self, Addressing, Event, FUNCTIONAL_11, FUNCTIONAL_29};
use pitlane_shared::can::{CanFrame, CanId};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::Ecu;
use pitlane_shared::obd::Nrc;

use super::service::Reply;
use crate::bus::{BusPort, PortError};
use crate::scenario::EcuFaults;

/// Padding the simulated ECUs put in unused frame bytes (testers must accept any).
const ECU_PADDING: u8 = 0xAA;

/// One addressing mode (11-bit or 29-bit) of one ECU.
struct Channel {
    functional: CanId,
    receiver: isotp::Receiver,
    sender: isotp::Sender,
    /// Answers due at a given time (pending responses and delayed answers), in time order.
    scheduled: VecDeque<(Instant, Vec<u8>)>,
    /// Answers waiting for the sender to be free.
    outbox: VecDeque<Vec<u8>>,
    /// Consecutive frames sent of the current message.
    consecutive_sent: u32,
}

impl Channel {
    fn new(physical_request: CanId, functional: CanId) -> Option<Self> {
        let addressing = Addressing::ecu_for_request(physical_request)?;
        let config = isotp::Config {
            padding: Some(ECU_PADDING),
            ..isotp::Config::default()
        };
        Some(Self {
            functional,
            receiver: isotp::Receiver::new(config.clone(), addressing).with_functional(functional),
            sender: isotp::Sender::new(config, addressing),
            scheduled: VecDeque::new(),
            outbox: VecDeque::new(),
            consecutive_sent: 0,
        })
    }

    fn next_deadline(&self) -> Option<Instant> {
        [
            self.receiver.poll_timeout().map(Instant::from_std),
            self.sender.poll_timeout().map(Instant::from_std),
            self.scheduled.front().map(|(at, _)| *at),
        ]
        .into_iter()
        .flatten()
        .min()
    }
}

/// Runs one ECU until `shutdown` or until the bus goes away.
pub(crate) async fn run(
    ecu: Arc<Mutex<Ecu>>,
    standard: bool,
    extended: bool,
    mut port: BusPort,
    start: Instant,
    shutdown: CancellationToken,
) {
    let (config, faults) = match ecu.lock() {
        Ok(e) => (e.config().clone(), e.config().faults.clone()),
        Err(_) => return,
    };
    let mut channels = Vec::new();
    if standard {
        channels.extend(Channel::new(
            CanId::Standard(config.request_id),
            FUNCTIONAL_11,
        ));
    }
    if extended {
        let physical = Addressing::tester_29(config.address29).tx;
        channels.extend(Channel::new(physical, FUNCTIONAL_29));
    }
    if channels.is_empty() {
        tracing::warn!(ecu = %config.name, "no usable request id; this ECU stays silent");
    }
    loop {
        let now = Instant::now();
        for ch in &mut channels {
            pump(ch, now, &port, &faults, &config.name);
        }
        let deadline = channels.iter().filter_map(Channel::next_deadline).min();
        tokio::select! {
            () = shutdown.cancelled() => return,
            frame = port.recv() => match frame {
                Ok(frame) => {
                    let now = Instant::now();
                    for ch in &mut channels {
                        on_frame(ch, now, &frame, &ecu, start, &faults);
                    }
                }
                Err(PortError::Closed) => return,
                Err(e @ PortError::Overrun(_)) => tracing::warn!(ecu = %config.name, "{e}"),
            },
            () = sleep_until(deadline) => {
                let now = Instant::now().into_std();
                for ch in &mut channels {
                    ch.receiver.handle_timeout(now);
                    ch.sender.handle_timeout(now);
                }
            }
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

fn on_frame(
    ch: &mut Channel,
    now: Instant,
    frame: &CanFrame,
    ecu: &Mutex<Ecu>,
    start: Instant,
    faults: &EcuFaults,
) {
    let functional = frame.id() == ch.functional;
    ch.receiver.handle_frame(now.into_std(), frame);
    if !faults.ignore_flow_control {
        ch.sender.handle_frame(now.into_std(), frame);
    }
    while let Some(event) = ch.receiver.poll_event() {
        match event {
            Event::Received(request) => {
                let reply = match ecu.lock() {
                    Ok(mut e) => e.handle_request(&request, functional, now - start),
                    Err(_) => return,
                };
                if let Reply::Send(answer) = reply {
                    schedule(ch, now, &request, answer, faults);
                }
            }
            Event::ReceiveFailed(e) => tracing::debug!("request reception failed: {e}"),
            Event::Sent | Event::SendFailed(_) => {}
        }
    }
}

/// Queues `answer`, preceded by response-pending messages and delayed as the faults say.
fn schedule(ch: &mut Channel, now: Instant, request: &[u8], answer: Vec<u8>, faults: &EcuFaults) {
    let mut at = now;
    if faults.pending_responses > 0
        && let Some(&sid) = request.first()
    {
        for _ in 0..faults.pending_responses {
            ch.scheduled
                .push_back((at, vec![0x7F, sid, Nrc::RESPONSE_PENDING.0]));
            at += faults.pending_interval();
        }
    }
    at += std::time::Duration::from_millis(faults.response_delay_ms);
    ch.scheduled.push_back((at, answer));
    ch.scheduled.make_contiguous().sort_by_key(|(at, _)| *at);
}

/// Sends everything that is due: flow control, scheduled answers, (consecutive) frames.
fn pump(ch: &mut Channel, now: Instant, port: &BusPort, faults: &EcuFaults, name: &str) {
    let std_now = now.into_std();
    while let Some(fc) = ch.receiver.poll_transmit(std_now) {
        if !faults.no_flow_control {
            port.send(fc);
        }
    }
    while ch.scheduled.front().is_some_and(|(at, _)| *at <= now) {
        if let Some((_, answer)) = ch.scheduled.pop_front() {
            ch.outbox.push_back(answer);
        }
    }
    loop {
        if !ch.sender.is_busy()
            && let Some(answer) = ch.outbox.pop_front()
        {
            ch.consecutive_sent = 0;
            if let Err(e) = ch.sender.send(&answer) {
                tracing::warn!(ecu = name, "cannot send answer: {e}");
            }
        }
        let mut progressed = false;
        while let Some(frame) = ch.sender.poll_transmit(std_now) {
            progressed = true;
            if frame.data().first().is_some_and(|b| b >> 4 == 2) {
                ch.consecutive_sent += 1;
                if faults.drop_consecutive_frame == Some(ch.consecutive_sent) {
                    continue;
                }
            }
            port.send(frame);
        }
        while let Some(event) = ch.sender.poll_event() {
            if let Event::SendFailed(e) = event {
                tracing::debug!(ecu = name, "answer not delivered: {e}");
            }
        }
        if !progressed || ch.sender.is_busy() || ch.outbox.is_empty() {
            break;
        }
    }
}
