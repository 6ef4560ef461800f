//! A socketcand server (raw mode of its ASCII protocol) on TCP: `< hi >`, `< open can0 >`,
//! `< rawmode >`, then `< send … >` from the client and `< frame … >` for every bus frame.

use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use pitlane_shared::can::CanFrame;
use pitlane_shared::wire::socketcand::{ClientMessage, Decoder, ServerMessage, Timestamp};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use super::{AnswerFate, FaultState, first_half, is_diagnostic_response};
use crate::bus::{PortError, VirtualBus};

/// The bus name clients open.
pub const BUS_NAME: &str = "can0";

/// Where a connection is in the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Greeted; waiting for `< open >`.
    NoBus,
    /// Bus open, broadcast-manager mode (no frames are forwarded).
    Bcm,
    /// Raw mode: every frame is forwarded both ways.
    Raw,
}

/// What one client message produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub reply: Option<ServerMessage>,
    pub transmit: Option<CanFrame>,
}

/// Handles one decoded client message in `mode` (sans-IO).
pub fn handle(mode: &mut Mode, message: Result<ClientMessage, String>) -> Outcome {
    let reply = |m| Outcome {
        reply: Some(m),
        transmit: None,
    };
    let message = match message {
        Ok(m) => m,
        Err(e) => return reply(ServerMessage::Error(e)),
    };
    match (message, *mode) {
        (ClientMessage::Open(bus), Mode::NoBus) if bus == BUS_NAME => {
            *mode = Mode::Bcm;
            reply(ServerMessage::Ok)
        }
        (ClientMessage::Open(bus), Mode::NoBus) => {
            reply(ServerMessage::Error(format!("could not open bus {bus}")))
        }
        (ClientMessage::Open(_), _) => reply(ServerMessage::Error("bus already open".into())),
        (ClientMessage::RawMode, Mode::Bcm | Mode::Raw) => {
            *mode = Mode::Raw;
            reply(ServerMessage::Ok)
        }
        (ClientMessage::BcmMode, Mode::Bcm | Mode::Raw) => {
            *mode = Mode::Bcm;
            reply(ServerMessage::Ok)
        }
        (ClientMessage::Echo, _) => reply(ServerMessage::Echo),
        (ClientMessage::Send(frame), Mode::Raw) => Outcome {
            reply: None,
            transmit: Some(frame),
        },
        (_, Mode::NoBus) => reply(ServerMessage::Error("no bus open".into())),
        (ClientMessage::Send(_), Mode::Bcm) => {
            reply(ServerMessage::Error("send needs raw mode".into()))
        }
    }
}

fn now_timestamp() -> Timestamp {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp {
        secs: d.as_secs(),
        micros: d.subsec_micros(),
    }
}

/// Serves every connection to `listener` until `shutdown`.
pub async fn serve(
    listener: TcpListener,
    bus: VirtualBus,
    faults: FaultState,
    shutdown: CancellationToken,
) {
    let faults = Arc::new(Mutex::new(faults));
    let mut sessions = tokio::task::JoinSet::new();
    loop {
        let stream = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((s, _)) => s,
                Err(e) => {
                    tracing::warn!("socketcand accept failed: {e}");
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let (bus, faults, shutdown) = (bus.clone(), Arc::clone(&faults), shutdown.clone());
        sessions.spawn(async move { session(stream, bus, faults, shutdown).await });
        while sessions.try_join_next().is_some() {}
    }
    while sessions.join_next().await.is_some() {}
}

async fn session(
    mut stream: TcpStream,
    bus: VirtualBus,
    faults: Arc<Mutex<FaultState>>,
    shutdown: CancellationToken,
) {
    let mut port = bus.connect();
    let mut mode = Mode::NoBus;
    let mut decoder = Decoder::default();
    let mut buf = [0u8; 1024];
    if stream
        .write_all(&ServerMessage::Hi.to_bytes())
        .await
        .is_err()
    {
        return;
    }
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            read = stream.read(&mut buf) => {
                let n = match read {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                decoder.push(&buf[..n]);
                while let Some(message) = decoder.next_client() {
                    let outcome = handle(&mut mode, message.map_err(|e| e.to_string()));
                    if let Some(frame) = outcome.transmit {
                        port.send(frame);
                    }
                    if let Some(reply) = outcome.reply
                        && stream.write_all(&reply.to_bytes()).await.is_err()
                    {
                        return;
                    }
                }
            }
            frame = port.recv() => {
                let frame = match frame {
                    Ok(f) => f,
                    Err(PortError::Closed) => return,
                    Err(e @ PortError::Overrun(_)) => {
                        tracing::warn!("socketcand: {e}");
                        continue;
                    }
                };
                if mode != Mode::Raw {
                    continue;
                }
                let bytes = ServerMessage::Frame { frame, timestamp: now_timestamp() }.to_bytes();
                if is_diagnostic_response(frame.id()) {
                    let fate = faults.lock().map(|mut f| f.next_answer()).unwrap_or(AnswerFate::Deliver);
                    if fate == AnswerFate::Vanish {
                        let _ = stream.write_all(first_half(&bytes)).await;
                        tracing::info!("socketcand connection drops (fault injection)");
                        return;
                    }
                }
                if stream.write_all(&bytes).await.is_err() {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use pitlane_shared::can::CanId;

    use super::*;

    fn check(mode: &mut Mode, input: &str, reply: Option<&str>, transmits: bool) {
        let mut dec = Decoder::default();
        dec.push(input.as_bytes());
        let msg = dec.next_client().expect("one message");
        let out = handle(mode, msg.map_err(|e| e.to_string()));
        let got = out.reply.map(|r| String::from_utf8(r.to_bytes()).unwrap());
        assert_eq!(got.as_deref(), reply, "{input}");
        assert_eq!(out.transmit.is_some(), transmits, "{input}");
    }

    #[test]
    fn raw_mode_handshake_and_send() {
        let m = &mut Mode::NoBus;
        check(m, "< rawmode >", Some("< error no bus open >"), false);
        check(
            m,
            "< open vcan9 >",
            Some("< error could not open bus vcan9 >"),
            false,
        );
        check(m, "< open can0 >", Some("< ok >"), false);
        check(
            m,
            "< send 7DF 8 02 01 00 00 00 00 00 00 >",
            Some("< error send needs raw mode >"),
            false,
        );
        check(m, "< rawmode >", Some("< ok >"), false);
        check(m, "< send 7DF 8 02 01 00 00 00 00 00 00 >", None, true);
        check(m, "< echo >", Some("< echo >"), false);
        check(
            m,
            "< send 7DF 3 02 01 >",
            Some(
                "< error malformed socketcand message \"send 7DF 3 02 01\": number of data bytes differs from the DLC >",
            ),
            false,
        );
        assert_eq!(*m, Mode::Raw);
        let frame = CanFrame::new(CanId::Standard(0x7E8), &[0x02, 0x41, 0x00]).unwrap();
        let line = ServerMessage::Frame {
            frame,
            timestamp: Timestamp { secs: 1, micros: 5 },
        }
        .to_bytes();
        assert_eq!(line, b"< frame 7E8 1.000005 024100 >");
    }
}
