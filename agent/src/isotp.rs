//! The async driver of the sans-IO ISO-TP machines in `pitlane_shared::can::isotp`: sends one
//! request (functional or physical) and reassembles the answers of every ECU that responds,
//! sending each one's flow control to its own physical id.
//!
//! It also honours the one service-layer rule that changes how long to listen: an ECU that
//! answers `7F xx 78` (response pending) gets P2* more time for its real answer.

use std::collections::BTreeMap;
use std::time::Duration;

use pitlane_shared::can::CanId;
use pitlane_shared::can::isotp::{
    Addressing, Config, Event, FUNCTIONAL_11, FUNCTIONAL_29, IsoTpError, Receiver, Sender,
};
use tokio::time::Instant;

use crate::bus::{BusError, CanBus, recv_until};

/// P2*: how long an ECU that sent "response pending" may take for its real answer (J1979: 5 s).
pub const P2_STAR: Duration = Duration::from_secs(5);

/// Who a request goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// Every emissions ECU: `7DF` (11-bit) or `18DB33F1` (29-bit).
    Functional { extended: bool },
    /// One ECU, named by the id it answers on (`7E8`, `18DAF110`).
    Physical { response: CanId },
}

impl Target {
    /// The id the request is sent on.
    pub fn request_id(self) -> Option<CanId> {
        match self {
            Self::Functional { extended: false } => Some(FUNCTIONAL_11),
            Self::Functional { extended: true } => Some(FUNCTIONAL_29),
            Self::Physical { response } => Addressing::tester_for_response(response).map(|a| a.tx),
        }
    }

    /// Whether a frame on `id` can be an answer to this request.
    pub fn accepts(self, id: CanId) -> bool {
        match self {
            Self::Functional { extended: false } => matches!(id, CanId::Standard(0x7E8..=0x7EF)),
            Self::Functional { extended: true } => {
                matches!(id, CanId::Extended(x) if x & 0xFFFF_FF00 == 0x18DA_F100)
            }
            Self::Physical { response } => id == response,
        }
    }
}

/// What came back for one request.
#[derive(Debug, Default)]
pub struct Exchange {
    /// Final answers by responding id (response-pending answers are not included).
    pub replies: BTreeMap<CanId, Vec<u8>>,
    /// Receptions that failed (a dropped consecutive frame, a malformed frame), by id.
    pub failures: BTreeMap<CanId, IsoTpError>,
    /// Ids that said "response pending" and never followed up within P2*.
    pub pending: Vec<CanId>,
}

/// Why a request could not be exchanged at all.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error("no physical request id for an ECU answering on {0}")]
    NoRequestId(CanId),
    #[error("sending the request failed: {0}")]
    Send(IsoTpError),
}

fn is_pending(payload: &[u8]) -> bool {
    matches!(payload, [0x7F, _, 0x78, ..])
}

/// Whether `reply` answers `request`: a positive response (service id + 0x40) or a negative
/// one (`7F`) naming the request's service. An ECU that answered the previous request after
/// its listening window ended is not taken as this request's answer.
fn answers(request: &[u8], reply: &[u8]) -> bool {
    match (request.first(), reply) {
        (Some(&sid), [0x7F, refused, ..]) => *refused == sid,
        (Some(&sid), [first, ..]) => *first == sid.wrapping_add(0x40),
        _ => false,
    }
}

