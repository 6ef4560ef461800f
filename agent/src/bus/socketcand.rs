//! The socketcand backend: a remote CAN bus over TCP in the raw mode of socketcand's ASCII
//! protocol (`< hi >`, `< open can0 >`, `< rawmode >`, `< send … >`, `< frame … >`). The codec
//! is `pitlane_shared::wire::socketcand`; this file only does I/O.

use std::collections::VecDeque;

use pitlane_shared::can::CanFrame;
use pitlane_shared::wire::socketcand::{ClientMessage, Decoder, ServerMessage};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

use super::{BusError, CanBus, SETUP_TIMEOUT};

const TRANSPORT: &str = "socketcand";

/// A raw-mode socketcand session on a byte stream.
pub struct SocketcandBus<S> {
    stream: S,
    decoder: Decoder,
    queued: VecDeque<CanFrame>,
    malformed: u64,
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> SocketcandBus<S> {
    /// Waits for `< hi >`, opens `channel` and switches to raw mode.
    pub async fn open(stream: S, channel: &str) -> Result<Self, BusError> {
        let mut bus = Self {
            stream,
            decoder: Decoder::default(),
            queued: VecDeque::new(),
            malformed: 0,
        };
        bus.expect("greeting `< hi >`", |m| matches!(m, ServerMessage::Hi))
            .await?;
        bus.write(&ClientMessage::Open(channel.to_owned())).await?;
        bus.expect(&format!("`< open {channel} >`"), |m| {
            matches!(m, ServerMessage::Ok)
        })
        .await?;
        bus.write(&ClientMessage::RawMode).await?;
        bus.expect("`< rawmode >`", |m| matches!(m, ServerMessage::Ok))
            .await?;
        Ok(bus)
    }

    /// How many malformed messages were skipped so far.
    pub fn malformed(&self) -> u64 {
        self.malformed
    }

    async fn write(&mut self, msg: &ClientMessage) -> Result<(), BusError> {
        self.stream
            .write_all(&msg.to_bytes())
            .await
            .map_err(BusError::io(TRANSPORT))
    }

    /// Waits for the server message `want` accepts; `< error … >` refuses the request.
    async fn expect(
        &mut self,
        request: &str,
        want: impl Fn(&ServerMessage) -> bool,
    ) -> Result<(), BusError> {
        let deadline = Instant::now() + SETUP_TIMEOUT;
        loop {
            let msg = tokio::time::timeout_at(deadline, self.next_message())
                .await
                .map_err(|_| BusError::Timeout {
                    transport: TRANSPORT,
                    request: request.to_owned(),
                    timeout: SETUP_TIMEOUT,
                })??;
            match msg {
                m if want(&m) => return Ok(()),
                ServerMessage::Error(text) => {
                    return Err(BusError::Refused {
                        transport: TRANSPORT,
                        request: request.to_owned(),
                        answer: format!("< error {text} >"),
                    });
                }
                ServerMessage::Frame { frame, .. } => self.queued.push_back(frame),
                _ => {}
            }
        }
    }

    /// The next well-formed server message; malformed ones are skipped and counted.
    async fn next_message(&mut self) -> Result<ServerMessage, BusError> {
        loop {
            match self.decoder.next_server() {
                Some(Ok(m)) => return Ok(m),
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "skipping malformed socketcand input");
                    self.malformed += 1;
                    continue;
                }
                None => {}
            }
            let mut chunk = [0u8; 1024];
            // Cancel-safe: bytes reach the decoder only after a completed read.
            let n = self
                .stream
                .read(&mut chunk)
                .await
                .map_err(BusError::io(TRANSPORT))?;
            if n == 0 {
                return Err(BusError::Closed {
                    transport: TRANSPORT,
                });
            }
            self.decoder.push(&chunk[..n]);
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> CanBus for SocketcandBus<S> {
    async fn send(&mut self, frame: &CanFrame) -> Result<(), BusError> {
        self.write(&ClientMessage::Send(*frame)).await
    }

    async fn recv(&mut self) -> Result<CanFrame, BusError> {
        if let Some(frame) = self.queued.pop_front() {
            return Ok(frame);
        }
        loop {
            match self.next_message().await? {
                ServerMessage::Frame { frame, .. } => return Ok(frame),
                ServerMessage::Error(text) => {
                    tracing::warn!(%text, "socketcand reported an error");
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pitlane_shared::can::CanId;

    #[tokio::test]
    async fn raw_mode_session() {
        let (host, mut dev) = tokio::io::duplex(4096);
        let server = tokio::spawn(async move {
            let mut buf = vec![0u8; 256];
            dev.write_all(b"< hi >").await.unwrap();
            let mut seen = Vec::new();
            for answer in [&b"< ok >"[..], b"< ok >< frame 7E8 12.000001 0641 >"] {
                let n = dev.read(&mut buf).await.unwrap();
                seen.push(String::from_utf8_lossy(&buf[..n]).into_owned());
                dev.write_all(answer).await.unwrap();
            }
            let n = dev.read(&mut buf).await.unwrap();
            seen.push(String::from_utf8_lossy(&buf[..n]).into_owned());
            dev.write_all(b"junk< frame 18DAF110 13.5 01 02 03 >")
                .await
                .unwrap();
            seen
        });
        let mut bus = SocketcandBus::open(host, "vcan0").await.unwrap();
        assert_eq!(bus.recv().await.unwrap().to_string(), "7E8#0641");
        let req = CanFrame::new(CanId::Standard(0x7DF), &[2, 1, 0]).unwrap();
        bus.send(&req).await.unwrap();
        assert_eq!(bus.recv().await.unwrap().to_string(), "18DAF110#010203");
        assert_eq!(bus.malformed(), 1);
        let seen = server.await.unwrap();
        assert!(seen[0].contains("open vcan0"), "{seen:?}");
        assert!(seen[1].contains("rawmode"), "{seen:?}");
        assert!(seen[2].contains("send 7DF 3"), "{seen:?}");
    }

    #[tokio::test]
    async fn a_refused_channel_is_an_error() {
        let (host, mut dev) = tokio::io::duplex(4096);
        tokio::spawn(async move {
            dev.write_all(b"< hi >").await.unwrap();
            let mut buf = [0u8; 64];
            let _ = dev.read(&mut buf).await;
            dev.write_all(b"< error could not open bus >")
                .await
                .unwrap();
            std::future::pending::<()>().await;
        });
        let err = SocketcandBus::open(host, "can9").await.err().unwrap();
        assert!(err.to_string().contains("could not open bus"), "{err}");
    }
}
