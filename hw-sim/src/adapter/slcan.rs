//! An SLCAN (Lawicel) adapter, as a CANable or USBtin presents itself, on a pseudo-terminal.
//!
//! Commands: `S0`–`S8` (channel closed), `O`/`L`/`C`, `t`/`T` (answered `z\r`/`Z\r`),
//! `V`, `N`, `F`, `Z0`/`Z1` (timestamps), `Un` (UART speed: accepted, meaningless on a pty).
//! Errors are BEL. The car's bus runs at 500 kbit/s: a channel opened at another bitrate
//! stays silent, as a real adapter on a mismatched bus would (no frames either way).

use std::path::PathBuf;
use std::time::Duration;

use pitlane_shared::can::CanFrame;
use pitlane_shared::wire::slcan::{Bitrate, Command, Decoder, Response, SlcanError};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{AnswerFate, FaultState, first_half, is_diagnostic_response};
use crate::bus::{PortError, VirtualBus};
use crate::pty::{Pty, PtyError};

/// The bitrate of the simulated car's bus.
pub const CAR_BITRATE: Bitrate = Bitrate::K500;

/// How long a vanished adapter stays away before it is "plugged in" again.
const REPLUG_DELAY: Duration = Duration::from_millis(500);

/// The adapter's protocol state (sans-IO).
#[derive(Debug)]
pub struct SlcanState {
    bitrate: Bitrate,
    open: bool,
    listen_only: bool,
    timestamps: bool,
    started: Instant,
}

/// What one command produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Bytes to write back to the host.
    pub reply: Vec<u8>,
    /// A frame to put on the bus.
    pub transmit: Option<CanFrame>,
}

impl SlcanState {
    /// A closed adapter set to the car's bitrate.
    pub fn new(now: Instant) -> Self {
        Self {
            bitrate: CAR_BITRATE,
            open: false,
            listen_only: false,
            timestamps: false,
            started: now,
        }
    }

    /// Whether frames pass between the host and the bus.
    fn on_bus(&self) -> bool {
        self.open && self.bitrate == CAR_BITRATE
    }

    /// Handles one decoded command (or decoding error).
    pub fn handle(&mut self, command: Result<Command, SlcanError>) -> Outcome {
        let reply = |r: Response| Outcome {
            reply: r.to_bytes(),
            transmit: None,
        };
        let command = match command {
            Ok(c) => c,
            // `Un`: UART speed. Baud rates mean nothing on a pty; accept the standard codes.
            Err(SlcanError::Unknown { text }) if is_uart_speed(&text) => {
                return reply(Response::Ok);
            }
            Err(e) => {
                tracing::debug!("SLCAN: {e}");
                return reply(Response::Error);
            }
        };
        match command {
            Command::SetBitrate(b) if !self.open => {
                self.bitrate = b;
                reply(Response::Ok)
            }
            Command::Open | Command::ListenOnly if !self.open => {
                self.open = true;
                self.listen_only = command == Command::ListenOnly;
                reply(Response::Ok)
            }
            Command::Close => {
                self.open = false;
                reply(Response::Ok)
            }
            Command::Transmit(frame) if self.open && !self.listen_only => Outcome {
                reply: Response::Transmitted {
                    extended: frame.id().is_extended(),
                }
                .to_bytes(),
                transmit: self.on_bus().then_some(frame),
            },
            Command::Version => reply(Response::Version("1013".into())),
            Command::SerialNumber => reply(Response::SerialNumber("PL01".into())),
            Command::Status if self.open => reply(Response::Status(0)),
            Command::Timestamps(on) if !self.open => {
                self.timestamps = on;
                reply(Response::Ok)
            }
            _ => reply(Response::Error),
        }
    }

    /// The line to send the host for a frame seen on the bus at `now`, if the channel is open.
    pub fn frame_line(&self, frame: CanFrame, now: Instant) -> Option<Vec<u8>> {
        if !self.on_bus() {
            return None;
        }
        let timestamp = self.timestamps.then(|| {
            // Lawicel timestamps are milliseconds wrapping at 60 000.
            ((now - self.started).as_millis() % 60_000) as u16
        });
        Some(Response::Frame { frame, timestamp }.to_bytes())
    }
}

fn is_uart_speed(text: &str) -> bool {
    matches!(text.as_bytes(), [b'U', b'0'..=b'6'])
}

/// Serves an SLCAN adapter on `first` until `shutdown`. A vanished adapter comes back on a
/// new pty (symlinked at `link` again); `on_ready` is called with each such new pty.
pub async fn serve(
    first: Pty,
    link: Option<PathBuf>,
    bus: VirtualBus,
    mut faults: FaultState,
    shutdown: CancellationToken,
    mut on_ready: impl FnMut(&Pty) + Send,
) -> Result<(), PtyError> {
    let mut pty = first;
    loop {
        let vanished = serve_pty(&pty, &bus, &mut faults, &shutdown).await;
        drop(pty);
        if !vanished {
            return Ok(());
        }
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            () = tokio::time::sleep(REPLUG_DELAY) => {}
        }
        pty = Pty::open(link.as_deref())?;
        on_ready(&pty);
    }
}