/// Sends `payload` to `target` and listens for answers until `expect` ECUs gave a final answer
/// (then returns at once) or `p2` passed without one (pending ECUs extend it by P2*).
pub async fn request<B: CanBus>(
    bus: &mut B,
    config: &Config,
    target: Target,
    payload: &[u8],
    expect: Option<usize>,
    p2: Duration,
) -> Result<Exchange, DriverError> {
    let tx = match target {
        Target::Physical { response } => {
            Addressing::tester_for_response(response).ok_or(DriverError::NoRequestId(response))?
        }
        Target::Functional { .. } => {
            // Invariant: functional targets always have a request id.
            let id = target.request_id().unwrap_or(FUNCTIONAL_11);
            Addressing { tx: id, rx: id }
        }
    };
    let mut sender = Sender::new(config.clone(), tx);
    sender.send(payload).map_err(DriverError::Send)?;
    let mut receivers: BTreeMap<CanId, Receiver> = BTreeMap::new();
    let mut out = Exchange::default();
    let mut pending_until: BTreeMap<CanId, Instant> = BTreeMap::new();
    let deadline = Instant::now() + p2;

    loop {
        let now = Instant::now();
        while let Some(frame) = sender.poll_transmit(now.into_std()) {
            bus.send(&frame).await?;
        }
        while let Some(ev) = sender.poll_event() {
            if let Event::SendFailed(e) = ev {
                return Err(DriverError::Send(e));
            }
        }
        for (id, rx) in receivers.iter_mut() {
            while let Some(frame) = rx.poll_transmit(now.into_std()) {
                bus.send(&frame).await?;
            }
            while let Some(ev) = rx.poll_event() {
                match ev {
                    Event::Received(msg) if !answers(payload, &msg) => {
                        tracing::debug!(ecu = %id, reply = ?msg, "a late answer to another request");
                    }
                    Event::Received(msg) if is_pending(&msg) => {
                        pending_until.insert(*id, now + P2_STAR);
                    }
                    Event::Received(msg) => {
                        pending_until.remove(id);
                        out.replies.insert(*id, msg);
                    }
                    Event::ReceiveFailed(e) => {
                        out.failures.insert(*id, e);
                    }
                    Event::Sent | Event::SendFailed(_) => {}
                }
            }
        }
        let busy = receivers.values().any(Receiver::is_receiving) || sender.is_busy();
        let done = out.replies.len() + out.failures.len();
        let heard_all = expect.is_some_and(|n| done >= n);
        if !busy && pending_until.is_empty() && (heard_all || now >= deadline) {
            return Ok(out);
        }
        // The next moment something must happen: a machine timer, a pending ECU's P2*, or
        // the end of listening.
        let timers = receivers
            .values()
            .filter_map(Receiver::poll_timeout)
            .chain(sender.poll_timeout())
            .map(Instant::from_std);
        let wake = (now < deadline)
            .then_some(deadline)
            .into_iter()
            .chain(pending_until.values().copied())
            .chain(timers)
            .min()
            // Invariant: something is busy or pending here, and each has a timer; the
            // fallback only bounds the wait should a machine ever report none.
            .unwrap_or(now + p2);
        match recv_until(bus, wake).await? {
            Some(frame) => {
                let now = Instant::now().into_std();
                sender.handle_frame(now, &frame);
                if target.accepts(frame.id()) {
                    receiver_for(&mut receivers, config, frame.id()).handle_frame(now, &frame);
                }
            }
            None => {
                let now = Instant::now();
                for rx in receivers.values_mut() {
                    rx.handle_timeout(now.into_std());
                }
                sender.handle_timeout(now.into_std());
                pending_until.retain(|id, until| {
                    let waiting = *until > now;
                    if !waiting {
                        out.pending.push(*id);
                    }
                    waiting
                });
            }
        }
    }
}

fn receiver_for<'a>(
    receivers: &'a mut BTreeMap<CanId, Receiver>,
    config: &Config,
    id: CanId,
) -> &'a mut Receiver {
    receivers.entry(id).or_insert_with(|| {
        // Invariant: `Target::accepts` only lets through ids in the OBD response ranges,
        // which all have a tester addressing; the fallback is never used.
        let addressing =
            Addressing::tester_for_response(id).unwrap_or(Addressing { tx: id, rx: id });
        Receiver::new(config.clone(), addressing)
    })
}

#[cfg(test)]
mod tests {
    use super::answers;

    fn check(request: &[u8], reply: &[u8], expected: bool) {
        assert_eq!(
            answers(request, reply),
            expected,
            "{request:02X?} → {reply:02X?}"
        );
    }

    #[test]
    fn only_replies_to_this_service_count() {
        check(&[0x09, 0x02], &[0x49, 0x02, 0x01], true);
        check(&[0x03], &[0x43, 0x01, 0x03, 0x01], true);
        check(&[0x22, 0xF1, 0x90], &[0x62, 0xF1, 0x90], true);
        check(&[0x03], &[0x7F, 0x03, 0x11], true);
        check(&[0x03], &[0x7F, 0x03, 0x78], true);
        // A late answer to the previous request (service 03) while asking service 07.
        check(&[0x07], &[0x43, 0x01, 0x03, 0x01], false);
        check(&[0x07], &[0x7F, 0x03, 0x78], false);
        check(&[], &[0x41, 0x00], false);
    }
}