/// Serves one pty; `true` when the adapter vanished (fault), `false` on shutdown or error.
async fn serve_pty(
    pty: &Pty,
    bus: &VirtualBus,
    faults: &mut FaultState,
    shutdown: &CancellationToken,
) -> bool {
    let mut port = bus.connect();
    let mut state = SlcanState::new(Instant::now());
    let mut decoder = Decoder::default();
    let mut buf = [0u8; 512];
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return false,
            read = pty.read(&mut buf) => {
                let n = match read {
                    Ok(n) => n,
                    Err(e) => {
                        tracing::warn!("SLCAN pty read failed: {e}");
                        return false;
                    }
                };
                decoder.push(&buf[..n]);
                while let Some(command) = decoder.next_command() {
                    let outcome = state.handle(command);
                    if let Some(frame) = outcome.transmit {
                        port.send(frame);
                    }
                    if pty.write_all(&outcome.reply).await.is_err() {
                        return false;
                    }
                }
            }
            frame = port.recv() => {
                let frame = match frame {
                    Ok(f) => f,
                    Err(PortError::Closed) => return false,
                    Err(e @ PortError::Overrun(_)) => {
                        tracing::warn!("SLCAN adapter: {e}");
                        continue;
                    }
                };
                let Some(line) = state.frame_line(frame, Instant::now()) else { continue };
                let mut out = Vec::new();
                if is_diagnostic_response(frame.id()) {
                    out.extend(faults.serial_noise().unwrap_or_default());
                    if faults.next_answer() == AnswerFate::Vanish {
                        out.extend_from_slice(first_half(&line));
                        let _ = pty.write_all(&out).await;
                        // Bytes already on the wire reach the tester before the hang-up does.
                        tokio::time::sleep(super::VANISH_LINGER).await;
                        tracing::info!("SLCAN adapter vanishes (fault injection)");
                        return true;
                    }
                }
                out.extend(line);
                if pty.write_all(&out).await.is_err() {
                    return false;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(state: &mut SlcanState, input: &[u8], reply: &[u8], transmits: bool) {
        let mut dec = Decoder::default();
        dec.push(input);
        let cmd = dec.next_command().expect("one command");
        let out = state.handle(cmd);
        assert_eq!(out.reply, reply, "{:?}", String::from_utf8_lossy(input));
        assert_eq!(
            out.transmit.is_some(),
            transmits,
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn lawicel_command_set() {
        let s = &mut SlcanState::new(Instant::now());
        check(s, b"t7DF80201000000000000\r", b"\x07", false);
        check(s, b"V\r", b"V1013\r", false);
        check(s, b"N\r", b"NPL01\r", false);
        check(s, b"U5\r", b"\r", false);
        check(s, b"S9\r", b"\x07", false);
        check(s, b"S6\r", b"\r", false);
        check(s, b"Z1\r", b"\r", false);
        check(s, b"Z0\r", b"\r", false);
        check(s, b"O\r", b"\r", false);
        check(s, b"O\r", b"\x07", false);
        check(s, b"S4\r", b"\x07", false);
        check(s, b"F\r", b"F00\r", false);
        check(s, b"t7DF80201000000000000\r", b"z\r", true);
        check(s, b"T18DB33F180201000000000000\r", b"Z\r", true);
        check(s, b"t7DF9\r", b"\x07", false);
        check(s, b"xyz\r", b"\x07", false);
        check(s, b"C\r", b"\r", false);
        check(s, b"L\r", b"\r", false);
        check(s, b"t7DF80201000000000000\r", b"\x07", false);
    }

    #[tokio::test(start_paused = true)]
    async fn frames_reach_the_host_only_when_open_at_the_car_bitrate() {
        let t0 = Instant::now();
        let s = &mut SlcanState::new(t0);
        let frame = CanFrame::new(
            pitlane_shared::can::CanId::Standard(0x7E8),
            &[0x03, 0x41, 0x0D, 0x00],
        )
        .unwrap();
        assert_eq!(s.frame_line(frame, t0), None);
        check(s, b"S4\r", b"\r", false);
        check(s, b"O\r", b"\r", false);
        assert_eq!(s.frame_line(frame, t0), None);
        check(s, b"t7DF80201000000000000\r", b"z\r", false);
        check(s, b"C\r", b"\r", false);
        check(s, b"S6\r", b"\r", false);
        check(s, b"Z1\r", b"\r", false);
        check(s, b"O\r", b"\r", false);
        let later = t0 + Duration::from_millis(61_234);
        assert_eq!(s.frame_line(frame, later).unwrap(), b"t7E8403410D0004D2\r");
    }
}
